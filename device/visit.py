"""The visit layer: a visit's records assembled from what the kiosk collected, checked, sealed and kept.

Between the kiosk's screens and the device/domain layers. A screen collects input and renders; this
module owns what a visit *is* once the resident presses "submit":

- `confirm_reception`: reception's identity check (control 4) before the card step, kept as a slot the next
  card visit takes; `submit_answers` puts it into the questionnaire with the confirming member's proof;
- `submit_answers`: the questionnaire response (and, offline, the identity claim before it) into the
  outbox, and the visit kept for staff as a typed `PendingVisit` under the day key;
- `record_decision`: the doctor's decision (only a doctor decides; a 接種不可 flag needs a reason);
- `history_at_entry`: the resident's history asked of the host again when the entry opens (a dose another
  appliance recorded since the card read), or what the visit had, with a bilingual note saying why;
- `record_vaccination`: the vaccination record after the second person's check, refused while the rules
  guard (`yoshin.domain.rules_guard.guard`) has a finding not overridden by the deciding doctor with a
  reason; the overrides go into the record (`guard_overrides`).

Every function takes a `VisitServices` (the kiosk's services satisfy it; the demo passes the same), the
time as an argument (JST through `yoshin.domain.clock`), and raises `VisitError` with a bilingual
message for the person at the screen. The contract (`yoshin.domain.contract`) stays the judge of every
record: `VisitServices.submit` seals through the outbox, which parses each record first.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from yoshin.domain.age import age_in_years
from yoshin.domain.catalogue import Catalogue, Product
from yoshin.domain.clock import now_jst, today
from yoshin.domain.contract import (
    RECEPTION_ROLES,
    Decision,
    DoctorDecision,
    FlagKind,
    GuardOverride,
    IdDocument,
    ImplementationType,
    Presenter,
    QuestionnaireResponse,
    ReceptionCheck,
    RecordKind,
    Respondent,
    Site,
    VaccinationType,
    is_provisional,
    new_provisional_subject_id,
    parse_record,
    reception_problem,
    record_to_json,
)
from yoshin.domain.i18n import Bilingual, BilingualError
from yoshin.domain.rules_guard import Given, GuardFinding, guard
from yoshin.domain.series import HistoryEntry, Subject, questionnaire_history
from yoshin.domain.series import _default as _default_catalogue
from yoshin.domain.templates import SubjectContext, Template, decision_problem, evaluate_flags, validate_answers
from yoshin.protocol.api import HistoryAnswer, HistoryItem, SubjectInfo, new_record_id
from yoshin.protocol.binding import face_bound
from yoshin.smartcard.card import BindRequest, FaceEFs, FaceRead

DOCTOR = "doctor"


class VisitError(BilingualError):
    """A step of the visit that cannot be recorded as asked; the message is for the staff member or resident."""

    def __init__(self, ja: str, en: str) -> None:
        super().__init__(Bilingual(ja=ja, en=en))


class GuardRefused(VisitError):
    """The rules guard found something not overridden: the screen shows `findings` and may ask the doctor."""

    def __init__(self, findings: Sequence[GuardFinding]) -> None:
        first = findings[0].message
        more = len(findings) - 1
        super().__init__(
            first.ja + (f" (他 {more} 件)" if more else ""), first.en + (f" (and {more} more)" if more else "")
        )
        self.findings = tuple(findings)


@dataclass(frozen=True, slots=True)
class Clinic:
    municipality_code: str
    clinic_code: str
    place: str


@dataclass(frozen=True, slots=True)
class StaffMember:
    staff_id: str
    name: str
    role: str


# How long reception's confirmation waits for its card visit: a slot nobody took is not the next person's.
RECEPTION_VALID = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class ReceptionSlot:
    """Reception's identity check waiting for the next card visit on this appliance's kiosk (control 4).

    The check (who, when, presenter, documents), the confirming member and the host's attestation of them
    (their login's, valid for the JST day: the offline policy). Nothing of the resident."""

    check: ReceptionCheck
    confirmer: StaffMember
    proof: str | None

    def to_json(self) -> dict[str, Any]:
        member = self.confirmer
        return {
            "check": self.check.to_json(),
            "confirmer": {"staff_id": member.staff_id, "name": member.name, "role": member.role},
            "proof": self.proof,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReceptionSlot:
        check = data["check"]
        return cls(
            ReceptionCheck(
                str(check["confirmed_by"]),
                datetime.fromisoformat(check["confirmed_at"]),
                Presenter(check["presenter"]),
                tuple(IdDocument(document) for document in check["documents"]),
            ),
            StaffMember(**data["confirmer"]),
            data.get("proof"),
        )


@dataclass(frozen=True, slots=True)
class Administration:
    """What the nurse enters: which pack (scanned or picked), where and how it was given."""

    product: Product
    lot_number: str
    expiry_date: date
    site: Site
    dose_amount_ml: Decimal


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """The nurse's entry waiting for the second person to check it on their own staff screen (確認待ち).

    The pack by GTIN (the screen resolves it in the catalogue in force), so the store keeps plain values."""

    gtin: str
    lot_number: str
    expiry_date: date
    site: Site
    dose_amount_ml: Decimal
    entered_by: StaffMember
    entered_proof: str | None = None

    @classmethod
    def of(cls, given: Administration, entered_by: StaffMember, proof: str | None) -> PendingEntry:
        return cls(
            given.product.gtin, given.lot_number, given.expiry_date, given.site, given.dose_amount_ml, entered_by, proof
        )

    def administration(self, products: Sequence[Product]) -> Administration:
        product = next((p for p in products if p.gtin == self.gtin), None)
        if product is None:
            raise VisitError("この製品は現在の製品一覧にありません", f"the product {self.gtin} is no longer listed")
        return Administration(product, self.lot_number, self.expiry_date, self.site, self.dose_amount_ml)

    def to_json(self) -> dict[str, Any]:
        member = self.entered_by
        return {
            "gtin": self.gtin,
            "lot_number": self.lot_number,
            "expiry_date": self.expiry_date.isoformat(),
            "site": str(self.site),
            "dose_amount_ml": str(self.dose_amount_ml),
            "entered_by": {"staff_id": member.staff_id, "name": member.name, "role": member.role},
            "entered_proof": self.entered_proof,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PendingEntry:
        return cls(
            str(data["gtin"]),
            str(data["lot_number"]),
            date.fromisoformat(data["expiry_date"]),
            Site(data["site"]),
            Decimal(data["dose_amount_ml"]),
            StaffMember(**data["entered_by"]),
            data.get("entered_proof"),
        )


@dataclass(frozen=True, slots=True)
class PendingVisit:
    """A submitted questionnaire waiting for the doctor and the nurse: what the staff screens show.

    Kept encrypted under the day key (`device/pending.py`) and destroyed at day end. It holds the name
    and birth date from the card (staff must see whom they vaccinate) and the host's record of earlier doses
    (for the guard), never the My Number."""

    questionnaire: QuestionnaireResponse
    name: str
    birth_date: date
    sex: str
    dose_number: int
    offline: bool
    language: str
    decision: DoctorDecision | None = None
    history: tuple[HistoryItem, ...] = ()
    entry: PendingEntry | None = None  # the nurse's entry while it waits for the checker's own screen
    conditions: tuple[str, ...] = ()  # the registry's condition codes from the host's answer (for the guard)
    # the other subject ids this card had on this appliance today (an earlier offline visit's provisional
    # id, the host's id of an earlier online one): their doses sealed today count in the same-day check
    same_card: tuple[str, ...] = ()

    @property
    def visit_id(self) -> str:
        return self.questionnaire.record_id

    @property
    def not_eligible_flagged(self) -> bool:
        return any(flag.flag == FlagKind.NOT_ELIGIBLE for flag in self.questionnaire.flags)

    def __repr__(self) -> str:
        return f"PendingVisit({self.visit_id}, <redacted>)"

    def to_json(self) -> dict[str, Any]:
        return {
            "questionnaire": record_to_json(self.questionnaire),
            "name": self.name,
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex,
            "dose_number": self.dose_number,
            "offline": self.offline,
            "language": self.language,
            "decision": record_to_json(self.decision) if self.decision is not None else None,
            "history": [item.to_json() for item in self.history],
            "entry": self.entry.to_json() if self.entry is not None else None,
            "conditions": list(self.conditions),
            "same_card": list(self.same_card),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PendingVisit:
        questionnaire = parse_record(RecordKind.QUESTIONNAIRE_RESPONSE, data["questionnaire"])
        decision = parse_record(RecordKind.DOCTOR_DECISION, data["decision"]) if data.get("decision") else None
        assert isinstance(questionnaire, QuestionnaireResponse)
        assert decision is None or isinstance(decision, DoctorDecision)
        return cls(
            questionnaire=questionnaire,
            name=str(data["name"]),
            birth_date=date.fromisoformat(data["birth_date"]),
            sex=str(data.get("sex", "")),
            dose_number=int(data["dose_number"]),
            offline=bool(data["offline"]),
            language=str(data["language"]),
            decision=decision,
            history=tuple(HistoryItem.from_json(item) for item in data.get("history", [])),
            entry=PendingEntry.from_json(data["entry"]) if data.get("entry") else None,
            conditions=tuple(str(code) for code in data.get("conditions", [])),
            same_card=tuple(str(subject_id) for subject_id in data.get("same_card", [])),
        )


@dataclass(frozen=True, slots=True)
class Proofs:
    """Seam 5: host-signed staff attestations (security host side, staff kiosk side) for the record.

    Empty until the kiosk obtains them; `_attach_proofs` puts the present ones into the record's
    `"proofs"` field once the contract has it."""

    decided_by: str | None = None
    entered_by: str | None = None
    checked_by: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, str]:
        named = {"decided_by": self.decided_by, "entered_by": self.entered_by, "checked_by": self.checked_by}
        return {name: token for name, token in {**named, **self.extra}.items() if token}


NO_PROOFS = Proofs()


class VisitServices(Protocol):
    """What the visit layer needs from the appliance (the kiosk's services are one implementation)."""

    def clinic(self) -> Clinic: ...

    def submit(self, kind: str, record: dict[str, Any]) -> str: ...

    def keep_pending(self, visit: PendingVisit) -> None: ...

    def complete_pending(self, visit_id: str) -> None: ...

    def sealed_today(self, subject_id: str) -> list[HistoryItem]:
        """The doses this appliance sealed today for this subject (the day's 完了 list): the host's history
        came with the morning's identity read and does not have them yet."""
        ...

    def card_today(self, face: FaceRead, subject_id: str | None = None) -> list[str]:
        """The subject ids this card had on this appliance today, before this call (a keyed digest of its
        face EFs under the day key: `PendingVisits.card_today`); with `subject_id`, that one is added."""
        ...


def face_body(face: FaceRead) -> dict[str, str]:
    """The card's face EFs as sent (sealed) to the host: it alone parses the My Number."""
    return {
        "ef_my_number": base64.b64encode(face.raw.my_number).decode(),
        "ef_basic_info": base64.b64encode(face.raw.basic_info).decode(),
        "ef_signature": base64.b64encode(face.raw.signature).decode(),
    }


def bind_request(challenge: Mapping[str, Any]) -> BindRequest:
    """What the card signs, in the face read's own session, for the host's challenge (POST /jpki/challenge):
    `yoshin.protocol.binding.face_bound` of that challenge and the EFs just read (finding 4)."""
    message = bytes.fromhex(str(challenge["challenge"]))

    def bound(efs: FaceEFs) -> bytes:
        return face_bound(message, efs.my_number, efs.basic_info, efs.signature)

    return BindRequest(str(challenge["challenge_id"]), bound)


def identity_body(face: FaceRead) -> dict[str, str]:
    """The online identity request: the face EFs and the JPKI binding made in the same card session, or
    the reason there is none (the host then records an unbound identity). Never a PIN."""
    binding = face.binding
    if binding is None:  # the host gave no challenge (an older host, or rate-limited)
        return {**face_body(face), "auth_binding_skipped": "no_challenge"}
    if binding.auth is None:
        return {**face_body(face), "auth_binding_skipped": str(binding.skipped)}
    return {
        **face_body(face),
        "ef_auth_certificate": base64.b64encode(binding.auth.certificate).decode(),
        "auth_challenge_id": binding.reference,
        "auth_signature": base64.b64encode(binding.auth.signature).decode(),
    }


def _stamp(now: datetime) -> str:
    return now_jst(now).isoformat(timespec="seconds")


def _common(clinic: Clinic, subject_id: str, now: datetime) -> dict[str, Any]:
    return {
        "record_id": new_record_id(),
        "municipality_code": clinic.municipality_code,
        "clinic_code": clinic.clinic_code,
        "subject_id": subject_id,
        "created_at": _stamp(now),
    }


def _attach_proofs(record: dict[str, Any], proofs: Proofs) -> dict[str, Any]:
    """Seam 5: the attestations go into the record under "proofs" (the contract field is security's)."""
    tokens = proofs.as_json()
    return {**record, "proofs": tokens} if tokens else record


# --- reception (control 4) --------------------------------------------------------------------------------


class ReceptionDesk(Protocol):
    """Where reception's slots wait for their card visit (the pending store; the kiosk's services)."""

    def open_reception(self, slot: ReceptionSlot) -> str: ...


def confirm_reception(
    services: ReceptionDesk,
    member: StaffMember,
    proof: str | None,
    presenter: Presenter,
    documents: Sequence[IdDocument],
    *,
    now: datetime,
) -> ReceptionSlot:
    """Reception has seen who stands at the counter (and a proxy's 委任状): keep it for the next card visit.

    Refused unless the member works reception (`RECEPTION_ROLES`) and the check is complete
    (`contract.reception_problem`: an identity document; a proxy's written mandate)."""
    if member.role not in RECEPTION_ROLES:
        raise VisitError(
            "受付確認は受付・看護師・医師が行います", "Reception checks are made by clerks, nurses or doctors"
        )
    chosen = tuple(dict.fromkeys(documents))
    problem = reception_problem(presenter, chosen)
    if problem is not None:
        raise VisitError(problem.ja, problem.en)
    check = ReceptionCheck(member.staff_id, now_jst(now).replace(microsecond=0), presenter, chosen)
    slot = ReceptionSlot(check, member, proof)
    services.open_reception(slot)
    return slot


# --- the resident's answers ------------------------------------------------------------------------------


def subject_context(birth_date: date, sex: str, now: datetime) -> SubjectContext:
    """What the questionnaire's rules know of the person at the instant `now`: the age on the JST day,
    as the host counts it (`yoshin.domain.age`), so the kiosk and the host agree on the guardian section."""
    return SubjectContext(age_in_years(birth_date, today(now)), sex)


def submit_answers(
    services: VisitServices,
    *,
    face: FaceRead,
    template: Template,
    answers: Mapping[str, Any],
    context: SubjectContext,
    subject: SubjectInfo | None,
    dose_number: int,
    language: str,
    started_at: datetime | None,
    now: datetime,
    claimed_subject_id: str | None = None,
    reception: ReceptionSlot | None = None,
) -> PendingVisit:
    """Seal the questionnaire into the outbox and keep the visit for staff under today's day key.

    `subject` is the host's answer for the card; None means offline: the visit then names a fresh
    provisional subject and the card's sealed face data goes first, as an identity claim the host resolves
    when the queue drains. The later vaccines of one offline visit pass `claimed_subject_id`, the
    provisional subject the first one claimed, so one card read makes one identity claim; a later offline
    visit of the same card on the same day takes the provisional subject of the first (found by
    `VisitServices.card_today`), so its doses sealed today meet the guard's same-day check. The registry's
    guardian is recorded only when the template asks a guardian for this person's age. `reception` is
    reception's check this visit took at its card step (control 4): it goes into the record with the
    confirming member's attestation (`proofs.identity_confirmed_by`)."""
    checked, details = validate_answers(template, dict(answers), {}, context)
    flags = evaluate_flags(template, checked, context)
    clinic = services.clinic()
    offline = subject is None
    seen = services.card_today(face)  # this card's subject ids earlier today on this appliance
    earlier = next((seen_id for seen_id in seen if is_provisional(seen_id)), None)
    if subject is None and claimed_subject_id is not None:
        subject_id = claimed_subject_id
    elif subject is None and earlier is not None:
        subject_id = earlier  # the same card offline earlier today: one provisional subject, its one claim
    elif subject is None:
        subject_id = new_provisional_subject_id()
        services.submit(RecordKind.IDENTITY_CLAIM, {**_common(clinic, subject_id, now), **face_body(face)})
    else:
        subject_id = subject.subject_id
    services.card_today(face, subject_id)
    guardian = subject.guardian_name if subject is not None and context.needs_guardian(template) else None
    body = {
        **_common(clinic, subject_id, now),
        "template_id": template.id,
        "template_version": template.version,
        "vaccine_code": template.vaccine_code,
        "answers": checked,
        "details": details,
        "flags": [{"question_id": f.question_id, "flag": f.flag} for f in flags],
        "respondent": Respondent.GUARDIAN if guardian else Respondent.SELF,
        "guardian_name": guardian,
        "consent": True,
        "eligibility_verified": not offline,
        "started_at": _stamp(started_at or now),
        "answered_at": _stamp(now),
        "reception": reception.check.to_json() if reception is not None else None,
        "proofs": {"identity_confirmed_by": reception.proof} if reception is not None and reception.proof else {},
    }
    questionnaire = parse_record(RecordKind.QUESTIONNAIRE_RESPONSE, body)
    assert isinstance(questionnaire, QuestionnaireResponse)
    services.submit(RecordKind.QUESTIONNAIRE_RESPONSE, record_to_json(questionnaire))
    basic = face.basic_info
    history = subject.history if subject is not None else ()
    conditions = subject.conditions if subject is not None else ()
    visit = PendingVisit(
        questionnaire, basic.name, basic.birth_date, basic.sex, dose_number, offline, language,
        history=history, conditions=conditions, same_card=tuple(other for other in seen if other != subject_id),
    )  # fmt: skip
    services.keep_pending(visit)
    return visit


# --- the doctor's decision -------------------------------------------------------------------------------


def record_decision(
    services: VisitServices,
    visit: PendingVisit,
    doctor: StaffMember,
    decision: Decision,
    *,
    reason: str | None,
    override_reason: str | None,
    explanation_given: bool,
    now: datetime,
    proofs: Proofs = NO_PROOFS,
) -> PendingVisit:
    """Seal the doctor's decision. A deferral ends the visit; "proceed" keeps it for the vaccination entry.

    Refused unless a doctor is logged in, a deferral has a reason, proceeding follows the explanation of
    benefits and risks, and a 接種不可 flag is overridden with a reason (`templates.decision_problem`).
    A deferral needs only its reason: nothing was given, so nothing had to be explained."""
    if doctor.role != DOCTOR:
        raise VisitError("医師の判断は医師のログインで入力してください", "A doctor must be logged in to decide")
    if visit.decision is not None:
        raise VisitError("この予診票は判断済みです", "This questionnaire has already been decided")
    problem = decision_problem(visit.questionnaire.flags, decision, override_reason)
    if problem is not None:
        raise VisitError(problem.ja, problem.en)
    if decision is Decision.DEFER and reason is None:
        raise VisitError("見合わせの理由を入力してください", "Give the reason for deferring")
    if decision is Decision.PROCEED and not explanation_given:
        raise VisitError("接種可とするには説明したことを確認してください", "To proceed, confirm that it was explained")
    questionnaire = visit.questionnaire
    body = {
        **_common(services.clinic(), questionnaire.subject_id, now),
        "questionnaire_record_id": questionnaire.record_id,
        "decision": decision,
        "reason": reason,
        "override_reason": override_reason if decision is Decision.PROCEED else None,
        "explanation_given": explanation_given,
        "doctor_id": doctor.staff_id,
        "doctor_name": doctor.name,
    }
    made = parse_record(RecordKind.DOCTOR_DECISION, body)
    assert isinstance(made, DoctorDecision)
    services.submit(RecordKind.DOCTOR_DECISION, _attach_proofs(record_to_json(made), proofs))
    if decision is Decision.DEFER:
        services.complete_pending(visit.visit_id)
        return replace(visit, decision=made)
    decided = replace(visit, decision=made)
    services.keep_pending(decided)
    return decided


# --- the vaccination --------------------------------------------------------------------------------------


def check_administration(given: Administration, on: date) -> None:
    """The entry's own rule, before the second check: an expired lot is never given."""
    if given.expiry_date < on:
        expiry = given.expiry_date.isoformat()
        raise VisitError(
            f"有効期限が切れたロットです ({expiry})。使用できません",
            f"This lot expired on {expiry} and must not be used",
        )


def guard_history(
    visit: PendingVisit, sealed_today: Sequence[HistoryItem] = (), catalogue: Catalogue | None = None
) -> list[HistoryEntry] | None:
    """The guard's history of this person: the host's record of earlier doses from the identity answer,
    the doses this appliance sealed for them today since (`VisitServices.sealed_today`: a second same-day
    dose is caught before the outbox reaches the host), and the injected live vaccine the questionnaire
    reports (a voluntary おたふくかぜ or 黄熱 no registry knows: the 27-day rule counts it). Offline the
    history is unknown (None): the guard then skips the history checks rather than call every dose a first
    dose; today's doses sealed here still meet the same-day check (`guard_findings`)."""
    if visit.offline:
        return None
    items = (*visit.history, *sealed_today)
    history = [HistoryEntry(i.vaccine_code, i.dose_number, i.date, i.product) for i in items]
    return history + questionnaire_history(visit.questionnaire.answers, catalogue)


class HistorySource(Protocol):
    """Where the entry asks for the resident's current history (the kiosk's services: the host client)."""

    def host_history(self, subject_id: str, proof: str | None) -> HistoryAnswer: ...


class HistoryOrigin(StrEnum):
    """Where the guard's history at the entry came from."""

    HOST = "host"  # re-read from the host at the entry
    CARD_READ = "card_read"  # the host could not be asked, or refused: the history of the card read
    OFFLINE = "offline"  # an offline visit: the host has no history under its provisional id


@dataclass(frozen=True, slots=True)
class EntryHistory:
    """The visit with the history the guard will judge, where it came from, and what the staff screen says
    about it (bilingual; nothing to say when it was re-read)."""

    visit: PendingVisit
    origin: HistoryOrigin
    note: Bilingual | None = None


_KEPT = Bilingual(ja="カード読取時の履歴で確認します", en="the guard uses the history of the card read")


def history_at_entry(source: HistorySource, visit: PendingVisit, proof: str | None) -> EntryHistory:
    """Ask the host again for the resident's history, just before the guard runs (issue 13): another
    appliance or clinic may have recorded a dose since the card read. `proof` is the logged-in clinician's
    attestation (the host answers only a doctor or nurse of this device). The visit comes back with the
    host's current history and condition codes; if the host cannot be reached, refuses, or answers what
    this appliance cannot read, with what it had and a bilingual note saying so, never an exception."""
    from yoshin.device.errors import HostUnreachable

    subject_id = visit.questionnaire.subject_id
    if visit.offline or is_provisional(subject_id):
        note = Bilingual(
            ja="オフラインの受付です。ホストの履歴はなく、本日この端末で記録した接種のみ確認します",
            en="An offline visit: no history from the host; only today's doses recorded on this appliance are checked",
        )
        return EntryHistory(visit, HistoryOrigin.OFFLINE, note)
    try:
        answer = source.host_history(subject_id, proof)
    except HostUnreachable:
        note = Bilingual(ja=f"ホストに接続できません。{_KEPT.ja}", en=f"The host cannot be reached: {_KEPT.en}")
        return EntryHistory(visit, HistoryOrigin.CARD_READ, note)
    except BilingualError as refused:  # HostRefused (a code and its reason), DeviceRevoked
        why = refused.message
        note = Bilingual(
            ja=f"ホストが履歴の再照会を断りました ({why.ja})。{_KEPT.ja}",
            en=f"The host refused to re-read the history ({why.en}): {_KEPT.en}",
        )
        return EntryHistory(visit, HistoryOrigin.CARD_READ, note)
    except ValueError:
        note = Bilingual(
            ja=f"ホストの履歴の応答を読めません。{_KEPT.ja}", en=f"The host's history answer is unreadable: {_KEPT.en}"
        )
        return EntryHistory(visit, HistoryOrigin.CARD_READ, note)
    return EntryHistory(replace(visit, history=answer.history, conditions=answer.conditions), HistoryOrigin.HOST)


def dose_amounts(
    visit: PendingVisit, product: Product, on: date, catalogue: Catalogue | None = None
) -> tuple[Decimal, ...]:
    """The amounts staff may record for this pack and this person: the 添付文書's amount for the age first
    (the entry's default, so the right amount costs no tap), then the pack's own where it differs (JE under
    3 is 0.25 mL from a 0.5 mL pack; the pack's amount stays on offer and the guard flags it). One amount
    when they agree, or when the kind has no per-person volume (BCG: the pack's figure)."""
    kind = (catalogue or _default_catalogue()).kinds.get(product.kind)
    expected = None if kind is None or kind.no_volume else kind.dose_for(visit.birth_date, on)
    return tuple(dict.fromkeys(a for a in (expected, product.dose_ml) if a is not None))


def sealed_for(services: VisitServices, visit: PendingVisit) -> list[HistoryItem]:
    """The doses this appliance sealed today for this visit's person: under its subject id and under the
    other ids the same card had today (`PendingVisit.same_card`)."""
    return [item for subject_id in (visit.questionnaire.subject_id, *visit.same_card) for item in
            services.sealed_today(subject_id)]  # fmt: skip


def guard_findings(
    visit: PendingVisit,
    given: Administration,
    on: date,
    catalogue: Catalogue | None = None,
    sealed_today: Sequence[HistoryItem] = (),
) -> list[GuardFinding]:
    """The rules guard's findings for this pack, this person, today (seam 3: `rules_guard.guard`), over
    `guard_history`; `sealed_today` is `sealed_for(services, visit)`. Offline, the doses sealed here today
    are the only history known: the same-day duplicate is judged on them, nothing else."""
    history = guard_history(visit, sealed_today, catalogue)
    known_today = [HistoryEntry(i.vaccine_code, i.dose_number, i.date, i.product) for i in sealed_today]
    product = given.product
    pack = Given(
        product=product.gtin,
        dose_number=visit.dose_number,
        dose_ml=given.dose_amount_ml,
        route=product.route,
        site=given.site,
        lot_expiry=given.expiry_date,
        vaccine_code=visit.questionnaire.vaccine_code,
    )
    subject = Subject(visit.birth_date, visit.sex, frozenset(visit.conditions))
    return guard(subject, history, pack, on, catalogue, given_today=known_today if history is None else ())


def record_vaccination(
    services: VisitServices,
    visit: PendingVisit,
    given: Administration,
    entered_by: StaffMember,
    checked_by: StaffMember,
    *,
    now: datetime,
    overrides: Sequence[GuardOverride] = (),
    proofs: Proofs = NO_PROOFS,
    catalogue: Catalogue | None = None,
) -> dict[str, Any]:
    """Seal the vaccination record and complete the visit; returns the record as sealed.

    Refused without a "proceed" decision, with an expired lot, when the checker is the person who
    entered it, or (`GuardRefused`) while a guard finding is not overridden by the deciding doctor with a
    reason. `catalogue` is the kiosk's verified one (the shipped default when None)."""
    decision = visit.decision
    if decision is None or decision.decision is not Decision.PROCEED:
        raise VisitError("医師の「接種可」の判断がありません", "There is no doctor's decision to proceed")
    if checked_by.staff_id == entered_by.staff_id:
        raise VisitError("入力者とは別の職員が確認してください", "The checker must be another person")
    on = today(now)
    check_administration(given, on)
    valid = {o.code: o for o in overrides if o.reason.strip() and o.doctor_id == decision.doctor_id}
    findings = guard_findings(visit, given, on, catalogue, sealed_for(services, visit))
    open_findings = [f for f in findings if not f.overridable or f.code not in valid]
    if open_findings:
        raise GuardRefused(open_findings)
    used = [valid[code] for code in dict.fromkeys(f.code for f in findings)]  # only what was found, once each
    questionnaire, product, clinic = visit.questionnaire, given.product, services.clinic()
    body = {
        **_common(clinic, questionnaire.subject_id, now),
        "questionnaire_record_id": questionnaire.record_id,
        "vaccination_date": on.isoformat(),
        "consent": True,
        "doctor_id": decision.doctor_id,
        "doctor_name": decision.doctor_name,
        "place": clinic.place,
        "implementation_type": ImplementationType.INDIVIDUAL,
        "vaccination_type": VaccinationType.ROUTINE,
        "vaccine_code": product.vaccine_code,
        "dose_number": visit.dose_number,
        "gtin": product.gtin,
        "manufacturer": product.manufacturer,
        "generic_name": product.generic_name,
        "brand_name": product.brand_name,
        "lot_number": given.lot_number,
        "dose_amount_ml": str(given.dose_amount_ml),
        "site": given.site,
        "route": product.route,
        "expiry_date": given.expiry_date.isoformat(),
        "caution_flag": bool(questionnaire.flags),
        "special_circumstances": decision.override_reason,
        "vaccinated_abroad": False,
        "entered_by": entered_by.staff_id,
        "checked_by": checked_by.staff_id,
        "guard_overrides": [{"code": o.code, "doctor_id": o.doctor_id, "reason": o.reason} for o in used],
    }
    record = record_to_json(parse_record(RecordKind.VACCINATION_RECORD, body))
    record = _attach_proofs(record, proofs)
    services.submit(RecordKind.VACCINATION_RECORD, record)
    services.complete_pending(visit.visit_id)
    return record
