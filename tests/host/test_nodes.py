"""More than one host node, and appliances that outlive an outage, on each backend.

- Two `yoshin-host serve` worker processes on one database; appliances know both addresses. One worker
  is killed with SIGKILL during the load: nothing acknowledged is lost or stored twice, and every
  appliance's forwarder finishes.
- A reconnect storm: 200 appliances with a backlog send at once. The host sheds what it cannot take with
  503 + Retry-After (never 500), and the forwarders' jittered backoff (injected clocks, no sleeps)
  drains every outbox.
"""

from __future__ import annotations

import random
import re
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from yoshin.device import forwarder as forwarding
from yoshin.device import hostclient
from yoshin.device.appliance import Appliance
from yoshin.device.forwarder import Forwarder
from yoshin.device.hostclient import HostAddress, enroll, fetch_ca
from yoshin.devtools.personas import all_personas, registry_csv
from yoshin.domain import examples
from yoshin.host import audit, devices
from yoshin.host.server import HostServer
from yoshin.protocol import api
from yoshin.protocol.api import new_record_id

ROUNDS = 60  # every loop below is bounded


class DeviceClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _backlog(appliance: Appliance, records: int, prove: Any, service: Any) -> set[str]:
    outbox = appliance.outbox()
    ids = set()
    device_id = appliance.keystore.identity()["device_id"]
    for _ in range(records):
        body = examples.vaccination_record(new_record_id(), new_record_id())
        body = prove(service, device_id, "vaccination_record", body)  # the host refuses unproved ones
        outbox.enqueue("vaccination_record", body)
        ids.add(body["record_id"])
    outbox.close()
    return ids


def _stored(db: Any) -> Counter[str]:
    return Counter(row[0] for row in db.execute("SELECT record_id FROM inbox").fetchall())


def _accepted_lines(db: Any) -> Counter[str]:
    rows = db.execute("SELECT target FROM audit WHERE action = 'record.vaccination_record'").fetchall()
    return Counter(row[0] for row in rows)


