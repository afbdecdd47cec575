"""The typed API answers: what the host sends is what the kiosk reads, and a malformed answer is refused."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from yoshin.domain.i18n import Bilingual
from yoshin.protocol.api import DueItem, IdentityAnswer, IdentityStatus, SubjectInfo

SUBJECT = SubjectInfo(
    subject_id="S000102",
    display_name="多摩 一郎",
    birth_date=date(1951, 4, 2),
    age=75,
    sex="male",
    is_minor=False,
    guardian_name=None,
    due=(DueItem("flu_elderly", 1, Bilingual(ja="定期接種の対象です", en="routine vaccination due")),),
)


@pytest.mark.parametrize(
    "answer",
    [
        IdentityAnswer(IdentityStatus.OK, SUBJECT),
        IdentityAnswer(IdentityStatus.OK, SUBJECT, revocation="good"),
        IdentityAnswer(IdentityStatus.NOT_FOUND, message=Bilingual(ja="確認できません", en="not confirmed")),
        IdentityAnswer(IdentityStatus.REFER_TO_STAFF, message=Bilingual(ja="職員へ", en="to staff")),
    ],
)
def test_an_identity_answer_survives_the_wire(answer: IdentityAnswer) -> None:
    wire = answer.to_json()
    assert IdentityAnswer.from_json(wire) == answer
    assert answer.ok == (answer.status is IdentityStatus.OK)
    assert ("subject" in wire) == answer.ok


def test_the_wire_form_is_the_documented_one() -> None:
    wire = IdentityAnswer(IdentityStatus.OK, SUBJECT).to_json()
    assert wire["subject"]["birth_date"] == "1951-04-02"
    assert wire["subject"]["due"] == [
        {
            "vaccine_code": "flu_elderly",
            "dose_number": 1,
            "reason_ja": "定期接種の対象です",
            "reason_en": "routine vaccination due",
        }
    ]
    assert "多摩" not in repr(SUBJECT)


def broken(change: dict[str, Any], where: str = "subject") -> dict[str, Any]:
    wire = IdentityAnswer(IdentityStatus.OK, SUBJECT).to_json()
    if where == "subject":
        wire["subject"] |= change
    else:
        wire |= change
    return wire


@pytest.mark.parametrize(
    "wire",
    [
        broken({"status": "maybe"}, "answer"),
        broken({"subject": None}, "answer"),
        broken({"age": "75"}),
        broken({"is_minor": 0}),
        broken({"birth_date": "1951-02-30"}),
        broken({"due": [{"vaccine_code": "flu_elderly", "dose_number": True, "reason_ja": "", "reason_en": ""}]}),
        broken({"guardian_name": 7}),
        [],
    ],
)
def test_a_malformed_answer_is_refused(wire: Any) -> None:
    with pytest.raises(ValueError):
        IdentityAnswer.from_json(wire)
