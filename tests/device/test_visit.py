"""The visit layer: records assembled from what the kiosk collected, and the rules each step enforces.

Unit tests of `yoshin.device.visit` over a recording `VisitServices`; the kiosk and the demo tests run
the same functions against a real outbox, pending store and host."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from yoshin.device.hostclient import DeviceRevoked, HostRefused, HostUnreachable
from yoshin.device.visit import (
    Administration,
    Clinic,
    GuardRefused,
    HistoryOrigin,
    PendingEntry,
    PendingVisit,
    Proofs,
    StaffMember,
    VisitError,
    dose_amounts,
    guard_findings,
    guard_history,
    history_at_entry,
    record_decision,
    record_vaccination,
    sealed_for,
    submit_answers,
)
from yoshin.domain.catalogue import default_catalogue
from yoshin.domain.codes import my_number_check_digit
from yoshin.domain.contract import Decision, FlagKind, GuardOverride, RecordKind, Site, is_provisional, parse_record
from yoshin.domain.rules_guard import GuardCode
from yoshin.domain.templates import SubjectContext, default_templates, visible_questions
from yoshin.protocol.api import HistoryAnswer, HistoryItem, SubjectInfo
from yoshin.smartcard.card import FaceEFs, FaceRead
from yoshin.smartcard.carddata import BasicInfo, MyNumber

NOW = datetime(2026, 10, 15, 1, 0, tzinfo=UTC)  # 10:00 JST
DOCTOR = StaffMember("D0001", "医師 一郎", "doctor")
NURSE = StaffMember("N0001", "看護 花子", "nurse")
CHECKER = StaffMember("N0002", "看護 次郎", "nurse")
TEMPLATE = default_templates().for_vaccine("flu_elderly", date(2026, 10, 15))
ADULT, MINOR = SubjectContext(76, "female"), SubjectContext(15, "female")


def answers(context: SubjectContext = ADULT, **fixed: Any) -> dict[str, Any]:
    """A well person's answers to every visible question, with `fixed` ones as given."""
    assert TEMPLATE is not None
    out: dict[str, Any] = dict(fixed)
    for _ in range(4):  # conditional questions appear as earlier answers are set
        for question in visible_questions(TEMPLATE, out, context):
            if question.id in out:
                continue
            if question.type == "yes_no":
                out[question.id] = question.id in ("read_leaflet", "wants_vaccination", "guardian_consent")
            elif question.type == "number":
                out[question.id] = 36.4
            elif question.choices:
                out[question.id] = question.choices[0].value
    return out


@dataclass
class Recorder:
    """A VisitServices that keeps what it was given; every record is parsed by the contract as the outbox does."""

    submitted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    pending: dict[str, PendingVisit] = field(default_factory=dict)
    cards: dict[FaceEFs, list[str]] = field(default_factory=dict)  # the day's cards (the real one: a digest)

    def clinic(self) -> Clinic:
        return Clinic("141305", "1410000001", "テスト診療所")

    def submit(self, kind: str, record: dict[str, Any]) -> str:
        body = {name: value for name, value in record.items() if name != "proofs"}
        self.submitted.append((kind, record))
        return parse_record(kind, body).record_id

    def keep_pending(self, pending: PendingVisit) -> None:
        self.pending[pending.visit_id] = PendingVisit.from_json(pending.to_json())  # as stored: through JSON

    def complete_pending(self, visit_id: str) -> None:
        del self.pending[visit_id]

    def sealed_today(self, subject_id: str) -> list[HistoryItem]:
        """The vaccinations this recorder sealed for the subject (the day's 完了 list of the appliance)."""
        return [
            HistoryItem(r["vaccine_code"], r["dose_number"], date.fromisoformat(r["vaccination_date"]))
            for kind, r in self.submitted
            if kind == RecordKind.VACCINATION_RECORD and r["subject_id"] == subject_id
        ]

    def card_today(self, face: FaceRead, subject_id: str | None = None) -> list[str]:
        seen = list(self.cards.get(face.raw, []))
        if subject_id is not None and subject_id not in seen:
            self.cards[face.raw] = [*seen, subject_id]
        return seen

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.submitted]


def face(birth: date = date(1950, 4, 1), sex: str = "female", card: bytes = b"") -> FaceRead:
    digits = "12345678901"
    basic = BasicInfo("多摩 花子", "川崎市中原区1-1", birth, sex)
    raw = FaceEFs(b"\x01my-number-ef" + card, b"\x02basic-info-ef", b"\x03signature-ef")
    return FaceRead(basic, MyNumber(digits + str(my_number_check_digit(digits))), raw, True, None)


