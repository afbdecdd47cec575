"""The sealed outbox and the forwarder: real files, real processes, real TLS to a real host."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from yoshin.device.forwarder import Forwarder
from yoshin.device.outbox import Outbox, QueueFull, connect
from yoshin.domain import examples
from yoshin.domain.contract import ContractError
from yoshin.host.server import HostServer
from yoshin.protocol.api import new_record_id
from yoshin.protocol.sealing import SealedEnvelope, SealError, open_sealed

WRITER = Path(__file__).parent / "writer.py"


def _inbox(host: HostServer) -> int:
    return host.service.db.execute("SELECT count(*) FROM inbox").fetchone()[0]


def _fill(outbox: Outbox, n: int) -> list[str]:
    return [
        outbox.enqueue("questionnaire_response", examples.questionnaire_response(new_record_id())) for _ in range(n)
    ]


def test_enqueue_validates_then_seals(make_device) -> None:
    outbox = make_device().appliance.outbox()
    with pytest.raises(ContractError):
        outbox.enqueue("questionnaire_response", {**examples.questionnaire_response(new_record_id()), "extra": 1})
    assert outbox.status().depth == 0
    _fill(outbox, 2)
    assert outbox.status().depth == 2


def test_the_appliance_cannot_decrypt_its_own_outbox(make_device) -> None:
    device = make_device()
    outbox = device.appliance.outbox()
    _fill(outbox, 1)
    (blob,) = outbox.connection.execute("SELECT envelope FROM outbox").fetchone()
    envelope = SealedEnvelope.from_bytes(blob)
    private_keys = [p for p in device.keystore.directory.iterdir() if b"PRIVATE KEY" in p.read_bytes()]
    assert {p.name for p in private_keys} == {"tls.key", "signing.key"}  # no X25519 private key on the device
    with pytest.raises(SealError):
        open_sealed(envelope, X25519PrivateKey.generate(), device.keystore.signing_key().public_key())


def test_forwarding_deletes_delivered_rows_and_dead_letters_rejected_ones(make_device, host: HostServer) -> None:
    device = make_device()
    outbox = device.appliance.outbox()
    _fill(outbox, 3)
    outbox.enqueue(
        "questionnaire_response", examples.questionnaire_response(new_record_id(), municipality_code="141003")
    )
    rounds = Forwarder(outbox, device.appliance.client()).drain()
    assert (rounds[0].accepted, rounds[0].rejected) == (3, 1)
    status = outbox.status()
    assert status.depth == 0 and status.dead_letters == 1
    assert "own municipality" in status.dead_letter_reasons[0]
    assert status.last_success is not None
    assert _inbox(host) == 3


def test_a_tampered_row_is_quarantined_and_the_rest_flow(make_device, host: HostServer) -> None:
    device = make_device()
    outbox = device.appliance.outbox()
    ids = _fill(outbox, 3)
    (blob,) = outbox.connection.execute("SELECT envelope FROM outbox WHERE record_id = ?", [ids[1]]).fetchone()
    flipped = bytearray(blob)
    flipped[-20] ^= 0x01
    outbox.connection.execute("UPDATE outbox SET envelope = ? WHERE record_id = ?", [bytes(flipped), ids[1]])
    rounds = Forwarder(outbox, device.appliance.client()).drain()
    assert rounds[0].accepted == 2
    status = outbox.status()
    assert status.quarantined == 1 and status.alarm and status.depth == 0
    assert _inbox(host) == 2


def test_host_outage_for_a_clinic_day_then_the_queue_drains(make_device, host: HostServer, clock) -> None:
    device = make_device()
    outbox = device.appliance.outbox()
    forwarder = Forwarder(outbox, device.appliance.client(), batch=20, rng=random.Random(7))
    host.stop()
    start = clock.now
    delays = []
    for hour in range(9):  # 09:00-18:00: records arrive, the forwarder keeps failing and backing off
        clock.now = start + timedelta(hours=hour)
        _fill(outbox, 10)
        result = forwarder.run_once()
        assert result.error and "offline" in result.error
        delays.append(forwarder.backoff())
    assert outbox.status().depth == 90 and forwarder.failures == 9
    assert max(delays) <= 300
    host.requested = (host.port, host.enroll_port)
    host.start()
    clock.now = start + timedelta(days=1)
    rounds = forwarder.drain()
    assert sum(r.accepted for r in rounds) == 90, rounds
    assert outbox.status().depth == 0 and _inbox(host) == 90


def test_kill_after_the_host_commits_then_resend_is_a_duplicate(make_device, host: HostServer, tmp_path: Path) -> None:
    device = make_device()
    outbox = device.appliance.outbox()
    _fill(outbox, 5)
    outbox.close()
    script = Path(__file__).with_name("crashing_forwarder.py")  # dies after the answer, before the delete
    killed = subprocess.run([sys.executable, script, str(device.appliance.data_dir)], capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    assert _inbox(host) == 5
    outbox = device.appliance.outbox()
    assert outbox.status().depth == 5  # the local delete never happened
    rounds = Forwarder(outbox, device.appliance.client()).drain()
    assert rounds[0].duplicate == 5 and outbox.status().depth == 0
    assert _inbox(host) == 5


def test_crash_during_enqueue_loses_nothing_reported(make_device) -> None:
    device = make_device()
    data_dir = device.appliance.data_dir
    reported: list[str] = []
    rng = random.Random(2026)
    for _ in range(100):
        writer = subprocess.Popen([sys.executable, str(WRITER), str(data_dir)], stdout=subprocess.PIPE, text=True)
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        for _ in range(rng.randint(0, 4)):
            reported.append(writer.stdout.readline().strip())
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    outbox = device.appliance.outbox()
    stored = [row[0] for row in outbox.connection.execute("SELECT record_id FROM outbox")]
    assert set(reported) <= set(stored)
    assert len(stored) == len(set(stored))
    assert outbox.connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_disk_full_is_a_clear_error_and_keeps_earlier_records(make_device) -> None:
    device = make_device()
    data_dir = device.appliance.data_dir
    outbox = device.appliance.outbox()
    earlier = _fill(outbox, 20)
    outbox.checkpoint()
    outbox.close()
    size = (data_dir / "queue.db").stat().st_size
    writer = subprocess.run(
        [sys.executable, str(WRITER), str(data_dir), "--fsize-limit", str(size + 16384)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert writer.returncode == 3, writer.stderr
    assert "full" in writer.stdout.splitlines()[-1]
    written = [line for line in writer.stdout.splitlines()[1:-1]]
    outbox = device.appliance.outbox()
    stored = {row[0] for row in outbox.connection.execute("SELECT record_id FROM outbox")}
    assert set(earlier) | set(written) == stored
    assert outbox.connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_queue_is_bounded_with_an_alarm_first(make_device) -> None:
    outbox = make_device().appliance.outbox(max_bytes=64 * 1024)
    alarms = []
    with pytest.raises(QueueFull) as full:
        for _ in range(1000):
            _fill(outbox, 1)
            alarms.append(outbox.status().alarm)
    assert True in alarms and alarms.index(True) < len(alarms) - 1  # the alarm came before the refusal
    assert "送信待ち" in full.value.message.ja


def test_two_processes_write_the_same_queue(make_device) -> None:
    device = make_device()
    data_dir = device.appliance.data_dir
    device.appliance.outbox().close()
    writers = [
        subprocess.Popen([sys.executable, str(WRITER), str(data_dir)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    ids = []
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    for _ in range(30):
        for writer in writers:
            ids.append(writer.stdout.readline().strip())  # type: ignore[union-attr]
    for writer in writers:
        writer.kill()
        writer.wait()
    connection = connect(data_dir / "queue.db")
    stored = {row[0] for row in connection.execute("SELECT record_id FROM outbox")}
    assert set(ids) <= stored and len(ids) == 60
