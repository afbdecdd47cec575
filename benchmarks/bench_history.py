"""What asking the host again at the vaccination entry costs (issue 13): POST /api/v1/history against
GET /api/v1/health on the same kept mutual-TLS connection, interleaved, in the same run.

A real host on loopback (SQLite) with the personas' registry, one enrolled appliance, a nurse's host
attestation. The history read does the whole work of production: the proof's signature and staff record,
the registry look-up, the history (registry rows and the inbox's vaccination records) and one audit
transaction. The rate limiter is bypassed (it would stop the run, not slow it).

    python benchmarks/bench_history.py [--rounds N]

Prints one JSON object: medians and 99th percentiles in ms, and the ratio history/health.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _setup import host_and_appliance

from yoshin.devtools.personas import all_personas, persona, registry_csv
from yoshin.host import attest, staff
from yoshin.protocol import api


def _p99(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.99 * len(values)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server, appliance = host_and_appliance(Path(tmp))
        service = server.service
        service.limiter.take = lambda *a, **k: (True, 0, False)  # type: ignore[method-assign]  # measure, not limit
        service.registry.import_csv(registry_csv(list(all_personas().values())))
        now = datetime.now(UTC)
        staff.add(service.db, "N0001", "看護 花子", "nurse", "141305", "benchmark staff password", now)
        device_id = appliance.keystore.identity()["device_id"]
        proof, _ = attest.issue(service.keys.attestation, "N0001", "nurse", "141305", device_id, now)
        subject = persona("infant").subject_id  # seven registry doses
        client = appliance.client()
        client.history(subject, proof)  # the TLS handshake, before the timing
        timings: dict[str, list[float]] = {"history": [], "health": []}
        for _ in range(args.rounds):
            for name in ("history", "health"):
                started = time.perf_counter()
                if name == "history":
                    client.history(subject, proof)
                else:
                    client.call("GET", api.HEALTH)
                timings[name].append((time.perf_counter() - started) * 1000)
        client.close()
        server.stop()
        service.db.close()
    medians = {name: statistics.median(values) for name, values in timings.items()}
    print(
        json.dumps(
            {
                "benchmark": "history_at_entry",
                "rounds": args.rounds,
                "history_p50_ms": round(medians["history"], 3),
                "history_p99_ms": round(_p99(timings["history"]), 3),
                "health_p50_ms": round(medians["health"], 3),
                "health_p99_ms": round(_p99(timings["health"]), 3),
                "history_over_health_p50": round(medians["history"] / medians["health"], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
