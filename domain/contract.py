"""The record contract: the one schema the kiosk, the device queue and the host all use.

Four record kinds (`RecordKind`) cross from appliance to host: a questionnaire response (予診票), the
doctor's decision (医師記入欄), the vaccination record (予防接種記録, with every item of the municipal data
list, vaccination-domain.md §3.3) and, for an offline visit, the sealed identity claim. Each record shape
is declared once, as a dataclass whose fields carry their own converter (`Annotated[type, convert]`), so the
Python type and the wire validation cannot drift apart. `parse_record` is strict (control 9: only the
items the interface specification fixes are accepted):

- unknown fields are rejected, missing ones too;
- digits are NFKC-normalised, so full-width １２３ becomes 123;
- free text only in designated fields, with length limits;
- dates are real dates; the lot must not be expired on the vaccination date.

`record_to_json(parse_record(kind, data)) == data` for every valid `data` in normal form.
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from dataclasses import field as _field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from typing import Annotated, Any, ClassVar, TypeVar, get_type_hints

from yoshin.domain import normalize
from yoshin.domain.codes import is_valid_gtin14, is_valid_municipality_code
from yoshin.domain.i18n import Bilingual, BilingualError

CONTRACT_VERSION = "1"
_E = TypeVar("_E", bound=StrEnum)


class RecordKind(StrEnum):
    """The record kinds of the contract: the one list the queue, the host's intake and the docs use."""

    QUESTIONNAIRE_RESPONSE = "questionnaire_response"
    DOCTOR_DECISION = "doctor_decision"
    VACCINATION_RECORD = "vaccination_record"
    IDENTITY_CLAIM = "identity_claim"


# An offline visit's records name a provisional subject until the host resolves the visit's identity
# claim (the card's sealed face data) when the queue drains; the host then links them to the resident.
PROVISIONAL_PREFIX = "P-"
EF_MAX_BASE64 = 4096


class FlagKind(StrEnum):
    NOT_ELIGIBLE = "not_eligible"  # 接種不可
    DOCTOR_REVIEW = "doctor_review"  # 要医師確認


class Site(StrEnum):
    """接種部位."""

    LEFT_UPPER_ARM = "left_upper_arm"
    RIGHT_UPPER_ARM = "right_upper_arm"
    LEFT_THIGH = "left_thigh"
    RIGHT_THIGH = "right_thigh"
    ORAL = "oral"
    OTHER = "other"


class Presenter(StrEnum):
    """Who stood at reception for the visit (control 4): the person, their guardian, or a proxy."""

    SELF = "self"  # 本人
    GUARDIAN = "guardian"  # 保護者 (親権者, same household)
    PROXY = "proxy"  # 代理人 (not of the household: a written mandate, 委任状, and their own ID)


class IdDocument(StrEnum):
    """What reception saw (control 4): the identity documents, and the mandate or the guardianship proof."""

    MY_NUMBER_CARD = "my_number_card"  # マイナンバーカード
    DRIVERS_LICENSE = "drivers_license"  # 運転免許証
    HEALTH_INSURANCE = "health_insurance"  # 保険証 (資格確認書)
    PASSPORT = "passport"  # 旅券
    RESIDENCE_CARD = "residence_card"  # 在留カード
    MATERNAL_CHILD_HANDBOOK = "maternal_child_handbook"  # 母子健康手帳 (a child's guardian)
    POWER_OF_ATTORNEY = "power_of_attorney"  # 委任状 (a proxy's written mandate)


# The staff roles that may confirm at reception: whoever works the clinic's counter (control 4).
RECEPTION_ROLES = ("clerk", "nurse", "doctor")

# The documents that show who someone is; the mandate and the handbook say for whom they come.
IDENTITY_DOCUMENTS = (
    IdDocument.MY_NUMBER_CARD,
    IdDocument.DRIVERS_LICENSE,
    IdDocument.HEALTH_INSURANCE,
    IdDocument.PASSPORT,
    IdDocument.RESIDENCE_CARD,
)


def reception_problem(presenter: Presenter, documents: tuple[IdDocument, ...]) -> Bilingual | None:
    """Control 4 as a rule: an identity document always; a proxy also the written mandate (委任状)
    (004_5c12a4fa44eb87f5.txt L328, L373). None when the check is complete."""
    if not any(document in IDENTITY_DOCUMENTS for document in documents):
        return Bilingual("本人確認書類を選んでください", "Choose the identity document that was shown")
    if presenter is Presenter.PROXY and IdDocument.POWER_OF_ATTORNEY not in documents:
        return Bilingual("代理人の場合は委任状の確認が必要です", "A proxy needs the written mandate (委任状)")
    return None


