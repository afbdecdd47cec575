"""Peak intake for a prefecture-sized deployment: a flu-season morning at the host.

    python benchmarks/bench_host_peak.py [--appliances 500] [--interval 120] [--minutes 2]
                                         [--database sqlite|postgresql] [--workers W]

Each of `--appliances` enrolled appliances (its own device certificate and kept TLS connection)
starts a visit every `--interval` seconds, at a fixed random phase (seed 14): first the online
identity call (the card's face data, sealed; the host checks the J-LIS signature against the test
PKI's key, finds the resident and answers the due list), then the visit's records in one batch (a
questionnaire, the doctor's decision and the vaccination record, with host-signed staff proofs).
Latency is measured from the moment the visit was due, so a host that falls behind shows it (no
coordinated omission). Each appliance's kept TLS connection is opened before the window (the host keeps
an idle connection 5 minutes, longer than the interval; `--cold` opens none, so every first visit pays
a handshake: what the kiosk's identity call met before the kiosk kept its client for the session).
The window is `--minutes` long (default 2: every appliance visits once; a real morning is the same
rate for hours). Visits are sealed before the window opens, as each appliance
seals on its own CPU. Prints one JSON object with p50/p99 of identity and of record intake, the rate
offered and achieved, and any non-200 answer.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _host import MUNICIPALITY, STAFF, Workers, enrolled, percentile, technician_proof

from yoshin.device.appliance import Appliance
from yoshin.device.hostclient import HostClient, HostRefused
from yoshin.device.outbox import seal_payload
from yoshin.devtools.card_emulator import CardImage
from yoshin.devtools.dev_pki import DevPki
from yoshin.devtools.personas import all_personas, registry_csv
from yoshin.devtools.pg_cluster import PostgresCluster
from yoshin.domain import examples
from yoshin.host import attest, staff, store
from yoshin.host.server import HostService
from yoshin.protocol import api
from yoshin.protocol.api import new_record_id
from yoshin.protocol.sealing import PayloadKind

JPKI_FACE_AID = bytes.fromhex("D3921000310001010408")
VISITORS = ("elderly", "adult")  # adults of the demo registry, due a flu shot


@dataclass
class Visit:
    due: float  # seconds after the window opens
    client: HostClient
    identity: dict[str, Any]
    records: list[dict[str, Any]]


def _face(image: CardImage) -> dict[str, str]:
    files = image.files[JPKI_FACE_AID]
    return {name: base64.b64encode(files[n]).decode() for n, name in ((1, "ef_my_number"), (2, "ef_basic_info"),
                                                                      (3, "ef_signature"))}  # fmt: skip


def _visit_records(service: HostService, appliance: Appliance, subject_id: str) -> list[dict[str, Any]]:
    keys = (appliance.keystore.host_sealing_key(), appliance.keystore.signing_key())
    device_id = appliance.keystore.identity()["device_id"]
    questionnaire, decision, vaccination = new_record_id(), new_record_id(), new_record_id()
    made = datetime.fromisoformat("2026-10-15T09:20:00+09:00")

    def proof(staff_id: str) -> str:
        return attest.issue(service.keys.attestation, staff_id, STAFF[staff_id][1], MUNICIPALITY, device_id, made)[0]

    bodies = [
        ("questionnaire_response", examples.questionnaire_response(questionnaire, subject_id)),
        ("doctor_decision", {**examples.doctor_decision(decision, questionnaire, subject_id=subject_id),
                             "proofs": {"decided_by": proof("D0001")}}),
        ("vaccination_record", {**examples.vaccination_record(vaccination, questionnaire, subject_id=subject_id),
                                "proofs": {"entered_by": proof("N0001"), "checked_by": proof("N0002")}}),
    ]  # fmt: skip
    return [seal_payload(keys, device_id, kind, body, str(body["created_at"])).to_json() for kind, body in bodies]


def run(
    workdir: Path,
    database: str | None,
    worker_count: int,
    appliances: int,
    interval: float,
    minutes: float,
    cold: bool = False,
) -> dict[str, object]:
    pki = DevPki.load_or_create(workdir / "test-pki")
    data = workdir / "host"
    if database:
        store.write_config(data, database)
    service = HostService.open(data)
    people = [all_personas()[name] for name in VISITORS]
    service.registry.import_csv(registry_csv(list(all_personas().values())))
    for staff_id, (name, role) in STAFF.items():
        staff.add(service.db, staff_id, name, role, MUNICIPALITY, "benchmark staff password", datetime.now(UTC))
    workers = Workers(data, worker_count, ("--jlis-key", str(pki.jlis_public_pem)))
    try:
        technician_proof(service)  # on the roster once, before the enrollments below log in at once
        with ThreadPoolExecutor(8) as pool:  # enrollment is the technician's job, not the morning's
            per = -(-appliances // 8)
            made = pool.map(lambda n: enrolled(workdir, service, workers.addresses[n % worker_count],
                                               min(per, appliances - n * per), f"P{n}x"), range(8))  # fmt: skip
            fleet = [appliance for group in made for appliance in group]
        faces = {who.id: _face(CardImage.for_persona(who, pki)) for who in people}
        rng = random.Random(14)
        visits: list[Visit] = []
        for n, appliance in enumerate(fleet):
            client = HostClient(appliance.keystore, workers.addresses[n % worker_count])
            phase, who = rng.uniform(0, interval), people[n % len(people)]
            keys = (appliance.keystore.host_sealing_key(), appliance.keystore.signing_key())
            device_id = appliance.keystore.identity()["device_id"]
            due = phase
            while due < minutes * 60:
                identity = seal_payload(keys, device_id, PayloadKind.IDENTITY, faces[who.id],
                                        datetime.now(UTC).isoformat(timespec="seconds")).to_json()  # fmt: skip
                visits.append(Visit(due, client, identity, _visit_records(service, appliance, who.subject_id)))
                due += interval
        visits.sort(key=lambda v: v.due)
        if not cold:  # the morning is under way: each appliance holds its connection from its first call
            with ThreadPoolExecutor(16) as pool:
                clients = {id(v.client): v.client for v in visits}.values()
                list(pool.map(lambda client: client.call("GET", api.HEALTH), clients))
        identity_ms: list[float] = []
        records_ms: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        opened = time.perf_counter() + 1.0

        def visit(v: Visit) -> None:
            delay = opened + v.due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)  # the open-loop schedule: a visit starts when it is due, not when a thread is free
            due = opened + v.due
            try:
                answer = v.client.call("POST", api.IDENTITY, {"envelope": v.identity})
                identity_done = time.perf_counter()
                ok = answer.get("status") == "ok"
                results = v.client.call("POST", api.RECORDS, {"envelopes": v.records})["results"]
                done = time.perf_counter()
                bad = [r for r in results if r["status"] != "accepted"]
            except HostRefused as error:
                with lock:
                    failures.append(f"HTTP {error.status}")
                return
            with lock:
                identity_ms.append((identity_done - due) * 1000)
                records_ms.append((done - identity_done) * 1000)
                if not ok:
                    failures.append(f"identity {answer.get('status')}")
                failures.extend(f"record {r['status']}: {r.get('reason')}" for r in bad)

        cpu_before = workers.cpu_seconds()
        with ThreadPoolExecutor(max_workers=min(256, len(visits))) as pool:
            list(pool.map(visit, visits))
        elapsed = time.perf_counter() - opened
        cpu = workers.cpu_seconds() - cpu_before
        for v in visits:
            v.client.close()
    finally:
        workers.stop()
        service.db.close()
    return {
        "visits": len(visits),
        "visits_per_s_offered": round(appliances / interval, 2),
        "visits_per_s_achieved": round(len(identity_ms) / elapsed, 2),
        "identity_ms_p50": round(percentile(identity_ms, 0.5), 1),
        "identity_ms_p99": round(percentile(identity_ms, 0.99), 1),
        "record_batch_ms_p50": round(percentile(records_ms, 0.5), 1),
        "record_batch_ms_p99": round(percentile(records_ms, 0.99), 1),
        "worker_cpu_share_of_window": round(cpu / elapsed, 2),
        "failures": len(failures),
        "failure_kinds": sorted(set(failures))[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appliances", type=int, default=500)
    parser.add_argument("--interval", type=float, default=120.0, help="seconds between an appliance's visits")
    parser.add_argument("--minutes", type=float, default=2.0, help="length of the simulated window")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--workers", type=int, default=2, help="host worker processes (PostgreSQL)")
    parser.add_argument("--cold", action="store_true", help="no kept connections when the window opens")
    args = parser.parse_args()
    workers = 1 if args.database == "sqlite" else args.workers
    out: dict[str, object] = {
        "benchmark": "host_peak",
        "appliances": args.appliances,
        "visit_interval_s": args.interval,
        "window_minutes": args.minutes,
        "database": args.database,
        "host_workers": workers,
        "records_per_visit": 3,
        "connections": "new at first visit" if args.cold else "kept from before the window",
        "cores": len(os.sched_getaffinity(0)),
    }
    with tempfile.TemporaryDirectory() as workdir, PostgresCluster() as cluster:
        url = cluster.create_database("peak") if args.database == "postgresql" else None
        out |= run(Path(workdir), url, workers, args.appliances, args.interval, args.minutes, args.cold)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
