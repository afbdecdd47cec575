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
from yoshin.domain.contract import ContractError, parse_record, record_to_json
from yoshin.protocol.sealing import new_record_id

Q, D, V = new_record_id(), new_record_id(), new_record_id()
VALID = {
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