@dataclass(frozen=True, slots=True)
class ReceptionCheck:
    """Reception's identity check before the card step (control 4): who confirmed, when, for whom, seen on what.
    No data of the resident: the card step that follows says who the resident is."""

    confirmed_by: str
    confirmed_at: datetime
    presenter: Presenter
    documents: tuple[IdDocument, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "confirmed_by": self.confirmed_by,
            "confirmed_at": self.confirmed_at.isoformat(),
            "presenter": str(self.presenter),
            "documents": [str(document) for document in self.documents],
        }


def _reception(value: Any) -> ReceptionCheck:
    keys = {"confirmed_by", "confirmed_at", "presenter", "documents"}
    if not isinstance(value, Mapping) or set(value) != keys:
        raise ValueError(f"must be an object with exactly {', '.join(sorted(keys))}")
    documents = value["documents"]
    if not isinstance(documents, list) or not 0 < len(documents) <= len(IdDocument):
        raise ValueError("documents must be a short list of document kinds")
    check = ReceptionCheck(
        _code()(value["confirmed_by"]),
        _datetime(value["confirmed_at"]),
        _choice(Presenter)(value["presenter"]),
        tuple(dict.fromkeys(_choice(IdDocument)(document) for document in documents)),
    )
    problem = reception_problem(check.presenter, check.documents)
    if problem is not None:
        raise ValueError(problem.en)
    return check


INJECTION_SITES = (Site.LEFT_UPPER_ARM, Site.RIGHT_UPPER_ARM, Site.LEFT_THIGH, Site.RIGHT_THIGH)


class Route(StrEnum):
    """接種経路."""

    SUBCUTANEOUS = "subcutaneous"
    INTRAMUSCULAR = "intramuscular"
    ORAL = "oral"
    PERCUTANEOUS = "percutaneous"
    INTRANASAL = "intranasal"


class ImplementationType(StrEnum):
    INDIVIDUAL = "individual"  # 個別接種
    GROUP = "group"  # 集団接種


class VaccinationType(StrEnum):
    ROUTINE = "routine"  # 定期
    EXTRAORDINARY = "extraordinary"  # 臨時
    VOLUNTARY = "voluntary"  # 任意


class Respondent(StrEnum):
    SELF = "self"
    GUARDIAN = "guardian"


class Decision(StrEnum):
    PROCEED = "proceed"  # 可
    DEFER = "defer"  # 見合わせ


# The tuples other modules check membership against, derived from the enums (not a second list).
FLAG_NOT_ELIGIBLE = FlagKind.NOT_ELIGIBLE
FLAG_DOCTOR_REVIEW = FlagKind.DOCTOR_REVIEW
FLAGS = tuple(FlagKind)
SITES = tuple(Site)
ROUTES = tuple(Route)

# Input limits (finding 7): plausible years for every date and time, a vaccine's longest shelf life,
# and the largest number an answer may carry (a temperature, a weight); all numbers finite.
MIN_YEAR, MAX_YEAR = 1900, 2100
MAX_SHELF_LIFE_DAYS = 5 * 365
MAX_NUMBER = 1e6

# Designated free-text fields and their limits; every other string field is a code.
TEXT_LIMITS = {
    "detail": 200,
    "reason": 200,
    "override_reason": 200,
    "place": 60,
    "special_circumstances": 200,
    "doctor_name": 40,
    "guardian_name": 40,
    "manufacturer": 60,
    "generic_name": 60,
    "brand_name": 60,
}


class ContractError(BilingualError):
    """A record that does not satisfy the contract; `field` names the offending field."""

    def __init__(self, field: str, en: str, ja: str) -> None:
        super().__init__(Bilingual(ja=f"{field}: {ja}", en=f"{field}: {en}"))
        self.field = field


@dataclass(frozen=True, slots=True)
class Flag:
    """A flag raised by an answer rule: which question, which flag."""

    question_id: str
    flag: str


@dataclass(frozen=True, slots=True)
class GuardOverride:
    """A doctor's override of one finding of the vaccination-error guard (`domain/rules_guard.py`)."""

    code: str
    doctor_id: str
    reason: str