def answered(services: Recorder, **changes: Any) -> PendingVisit:
    arguments: dict[str, Any] = {
        "face": face(),
        "template": TEMPLATE,
        "answers": answers(changes.get("context", ADULT)),
        "context": ADULT,
        "subject": SubjectInfo("S000102", "多摩 花子", date(1950, 4, 1), 76, "female", False, "多摩 太郎", ()),
        "dose_number": 1,
        "language": "ja",
        "started_at": NOW - timedelta(minutes=5),
        "now": NOW,
    }
    return submit_answers(services, **(arguments | changes))


def given(expiry: date = date(2027, 6, 30)) -> Administration:
    product = default_catalogue().products_for("flu_elderly", date(2026, 10, 15))[0]
    return Administration(product, "FLU26A01", expiry, Site.LEFT_UPPER_ARM, product.dose_ml)


def proceed(services: Recorder, pending: PendingVisit) -> PendingVisit:
    return record_decision(
        services, pending, DOCTOR, Decision.PROCEED, reason=None, override_reason=None, explanation_given=True, now=NOW
    )


def test_answers_online_are_one_questionnaire_kept_for_staff() -> None:
    services = Recorder()
    pending = answered(services)
    assert services.kinds() == [RecordKind.QUESTIONNAIRE_RESPONSE]
    record = services.submitted[0][1]
    assert record["subject_id"] == "S000102" and record["eligibility_verified"] is True
    assert record["guardian_name"] is None and record["respondent"] == "self"  # an adult answers alone
    assert record["answered_at"] == "2026-10-15T10:00:00+09:00" and record["started_at"] == "2026-10-15T09:55:00+09:00"
    assert services.pending == {pending.visit_id: pending}
    assert pending.name == "多摩 花子" and pending.birth_date == date(1950, 4, 1) and pending.decision is None
    assert "多摩" not in repr(pending)


def test_answers_offline_claim_the_identity_first_under_a_provisional_subject() -> None:
    services = Recorder()
    pending = answered(services, subject=None)
    assert services.kinds() == [RecordKind.IDENTITY_CLAIM, RecordKind.QUESTIONNAIRE_RESPONSE]
    claim, questionnaire = (record for _, record in services.submitted)
    assert is_provisional(claim["subject_id"]) and questionnaire["subject_id"] == claim["subject_id"]
    assert questionnaire["eligibility_verified"] is False and pending.offline


def test_a_guardian_is_recorded_only_when_the_template_asks_for_one() -> None:
    services = Recorder()
    answered(services, context=MINOR, answers=answers(MINOR))
    record = services.submitted[-1][1]
    assert record["respondent"] == "guardian" and record["guardian_name"] == "多摩 太郎"


@pytest.mark.parametrize(
    ("doctor", "decision", "reason", "explained", "message"),
    [
        (NURSE, Decision.PROCEED, None, True, "A doctor must be logged in"),
        (DOCTOR, Decision.DEFER, None, True, "reason for deferring"),
        (DOCTOR, Decision.PROCEED, None, False, "explained"),
    ],
)
def test_a_decision_is_refused_unless_a_doctor_decides_with_reasons(
    doctor: StaffMember, decision: Decision, reason: str | None, explained: bool, message: str
) -> None:
    services = Recorder()
    pending = answered(services)
    with pytest.raises(VisitError, match=message):
        record_decision(
            services,
            pending,
            doctor,
            decision,
            reason=reason,
            override_reason=None,
            explanation_given=explained,
            now=NOW,
        )
    assert services.kinds() == [RecordKind.QUESTIONNAIRE_RESPONSE]


def test_a_not_eligible_flag_needs_the_doctors_override_reason() -> None:
    services = Recorder()
    pending = answered(services, answers=answers(temperature=38.2))
    assert pending.not_eligible_flagged
    assert any(flag.flag is FlagKind.NOT_ELIGIBLE for flag in pending.questionnaire.flags)
    with pytest.raises(VisitError, match="reason to proceed"):
        proceed(services, pending)
    decided = record_decision(
        services, pending, DOCTOR, Decision.PROCEED, reason=None, override_reason="本人と相談のうえ",
        explanation_given=True, now=NOW,
    )  # fmt: skip
    assert decided.decision is not None and decided.decision.override_reason == "本人と相談のうえ"


