"""Registry import and identity look-up at municipal scale, SQLite and PostgreSQL in one run.

    python benchmarks/bench_host_registry.py [--rows N | --full]

`--rows` defaults to 100,000 (a few minutes on the 2-core project machine); `--full` imports the
issue's 1,500,000 residents. Below that the JSON's `*_seconds_at_1_5_million` figures are
EXTRAPOLATED from the measured rate and say so (`registry_scale`). The import runs as `yoshin-host
residents import` does: worker processes parse, seal and stage (COPY into an UNLOGGED table on
PostgreSQL, a scratch file each on SQLite), then one transaction merges (`import_stage_seconds`,
`import_merge_seconds`). Besides wall time the JSON gives the CPU cost per row of each part, measured
alone on 10,000 rows in this process: preparing (parse, check digits, HMAC index, AES-GCM seal),
staging (and, on PostgreSQL, the staging connection's backend), and merging (an upsert into the
non-empty registry; this process and its backend). The CPU-bound projection spreads preparing and
staging over every core and adds the measured merge time scaled to 1.5 million rows.
Look-ups: `Registry.find` of 2,000
registered numbers spread over the registry and 200 unknown ones, p50/p99 in milliseconds, and on
PostgreSQL the plan of the look-up (it must be an index scan). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _host import FULL_SCALE, cpu_seconds, percentile, synthetic_registry

from yoshin.devtools.pg_cluster import PostgresCluster
from yoshin.host import registry as registry_module
from yoshin.host import registry_import
from yoshin.host.server import HostService

SAMPLE = 10_000


def part_costs(service: HostService, text: str) -> dict[str, float]:
    """CPU microseconds per row of each part, measured alone on SAMPLE rows in this process: preparing
    (parse, check digits, HMAC index, AES-GCM seal: a worker's share), staging (writing the prepared rows
    into the import's staging: the worker's and, on PostgreSQL, its connection's backend), and merging
    (the one transaction into the registry: this process's and its backend's; an upsert here, as the
    registry is not empty)."""
    lines = text.splitlines(keepends=True)
    header, body = next(csv.reader([lines[0]])), "".join(lines[1 : SAMPLE + 1])
    db = service.db
    numbers = registry_module.NumberKeys(service.keys.registry_master)
    columns = registry_import.Columns.of(header)
    start = time.process_time()
    _, _, errors = registry_import.prepare_rows(numbers, columns, 2, body)
    prepare = time.process_time() - start
    assert not errors
    backend = int(db.query("SELECT pg_backend_pid()")[0][0][0]) if db.postgresql else None

    def server() -> float:
        return cpu_seconds(backend) if backend is not None else 0.0

    staging = registry_import.Staging.create(db)
    stager = registry_import.Stager(staging, numbers, header, db)
    try:
        start, server_start = time.process_time(), server()
        stager.stage(2, body)
        stage, stage_server = time.process_time() - start - prepare, server() - server_start
        stager.close()
        start, server_start = time.process_time(), server()
        staging.merge(db, lambda tx, counts: None)  # no audit lines: a measurement
        merge, merge_server = time.process_time() - start, server() - server_start
    finally:
        staging.drop(db)
    out = {
        "prepare_cpu_us_per_row": prepare * 1e6 / SAMPLE,
        "stage_cpu_us_per_row": stage * 1e6 / SAMPLE,
        "merge_cpu_us_per_row": merge * 1e6 / SAMPLE,
    }
    if backend is not None:
        out["stage_server_cpu_us_per_row"] = stage_server * 1e6 / SAMPLE
        out["merge_server_cpu_us_per_row"] = merge_server * 1e6 / SAMPLE
    return out


def measure(workdir: Path, database: str | None, rows: int) -> dict[str, object]:
    text, numbers = synthetic_registry(rows)
    service = HostService.open(workdir, database=database)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    report = service.registry.import_csv(text, timings=timings)
    seconds = time.perf_counter() - start
    assert report.loaded == rows, report.errors[:3]
    out: dict[str, object] = {
        "import_rows_per_s": rows / seconds,
        "import_seconds": seconds,
        "import_stage_seconds": timings["stage_seconds"],  # worker processes: prepare and stage
        "import_merge_seconds": timings["merge_seconds"],  # one transaction into the (empty) registry
    }
    found, missing, cpu = [], [], []
    for number in numbers[:: max(1, rows // 2000)][:50]:  # warm the connection and the plan cache
        service.registry.find("141305", number)
    for number in numbers[:: max(1, rows // 2000)]:
        begin, begin_cpu = time.perf_counter(), time.thread_time()
        resident = service.registry.find("141305", number)
        found.append((time.perf_counter() - begin) * 1000)
        cpu.append((time.thread_time() - begin_cpu) * 1000)
        assert resident is not None
    for n in range(200):
        unknown = f"{n:012d}"
        begin = time.perf_counter()
        assert service.registry.find("141305", unknown) is None
        missing.append((time.perf_counter() - begin) * 1000)
    out |= {
        "lookup_ms_p50": percentile(found, 0.5),
        "lookup_ms_p99": percentile(found, 0.99),
        "lookup_unknown_ms_p99": percentile(missing, 0.99),
        # this process's CPU per look-up: a p99 far above it is time spent waiting for a core
        "lookup_client_cpu_ms_p99": percentile(cpu, 0.99),
    }
    if service.db.postgresql:
        index = service.registry.index("141305", numbers[0])
        rows_, _ = service.db.query(
            "EXPLAIN (FORMAT JSON) SELECT * FROM residents WHERE municipality_code = ? AND my_number_index = ?",
            ["141305", index],
            "141305",
        )
        plan = rows_[0][0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        out["lookup_plan"] = plan[0]["Plan"]["Node Type"]
    # the per-part CPU costs, on a fresh municipality code so nothing is an update of the above
    out |= part_costs(service, synthetic_registry(SAMPLE, start=rows)[0])
    service.db.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--full", action="store_true", help=f"import {FULL_SCALE:,} residents (long)")
    args = parser.parse_args()
    rows = FULL_SCALE if args.full else args.rows
    cores = len(os.sched_getaffinity(0))
    out: dict[str, object] = {
        "benchmark": "host_registry",
        "registry_rows": rows,
        "registry_scale": "measured" if rows >= FULL_SCALE else "1.5 million EXTRAPOLATED at the measured rate",
        "cores": cores,
        "import_worker_processes": min(4, cores),
    }
    with tempfile.TemporaryDirectory() as workdir, PostgresCluster() as cluster:
        for name, database in (("sqlite", None), ("postgresql", cluster.create_database("registry"))):
            figures = measure(Path(workdir) / name, database, rows)
            for key, value in figures.items():
                if isinstance(value, float):
                    value = round(value, 3 if "ms" in key else 1)
                out[f"{key}_{name}"] = value
            out[f"import_seconds_at_1_5_million_{name}"] = round(FULL_SCALE / float(figures["import_rows_per_s"]), 1)  # type: ignore[arg-type]
            prepare = float(figures["prepare_cpu_us_per_row"]) + float(figures["stage_cpu_us_per_row"])  # type: ignore[arg-type]
            prepare += float(figures.get("stage_server_cpu_us_per_row", 0.0))  # type: ignore[arg-type]
            merge_per_row = float(figures["import_merge_seconds"]) / rows  # type: ignore[arg-type]
            # staging runs on every core at once (workers and their backends); the merge is one transaction
            bound = FULL_SCALE * (prepare * 1e-6 / cores + merge_per_row)
            out[f"import_seconds_at_1_5_million_cpu_bound_{cores}_cores_{name}"] = round(bound, 1)
            bound4 = FULL_SCALE * (prepare * 1e-6 / 4 + merge_per_row)
            out[f"import_seconds_at_1_5_million_cpu_bound_4_cores_{name}"] = round(bound4, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
