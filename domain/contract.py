"""The record contract: the one schema the kiosk, the device queue and the host all use.

Three record kinds cross from appliance to host: a questionnaire response (予診票), the doctor's decision
(医師記入欄) and the vaccination record (予防接種記録, with every item of the municipal data list,
vaccination-domain.md §3.3). `parse_record` is strict (control 9: only the items the interface
specification fixes are accepted):

- unknown fields are rejected, missing ones too;
- digits are NFKC-normalised, so full-width １２３ becomes 123;
- free text only in designated fields, with length limits;
- dates are real dates; the lot must not be expired on the vaccination date.

`record_to_json(parse_record(kind, data)) == data` for every valid `data` in normal form.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from dataclasses import field as _field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from yoshin.domain import normalize
from yoshin.domain.codes import is_valid_gtin14, is_valid_municipality_code
from yoshin.domain.i18n import Bilingual, BilingualError

CONTRACT_VERSION = "1"
RECORD_KINDS = ("questionnaire_response", "doctor_decision", "vaccination_record", "identity_claim")

# An offline visit's records name a provisional subject until the host resolves the visit's identity
# claim (the card's sealed face data) when the queue drains; the host then links them to the resident.
PROVISIONAL_PREFIX = "P-"
EF_MAX_BASE64 = 4096

FLAG_NOT_ELIGIBLE = "not_eligible"  # 接種不可
FLAG_DOCTOR_REVIEW = "doctor_review"  # 要医師確認
FLAGS = (FLAG_NOT_ELIGIBLE, FLAG_DOCTOR_REVIEW)

SITES = ("left_upper_arm", "right_upper_arm", "left_thigh", "right_thigh", "oral", "other")
ROUTES = ("subcutaneous", "intramuscular", "oral", "percutaneous", "intranasal")
IMPLEMENTATION_TYPES = ("individual", "group")  # 実施区分: 個別接種 / 集団接種
VACCINATION_TYPES = ("routine", "extraordinary", "voluntary")  # 接種区分: 定期 / 臨時 / 任意
RESPONDENTS = ("self", "guardian")
DECISIONS = ("proceed", "defer")  # 可 / 見合わせ

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
class QuestionnaireResponse:
    record_id: str
    municipality_code: str
    clinic_code: str
    subject_id: str
    created_at: datetime
    template_id: str
    template_version: str
    vaccine_code: str
    answers: Mapping[str, Any]
    details: Mapping[str, str]
    flags: tuple[Flag, ...]
    respondent: Literal["self", "guardian"]
    guardian_name: str | None
    consent: bool
    eligibility_verified: bool
    started_at: datetime
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class DoctorDecision:
    record_id: str
    municipality_code: str
    clinic_code: str
    subject_id: str
    created_at: datetime
    questionnaire_record_id: str
    decision: Literal["proceed", "defer"]
    reason: str | None
    override_reason: str | None
    explanation_given: bool
    doctor_id: str
    doctor_name: str
    # the host's attestations of who decided (seam 5); absent on input means none
    proofs: Mapping[str, str] = _field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VaccinationRecord:
    record_id: str
    municipality_code: str
    clinic_code: str
    subject_id: str
    created_at: datetime
    questionnaire_record_id: str
    vaccination_date: date
    consent: bool
    doctor_id: str
    doctor_name: str
    place: str
    implementation_type: str
    vaccination_type: str
    vaccine_code: str
    dose_number: int
    gtin: str
    manufacturer: str
    generic_name: str
    brand_name: str
    lot_number: str
    dose_amount_ml: Decimal
    site: str
    route: str
    expiry_date: date
    caution_flag: bool
    special_circumstances: str | None
    vaccinated_abroad: bool
    entered_by: str
    checked_by: str
    # the host's attestations of who entered and who checked (seam 5); absent on input means none
    proofs: Mapping[str, str] = _field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IdentityClaim:
    """An offline visit's card face data (EF01-03, base64), for the host alone to resolve later.

    It holds the My Number, so it only ever exists sealed to the host; the host stores the outcome,
    never these fields."""

    record_id: str
    municipality_code: str
    clinic_code: str
    subject_id: str
    created_at: datetime
    ef_my_number: str
    ef_basic_info: str
    ef_signature: str


Record = QuestionnaireResponse | DoctorDecision | VaccinationRecord | IdentityClaim
_TYPES: dict[str, type[Record]] = {
    "questionnaire_response": QuestionnaireResponse,
    "doctor_decision": DoctorDecision,
    "vaccination_record": VaccinationRecord,
    "identity_claim": IdentityClaim,
}


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


def _date(value: Any) -> date:
    text = normalize.digits(_str(value))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("must be a real date YYYY-MM-DD") from None


def _datetime(value: Any) -> datetime:
    text = normalize.nfkc(_str(value)).strip()
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an ISO 8601 time") from None
    if stamp.utcoffset() is None:
        raise ValueError("must carry a time zone")
    return stamp


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return str(value)

    return convert


def _dose_ml(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be a number of mL")
    try:
        amount = Decimal(normalize.digits(str(value)))
    except InvalidOperation:
        raise ValueError("must be a number of mL") from None
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
            answer = normalize.nfkc(answer).strip()
            if len(answer) > 64:
                raise ValueError(f"answer to {question} is too long")
        elif isinstance(answer, list):
            if not all(isinstance(item, str) and len(item) <= 64 for item in answer) or len(answer) > 32:
                raise ValueError(f"answer to {question} must be a short list of choices")
            answer = [normalize.nfkc(item) for item in answer]
        elif isinstance(answer, float | int) and not isinstance(answer, bool):
            pass
        elif not isinstance(answer, bool):
            raise ValueError(f"answer to {question} has an unsupported type")
        out[question] = answer
    return out


def _details(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError("must be an object of question id to detail text")
    return {_code(64)(key): _text("detail")(text) for key, text in value.items()}


PROOF_SLOTS = {"doctor_decision": ("decided_by",), "vaccination_record": ("entered_by", "checked_by")}
MAX_PROOF = 1024


def _proofs(slots: tuple[str, ...]) -> Callable[[Any], dict[str, str]]:
    """Host attestations by slot; their signatures are the host's to check, the contract checks the shape."""

    def convert(value: Any) -> dict[str, str]:
        if not isinstance(value, Mapping) or not set(value) <= set(slots):
            raise ValueError(f"must be an object with only {', '.join(slots)}")
        for token in value.values():
            if not isinstance(token, str) or not 0 < len(token) <= MAX_PROOF or not token.isascii():
                raise ValueError(f"each proof is an attestation token of at most {MAX_PROOF} characters")
        return dict(value)

    return convert


