"""Findings 6 and 8: one answer for unknown, deactivated and wrong; a lockout that ends by itself with a
growing delay; an unlock only with a second administrator; rate limits per device and per staff ID
(audited). Through the served host over mutual TLS, and the real CLI for the unlock."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from yoshin.device.hostclient import HostRefused
from yoshin.host import staff
from yoshin.host.server import HostServer
from yoshin.protocol import api

PASSWORD = "the right password"
SCRIPT = str(Path(sys.executable).parent / "yoshin-host")


def _login(device: Any, staff_id: str, password: str) -> HostRefused | dict[str, Any]:
    try:
        return device.client.call("POST", api.STAFF_LOGIN, {"staff_id": staff_id, "password": password})
    except HostRefused as refused:
        return refused


def test_unknown_deactivated_and_wrong_get_one_answer(host: HostServer, make_device) -> None:
    service = host.service
    staff.add(service.db, "N0201", "看護 一", "nurse", "141305", PASSWORD, service.clock())
    staff.add(service.db, "N0202", "看護 二", "nurse", "141305", PASSWORD, service.clock())
    staff.deactivate(service.db, "N0202", service.clock())
    device = make_device()
    answers = [_login(device, "N9999", PASSWORD), _login(device, "N0202", PASSWORD), _login(device, "N0201", "wrong!")]
    assert all(isinstance(a, HostRefused) and a.status == 401 for a in answers)
    assert len({(a.body["error"], a.body["message_en"], a.body["message_ja"]) for a in answers}) == 1  # type: ignore[union-attr]


def test_a_lockout_ends_by_itself_with_a_growing_delay(host: HostServer, make_device) -> None:
    service = host.service
    staff.add(service.db, "N0203", "看護 三", "nurse", "141305", PASSWORD, service.clock())
    device = make_device()
    for _ in range(staff.MAX_FAILURES):
        assert isinstance(_login(device, "N0203", "wrong password"), HostRefused)
    locked = _login(device, "N0203", PASSWORD)
    assert isinstance(locked, HostRefused) and "locked for a while" in locked.message.en
    wrong_while_locked = _login(device, "N0203", "wrong password")
    assert isinstance(wrong_while_locked, HostRefused) and "wrong staff ID or password" in wrong_while_locked.message.en
    service.clock.now += timedelta(minutes=1)  # type: ignore[attr-defined]
    assert isinstance(_login(device, "N0203", "wrong password"), HostRefused)  # the 6th: locked again, for longer
    (until,) = service.db.execute("SELECT locked_until FROM staff WHERE staff_id = 'N0203'")[0]
    assert datetime.fromisoformat(until) - service.clock() == timedelta(minutes=2)
    service.clock.now += timedelta(minutes=2)  # type: ignore[attr-defined]
    assert _login(device, "N0203", PASSWORD)["role"] == "nurse"  # type: ignore[index]


def test_logins_are_rate_limited_per_device_and_per_staff_id_and_audited(host: HostServer, make_device) -> None:
    service = host.service
    staff.add(service.db, "N0204", "看護 四", "nurse", "141305", PASSWORD, service.clock())
    first, second = make_device(serial="RL1"), make_device(serial="RL2")
    per_id = [_login(device, "N0204", "wrong password") for device in (first, second) * 6]  # 12 tries, one ID
    statuses = [a.status for a in per_id]  # type: ignore[union-attr]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    assert per_id[-1].body["error"] == "rate_limited"  # type: ignore[union-attr]
    guesses = [_login(first, f"X{n:04d}", "guess guess") for n in range(20)]  # other IDs, the same device
    assert [a.status for a in guesses].count(429) >= 6  # type: ignore[union-attr]
    lines = service.db.execute("SELECT action, target FROM audit WHERE action LIKE 'ratelimit.%'").fetchall()
    assert ("ratelimit.staff_id", "N0204") in lines and ("ratelimit.login", first.device_id) in lines


def test_identity_look_ups_are_rate_limited_per_device(host: HostServer, make_device) -> None:
    device = make_device()
    body = {"ef_my_number": "AA==", "ef_basic_info": "AA==", "ef_signature": "AA=="}
    statuses = []
    for _ in range(62):
        try:
            device.client.call("POST", api.IDENTITY, {"envelope": device.seal("identity", body).to_json()})
            statuses.append(200)
        except HostRefused as refused:
            statuses.append(refused.status)
    assert statuses[:60] == [200] * 60 and statuses[60:] == [429, 429]


def test_unlock_needs_a_second_administrator(host: HostServer, make_device) -> None:
    service = host.service
    for staff_id, name, role in (("A0001", "管理 一", "municipal_admin"), ("A0002", "管理 二", "municipal_admin"),
                                 ("N0205", "看護 五", "nurse"), ("N0206", "看護 六", "nurse")):  # fmt: skip
        staff.add(service.db, staff_id, name, role, "141305", PASSWORD, service.clock())
    device = make_device()
    for _ in range(staff.MAX_FAILURES):
        _login(device, "N0205", "wrong password")
    data = ["--data-dir", str(service.data_dir)]

    def unlock(by: str, approver: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SCRIPT, "staff", "unlock", "N0205", "--by", by, "--approved-by", approver, *data],
            input=f"{PASSWORD}\n{PASSWORD}\n", capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    alone = unlock("A0001", "A0001")
    assert alone.returncode == 1 and "another administrator" in alone.stderr
    with_nurse = unlock("A0001", "N0206")
    assert with_nurse.returncode == 1 and "two municipal administrators" in with_nurse.stderr
    assert isinstance(_login(device, "N0205", PASSWORD), HostRefused)  # still locked
    done = unlock("A0001", "A0002")
    assert done.returncode == 0, done.stderr
    assert _login(device, "N0205", PASSWORD)["role"] == "nurse"  # type: ignore[index]
    (outcome,) = service.db.execute("SELECT outcome FROM audit WHERE action = 'staff.unlock'")[0]
    assert outcome == "ok, approved by A0002"


def test_token_guessing_on_the_enrollment_listener_is_rate_limited_and_audited(
    host: HostServer, make_device, technician_proof
) -> None:
    """Finding 8: refused enrollment tokens per address are limited (valid enrollments never count)."""
    from yoshin.device.appliance import Appliance
    from yoshin.device.hostclient import HostAddress, enroll, fetch_ca
    from yoshin.host import devices

    for serial in ("GOOD1", "GOOD2"):  # valid enrollments first: they take nothing from the bucket
        make_device(serial=serial)
    service = host.service
    address = HostAddress("127.0.0.1", host.port, host.enroll_port)
    ca = fetch_ca(address, service.pki.ca_fingerprint)
    appliance = Appliance(service.data_dir.parent / "guesser", clock=service.clock)
    technician = technician_proof(service)  # a real technician's proof: only the token is guessed

    def attempt(token: str) -> int:
        try:
            enroll(address, ca, appliance.keystore, token, "141305", "1410000001", "GUESS1", technician)
        except HostRefused as refused:
            return refused.status
        return 200

    statuses = [attempt(f"guess-{n}") for n in range(12)]
    assert statuses == [403] * 10 + [429, 429]
    good = devices.issue_token(service.db, "141305", "1410000001", "admin01", service.clock())
    assert attempt(good) == 429  # this address waits, whatever it sends
    audited = service.db.execute("SELECT outcome FROM audit WHERE action = 'ratelimit.enroll'").fetchall()
    assert audited == [("refused: more than 10 refused attempts",)]
    service.clock.now += timedelta(seconds=60)  # type: ignore[attr-defined]  # the injected clock refills one token
    assert attempt(good) == 200
