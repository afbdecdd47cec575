"""The host, all in one run: record ingest over mutual TLS with full verification (SQLite, one worker;
PostgreSQL with 1, 2 and 4 worker processes, as ratios against one), a trivial request on the same
server and TLS set-up, registry import rows per second on both backends, identity look-up p50/p99.

    python benchmarks/bench_host.py [--rows N] [--devices D]

`--rows` defaults to 100,000; the issue's scale is 1,500,000 (`--rows 1500000` runs it, a long run on
the 2-core project machine), and the JSON says how the figure at 1.5 million was obtained (measured, or
extrapolated from the measured rate). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from yoshin.device.appliance import Appliance
from yoshin.device.hostclient import HostAddress, HostClient, enroll, fetch_ca
from yoshin.device.outbox import seal_payload
from yoshin.domain import examples
from yoshin.domain.codes import my_number_check_digit
from yoshin.host import devices, store
from yoshin.host.server import HostService
from yoshin.protocol import api
from yoshin.protocol.sealing import new_record_id
from yoshin.tools.pg_cluster import PostgresCluster

BATCH = 50
BATCHES_PER_DEVICE = 6
TRIVIAL = 200
FULL_SCALE = 1_500_000


def synthetic_registry(rows: int) -> tuple[str, list[str]]:
    header = "my_number,atena_number,kana,name,birth_date,sex,address,municipality_code,history\n"
    lines, numbers = [header], []
    for n in range(rows):
        body = f"{10_000_000_000 + n:011d}"
        number = body + str(my_number_check_digit(body))
        numbers.append(number)
        lines.append(
            f"{number},{n:010d},テスト タロウ,試験 太郎{n},19{40 + n % 60:02d}-0{1 + n % 9}-1{n % 9},"
            f"{'male' if n % 2 else 'female'},神奈川県川崎市中原区小杉町{n % 9 + 1}丁目{n % 50 + 1}番地,141305,"
            f"flu_elderly:1:2025-10-{10 + n % 18}\n"
        )
    return "".join(lines), numbers


class Workers:
    """`yoshin-host serve` worker processes on one data directory and one database."""

    def __init__(self, data: Path, count: int) -> None:
        script = Path(sys.executable).parent / "yoshin-host"
        self.processes, self.addresses = [], []
        for _ in range(count):
            process = subprocess.Popen(
                [script, "serve", "--data-dir", str(data), "--port", "0", "--enroll-port", "0"],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert process.stdout is not None
            port, enroll_port = (int(p) for p in re.findall(r":(\d+)", process.stdout.readline()))
            self.processes.append(process)
            self.addresses.append(HostAddress("127.0.0.1", port, enroll_port))

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(timeout=60)


def _appliances(workdir: Path, service: HostService, address: HostAddress, count: int) -> list[Appliance]:
    made = []
    for n in range(count):
        appliance = Appliance(workdir / f"device-{n}")
        token = devices.issue_token(service.db, "141305", "1410000001", "bench", datetime.now(UTC))
        ca = fetch_ca(address, service.pki.ca_fingerprint)
        enroll(address, ca, appliance.keystore, token, "141305", "1410000001", f"BENCH{n}")
        made.append(appliance)
    return made


def _batches(appliance: Appliance) -> list[list[dict[str, object]]]:
    keys = (appliance.keystore.host_sealing_key(), appliance.keystore.signing_key())
    device_id = appliance.keystore.identity()["device_id"]
    return [
        [
            seal_payload(
                keys, device_id, "vaccination_record",
                examples.vaccination_record(new_record_id(), new_record_id()), "2026-10-15T09:00:00+09:00",
            ).to_json()
            for _ in range(BATCH)
        ]
        for _ in range(BATCHES_PER_DEVICE)
    ]  # fmt: skip


def ingest(workdir: Path, database: str | None, worker_count: int, device_count: int) -> dict[str, float]:
    """Records/s with full verification, `device_count` appliances at once spread over the workers."""
    data = workdir / "host"
    if database:
        store.write_config(data, database)
    service = HostService.open(data)
    workers = Workers(data, worker_count)
    try:
        appliances = _appliances(workdir, service, workers.addresses[0], device_count)
        clients = [
            HostClient(appliance.keystore, workers.addresses[n % worker_count])
            for n, appliance in enumerate(appliances)
        ]
        work = [_batches(appliance) for appliance in appliances]

        def send(n: int) -> int:
            sent = 0
            for batch in work[n]:
                results = clients[n].call("POST", api.RECORDS, {"envelopes": batch})["results"]
                sent += sum(1 for r in results if r["status"] == "accepted")
            return sent

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=device_count) as pool:
            accepted = sum(pool.map(send, range(device_count)))
        elapsed = time.perf_counter() - start
        assert accepted == device_count * BATCHES_PER_DEVICE * BATCH
        trivial = 0.0
        if worker_count == 1:
            start = time.perf_counter()
            for _ in range(TRIVIAL):
                clients[0].call("GET", api.HEALTH)
            trivial = TRIVIAL / (time.perf_counter() - start)
    finally:
        workers.stop()
        service.db.close()
    return {"records_per_s": accepted / elapsed, "trivial_requests_per_s": trivial}


def registry(workdir: Path, database: str | None, rows: int) -> dict[str, float]:
    text, numbers = synthetic_registry(rows)
    service = HostService.open(workdir / "host", database=database)
    start = time.perf_counter()
    report = service.registry.import_csv(text)
    import_rows_per_s = report.loaded / (time.perf_counter() - start)
    assert report.loaded == rows, report.errors[:3]
    samples = []
    for number in numbers[:: max(1, rows // 2000)]:
        begin = time.perf_counter()
        assert service.registry.find("141305", number) is not None
        samples.append((time.perf_counter() - begin) * 1000)
    samples.sort()
    service.db.close()
    return {
        "import_rows_per_s": import_rows_per_s,
        "import_seconds_at_1_5_million": FULL_SCALE / import_rows_per_s,
        "lookup_ms_p50": statistics.median(samples),
        "lookup_ms_p99": samples[int(len(samples) * 0.99) - 1],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--devices", type=int, default=8)
    args = parser.parse_args()
    out: dict[str, object] = {"benchmark": "host", "batch_size": BATCH, "devices_at_once": args.devices}
    with tempfile.TemporaryDirectory() as workdir, PostgresCluster() as cluster:
        root = Path(workdir)
        sqlite = ingest(root / "sqlite", None, 1, args.devices)
        out["trivial_requests_per_s_mutual_tls"] = round(sqlite["trivial_requests_per_s"], 1)
        out["ingest_records_per_s_sqlite_1_worker"] = round(sqlite["records_per_s"], 1)
        postgres = {}
        for workers in (1, 2, 4):
            url = cluster.create_database(f"ingest{workers}")
            postgres[workers] = ingest(root / f"pg{workers}", url, workers, args.devices)["records_per_s"]
            out[f"ingest_records_per_s_postgresql_{workers}_workers"] = round(postgres[workers], 1)
        for workers in (2, 4):
            out[f"ratio_postgresql_{workers}_workers_to_1"] = round(postgres[workers] / postgres[1], 2)
        out["ratio_sqlite_ingest_records_to_trivial_requests"] = round(
            sqlite["records_per_s"] / sqlite["trivial_requests_per_s"], 3
        )
        out["registry_rows"] = args.rows
        out["registry_scale"] = (
            "measured" if args.rows >= FULL_SCALE else "1.5 million extrapolated at the measured rate"
        )
        for name, database in (("sqlite", None), ("postgresql", cluster.create_database("registry"))):
            figures = registry(root / f"registry-{name}", database, args.rows)
            for key, value in figures.items():
                out[f"registry_{key}_{name}"] = round(value, 3 if "ms" in key else 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