def _flags(value: Any) -> tuple[Flag, ...]:
    if not isinstance(value, list):
        raise ValueError("must be a list")
    flags = []
    for item in value:
        if not isinstance(item, Mapping) or set(item) != {"question_id", "flag"}:
            raise ValueError("each flag has exactly question_id and flag")
        flags.append(Flag(_code(64)(item["question_id"]), _choice(FLAGS)(item["flag"])))
    return tuple(flags)


_COMMON: dict[str, Callable[[Any], Any]] = {
    "record_id": _uuid7,
    "municipality_code": _digits(6, is_valid_municipality_code),
    "clinic_code": _digits(10),
    "subject_id": _code(32),
    "created_at": _datetime,
}

_SPECS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "questionnaire_response": {
        **_COMMON,
        "template_id": _code(),
        "template_version": _code(),
        "vaccine_code": _code(),
        "answers": _answers,
        "details": _details,
        "flags": _flags,
        "respondent": _choice(RESPONDENTS),
        "guardian_name": _optional(_text("guardian_name")),
        "consent": _true,
        "eligibility_verified": _bool,
        "started_at": _datetime,
        "answered_at": _datetime,
    },
    "doctor_decision": {
        **_COMMON,
        "questionnaire_record_id": _uuid7,
        "decision": _choice(DECISIONS),
        "reason": _optional(_text("reason")),
        "override_reason": _optional(_text("override_reason")),
        "explanation_given": _bool,
        "doctor_id": _code(),
        "doctor_name": _text("doctor_name"),
        "proofs": _proofs(PROOF_SLOTS["doctor_decision"]),
    },
    "identity_claim": {
        **_COMMON,
        "subject_id": _provisional,
        "ef_my_number": _base64,
        "ef_basic_info": _base64,
        "ef_signature": _base64,
    },
    "vaccination_record": {
        **_COMMON,
        "questionnaire_record_id": _uuid7,
        "vaccination_date": _date,
        "consent": _true,
        "doctor_id": _code(),
        "doctor_name": _text("doctor_name"),
        "place": _text("place"),
        "implementation_type": _choice(IMPLEMENTATION_TYPES),
        "vaccination_type": _choice(VACCINATION_TYPES),
        "vaccine_code": _code(),
        "dose_number": _int(1, 10),
        "gtin": _digits(14, is_valid_gtin14),
        "manufacturer": _text("manufacturer"),
        "generic_name": _text("generic_name"),
        "brand_name": _text("brand_name"),
        "lot_number": _lot,
        "dose_amount_ml": _dose_ml,
        "site": _choice(SITES),
        "route": _choice(ROUTES),
        "expiry_date": _date,
        "caution_flag": _bool,
        "special_circumstances": _optional(_text("special_circumstances")),
        "vaccinated_abroad": _bool,
        "entered_by": _code(),
        "checked_by": _code(),
        "proofs": _proofs(PROOF_SLOTS["vaccination_record"]),
    },
}
OPTIONAL = {"proofs": dict}  # absent on input: the default (a record made before proofs existed)