def test_a_deferral_ends_the_visit_and_proceeding_keeps_it_with_the_decision() -> None:
    services = Recorder()
    deferred = record_decision(
        services, answered(services), DOCTOR, Decision.DEFER, reason="発熱", override_reason=None,
        explanation_given=True, now=NOW,
    )  # fmt: skip
    assert services.pending == {} and deferred.decision is not None
    pending = proceed(services, answered(services))
    assert services.pending[pending.visit_id] == pending and pending.decision is not None
    assert pending.decision.questionnaire_record_id == pending.visit_id
    with pytest.raises(VisitError, match="already been decided"):
        proceed(services, pending)


def test_a_vaccination_is_recorded_after_the_decision_and_completes_the_visit() -> None:
    services = Recorder()
    pending = proceed(services, answered(services))
    record = record_vaccination(services, pending, given(), NURSE, CHECKER, now=NOW)
    assert services.kinds()[-1] == RecordKind.VACCINATION_RECORD and services.pending == {}
    assert record["vaccination_date"] == "2026-10-15" and record["doctor_id"] == "D0001"
    assert (record["entered_by"], record["checked_by"], record["site"]) == ("N0001", "N0002", "left_upper_arm")
    assert record["questionnaire_record_id"] == pending.visit_id and not record.get("proofs")


def test_the_vaccination_date_is_the_jst_day() -> None:
    services = Recorder()
    late = datetime(2026, 10, 15, 15, 30, tzinfo=UTC)  # 00:30 JST on the 16th
    pending = proceed(services, answered(services, now=late))
    assert record_vaccination(services, pending, given(), NURSE, CHECKER, now=late)["vaccination_date"] == "2026-10-16"


@pytest.mark.parametrize(
    ("decided", "checker", "expiry", "message"),
    [
        (False, CHECKER, date(2027, 6, 30), "no doctor's decision"),
        (True, NURSE, date(2027, 6, 30), "another person"),
        (True, CHECKER, date(2026, 10, 14), "expired on 2026-10-14"),
    ],
)
def test_a_vaccination_is_refused_without_decision_by_the_same_person_or_from_an_expired_lot(
    decided: bool, checker: StaffMember, expiry: date, message: str
) -> None:
    services = Recorder()
    pending = answered(services)
    pending = proceed(services, pending) if decided else pending
    with pytest.raises(VisitError, match=message):
        record_vaccination(services, pending, given(expiry), NURSE, checker, now=NOW)
    assert RecordKind.VACCINATION_RECORD not in services.kinds() and pending.visit_id in services.pending


def test_a_guard_finding_refuses_the_vaccination_until_the_deciding_doctor_overrides_it() -> None:
    services = Recorder()
    this_season = (HistoryItem("flu_elderly", 1, date(2026, 10, 1)),)  # the host's record: done this year
    pending = proceed(services, replace(answered(services), history=this_season))
    with pytest.raises(GuardRefused, match="already vaccinated this fiscal year") as refused:
        record_vaccination(services, pending, given(), NURSE, CHECKER, now=NOW)
    assert [f.code for f in refused.value.findings] == [GuardCode.SERIES_COMPLETE]
    by_a_nurse = GuardOverride(GuardCode.SERIES_COMPLETE, "N0001", "x")
    with pytest.raises(GuardRefused):  # only the doctor who decided overrides
        record_vaccination(services, pending, given(), NURSE, CHECKER, now=NOW, overrides=[by_a_nurse])
    reason = GuardOverride(GuardCode.SERIES_COMPLETE, "D0001", "前回は別の年度の記録の誤り")
    unrelated = GuardOverride(GuardCode.INTERVAL, "D0001", "nothing found for this")
    record = record_vaccination(services, pending, given(), NURSE, CHECKER, now=NOW, overrides=[reason, unrelated])
    assert record["guard_overrides"] == [
        {"code": "series_complete", "doctor_id": "D0001", "reason": "前回は別の年度の記録の誤り"}
    ]  # only what the guard found goes into the record


def test_a_finding_no_one_may_override_always_refuses() -> None:
    services = Recorder()
    today = (HistoryItem("flu_elderly", 1, date(2026, 10, 15)),)  # already given today
    pending = proceed(services, replace(answered(services), history=today))
    override = GuardOverride(GuardCode.SAME_DAY_DUPLICATE, "D0001", "x")
    with pytest.raises(GuardRefused) as refused:
        record_vaccination(services, pending, given(), NURSE, CHECKER, now=NOW, overrides=[override])
    assert [(f.code, f.overridable) for f in refused.value.findings] == [(GuardCode.SAME_DAY_DUPLICATE, False)]


