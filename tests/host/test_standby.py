"""PostgreSQL primary with a synchronous standby (docs/scaling.md): the primary is killed during the load,
the standby is promoted, and no record the host acknowledged is lost.

The host connects with a multi-host URL (`host=primary,standby`, `target_session_attrs=read-write`), so
after the promotion its next connection finds the new primary by itself; meanwhile it answers 503 and
the appliances retry. Synchronous replication means a commit (so an `accepted`) returns only once the
standby has the record.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from yoshin.device import forwarder as forwarding
from yoshin.device.appliance import Appliance
from yoshin.device.forwarder import Forwarder
from yoshin.devtools.pg_cluster import PostgresCluster, replicated
from yoshin.domain import examples
from yoshin.host import audit, store
from yoshin.host.server import HostServer
from yoshin.protocol.api import new_record_id

ROUNDS = 60


@pytest.fixture
def primary_and_standby() -> Iterator[tuple[PostgresCluster, PostgresCluster]]:
    primary = PostgresCluster(replicated()).start()
    standby = None
    try:
        primary.create_database("host")
        standby = primary.standby("standby1")
        assert primary.require_synchronous("standby1") == "sync"
        yield primary, standby
    finally:
        if standby is not None:
            standby.stop("immediate")
        primary.close()


@pytest.fixture
def database_url(primary_and_standby) -> str:  # the `host` fixture's backend: both nodes, the writable one
    primary, standby = primary_and_standby
    return (
        f"postgresql://yoshin@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/host"
        "?target_session_attrs=read-write&connect_timeout=2"
    )


@pytest.mark.timeout(900)  # a load test on a shared 2-core machine: bounded, but slow
def test_the_primary_killed_during_the_load_loses_no_acknowledged_record(
    primary_and_standby, make_device, host: HostServer, tmp_path: Path, prove
) -> None:
    primary, standby = primary_and_standby
    with primary.admin() as admin:
        states = admin.execute("SELECT application_name, sync_state FROM pg_stat_replication").fetchall()
    assert states == [("standby1", "sync")]
    appliances, clocks, sent = [], [], set()
    for n in range(4):
        device = make_device(serial=f"SYNC{n}")
        appliance = Appliance(device.appliance.data_dir, clock=device.appliance.clock)
        outbox = appliance.outbox()
        for _ in range(100):
            body = prove(device, "vaccination_record", examples.vaccination_record(new_record_id(), new_record_id()))
            outbox.enqueue("vaccination_record", body)
            sent.add(body["record_id"])
        appliances.append(appliance)
    forwarders = [Forwarder(appliance.outbox(), appliance.client(), batch=20) for appliance in appliances]
    clocks = [appliance.clock for appliance in appliances]
    promoted = threading.Event()

    def run(n: int) -> int:
        forwarder = forwarders[n]
        for _ in range(ROUNDS):
            result = forwarder.run_once()
            if n == 0 and result.accepted and not promoted.is_set():
                primary.stop("immediate")  # kill: no shutdown checkpoint, clients cut off
                standby.promote()
                promoted.set()
            if result.error:
                promoted.wait(timeout=120)
                clocks[n].now += timedelta(seconds=forwarding.MAX_DELAY * 2 + 1)  # type: ignore[attr-defined]
            # (the appliances share the test clock with the host: moving it moves both)
            elif result.sent == 0:
                break
        return forwarder.outbox.status().depth

    with ThreadPoolExecutor(max_workers=len(forwarders)) as pool:
        left = list(pool.map(run, range(len(forwarders))))
    assert promoted.is_set() and left == [0] * len(forwarders)
    assert [appliance.outbox().status().dead_letters for appliance in appliances] == [0] * len(appliances)
    # so every record was acknowledged (accepted or duplicate) and deleted by its appliance
    survivor = store.open_database(standby.url("host"))
    stored = [row[0] for row in survivor.execute("SELECT record_id FROM inbox").fetchall()]
    assert sorted(stored) == sorted(sent)  # every acknowledged record is on the promoted standby, once
    survivor.data_dir = host.service.data_dir  # the audit key and anchor file
    assert audit.verify(survivor).intact
    survivor.close()
