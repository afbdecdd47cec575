"""The sealed outbox: durable enqueue rate against raw sqlite3 inserts of the same bytes with the same
durability settings (same run), drain rate to a local host over mutual TLS, and bytes on disk per record.
Prints one JSON object.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _setup import host_and_appliance

from yoshin.device.forwarder import Forwarder
from yoshin.device.outbox import connect, seal_payload
from yoshin.domain import examples
from yoshin.protocol.api import new_record_id

RECORDS = 500


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        server, appliance = host_and_appliance(Path(workdir))
        outbox = appliance.outbox()
        bodies = [examples.vaccination_record(new_record_id(), new_record_id()) for _ in range(RECORDS)]

        start = time.perf_counter()
        for body in bodies:
            outbox.enqueue("vaccination_record", body)
        ours = RECORDS / (time.perf_counter() - start)

        blobs = [row[0] for row in outbox.connection.execute("SELECT envelope FROM outbox")]
        outbox.checkpoint()
        db_bytes = appliance.queue_path.stat().st_size
        raw = connect(Path(workdir) / "raw.db")
        raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
        start = time.perf_counter()
        for blob in blobs:
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("INSERT INTO t (blob) VALUES (?)", [blob])
            raw.execute("COMMIT")
        baseline = len(blobs) / (time.perf_counter() - start)

        keys = (appliance.keystore.host_sealing_key(), appliance.keystore.signing_key())
        start = time.perf_counter()
        for body in bodies:
            seal_payload(keys, "bench", "vaccination_record", body, "2026-10-15T09:00:00+09:00")
        seal_ms = (time.perf_counter() - start) * 1000 / RECORDS

        start = time.perf_counter()
        rounds = Forwarder(outbox, appliance.client(), batch=50).drain()
        drained = sum(r.accepted for r in rounds)
        drain_rate = drained / (time.perf_counter() - start)
        server.stop()
    print(
        json.dumps(
            {
                "benchmark": "queue",
                "records": RECORDS,
                "enqueue_per_s_ours": round(ours, 1),
                "insert_per_s_raw_sqlite_same_bytes_and_durability": round(baseline, 1),
                "ratio_ours_to_raw": round(ours / baseline, 3),
                "goal_ratio_min": 0.7,
                "validate_and_seal_ms_per_record": round(seal_ms, 3),
                "raw_commit_ms_per_record": round(1000 / baseline, 3),
                "drain_records_per_s_mutual_tls": round(drain_rate, 1),
                "drained": drained,
                "bytes_on_disk_per_record": round(db_bytes / RECORDS),
                "sealed_envelope_bytes": len(blobs[0]),
            }
        )
    )


if __name__ == "__main__":
    main()