def test_the_wrong_amount_is_a_finding() -> None:
    services = Recorder()
    pending = proceed(services, answered(services))
    half = replace(given(), dose_amount_ml=Decimal("0.25"))
    with pytest.raises(GuardRefused, match=r"0\.25 mL entered"):
        record_vaccination(services, pending, half, NURSE, CHECKER, now=NOW)


def test_the_host_history_travels_with_the_pending_visit() -> None:
    services = Recorder()
    history = (HistoryItem("flu_elderly", 1, date(2025, 10, 20)),)
    subject = SubjectInfo("S000102", "多摩 花子", date(1950, 4, 1), 76, "female", False, None, (), history)
    pending = answered(services, subject=subject)
    assert services.pending[pending.visit_id].history == history


def test_staff_proofs_go_into_the_record_when_present() -> None:
    services = Recorder()
    pending = proceed(services, answered(services))
    record = record_vaccination(
        services, pending, given(), NURSE, CHECKER, now=NOW, proofs=Proofs(entered_by="tok-e", checked_by="tok-c")
    )
    assert record["proofs"] == {"entered_by": "tok-e", "checked_by": "tok-c"}


def test_a_pending_visit_survives_its_json_form() -> None:
    services = Recorder()
    pending = proceed(services, answered(services))
    again = PendingVisit.from_json(pending.to_json())
    assert again == pending and replace(again, decision=None) != pending
    assert isinstance(again.birth_date, date) and again.dose_number == 1
    assert again.decision is not None and again.decision.decision is Decision.PROCEED


def test_a_deferral_needs_only_its_reason_and_records_no_explanation() -> None:
    services = Recorder()
    record_decision(
        services, answered(services), DOCTOR, Decision.DEFER, reason="本人の希望", override_reason="ignored",
        explanation_given=False, now=NOW,
    )  # fmt: skip
    kind, body = services.submitted[-1]
    assert kind == RecordKind.DOCTOR_DECISION
    assert (body["explanation_given"], body["override_reason"]) == (False, None)


def test_an_entry_waiting_for_its_checker_survives_the_store() -> None:
    services = Recorder()
    entry = PendingEntry.of(given(), NURSE, "attestation-token")
    pending = replace(proceed(services, answered(services)), entry=entry)
    again = PendingVisit.from_json(pending.to_json())
    assert again.entry == entry
    products = default_catalogue().products_for("flu_elderly", date(2026, 10, 15))
    assert again.entry is not None and again.entry.administration(products) == given()
    with pytest.raises(VisitError):
        again.entry.administration([])


def test_the_registry_conditions_travel_with_the_visit_and_reach_the_guard() -> None:
    """64 with a B類 disability condition in the registry: the host listed influenza, and the guard judges
    the same target (without the condition it would call him not a target)."""
    services = Recorder()
    born = date(1962, 3, 1)
    subject = SubjectInfo("S000105", "麻生 二郎", born, 64, "male", False, None, (), (), ("b_disability_heart",))
    pending = answered(services, face=face(born, "male"), subject=subject)
    kept = services.pending[pending.visit_id]
    assert kept.conditions == ("b_disability_heart",)
    assert guard_findings(kept, given(), date(2026, 10, 15)) == []
    without = replace(kept, conditions=())
    assert [f.code for f in guard_findings(without, given(), date(2026, 10, 15))] == [GuardCode.AGE]


def test_a_recorded_pack_keeps_its_kind_and_offline_skips_the_history_checks() -> None:
    rotateq = HistoryItem("rota", 1, date(2026, 9, 1), "02000000000169")  # recorded with RotaTeq's GTIN
    assert HistoryItem.from_json(rotateq.to_json()) == rotateq
    assert HistoryItem.from_json({"vaccine_code": "rota", "dose_number": 1, "date": "2026-09-01"}).product is None
    services = Recorder()
    offline = answered(services, subject=None)  # no host answer: the history is unknown, not empty
    this_season = replace(offline, history=(HistoryItem("flu_elderly", 1, date(2026, 10, 1)),))
    assert guard_findings(this_season, given(), date(2026, 10, 15)) == []  # series checks skipped offline
    online = replace(this_season, offline=False)
    assert [f.code for f in guard_findings(online, given(), date(2026, 10, 15))] == [GuardCode.SERIES_COMPLETE]


