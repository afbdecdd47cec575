"""GS1 DataMatrix element strings on vaccine packs: (01) GTIN, (17) expiry, (10) lot, (21) serial.

A scan is parsed twice: by biip (a maintained GS1 parser) and by the small tokenizer below, which
knows only the four AIs a vaccine pack carries. Both must agree, every field must pass its own
check, and anything doubtful (e.g. a lost GS that lets the lot swallow the serial) is refused with
a bilingual message: a wrong lot in a vaccination record is worse than a re-scan.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

import biip

from yoshin.domain.codes import is_valid_gtin14
from yoshin.domain.i18n import Bilingual, BilingualError

GS = "\x1d"
AIM_GS1_DATAMATRIX = "]d2"
_FIXED = {"01": 14, "17": 6}
_VARIABLE = {"10": 20, "21": 20}
# GS1 AI encodable character set 82 (what AIs 10 and 21 may contain).
_CSET82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+")
# An AI that may follow a lot, glued on because a GS was lost.
_GLUED_AI = re.compile(r"(?:21|17|01).")


class ScanError(BilingualError):
    """A scan that must not be used; `message` says what to do."""


def _err(ja: str, en: str) -> ScanError:
    return ScanError(Bilingual(ja, en))


@dataclass(frozen=True)
class VaccinePack:
    gtin: str
    expiry: date
    lot: str
    serial: str | None


def expiry_date(yymmdd: str) -> date:
    """GS1 date: YY in a sliding window around 2000-2099 is enough for vaccine packs; day 00 = last day."""
    if len(yymmdd) != 6 or not yymmdd.isdigit():
        raise _err("使用期限の形式が正しくありません", "The expiry date is malformed")
    year, month, day = 2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    if not 1 <= month <= 12:
        raise _err("使用期限の月が正しくありません", "The expiry month is invalid")
    if day == 0:
        day = calendar.monthrange(year, month)[1]
    try:
        return date(year, month, day)
    except ValueError:
        raise _err("使用期限の日付が正しくありません", "The expiry date is invalid") from None


def tokenize(data: str) -> dict[str, str]:
    """Our own minimal parse of the element string (after the AIM prefix)."""
    fields: dict[str, str] = {}
    i = 0
    while i < len(data):
        if data[i] == GS:
            i += 1
            continue
        ai = data[i : i + 2]
        i += 2
        if ai in fields:
            raise _err("同じ項目が2回読み取られました", f"AI ({ai}) appears twice")
        if ai in _FIXED:
            value = data[i : i + _FIXED[ai]]
            if len(value) != _FIXED[ai] or not value.isdigit():
                raise _err("バーコードの数字項目が不完全です", f"AI ({ai}) is incomplete")
            i += _FIXED[ai]
        elif ai in _VARIABLE:
            end = data.find(GS, i)
            end = len(data) if end < 0 else end
            value = data[i:end]
            i = end
        else:
            raise _err("ワクチン包装のバーコードではありません", f"Unexpected AI ({ai}) for a vaccine pack")
        fields[ai] = value
    return fields


def parse_scan(raw: str | bytes) -> VaccinePack:
    """Parse one scanner line (AIM prefix included, CR/LF stripped or not)."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("ascii")
        except UnicodeDecodeError:
            raise _err("読み取りデータに不正な文字があります", "The scan contains invalid characters") from None
    raw = raw.strip("\r\n")
    if not raw.startswith(AIM_GS1_DATAMATRIX):
        raise _err(
            "GS1データマトリックスとして読み取れませんでした。もう一度読み取ってください",
            "Not read as a GS1 DataMatrix (no ]d2 prefix); scan again",
        )
    body = raw[len(AIM_GS1_DATAMATRIX) :]
    ours = tokenize(body)
    for ai, label_ja, label_en in (("01", "GTIN", "GTIN"), ("17", "使用期限", "expiry"), ("10", "ロット番号", "lot")):
        if ai not in ours:
            raise _err(
                f"{label_ja}が読み取れませんでした。もう一度読み取ってください",
                f"No {label_en} in the scan; scan again",
            )
    gtin, lot, serial = ours["01"], ours["10"], ours.get("21")
    if not is_valid_gtin14(gtin):
        raise _err("GTINのチェックデジットが一致しません", "The GTIN check digit is wrong")
    for ai, value in (("10", lot), ("21", serial)):
        if value is None:
            continue
        if not value or len(value) > _VARIABLE[ai] or not _CSET82.fullmatch(value):
            raise _err(
                "ロット番号または製造番号が正しくありません", f"AI ({ai}) is empty, too long or has bad characters"
            )
    if _GLUED_AI.search(lot[1:]) and serial is None:
        # Looks like "10LOT4X721SN0001": a lost GS. Refuse rather than record a wrong lot.
        raise _err(
            "ロット番号の区切りが読み取れませんでした。もう一度読み取るか、手入力してください",
            "The lot's separator was lost; scan again or enter the lot by hand",
        )
    expiry = expiry_date(ours["17"])
    _cross_check(raw, gtin, expiry, lot, serial)
    return VaccinePack(gtin=gtin, expiry=expiry, lot=lot, serial=serial)


def _cross_check(raw: str, gtin: str, expiry: date, lot: str, serial: str | None) -> None:
    try:
        result = biip.parse(raw)
    except biip.ParseError:
        raise _err("バーコードを解析できませんでした", "The barcode could not be parsed") from None
    msg = result.gs1_message
    if msg is None:
        raise _err("バーコードを解析できませんでした", "The barcode could not be parsed")
    theirs = {e.ai.ai: e for e in msg.element_strings}
    agree = (
        theirs.get("01") is not None
        and theirs["01"].value == gtin
        and not theirs["01"].gtin_error
        and theirs.get("17") is not None
        and theirs["17"].date == expiry
        and theirs.get("10") is not None
        and theirs["10"].value == lot
        and (theirs["21"].value if "21" in theirs else None) == serial
        and set(theirs) <= {"01", "17", "10", "21"}
    )
    if not agree:
        raise _err(
            "バーコードの解析結果が一致しません。もう一度読み取ってください",
            "Parsers disagree on this scan; scan again",
        )
