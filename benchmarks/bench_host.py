"""The host: record ingest over mutual TLS with full verification against a trivial endpoint on the same
server and TLS set-up (same run), registry import rows per second, identity look-up p50/p99.

    python benchmarks/bench_host.py [--rows N]   (default 100000; the issue's target scale is 1500000)

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _setup import host_and_appliance

from yoshin.device.outbox import seal_payload
from yoshin.domain import examples
from yoshin.domain.codes import my_number_check_digit
from yoshin.protocol import api
from yoshin.protocol.sealing import new_record_id

BATCH = 50
BATCHES = 10
TRIVIAL = 300


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as workdir:
        server, appliance = host_and_appliance(Path(workdir))
        client = appliance.client()
        keys = (appliance.keystore.host_sealing_key(), appliance.keystore.signing_key())
        device_id = appliance.keystore.identity()["device_id"]

        start = time.perf_counter()
        for _ in range(TRIVIAL):
            client.call("GET", api.HEALTH)
        trivial_per_s = TRIVIAL / (time.perf_counter() - start)

        batches = [
            [
                seal_payload(
                    keys,
                    device_id,
                    "vaccination_record",
                    examples.vaccination_record(new_record_id(), new_record_id()),
                    "2026-10-15T09:00:00+09:00",
                ).to_json()
                for _ in range(BATCH)
            ]
            for _ in range(BATCHES)
        ]
        start = time.perf_counter()
        for batch in batches:
            results = client.call("POST", api.RECORDS, {"envelopes": batch})["results"]
            assert all(r["status"] in ("accepted", "duplicate") for r in results)
        elapsed = time.perf_counter() - start
        ingest_records_per_s, ingest_requests_per_s = BATCH * BATCHES / elapsed, BATCHES / elapsed

        text, numbers = synthetic_registry(rows)
        start = time.perf_counter()
        report = server.service.registry.import_csv(text)
        import_rows_per_s = report.loaded / (time.perf_counter() - start)
        assert report.loaded == rows, report.errors[:3]

        registry = server.service.registry
        samples = []
        for number in numbers[:: max(1, rows // 2000)]:
            begin = time.perf_counter()
            assert registry.find("141305", number) is not None
            samples.append((time.perf_counter() - begin) * 1000)
        samples.sort()
        server.stop()
    print(
        json.dumps(
            {
                "benchmark": "host",
                "trivial_requests_per_s_mutual_tls": round(trivial_per_s, 1),
                "ingest_records_per_s_mutual_tls_full_verification": round(ingest_records_per_s, 1),
                "ingest_batches_per_s": round(ingest_requests_per_s, 2),
                "batch_size": BATCH,
                "ratio_ingest_records_to_trivial_requests": round(ingest_records_per_s / trivial_per_s, 3),
                "registry_rows": rows,
                "registry_import_rows_per_s": round(import_rows_per_s, 1),
                "identity_lookup_ms_p50": round(statistics.median(samples), 3),
                "identity_lookup_ms_p99": round(samples[int(len(samples) * 0.99) - 1], 3),
                "lookups": len(samples),
            }
        )
    )


if __name__ == "__main__":
    main()