def test_a_dose_sealed_earlier_today_here_is_in_the_guards_history() -> None:
    """The host's history came with the identity read; the morning's dose sealed on this appliance is not
    in it, but the guard's history has it, so a second visit for the same vaccine is refused outright."""
    services = Recorder()
    first = proceed(services, answered(services))
    assert guard_history(first, services.sealed_today("S000102")) == []
    record_vaccination(services, first, given(), NURSE, CHECKER, now=NOW)
    second = proceed(services, answered(services, now=NOW + timedelta(hours=2)))
    history = guard_history(second, services.sealed_today("S000102"))
    assert history is not None and [(e.vaccine_code, e.date) for e in history] == [("flu_elderly", date(2026, 10, 15))]
    override = GuardOverride(GuardCode.SAME_DAY_DUPLICATE, "D0001", "x")
    with pytest.raises(GuardRefused) as refused:
        record_vaccination(
            services, second, given(), NURSE, CHECKER, now=NOW + timedelta(hours=2), overrides=[override]
        )
    assert [(f.code, f.overridable) for f in refused.value.findings] == [(GuardCode.SAME_DAY_DUPLICATE, False)]
    other = replace(second, questionnaire=replace(second.questionnaire, subject_id="S000103"))
    assert guard_history(other, services.sealed_today("S000103")) == []  # someone else's dose is not theirs


@pytest.mark.parametrize(
    ("born", "expected"),
    [
        (date(2025, 3, 10), (Decimal("0.25"), Decimal("0.5"))),  # 19 months: 3歳未満 0.25 mL first
        (date(2023, 10, 16), (Decimal("0.25"), Decimal("0.5"))),  # 3 attained today (eve of the birthday)
        (date(2023, 10, 15), (Decimal("0.5"),)),  # the day after: the pack's 0.5 mL, nothing to choose
    ],
)
def test_the_amounts_offered_put_the_one_for_the_age_first(born: date, expected: tuple[Decimal, ...]) -> None:
    services = Recorder()
    pending = replace(proceed(services, answered(services)), birth_date=born)
    je = default_catalogue().products_for("je", date(2026, 10, 15))[0]
    assert dose_amounts(pending, je, date(2026, 10, 15)) == expected
    bcg = default_catalogue().products_for("bcg", date(2026, 10, 15))[0]
    assert dose_amounts(pending, bcg, date(2026, 10, 15)) == (bcg.dose_ml,)  # no per-person volume: the pack's


@dataclass
class HostAnswers:
    """A history source for one function's unit test: answers with `answer`, or raises `error`."""

    answer: HistoryAnswer | None = None
    error: Exception | None = None
    asked: list[tuple[str, str | None]] = field(default_factory=list)

    def host_history(self, subject_id: str, proof: str | None) -> HistoryAnswer:
        self.asked.append((subject_id, proof))
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        return self.answer


def test_the_entry_takes_the_hosts_current_history_and_conditions() -> None:
    services = Recorder()
    visit = proceed(services, answered(services))
    today = HistoryItem("flu_elderly", 1, date(2026, 10, 15), "02000000000121")  # another appliance's dose
    source = HostAnswers(HistoryAnswer("S000102", (today,), ("b_disability_heart",), "2026-10-15T01:30:00+00:00"))
    entry = history_at_entry(source, visit, "proof-token")
    assert source.asked == [("S000102", "proof-token")]
    assert (entry.origin, entry.note) == (HistoryOrigin.HOST, None)
    assert entry.visit.history == (today,) and entry.visit.conditions == ("b_disability_heart",)
    codes = [(f.code, f.overridable) for f in guard_findings(entry.visit, given(), date(2026, 10, 15))]
    assert codes == [(GuardCode.SAME_DAY_DUPLICATE, False)]
    assert guard_findings(visit, given(), date(2026, 10, 15)) == []  # what the card read brought: nothing


@pytest.mark.parametrize(
    ("error", "ja", "en"),
    [
        (HostUnreachable("ConnectionRefusedError"), "ホストに接続できません", "The host cannot be reached"),
        (
            HostRefused(404, {"error": "unknown_subject", "message_ja": "対象者なし", "message_en": "no such one"}),
            "対象者なし",
            "no such one",
        ),
        (DeviceRevoked(), "失効", "revoked"),
        (ValueError("history must be a list"), "読めません", "unreadable"),
    ],
)
def test_when_the_host_cannot_answer_the_entry_keeps_what_it_had_and_says_why(
    error: Exception, ja: str, en: str
) -> None:
    services = Recorder()
    visit = proceed(services, answered(services))
    entry = history_at_entry(HostAnswers(error=error), visit, None)
    assert entry.origin is HistoryOrigin.CARD_READ and entry.visit == visit
    assert entry.note is not None and ja in entry.note.ja and en in entry.note.en
    assert "カード読取時の履歴" in entry.note.ja and "history of the card read" in entry.note.en


