"""The vaccination-error guard (接種間違い防止): checks a pack before the needle, by MHLW error category.

`guard(subject, history, given, on)` is a pure function over the same engine as the due list
(domain/series.py). Each finding has a closed-set code, a bilingual message and whether a doctor may
override it (with a reason, recorded in the vaccination record by the visit layer). The categories are
those MHLW collects for routine-vaccination errors (間違い報告): wrong vaccine, interval, age, dose number
(unnecessary doses), dose amount, route and site, expired vaccine, a second dose on the same day — as
listed by NIID's 予防接種間違いを防ぐための工夫 (2017), restated at
https://123deta.com/document/y81kxe2z-%E5%AE%9A%E6%9C%9F%E3%81%AB%E3%81%A4%E3%81%84%E3%81%A6%E4%BA%88%E9%98%B2%E6%8E%A5%E7%A8%AE%E6%B3%95%E6%96%BD%E8%A6%8F%E5%89%87%E6%8E%A5%E7%A8%AE%E5%AF%BE%E8%B1%A1%E9%99%A4%E5%A4%96%E7%99%BA%E7%86%B1%E3%81%AA%E3%81%A9%E5%BE%8C%E5%89%AF%E6%8E%A5%E7%A8%AE%E9%96%93%E9%9A%94.html
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from yoshin.domain.catalogue import Catalogue, Kind, Product
from yoshin.domain.i18n import Bilingual
from yoshin.domain.series import Case, HistoryEntry, Subject, Verdict, evaluate
from yoshin.domain.series import _default as _default_catalogue


class GuardCode(StrEnum):
    WRONG_VACCINE = "wrong_vaccine"  # not the vaccine the due series takes (or not the one chosen)
    INTERVAL = "interval"
    LIVE_INTERVAL = "live_interval"  # 27 days after an injectable live vaccine
    AGE = "age"  # outside the age window, or not a target (B類, sex, cohort, excluded)
    DOSE_NUMBER = "dose_number"  # the dose entered is not the dose due
    SERIES_COMPLETE = "series_complete"  # 不必要な接種: the series (or this season's dose) is done
    DOSE_AMOUNT = "dose_amount"  # not the amount of the 添付文書 for the age
    ROUTE_SITE = "route_site"
    EXPIRED_LOT = "expired_lot"
    SAME_DAY_DUPLICATE = "same_day_duplicate"  # the same antigen already given today
    UNKNOWN_PRODUCT = "unknown_product"


# Findings a doctor may not override: an expired pack, a second dose of the same antigen on one day and
# a pack the catalogue does not know are never given (there is nothing to weigh).
NOT_OVERRIDABLE = frozenset({GuardCode.EXPIRED_LOT, GuardCode.SAME_DAY_DUPLICATE, GuardCode.UNKNOWN_PRODUCT})

_REASON_TO_CODE = {
    "interval": GuardCode.INTERVAL,
    "live_interval": GuardCode.LIVE_INTERVAL,
    "too_young": GuardCode.AGE,
    "too_old": GuardCode.AGE,
    "not_target": GuardCode.AGE,
    "sex": GuardCode.AGE,
    "had_disease": GuardCode.AGE,
    "period_ended": GuardCode.AGE,
    "period_not_started": GuardCode.AGE,
    "series_complete": GuardCode.SERIES_COMPLETE,
    "already_this_season": GuardCode.SERIES_COMPLETE,
    "covered_by_combination": GuardCode.WRONG_VACCINE,
    "not_in_catalogue": GuardCode.WRONG_VACCINE,
    "wrong_vaccine": GuardCode.WRONG_VACCINE,
}


@dataclass(frozen=True, slots=True)
class Given:
    """What is about to be given: the scanned or chosen pack and how."""

    product: str  # GTIN (scanned or picked) or a kind code
    dose_number: int | None = None
    dose_ml: Decimal | None = None
    route: str | None = None
    site: str | None = None
    lot_expiry: date | None = None
    vaccine_code: str | None = None  # the programme the visit is for (the questionnaire's vaccine)


@dataclass(frozen=True, slots=True)
class GuardFinding:
    code: GuardCode
    message: Bilingual
    overridable: bool


def _finding(code: GuardCode, ja: str, en: str) -> GuardFinding:
    return GuardFinding(code, Bilingual(ja=ja, en=en), code not in NOT_OVERRIDABLE)


def guard(
    subject: Subject,
    history: Iterable[HistoryEntry] | None,
    given: Given,
    on: date,
    catalogue: Catalogue | None = None,
    given_today: Iterable[HistoryEntry] = (),
) -> list[GuardFinding]:
    """Every reason this pack should not be given to this person today (empty: nothing found).

    `history=None` means the history is not known (an offline visit): the checks that depend on it
    (series, dose number, interval) are not made, rather than judged against an empty history that would
    call every dose a first dose; the pack, amount, route, site and lot still are. `given_today` are doses
    known to have been given today even when the history is not (an offline visit's earlier doses on this
    appliance): the same-day duplicate is judged on them too."""
    catalogue = catalogue or _default_catalogue()
    known = history is not None
    history = list(history or ())
    today_known = [*history, *given_today]
    findings: list[GuardFinding] = []
    product: Product | None = catalogue.product(given.product, on)
    kind: Kind | None = catalogue.kinds.get(product.kind) if product else catalogue.kinds.get(given.product)
    if kind is None:
        return [
            _finding(
                GuardCode.UNKNOWN_PRODUCT,
                "この製品は本日のカタログにありません",
                "this product is not in today's catalogue",
            )
        ]
    if given.lot_expiry is not None and given.lot_expiry < on:
        findings.append(
            _finding(
                GuardCode.EXPIRED_LOT,
                f"有効期限切れのロットです (期限 {given.lot_expiry.isoformat()})",
                f"the lot expired on {given.lot_expiry.isoformat()}",
            )
        )
    same_day = [
        e
        for e in today_known
        if e.date == on and (other := catalogue.kind(e.vaccine_code)) and other.antigens & kind.antigens
    ]
    if same_day:
        findings.append(
            _finding(
                GuardCode.SAME_DAY_DUPLICATE,
                "同じ抗原のワクチンを本日すでに接種しています",
                "a vaccine with the same antigen was already given today",
            )
        )
    programme = product.vaccine_code if product else given.vaccine_code
    if given.vaccine_code is not None and programme is not None and given.vaccine_code != programme:
        findings.append(
            _finding(
                GuardCode.WRONG_VACCINE,
                f"予診票のワクチン ({given.vaccine_code}) と製品 ({programme}) が違います",
                f"the questionnaire is for {given.vaccine_code} but the pack is {programme}",
            )
        )
    if not known:
        return findings + _administration_findings(kind, product, subject, given, on)
    if programme is None:
        return findings
    # Today's earlier doses are the same-day finding's business; the series is judged on the days before.
    verdict = evaluate(Case(subject, tuple(e for e in history if e.date < on), on, programme), catalogue)
    findings.extend(_verdict_findings(verdict, kind, given))
    findings.extend(_administration_findings(kind, product, subject, given, on))
    return findings


def _verdict_findings(verdict: Verdict, kind: Kind, given: Given) -> list[GuardFinding]:
    findings: list[GuardFinding] = []
    seen: set[GuardCode] = set()
    for reason in verdict.reasons:
        code = _REASON_TO_CODE.get(reason.code)
        if code is None or code in seen:
            continue
        seen.add(code)
        findings.append(GuardFinding(code, reason.text, code not in NOT_OVERRIDABLE))
    if verdict.eligible and kind.code not in verdict.kinds:
        allowed = ", ".join(verdict.kinds) or "-"
        findings.append(
            _finding(
                GuardCode.WRONG_VACCINE,
                f"この回に使えるワクチンではありません (使用可: {allowed})",
                f"{kind.code} is not a vaccine for this dose (allowed: {allowed})",
            )
        )
    if given.dose_number is not None and verdict.dose_number is not None and given.dose_number != verdict.dose_number:
        findings.append(
            _finding(
                GuardCode.DOSE_NUMBER,
                f"接種回数が違います (入力 第{given.dose_number}回, 予定 第{verdict.dose_number}回)",
                f"dose {given.dose_number} entered but dose {verdict.dose_number} is due",
            )
        )
    return findings


def _administration_findings(
    kind: Kind, product: Product | None, subject: Subject, given: Given, on: date
) -> list[GuardFinding]:
    findings: list[GuardFinding] = []
    if kind.no_volume:  # BCG: the 添付文書 gives no volume per person (管針法), so there is no amount to check
        expected = None
    else:
        expected = kind.dose_for(subject.birth_date, on) if kind.dose_ml else (product.dose_ml if product else None)
    if given.dose_ml is not None and expected is not None and Decimal(given.dose_ml) != expected:
        findings.append(
            _finding(
                GuardCode.DOSE_AMOUNT,
                f"接種量が違います (入力 {given.dose_ml} mL, この年齢では {expected} mL)",
                f"{given.dose_ml} mL entered; the amount for this age is {expected} mL",
            )
        )
    routes = kind.routes_for(subject.birth_date, on)  # by age where the 添付文書 says so (PCV20 from 6)
    if given.route is not None and given.route not in routes:
        findings.append(
            _finding(
                GuardCode.ROUTE_SITE,
                f"接種経路が違います ({given.route}; 正しくは {'/'.join(routes)})",
                f"route {given.route} is wrong for this vaccine ({'/'.join(routes)})",
            )
        )
    if given.site is not None and kind.sites and given.site not in kind.sites:
        findings.append(
            _finding(
                GuardCode.ROUTE_SITE,
                f"接種部位が違います ({given.site})",
                f"site {given.site} is wrong for this vaccine ({'/'.join(kind.sites)})",
            )
        )
    return findings
