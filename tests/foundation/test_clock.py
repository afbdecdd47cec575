"""One JST day everywhere: the kiosk, the host and the pending store count the same age at any hour.

The edge: someone born 2010-10-16 attains 16 at the end of 2026-10-14 (年齢計算ニ関スル法律, see
domain/age.py), so from 2026-10-15 the guardian section (asked under 16) is no longer shown. At 08:30 JST
on the 15th the UTC date is still the 14th: a screen taking the UTC date would count 15 there and ask
for a guardian the host does not expect."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from yoshin.device.visit import subject_context
from yoshin.domain.age import age_in_years
from yoshin.domain.clock import JST, today
from yoshin.domain.templates import default_templates
from yoshin.host.server import HostServer, HostService
from yoshin.protocol import api
from yoshin.tools.card_emulator import CardImage
from yoshin.tools.personas import persona, registry_csv
from yoshin.tools.test_pki import TestPki

BIRTH = date(2010, 10, 16)
TEMPLATE = default_templates().for_vaccine("flu_elderly", date(2026, 10, 15))


def jst(day: int, hour: int, minute: int) -> datetime:
    """The instant, as a clock gives it (UTC), of a JST wall-clock time in October 2026."""
    return datetime(2026, 10, day, hour, minute, tzinfo=JST).astimezone(UTC)


EDGES = [
    (jst(14, 23, 30), 15),  # the last evening at 15
    (jst(15, 0, 30), 16),  # UTC is still the 14th
    (jst(15, 8, 30), 16),  # UTC is still the 14th
    (jst(15, 23, 30), 16),
    (jst(16, 0, 30), 16),  # the birthday itself
    (jst(16, 8, 30), 16),
    (jst(16, 23, 30), 16),  # UTC is already the 16th
]


@pytest.mark.parametrize(("now", "age"), EDGES)
def test_the_kiosk_counts_the_age_of_the_jst_day(now: datetime, age: int) -> None:
    assert TEMPLATE is not None and TEMPLATE.guardian_under_years == 16
    context = subject_context(BIRTH, "female", now)
    assert context.age_years == age
    assert context.needs_guardian(TEMPLATE) is (age < 16)  # the guardian section follows the age


def test_the_utc_date_would_have_counted_wrong_at_0830_jst() -> None:
    now = jst(15, 8, 30)
    assert now.date() == date(2026, 10, 14) and today(now) == date(2026, 10, 15)
    assert age_in_years(BIRTH, now.date()) == 15 != subject_context(BIRTH, "female", now).age_years


@pytest.mark.parametrize(("now", "age"), EDGES)
def test_the_host_and_the_pending_store_use_the_same_day(tmp_path: Path, now: datetime, age: int) -> None:
    service = HostService.open(tmp_path / "host", clock=lambda: now)
    assert service.today() == today(now)
    assert age_in_years(BIRTH, service.today()) == age


@pytest.mark.parametrize(("now", "age"), [EDGES[0], EDGES[2], EDGES[-1]])
def test_the_host_answers_the_same_age_over_the_wire(
    make_device, host: HostServer, clock, test_pki: TestPki, now: datetime, age: int
) -> None:
    teen = replace(persona("adult"), birth_date=BIRTH)
    host.service.registry.import_csv(registry_csv([teen], {"adult": {"birth_date": BIRTH.isoformat()}}))
    clock.now = now  # the host's clock; the device is enrolled at this instant
    device = make_device()
    body = device.identity_body(CardImage.for_persona(teen, test_pki))
    wire = device.client.call("POST", api.IDENTITY, {"envelope": device.seal("identity", body).to_json()})
    subject = api.IdentityAnswer.from_json(wire).subject
    assert subject is not None and subject.age == age == subject_context(BIRTH, "female", now).age_years
