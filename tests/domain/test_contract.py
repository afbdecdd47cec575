"""The record contract: strict validation, normalisation, round trips."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yoshin.domain import examples
from yoshin.domain.codes import (
    gtin_check_digit,
    is_valid_gtin14,
    is_valid_municipality_code,
    is_valid_my_number,
    my_number_check_digit,
)
from yoshin.domain.contract import (
    EF_MAX_BASE64,
    PROVISIONAL_PREFIX,
    ContractError,
    IdentityClaim,
    RecordKind,
    Route,
    Site,
    VaccinationRecord,
    is_provisional,
    new_provisional_subject_id,
    parse_record,
    record_kind,
    record_to_json,
)
from yoshin.protocol.api import new_record_id

Q, D, V, C = new_record_id(), new_record_id(), new_record_id(), new_record_id()
VALID = {
    "identity_claim": examples.identity_claim(C, new_provisional_subject_id()),
    "questionnaire_response": examples.questionnaire_response(Q),
    "doctor_decision": examples.doctor_decision(D, Q),
    "vaccination_record": examples.vaccination_record(V, Q),
}


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_records_round_trip(kind: str) -> None:
    record = parse_record(kind, VALID[kind])
    assert record_to_json(record) == VALID[kind]
    assert parse_record(kind, record_to_json(record)) == record


@pytest.mark.parametrize("kind", sorted(VALID))
def test_unknown_and_missing_fields_are_rejected(kind: str) -> None:
    with pytest.raises(ContractError) as unknown:
        parse_record(kind, {**VALID[kind], "my_number": "123456789018"})
    assert unknown.value.field == "my_number"
    incomplete = dict(VALID[kind])
    del incomplete["subject_id"]
    with pytest.raises(ContractError) as missing:
        parse_record(kind, incomplete)
    assert missing.value.field == "subject_id"


def test_full_width_digits_are_normalised() -> None:
    data = {**VALID["vaccination_record"], "vaccination_date": "２０２６-１０-１５", "dose_number": "１"}
    data["municipality_code"] = "１４１３０５"
    record = parse_record("vaccination_record", data)
    assert record_to_json(record)["municipality_code"] == "141305"
    assert record_to_json(record)["vaccination_date"] == "2026-10-15"
    assert record_to_json(record)["dose_number"] == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("vaccination_date", "2026-02-30"),
        ("expiry_date", "2026-10-14"),  # expired the day before vaccination
        ("gtin", "02000000000122"),  # wrong check digit
        ("municipality_code", "141306"),
        ("lot_number", "LOT 4X7"),
        ("lot_number", "L" * 21),
        ("dose_amount_ml", "5"),
        ("dose_amount_ml", "0.555"),
        ("site", "left_ear"),
        ("consent", False),
        ("place", "x" * 61),
        ("place", "診療所\x07"),
        ("checked_by", "N0001"),  # same person as entered_by
        ("record_id", "3b241101-e2bb-4255-8caf-4136c566a962"),  # UUIDv4
        ("caution_flag", "no"),
    ],
)
def test_bad_vaccination_records_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ContractError) as error:
        parse_record("vaccination_record", {**VALID["vaccination_record"], field: value})
    assert error.value.message.ja and error.value.message.en
    assert error.value.field in {field, "expiry_date", "checked_by"}


def test_a_deferral_needs_a_reason() -> None:
    with pytest.raises(ContractError, match="reason"):
        parse_record("doctor_decision", {**VALID["doctor_decision"], "decision": "defer"})
    record = parse_record("doctor_decision", {**VALID["doctor_decision"], "decision": "defer", "reason": "発熱"})
    assert record.reason == "発熱"


def test_guardian_answers_need_the_guardian_name() -> None:
    with pytest.raises(ContractError, match="guardian"):
        parse_record("questionnaire_response", {**VALID["questionnaire_response"], "respondent": "guardian"})


@given(st.text(max_size=300))
def test_free_text_is_normalised_or_refused(text: str) -> None:
    data = {**VALID["vaccination_record"], "special_circumstances": text}
    try:
        record = parse_record("vaccination_record", data)
    except ContractError as error:
        assert error.field == "special_circumstances"
        return
    stored = record_to_json(record)["special_circumstances"]
    assert stored is not None and 0 < len(stored) <= 200
    assert stored == stored.strip() and "  " not in stored
    assert parse_record("vaccination_record", {**data, "special_circumstances": stored}) == record


@given(st.text(max_size=60))
def test_free_text_refuses_exactly_the_control_and_invisible_characters(text: str) -> None:
    """The fast paths (ASCII, each distinct character once, a Cc class) decide as a per-character
    `unicodedata.category` check of the input and of its NFKC form does (finding 9)."""
    import unicodedata

    from yoshin.domain.normalize import free_text, nfkc

    folded = " ".join(nfkc(text).split())
    refused_before = any(unicodedata.category(c) in {"Cf", "Cs", "Co"} for c in text)
    refused_after = any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co"} for c in folded)
    try:
        free_text(text, 10_000)
    except ValueError:
        assert refused_before or refused_after
    else:
        assert not (refused_before or refused_after)


@given(st.dictionaries(st.text(max_size=12), st.none() | st.booleans() | st.integers() | st.text(max_size=8)))
def test_arbitrary_objects_parse_or_raise_contract_error(data: dict[str, Any]) -> None:
    for kind in VALID:
        with contextlib.suppress(ContractError):
            parse_record(kind, data)


@given(st.integers(min_value=0, max_value=10**11 - 1))
def test_my_number_check_digit_detects_every_single_digit_change(body: int) -> None:
    number = f"{body:011d}"
    full = number + str(my_number_check_digit(number))
    assert is_valid_my_number(full)
    for position in range(12):
        for digit in "0123456789":
            if digit != full[position]:
                changed = full[:position] + digit + full[position + 1 :]
                if position == 11 or my_number_check_digit(changed[:11]) != int(changed[11]):
                    assert not is_valid_my_number(changed)


def test_check_digit_vectors_from_the_references() -> None:
    assert my_number_check_digit("12345678901") == 8
    assert my_number_check_digit("11111111111") == 8
    assert my_number_check_digit("98765432109") == 3
    assert not is_valid_my_number("１２３４５６７８９０１８")  # the caller normalises first
    for code in ("141003", "141305", "131121", "242039", "010006"):
        assert is_valid_municipality_code(code)
    assert gtin_check_digit("0200000000012") == 1 and is_valid_gtin14("02000000000121")


def test_provisional_subject_ids_fit_the_subject_field_and_never_repeat() -> None:
    ids = {new_provisional_subject_id() for _ in range(1000)}
    assert len(ids) == 1000
    for subject_id in ids:
        assert len(subject_id) == 32 and subject_id.startswith(PROVISIONAL_PREFIX) and is_provisional(subject_id)
        assert int(subject_id[2:], 16) >= 0  # hex digits
    assert not is_provisional("S000102")


def test_an_identity_claim_parses_to_its_own_type() -> None:
    claim = parse_record("identity_claim", VALID["identity_claim"])
    assert isinstance(claim, IdentityClaim) and is_provisional(claim.subject_id)


@pytest.mark.parametrize("subject_id", ["S000102", "p-" + "0" * 30, "P-" + "0" * 31])
def test_an_identity_claim_names_a_provisional_subject_only(subject_id: str) -> None:
    with pytest.raises(ContractError) as refused:
        parse_record("identity_claim", {**VALID["identity_claim"], "subject_id": subject_id})
    assert refused.value.field == "subject_id"
    assert refused.value.message.ja and refused.value.message.en


@pytest.mark.parametrize("field", ["ef_my_number", "ef_basic_info", "ef_signature"])
@pytest.mark.parametrize(
    "value",
    ["", "not base64!", "QUJD", "QUJDRA=", "QUJD RA==", "ＱＵＪＤ", "A" * (EF_MAX_BASE64 + 4), None, 12, ["QUJD"]],
)
def test_identity_claim_card_data_must_be_short_standard_base64(field: str, value: Any) -> None:
    data = {**VALID["identity_claim"], field: value}
    if value == "QUJD":  # the one valid value: three bytes, proves the others fail for their form alone
        assert record_to_json(parse_record("identity_claim", data))[field] == "QUJD"
        return
    with pytest.raises(ContractError) as refused:
        parse_record("identity_claim", data)
    assert refused.value.field == field


def test_identity_claim_card_data_at_the_length_limit_is_accepted() -> None:
    longest = "A" * EF_MAX_BASE64
    assert len(longest) % 4 == 0
    data = {**VALID["identity_claim"], "ef_signature": longest}
    assert record_to_json(parse_record("identity_claim", data))["ef_signature"] == longest


def test_every_record_kind_has_one_shape_and_is_named_by_it() -> None:
    assert set(VALID) == set(RecordKind)
    for kind, data in VALID.items():
        record = parse_record(kind, data)
        assert record_kind(record) is RecordKind(kind) and type(record).KIND is RecordKind(kind)
    with pytest.raises(ContractError) as unknown:
        parse_record("audit_event", {})
    assert unknown.value.field == "kind"


def test_closed_sets_parse_to_their_enum_and_serialise_as_plain_strings() -> None:
    record = parse_record("vaccination_record", VALID["vaccination_record"])
    assert isinstance(record, VaccinationRecord)
    assert record.site is Site(VALID["vaccination_record"]["site"]) and record.route is Route(record.route)
    assert type(record_to_json(record)["site"]) is str