def parse_record(kind: str, data: Mapping[str, Any]) -> Record:
    """Validate and normalise one record of `kind`; raises ContractError naming the first bad field."""
    spec = _SPECS.get(kind)
    if spec is None:
        raise ContractError("kind", f"unknown record kind {kind!r}", f"不明な記録種別です ({kind!r})")
    if not isinstance(data, Mapping):
        raise ContractError("record", "must be an object", "オブジェクトである必要があります")
    unknown = sorted(set(data) - set(spec))
    if unknown:
        raise ContractError(unknown[0], "unknown field", "定義されていない項目です")
    missing = [name for name in spec if name not in data and name not in OPTIONAL]
    if missing:
        raise ContractError(missing[0], "missing field", "必須項目がありません")
    values: dict[str, Any] = {}
    for name, convert in spec.items():
        try:
            values[name] = convert(data[name]) if name in data else OPTIONAL[name]()
        except ValueError as error:
            raise ContractError(name, str(error), "値が正しくありません") from None
    record = _TYPES[kind](**values)
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
        if record.entered_by == record.checked_by:
            raise ContractError(
                "checked_by",
                "the second check must be by another person",
                "確認は別の職員が行う必要があります",
            )
    elif isinstance(record, DoctorDecision):
        if record.decision == "defer" and record.reason is None:
            raise ContractError("reason", "a deferral needs a reason", "見合わせには理由が必要です")
    elif isinstance(record, QuestionnaireResponse):
        if (record.respondent == "guardian") != (record.guardian_name is not None):
            raise ContractError(
                "guardian_name",
                "a guardian's answers need the guardian's name, and only then",
                "保護者が回答した場合のみ保護者氏名が必要です",
            )
        if record.answered_at < record.started_at:
            raise ContractError("answered_at", "answered before it was started", "回答日時が開始日時より前です")
        for question in record.details:
            if question not in record.answers:
                raise ContractError("details", f"detail for unanswered question {question}", "未回答の設問の詳細です")


def record_kind(record: Record) -> str:
    for kind, cls in _TYPES.items():
        if isinstance(record, cls):
            return kind
    raise TypeError(f"not a record: {type(record).__name__}")


def record_to_json(record: Record) -> dict[str, Any]:
    """The JSON form of a record; `parse_record` accepts it back unchanged."""
    out: dict[str, Any] = {}
    for field in fields(record):
        value = getattr(record, field.name)
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        elif field.name == "flags":
            value = [{"question_id": flag.question_id, "flag": flag.flag} for flag in value]
        elif isinstance(value, Mapping):
            value = dict(value)
        out[field.name] = value
    return out