@pytest.fixture
def two_workers(tmp_path: Path, open_service) -> Iterator[tuple[Any, list[subprocess.Popen[str]], list[HostAddress]]]:
    data = tmp_path / "host"
    service = open_service(data, lambda: datetime.now(UTC))  # migrated; keys and CA made once, shared
    service.registry.import_csv(registry_csv(list(all_personas().values())))  # the records' resident
    script = Path(sys.executable).parent / "yoshin-host"
    processes, addresses = [], []
    for _ in range(2):
        process = subprocess.Popen(
            [script, "serve", "--data-dir", str(data), "--port", "0", "--enroll-port", "0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once both listeners are up
        port, enroll_port = (int(p) for p in re.findall(r"https://127\.0\.0\.1:(\d+)", line))
        processes.append(process)
        addresses.append(HostAddress("127.0.0.1", port, enroll_port))
    try:
        yield service, processes, addresses
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        service.db.close()


@pytest.mark.timeout(900)  # a load test on a shared 2-core machine: bounded, but slow
def test_a_worker_killed_during_the_load_loses_nothing(
    tmp_path: Path, two_workers, prove_with, technician_proof
) -> None:
    service, processes, addresses = two_workers
    victim = processes[0]
    appliances, clocks, sent = [], [], set()
    for n in range(8):
        clock = DeviceClock()
        appliance = Appliance(tmp_path / f"device-{n}", clock=clock)
        token = devices.issue_token(service.db, "141305", "1410000001", "admin01", service.clock())
        first = addresses[n % 2]  # half the appliances start on each worker
        ca = fetch_ca(first, service.pki.ca_fingerprint)
        enroll(first, ca, appliance.keystore, token, "141305", "1410000001", f"NODE{n}", technician_proof(service))
        appliance.save_host([first, addresses[(n + 1) % 2]])
        sent |= _backlog(appliance, 100, prove_with, service)
        appliances.append(appliance)
        clocks.append(clock)
    forwarders = [Forwarder(appliance.outbox(), appliance.client(), batch=25) for appliance in appliances]
    killed = threading.Event()

    def run(n: int) -> int:
        forwarder, clock = forwarders[n], clocks[n]
        for _ in range(ROUNDS):
            result = forwarder.run_once()
            if n == 0 and result.accepted and not killed.is_set():
                victim.send_signal(signal.SIGKILL)  # the others are mid-request on both workers
                killed.set()
            if result.error:
                clock.now += timedelta(seconds=forwarding.MAX_DELAY * 2 + 1)
            elif result.sent == 0:
                break
        return forwarder.outbox.status().depth

    with ThreadPoolExecutor(max_workers=len(forwarders)) as pool:
        left = list(pool.map(run, range(len(forwarders))))
    assert killed.is_set() and victim.wait(timeout=30) == -signal.SIGKILL
    assert left == [0] * len(forwarders)  # every appliance finished (on the surviving worker)
    assert forwarders[0].client.address == addresses[1]  # it sent on the killed worker, then failed over
    stored = _stored(service.db)
    assert set(stored) == sent and set(stored.values()) == {1}  # nothing lost, nothing twice
    assert _accepted_lines(service.db) == stored  # one audit line per stored record
    assert audit.verify(service.db).intact


@pytest.mark.timeout(900)  # a load test on a shared 2-core machine: bounded, but slow
def test_a_reconnect_storm_is_shed_with_503_and_drained_by_backoff(
    make_device, host: HostServer, monkeypatch: pytest.MonkeyPatch, prove_with
) -> None:
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    real_exchange = hostclient._exchange  # one request and its answer, on a kept or a new connection

    def observed(*args: Any, **kwargs: Any) -> Any:  # the real exchange; only its status is counted
        answer = real_exchange(*args, **kwargs)
        with lock:
            statuses[answer[0]] += 1
        return answer

    monkeypatch.setattr(hostclient, "_exchange", observed)
    host.service.intake_limit = 8  # a worker's share of a large deployment
    appliances, clocks, sent = [], [], set()
    for n in range(200):
        device = make_device(serial=f"STORM{n:03d}")
        clock = DeviceClock(host.service.clock())
        appliance = Appliance(device.appliance.data_dir, clock=clock)
        sent |= _backlog(appliance, 3, prove_with, host.service)
        appliances.append(appliance)
        clocks.append(clock)
    forwarders = [
        Forwarder(appliance.outbox(), appliance.client(), batch=50, rng=random.Random(n))
        for n, appliance in enumerate(appliances)
    ]
    statuses.clear()
    barrier = threading.Barrier(len(forwarders))  # the outage ends: everyone reconnects at once

    def storm(n: int) -> tuple[int, list[float]]:
        barrier.wait(timeout=120)
        delays = []
        for _ in range(ROUNDS):
            result = forwarders[n].run_once()
            if result.error:
                delays.append(forwarders[n].delay)
                clocks[n].now += timedelta(seconds=forwarders[n].delay + 1)
            elif result.sent == 0:
                break
        return forwarders[n].outbox.status().depth, delays

    with ThreadPoolExecutor(max_workers=len(forwarders)) as pool:
        outcomes = list(pool.map(storm, range(len(forwarders))))
    assert [depth for depth, _ in outcomes] == [0] * len(forwarders)  # every backlog drained
    assert not [status for status in statuses if status >= 500 and status != 503]  # never a 500
    assert set(statuses) <= {200, 503}
    assert statuses[503] > 0  # the storm was shed, not queued (a run here: 1,455 503s for 200 batches)
    delays = [delay for _, per_device in outcomes for delay in per_device]
    assert len(delays) == statuses[503]  # each 503 postponed its batch
    assert all(delay >= 2 for delay in delays)  # Retry-After is the floor
    assert len(set(delays)) == len(delays)  # jittered: no two appliances retry in step
    stored = _stored(host.service.db)
    assert set(stored) == sent and set(stored.values()) == {1}
    assert audit.verify(host.service.db).intact


def test_a_full_host_answers_503_with_retry_after(make_device, host: HostServer, prove) -> None:
    device = make_device()
    host.service.intake_limit = 0
    body = prove(device, "vaccination_record", examples.vaccination_record(new_record_id(), new_record_id()))
    envelope = device.seal("vaccination_record", body, body["record_id"]).to_json()
    with pytest.raises(hostclient.HostRefused) as refused:
        device.client.call("POST", api.RECORDS, {"envelopes": [envelope]})
    assert (refused.value.status, refused.value.retry_after, refused.value.body["error"]) == (503, 2.0, "busy")
    host.service.intake_limit = 1
    answer = device.client.call("POST", api.RECORDS, {"envelopes": [envelope]})
    assert answer["results"][0]["status"] == "accepted"


def test_an_unreachable_node_is_skipped_for_the_next(make_device, host: HostServer) -> None:
    device = make_device()
    dead = HostAddress("127.0.0.1", _closed_port(), host.enroll_port)
    live = HostAddress("127.0.0.1", host.port, host.enroll_port)
    client = hostclient.HostClient(device.keystore, [dead, live])
    assert client.call("GET", api.HEALTH)["device_id"] == device.device_id
    assert client.address == live  # remembered: the next call goes there first
    with pytest.raises(hostclient.HostUnreachable):
        hostclient.HostClient(device.keystore, [dead]).call("GET", api.HEALTH)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once the probe closes
