"""Privacy invariants on the appliance: nothing readable on disk, day keys shred pending visits."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from yoshin.device.forwarder import Forwarder
from yoshin.device.pending import PendingVisits
from yoshin.devtools.card_emulator import CardImage
from yoshin.devtools.dev_pki import DevPki
from yoshin.devtools.personas import persona
from yoshin.domain import examples
from yoshin.host.server import HostServer
from yoshin.protocol.api import new_record_id


def test_pending_visits_are_readable_until_completed_and_shredded_at_day_end(make_device, clock) -> None:
    device = make_device()
    pending = device.appliance.pending()
    pending.put("v1", {"name": "川崎 花子", "answers": {"temperature": 36.5}})
    pending.put("v2", {"name": "多摩 一郎", "answers": {"temperature": 37.8}})
    assert [visit_id for visit_id, _ in pending.list()] == ["v1", "v2"]
    assert pending.get("v2")["answers"]["temperature"] == 37.8
    pending.complete("v1")
    assert pending.get("v1") is None
    copy = device.appliance.data_dir / "copy-before-day-end.db"
    pending.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(device.appliance.queue_path, copy)
    assert pending.end_day() == 1
    assert pending.list() == []
    assert not list(device.keystore.directory.glob("day-*.key"))
    # Even the copy taken before day end is unreadable now: the key is gone.
    stolen = PendingVisits(copy, device.keystore, clock)
    assert [row[0] for row in stolen.connection.execute("SELECT visit_id FROM pending")] == ["v2"]
    assert stolen.list() == [] and stolen.get("v2") is None


def test_a_whole_visit_leaves_no_personal_data_in_any_file(
    make_device, host: HostServer, test_pki: DevPki, clock, personal_data_in, prove
) -> None:
    who = persona("adult")
    device = make_device()
    appliance = device.appliance
    outbox = appliance.outbox()
    pending = appliance.pending()
    image = CardImage.for_persona(who, test_pki)
    identity = device.identity_body(image)
    outbox.enqueue("identity", identity)
    q = new_record_id()
    questionnaire = examples.questionnaire_response(q, subject_id=who.subject_id)
    pending.put(q, {"display_name": who.name, "birth_date": who.birth_date.isoformat(), "response": questionnaire})
    outbox.enqueue("questionnaire_response", questionnaire)
    vaccination = prove(
        device, "vaccination_record", examples.vaccination_record(new_record_id(), q, subject_id=who.subject_id)
    )
    outbox.enqueue("vaccination_record", vaccination)
    pending.complete(q)
    Forwarder(outbox, appliance.client()).drain()
    subprocess.run(
        [Path(sys.executable).parent / "yoshin-device", "status", "--json", "--data-dir", str(appliance.data_dir)],
        check=True, capture_output=True,
    )  # fmt: skip
    clock.now += timedelta(hours=9)
    pending.end_day()
    written = [path for path in appliance.data_dir.rglob("*") if path.is_file()]
    assert {p.name for p in written} >= {"queue.db", "tls.key", "signing.key", "device.pem"}
    assert personal_data_in(appliance.data_dir, who) == []


def test_status_json(make_device) -> None:
    device = make_device()
    outbox = device.appliance.outbox()
    outbox.enqueue("questionnaire_response", examples.questionnaire_response(new_record_id()))
    outbox.close()
    command = [Path(sys.executable).parent / "yoshin-device", "status", "--json"]
    result = subprocess.run(
        [*command, "--data-dir", str(device.appliance.data_dir)], capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout)
    assert report["device_id"] == device.device_id
    assert report["queue"]["depth"] == 1 and report["queue"]["dead_letters"] == 0
    assert 0 < report["certificate_days_left"] <= 90  # issued for 90 days at the test clock's date


def test_a_card_is_known_again_the_same_day_only_and_never_in_clear(make_device, clock, test_pki: DevPki) -> None:
    """The day's cards (issue 13, offline same-day doses): the same card's face EFs find the subject ids it
    had today; another card finds nothing; no EF byte and no subject id is on disk in clear; at day end
    the rows go and a copy taken before is a set of digests nobody can test a card against."""
    device = make_device()
    pending = device.appliance.pending()
    who = persona("elderly")
    files = CardImage.for_persona(who, test_pki).files[bytes.fromhex("D3921000310001010408")]
    efs, other = (files[1], files[2], files[3]), (b"another", b"card", b"entirely")
    assert pending.card_today(efs) == []
    assert not list(device.keystore.directory.glob("day-*.key"))  # a look-up alone makes no key
    assert pending.card_today(efs, "P-" + "a" * 30) == []
    assert pending.card_today(efs, "S000102") == ["P-" + "a" * 30]
    assert pending.card_today(efs, "S000102") == ["P-" + "a" * 30, "S000102"]  # kept once
    assert pending.card_today(other) == []
    pending.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = device.appliance.queue_path.read_bytes()
    for secret in (*efs, who.my_number.encode(), b"S000102", b"P-" + b"a" * 30):
        assert secret not in stored
    copy = device.appliance.data_dir / "copy-before-day-end.db"
    shutil.copy(device.appliance.queue_path, copy)
    clock.now += timedelta(days=1)  # tomorrow, before the day-end job ran: today's key is another
    assert pending.card_today(efs) == []
    clock.now -= timedelta(days=1)
    pending.end_day()
    assert pending.connection.execute("SELECT count(*) FROM day_cards").fetchone()[0] == 0
    stolen = PendingVisits(copy, device.keystore, clock)
    assert stolen.connection.execute("SELECT count(*) FROM day_cards").fetchone()[0] == 1
    assert stolen.card_today(efs) == []  # the day key is gone: the digest can be neither recomputed nor opened
