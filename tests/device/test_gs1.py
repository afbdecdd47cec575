"""GS1 vaccine-pack scans: parsed by biip and our tokenizer, refused when doubtful."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yoshin.device.gs1 import GS, ScanError, VaccinePack, parse_scan
from yoshin.domain.codes import gtin_check_digit

BODY = "0453010000012"
GTIN = BODY + str(gtin_check_digit(BODY))


def scan(gtin: str = GTIN, expiry: str = "271231", lot: str = "LOT4X7", serial: str | None = "SN0001") -> str:
    s = "]d201" + gtin + "17" + expiry + "10" + lot
    return s + (GS + "21" + serial if serial is not None else "")


def test_full_pack() -> None:
    assert parse_scan(scan() + "\r\n") == VaccinePack(GTIN, date(2027, 12, 31), "LOT4X7", "SN0001")


def test_bytes_and_lot_last() -> None:
    assert parse_scan(scan(serial=None).encode()).lot == "LOT4X7"


@pytest.mark.parametrize(
    ("yymmdd", "expected"),
    [("271200", date(2027, 12, 31)), ("280200", date(2028, 2, 29)), ("270200", date(2027, 2, 28))],
)
def test_expiry_day_00_is_last_day_of_month(yymmdd: str, expected: date) -> None:
    assert parse_scan(scan(expiry=yymmdd)).expiry == expected


def test_lost_gs_never_yields_a_wrong_lot() -> None:
    raw = "]d201" + GTIN + "17271231" + "10LOT4X7" + "21SN0001"  # GS lost
    with pytest.raises(ScanError) as e:
        parse_scan(raw)
    assert "separator" in e.value.message.en and "区切り" in e.value.message.ja


def test_lost_gs_before_expiry_refused() -> None:
    raw = "]d201" + GTIN + "10LOT4X7" + "17271231"
    with pytest.raises(ScanError):
        parse_scan(raw)


@pytest.mark.parametrize(
    ("raw", "word"),
    [
        (scan()[3:], "]d2"),  # AIM prefix missing (e.g. keyboard wedge or misconfigured scanner)
        ("]C1" + scan()[3:], "]d2"),
        (scan(gtin=BODY + str((gtin_check_digit(BODY) + 1) % 10)), "check digit"),
        (scan(expiry="271301"), "month"),
        (scan(expiry="270230"), "date"),
        (scan(lot="L" * 21, serial=None), "AI (10)"),
        (scan(lot="LOT\u00e9", serial=None), "invalid characters"),
        ("]d2" + "01" + GTIN + "10LOT", "expiry"),
        ("]d2" + "01" + GTIN + "17271231" + "3103000123", "Unexpected AI"),
    ],
)
def test_bad_reads_give_clear_messages(raw: str, word: str) -> None:
    with pytest.raises(ScanError) as e:
        parse_scan(raw.encode("utf-8") if "\u00e9" in raw else raw)
    assert word in e.value.message.en
    assert e.value.message.ja


lots = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-", min_size=1, max_size=20)


@given(lot=lots, serial=st.one_of(st.none(), lots), drop_gs=st.booleans())
@settings(max_examples=300, deadline=None)
def test_any_accepted_scan_has_exactly_the_printed_lot(lot: str, serial: str | None, drop_gs: bool) -> None:
    raw = scan(lot=lot, serial=serial)
    if drop_gs:
        raw = raw.replace(GS, "")
    try:
        pack = parse_scan(raw)
    except ScanError:
        return  # refusing is always allowed
    assert pack.lot == lot  # ...but an accepted scan never carries a wrong lot
    assert pack.serial == serial