def new_provisional_subject_id() -> str:
    """A subject id for an offline visit: "P-" and 30 random hex digits (32 characters, like any id)."""
    return PROVISIONAL_PREFIX + secrets.token_hex(15)


def is_provisional(subject_id: str) -> bool:
    return subject_id.startswith(PROVISIONAL_PREFIX)


# --- converters: value in, normal value out, or ValueError with an English reason -------------------


def _uuid7(value: Any) -> str:
    text = _str(value).lower()
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        raise ValueError("not a UUID") from None
    if parsed.version != 7 or str(parsed) != text:
        raise ValueError("must be a UUIDv7 in canonical form")
    return text


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    return value


def _code(max_length: int = 32) -> Callable[[Any], str]:
    """An identifier: NFKC, ASCII letters, digits, '-', '_' and '.', no spaces."""

    def convert(value: Any) -> str:
        text = normalize.nfkc(_str(value)).strip()
        if not text or len(text) > max_length:
            raise ValueError(f"must be 1-{max_length} characters")
        if not text.isascii() or not all(c.isalnum() or c in "-_." for c in text):
            raise ValueError("only letters, digits, '-', '_' and '.'")
        return text

    return convert


def _digits(length: int, check: Callable[[str], bool] | None = None) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = normalize.digits(_str(value))
        if len(text) != length or not text.isascii() or not text.isdigit():
            raise ValueError(f"must be {length} digits")
        if check and not check(text):
            raise ValueError("check digit does not match")
        return text

    return convert


def _text(name: str) -> Callable[[Any], str]:
    limit = TEXT_LIMITS[name]

    def convert(value: Any) -> str:
        text = normalize.free_text(_str(value), limit)
        if not text:
            raise ValueError("must not be empty")
        return text

    return convert


def _base64(value: Any) -> str:
    text = _str(value)
    if not text or len(text) > EF_MAX_BASE64:
        raise ValueError(f"must be 1-{EF_MAX_BASE64} characters of base64")
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64") from None
    return text


def _provisional(value: Any) -> str:
    text = _code(32)(value)
    if not is_provisional(text):
        raise ValueError(f"an identity claim names a provisional subject ({PROVISIONAL_PREFIX}...)")
    return text


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _true(value: Any) -> bool:
    if _bool(value) is not True:
        raise ValueError("consent is required")
    return True


