"""Record ingest over mutual TLS with full verification, all in one run: SQLite (one node) and
PostgreSQL with 1, 2 and 4 `yoshin-host serve` worker processes, as ratios against one worker.

    python benchmarks/bench_host.py [--devices D] [--batches B]

Each of D appliances sends B batches of 50 vaccination records (real device signature, HPKE, contract,
a registered resident and host-signed staff proofs) over its own kept TLS connection, as the
forwarder does. Besides records/s the JSON gives the workers' CPU time per record (from /proc): the
rate one core sustains, which is what more cores would multiply. A trivial request (`/health`) on the
same server, with a kept connection and with a new TLS handshake each time, shows the transport's
share. Prints one JSON object. The registry and look-up figures are in bench_host_registry.py, the
peak-intake simulation in bench_host_peak.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _host import Workers, enrolled, seed, server_cpu_seconds, vaccination_envelopes

from yoshin.device.hostclient import HostClient
from yoshin.devtools.pg_cluster import PostgresCluster
from yoshin.host import store
from yoshin.host.server import HostService
from yoshin.protocol import api

BATCH = 50
TRIVIAL = 200


def ingest(
    workdir: Path, database: str | None, worker_count: int, device_count: int, batches: int, pg_data: Path | None = None
) -> dict:
    data = workdir / "host"
    if database:
        store.write_config(data, database)
    service = HostService.open(data)
    seed(service)
    workers = Workers(data, worker_count)
    try:
        appliances = enrolled(workdir, service, workers.addresses[0], device_count)
        clients = [HostClient(a.keystore, workers.addresses[n % worker_count]) for n, a in enumerate(appliances)]
        work = [vaccination_envelopes(service, a, BATCH * batches) for a in appliances]

        def send(n: int) -> int:
            accepted = 0
            for start in range(0, len(work[n]), BATCH):
                answer = clients[n].call("POST", api.RECORDS, {"envelopes": work[n][start : start + BATCH]})
                accepted += sum(1 for r in answer["results"] if r["status"] == "accepted")
            return accepted

        cpu_before = workers.cpu_seconds()
        server_before = server_cpu_seconds(pg_data) if pg_data else 0.0
        client_before = time.process_time()
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=device_count) as pool:
            accepted = sum(pool.map(send, range(device_count)))
        elapsed = time.perf_counter() - start
        cpu = workers.cpu_seconds() - cpu_before
        server = (server_cpu_seconds(pg_data) - server_before) if pg_data else 0.0
        client = time.process_time() - client_before
        if accepted != device_count * batches * BATCH:
            raise SystemExit(f"only {accepted} of {device_count * batches * BATCH} records were accepted")
        out = {
            "records_per_s": accepted / elapsed,
            "worker_cpu_ms_per_record": cpu * 1000 / accepted,
            "postgresql_cpu_ms_per_record": server * 1000 / accepted,
            "client_cpu_ms_per_record": client * 1000 / accepted,
        }
        if worker_count == 1:
            out |= _trivial(clients[0])
        for client in clients:
            client.close()
    finally:
        workers.stop()
        service.db.close()
    return out


def _trivial(client: HostClient) -> dict[str, float]:
    start = time.perf_counter()
    for _ in range(TRIVIAL):
        client.call("GET", api.HEALTH)
    kept = TRIVIAL / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(TRIVIAL):
        client.close()  # a new TLS handshake each time, as the client did before it kept connections
        client.call("GET", api.HEALTH)
    fresh = TRIVIAL / (time.perf_counter() - start)
    return {"trivial_per_s_kept_connection": kept, "trivial_per_s_new_connection": fresh}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--batches", type=int, default=6, help="batches of 50 records per appliance")
    args = parser.parse_args()
    out: dict[str, object] = {"benchmark": "host_ingest", "batch_size": BATCH, "devices_at_once": args.devices}
    with tempfile.TemporaryDirectory() as workdir, PostgresCluster() as cluster:
        root = Path(workdir)
        sqlite = ingest(root / "sqlite", None, 1, args.devices, args.batches)
        out["ingest_records_per_s_sqlite_1_worker"] = round(sqlite["records_per_s"], 1)
        out["worker_cpu_ms_per_record_sqlite"] = round(sqlite["worker_cpu_ms_per_record"], 2)
        out["trivial_requests_per_s_kept_connection"] = round(sqlite["trivial_per_s_kept_connection"], 1)
        out["trivial_requests_per_s_new_tls_connection"] = round(sqlite["trivial_per_s_new_connection"], 1)
        out["ratio_trivial_kept_to_new_connection"] = round(
            sqlite["trivial_per_s_kept_connection"] / sqlite["trivial_per_s_new_connection"], 2
        )
        rates = {}
        for workers in (1, 2, 4):
            url = cluster.create_database(f"ingest{workers}")
            figures = ingest(root / f"pg{workers}", url, workers, args.devices, args.batches, cluster.data)
            rates[workers] = figures["records_per_s"]
            out[f"ingest_records_per_s_postgresql_{workers}_workers"] = round(rates[workers], 1)
            for part in ("worker", "postgresql", "client"):
                out[f"{part}_cpu_ms_per_record_postgresql_{workers}_workers"] = round(
                    figures[f"{part}_cpu_ms_per_record"], 2
                )
        for workers in (2, 4):
            out[f"ratio_postgresql_{workers}_workers_to_1"] = round(rates[workers] / rates[1], 2)
        cpu = float(out["worker_cpu_ms_per_record_postgresql_1_workers"])  # type: ignore[arg-type]
        server = float(out["postgresql_cpu_ms_per_record_postgresql_1_workers"])  # type: ignore[arg-type]
        out["records_per_s_per_worker_core_postgresql"] = round(1000 / cpu, 1)
        # what 4 workers on 4 free cores, with PostgreSQL and the appliances on other machines, are bounded by
        out["records_per_s_cpu_bound_4_worker_cores_postgresql"] = round(4000 / cpu, 1)
        out["postgresql_cores_needed_at_that_rate"] = round(4 * server / cpu, 2)
        out["cores"] = len(__import__("os").sched_getaffinity(0))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