def test_an_offline_visit_is_not_asked_for() -> None:
    services = Recorder()
    visit = answered(services, subject=None)
    source = HostAnswers(error=AssertionError("an offline visit has no host history to ask for"))
    entry = history_at_entry(source, visit, "proof-token")
    assert (entry.origin, entry.visit, source.asked) == (HistoryOrigin.OFFLINE, visit, [])
    assert entry.note is not None and "オフライン" in entry.note.ja and "offline" in entry.note.en


def test_a_second_offline_visit_of_the_same_card_today_takes_the_first_ones_subject() -> None:
    """Offline, the same card again the same day: the first visit's provisional subject and its one identity
    claim; the morning's dose sealed here is then a same-day duplicate nobody may override. Another card
    gets its own subject."""
    services = Recorder()
    first = proceed(services, answered(services, subject=None))
    assert is_provisional(first.questionnaire.subject_id) and first.same_card == ()
    record_vaccination(services, first, given(), NURSE, CHECKER, now=NOW)
    later = NOW + timedelta(hours=2)
    second = proceed(services, answered(services, subject=None, now=later))
    assert second.questionnaire.subject_id == first.questionnaire.subject_id
    assert services.kinds().count(RecordKind.IDENTITY_CLAIM) == 1
    assert guard_history(second, services.sealed_today(second.questionnaire.subject_id)) is None  # still unknown
    override = GuardOverride(GuardCode.SAME_DAY_DUPLICATE, "D0001", "x")
    with pytest.raises(GuardRefused) as refused:
        record_vaccination(services, second, given(), NURSE, CHECKER, now=later, overrides=[override])
    assert [(f.code, f.overridable) for f in refused.value.findings] == [(GuardCode.SAME_DAY_DUPLICATE, False)]
    stranger = answered(services, subject=None, face=face(card=b"another card"), now=later)
    assert stranger.questionnaire.subject_id not in (first.questionnaire.subject_id, second.questionnaire.subject_id)
    assert stranger.same_card == ()


def test_an_online_visit_after_an_offline_one_of_the_same_card_counts_its_doses() -> None:
    """Offline in the morning (vaccinated, the record still in the outbox), online at noon: the host does not
    know the morning's dose and the noon visit has the host's id, but the card's earlier provisional id is
    kept with the visit, so its dose sealed here today is in the guard's history."""
    services = Recorder()
    morning = proceed(services, answered(services, subject=None))
    record_vaccination(services, morning, given(), NURSE, CHECKER, now=NOW)
    noon = proceed(services, answered(services, now=NOW + timedelta(hours=2)))
    assert (noon.questionnaire.subject_id, noon.same_card) == ("S000102", (morning.questionnaire.subject_id,))
    assert services.pending[noon.visit_id].same_card == noon.same_card  # kept through the pending store's JSON
    codes = [f.code for f in guard_findings(noon, given(), date(2026, 10, 15), None, sealed_for(services, noon))]
    assert codes == [GuardCode.SAME_DAY_DUPLICATE]
    assert guard_findings(noon, given(), date(2026, 10, 15), None, services.sealed_today("S000102")) == []


def test_an_offline_visit_after_an_online_one_of_the_same_card_counts_its_doses() -> None:
    """Online in the morning (vaccinated), the line down at noon: the noon visit is provisional and its
    history unknown, but the card's host id of the morning is kept with it, so the morning's dose sealed
    here is a same-day duplicate; a new identity claim goes first, as for any offline visit."""
    services = Recorder()
    morning = proceed(services, answered(services))
    record_vaccination(services, morning, given(), NURSE, CHECKER, now=NOW)
    noon = proceed(services, answered(services, subject=None, now=NOW + timedelta(hours=2)))
    assert is_provisional(noon.questionnaire.subject_id) and noon.same_card == ("S000102",)
    assert services.kinds().count(RecordKind.IDENTITY_CLAIM) == 1
    codes = [f.code for f in guard_findings(noon, given(), date(2026, 10, 15), None, sealed_for(services, noon))]
    assert codes == [GuardCode.SAME_DAY_DUPLICATE]