def _int(minimum: int, maximum: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("must be a whole number")
        if isinstance(value, str):
            text = normalize.digits(value)
            if not text.isascii() or not text.isdigit():
                raise ValueError("must be a whole number")
            value = int(text)
        if not isinstance(value, int) or not minimum <= value <= maximum:
            raise ValueError(f"must be a whole number from {minimum} to {maximum}")
        return value

    return convert


def _in_years(day: date) -> None:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(f"the year must be {MIN_YEAR}-{MAX_YEAR}")


def _date(value: Any) -> date:
    text = normalize.digits(_str(value))
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError("must be a real date YYYY-MM-DD") from None
    _in_years(day)
    return day


def _datetime(value: Any) -> datetime:
    text = normalize.nfkc(_str(value)).strip()
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an ISO 8601 time") from None
    if stamp.utcoffset() is None:
        raise ValueError("must carry a time zone")
    _in_years(stamp.date())
    return stamp


def _choice(options: type[_E]) -> Callable[[Any], _E]:
    """One member of a closed set (a StrEnum), by its wire value."""

    def convert(value: Any) -> _E:
        try:
            return options(value)
        except ValueError:
            raise ValueError(f"must be one of {', '.join(options)}") from None

    return convert


def _dose_ml(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be a number of mL")
    try:
        amount = Decimal(normalize.digits(str(value)))
    except InvalidOperation:
        raise ValueError("must be a number of mL") from None
    if not amount.is_finite():
        raise ValueError("must be a finite number of mL")
    if not Decimal("0.01") <= amount <= Decimal("2.0") or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("must be 0.01-2.0 mL with at most two decimals")
    return amount


def _lot(value: Any) -> str:
    text = normalize.nfkc(_str(value)).strip().upper()
    if not 1 <= len(text) <= 20 or not text.isascii() or not text.isalnum():
        raise ValueError("must be 1-20 letters and digits (GS1 AI 10)")
    return text


def _answers(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("must be an object of question id to answer")
    out: dict[str, Any] = {}
    for key, answer in value.items():
        question = _code(64)(key)
        if isinstance(answer, str):
            answer = normalize.nfkc(normalize.refuse_invisible(answer)).strip()
            if len(answer) > 64:
                raise ValueError(f"answer to {question} is too long")
        elif isinstance(answer, list):
            if not all(isinstance(item, str) and len(item) <= 64 for item in answer) or len(answer) > 32:
                raise ValueError(f"answer to {question} must be a short list of choices")
            answer = [normalize.nfkc(normalize.refuse_invisible(item)) for item in answer]
        elif isinstance(answer, float | int) and not isinstance(answer, bool):
            if not math.isfinite(answer) or abs(answer) > MAX_NUMBER:
                raise ValueError(f"answer to {question} must be a finite number of at most {MAX_NUMBER:g}")
        elif not isinstance(answer, bool):
            raise ValueError(f"answer to {question} has an unsupported type")
        out[question] = answer
    return out


def _details(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError("must be an object of question id to detail text")
    return {_code(64)(key): _text("detail")(text) for key, text in value.items()}


def _flags(value: Any) -> tuple[Flag, ...]:
    if not isinstance(value, list):
        raise ValueError("must be a list")
    flags = []
    for item in value:
        if not isinstance(item, Mapping) or set(item) != {"question_id", "flag"}:
            raise ValueError("each flag has exactly question_id and flag")
        flags.append(Flag(_code(64)(item["question_id"]), _choice(FlagKind)(item["flag"])))
    return tuple(flags)


PROOF_SLOTS = {
    "questionnaire_response": ("identity_confirmed_by",),
    "doctor_decision": ("decided_by",),
    "vaccination_record": ("entered_by", "checked_by"),
}
MAX_PROOF = 1024


def _proofs(slots: tuple[str, ...]) -> Callable[[Any], dict[str, str]]:
    """The host's attestations by slot (seam 5); their signatures are the host's to check, the contract
    checks the shape."""

    def convert(value: Any) -> dict[str, str]:
        if not isinstance(value, Mapping) or not set(value) <= set(slots):
            raise ValueError(f"must be an object with only {', '.join(slots)}")
        for token in value.values():
            if not isinstance(token, str) or not 0 < len(token) <= MAX_PROOF or not token.isascii():
                raise ValueError(f"each proof is an attestation token of at most {MAX_PROOF} characters")
        return dict(value)

    return convert


def _overrides(value: Any) -> tuple[GuardOverride, ...]:
    if not isinstance(value, list) or len(value) > 16:
        raise ValueError("must be a list of at most 16 overrides")
    out = []
    for item in value:
        if not isinstance(item, Mapping) or set(item) != {"code", "doctor_id", "reason"}:
            raise ValueError("each override has exactly code, doctor_id and reason")
        out.append(
            GuardOverride(_code(32)(item["code"]), _code()(item["doctor_id"]), _text("override_reason")(item["reason"]))
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Common:
    """The fields every record has, first in every record."""

    KIND: ClassVar[RecordKind]

    record_id: Annotated[str, _uuid7]
    municipality_code: Annotated[str, _digits(6, is_valid_municipality_code)]
    clinic_code: Annotated[str, _digits(10)]
    subject_id: Annotated[str, _code(32)]
    created_at: Annotated[datetime, _datetime]


@dataclass(frozen=True, slots=True)
class QuestionnaireResponse(_Common):
    KIND: ClassVar[RecordKind] = RecordKind.QUESTIONNAIRE_RESPONSE

    template_id: Annotated[str, _code()]
    template_version: Annotated[str, _code()]
    vaccine_code: Annotated[str, _code()]
    answers: Annotated[Mapping[str, Any], _answers]
    details: Annotated[Mapping[str, str], _details]
    flags: Annotated[tuple[Flag, ...], _flags]
    respondent: Annotated[Respondent, _choice(Respondent)]
    guardian_name: Annotated[str | None, _optional(_text("guardian_name"))]
    consent: Annotated[bool, _true]
    eligibility_verified: Annotated[bool, _bool]
    started_at: Annotated[datetime, _datetime]
    answered_at: Annotated[datetime, _datetime]
    # reception's identity check before the card step (control 4) and the host's attestation of who made it
    reception: Annotated[ReceptionCheck | None, _optional(_reception)] = None
    proofs: Annotated[Mapping[str, str], _proofs(PROOF_SLOTS["questionnaire_response"])] = _field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DoctorDecision(_Common):
    KIND: ClassVar[RecordKind] = RecordKind.DOCTOR_DECISION

    questionnaire_record_id: Annotated[str, _uuid7]
    decision: Annotated[Decision, _choice(Decision)]
    reason: Annotated[str | None, _optional(_text("reason"))]
    override_reason: Annotated[str | None, _optional(_text("override_reason"))]
    explanation_given: Annotated[bool, _bool]
    doctor_id: Annotated[str, _code()]
    doctor_name: Annotated[str, _text("doctor_name")]
    # the host's attestation of the doctor who decided (seam 5); absent on input means none
    proofs: Annotated[Mapping[str, str], _proofs(PROOF_SLOTS["doctor_decision"])] = _field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VaccinationRecord(_Common):
    KIND: ClassVar[RecordKind] = RecordKind.VACCINATION_RECORD

    questionnaire_record_id: Annotated[str, _uuid7]
    vaccination_date: Annotated[date, _date]
    consent: Annotated[bool, _true]
    doctor_id: Annotated[str, _code()]
    doctor_name: Annotated[str, _text("doctor_name")]
    place: Annotated[str, _text("place")]
    implementation_type: Annotated[ImplementationType, _choice(ImplementationType)]
    vaccination_type: Annotated[VaccinationType, _choice(VaccinationType)]
    vaccine_code: Annotated[str, _code()]
    dose_number: Annotated[int, _int(1, 10)]
    gtin: Annotated[str, _digits(14, is_valid_gtin14)]
    manufacturer: Annotated[str, _text("manufacturer")]
    generic_name: Annotated[str, _text("generic_name")]
    brand_name: Annotated[str, _text("brand_name")]
    lot_number: Annotated[str, _lot]
    dose_amount_ml: Annotated[Decimal, _dose_ml]
    site: Annotated[Site, _choice(Site)]
    route: Annotated[Route, _choice(Route)]
    expiry_date: Annotated[date, _date]
    caution_flag: Annotated[bool, _bool]
    special_circumstances: Annotated[str | None, _optional(_text("special_circumstances"))]
    vaccinated_abroad: Annotated[bool, _bool]
    entered_by: Annotated[str, _code()]
    checked_by: Annotated[str, _code()]
    guard_overrides: Annotated[tuple[GuardOverride, ...], _overrides]  # findings the deciding doctor overrode
    # the host's attestations of who entered and who checked (seam 5); absent on input means none
    proofs: Annotated[Mapping[str, str], _proofs(PROOF_SLOTS["vaccination_record"])] = _field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IdentityClaim(_Common):
    """An offline visit's card face data (EF01-03, base64), for the host alone to resolve later.

    It holds the My Number, so it only ever exists sealed to the host; the host stores the outcome,
    never these fields."""

    KIND: ClassVar[RecordKind] = RecordKind.IDENTITY_CLAIM

    subject_id: Annotated[str, _provisional]
    ef_my_number: Annotated[str, _base64]
    ef_basic_info: Annotated[str, _base64]
    ef_signature: Annotated[str, _base64]


Record = QuestionnaireResponse | DoctorDecision | VaccinationRecord | IdentityClaim
_TYPES: dict[RecordKind, type[Record]] = {
    cls.KIND: cls for cls in (QuestionnaireResponse, DoctorDecision, VaccinationRecord, IdentityClaim)
}
assert set(_TYPES) == set(RecordKind), "every record kind has exactly one shape"


def _converters(cls: type[Record]) -> dict[str, Callable[[Any], Any]]:
    hints = get_type_hints(cls, include_extras=True)
    return {item.name: hints[item.name].__metadata__[0] for item in fields(cls)}


# field name -> converter, in field order, read from the annotations once
_SPECS: dict[RecordKind, dict[str, Callable[[Any], Any]]] = {kind: _converters(cls) for kind, cls in _TYPES.items()}
# fields that may be absent on input (they have a default: `proofs`, for records made before it existed)
_OPTIONAL: dict[RecordKind, set[str]] = {
    kind: {item.name for item in fields(cls) if (item.default, item.default_factory) != (MISSING, MISSING)}
    for kind, cls in _TYPES.items()
}


def parse_record(kind: str, data: Mapping[str, Any]) -> Record:
    """Validate and normalise one record of `kind`; raises ContractError naming the first bad field."""
    try:
        cls = _TYPES[RecordKind(kind)]
    except ValueError:
        raise ContractError("kind", f"unknown record kind {kind!r}", f"不明な記録種別です ({kind!r})") from None
    spec = _SPECS[cls.KIND]
    if not isinstance(data, Mapping):
        raise ContractError("record", "must be an object", "オブジェクトである必要があります")
    unknown = sorted(set(data) - set(spec))
    if unknown:
        raise ContractError(unknown[0], "unknown field", "定義されていない項目です")
    missing = [name for name in spec if name not in data and name not in _OPTIONAL[cls.KIND]]
    if missing:
        raise ContractError(missing[0], "missing field", "必須項目がありません")
    values: dict[str, Any] = {}
    for name, convert in spec.items():
        if name not in data:
            continue  # optional: the dataclass default
        try:
            values[name] = convert(data[name])
        except ValueError as error:
            raise ContractError(name, str(error), "値が正しくありません") from None
    record = cls(**values)
    _check_rules(record)
    return record


def _check_rules(record: Record) -> None:
    """Rules across fields."""
    if isinstance(record, VaccinationRecord):
        if record.expiry_date < record.vaccination_date:
            raise ContractError(
                "expiry_date",
                "the lot expired before the vaccination date",
                "接種日時点で有効期限切れのロットです",
            )
        if (record.expiry_date - record.vaccination_date).days > MAX_SHELF_LIFE_DAYS:
            raise ContractError(
                "expiry_date",
                f"an expiry more than {MAX_SHELF_LIFE_DAYS // 365} years after the vaccination is not plausible",
                f"有効期限が接種日から{MAX_SHELF_LIFE_DAYS // 365}年を超えています",
            )
        if record.entered_by == record.checked_by:
            raise ContractError(
                "checked_by",
                "the second check must be by another person",
                "確認は別の職員が行う必要があります",
            )
        if any(override.doctor_id != record.doctor_id for override in record.guard_overrides):
            raise ContractError(
                "guard_overrides",
                "only the deciding doctor overrides a finding",
                "判断した医師のみが警告を解除できます",
            )
    elif isinstance(record, DoctorDecision):
        if record.decision is Decision.DEFER and record.reason is None:
            raise ContractError("reason", "a deferral needs a reason", "見合わせには理由が必要です")
    elif isinstance(record, QuestionnaireResponse):
        if (record.respondent is Respondent.GUARDIAN) != (record.guardian_name is not None):
            raise ContractError(
                "guardian_name",
                "a guardian's answers need the guardian's name, and only then",
                "保護者が回答した場合のみ保護者氏名が必要です",
            )
        if bool(record.proofs.get("identity_confirmed_by")) and record.reception is None:
            raise ContractError(
                "proofs", "a reception proof without the reception check", "受付確認のない受付確認の証明です"
            )
        if record.reception is not None and record.reception.confirmed_at > record.answered_at:
            raise ContractError("reception", "confirmed after the answers", "回答の後に受付確認されています")
        if record.answered_at < record.started_at:
            raise ContractError("answered_at", "answered before it was started", "回答日時が開始日時より前です")
        for question in record.details:
            if question not in record.answers:
                raise ContractError("details", f"detail for unanswered question {question}", "未回答の設問の詳細です")


def record_kind(record: Record) -> RecordKind:
    if not isinstance(record, _Common):
        raise TypeError(f"not a record: {type(record).__name__}")
    return record.KIND


def record_to_json(record: Record) -> dict[str, Any]:
    """The JSON form of a record; `parse_record` accepts it back unchanged."""
    out: dict[str, Any] = {}
    for item in fields(record):
        value = getattr(record, item.name)
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, datetime | date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        elif item.name == "flags":
            value = [{"question_id": flag.question_id, "flag": str(flag.flag)} for flag in value]
        elif isinstance(value, ReceptionCheck):
            value = value.to_json()
        elif item.name == "guard_overrides":
            value = [{"code": o.code, "doctor_id": o.doctor_id, "reason": o.reason} for o in value]
        elif isinstance(value, Mapping):
            value = dict(value)
        out[item.name] = value
    return out
