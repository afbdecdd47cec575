"""Finding 8: can the served host's answer time tell a registered My Number from an unregistered one?

A real host on loopback (SQLite) with the personas' registry, one enrolled appliance, and three kinds of
authentic face reads sent interleaved over mutual TLS: a registered resident (answered), a registered
number whose card data differs from the registry (refused), and an unregistered number (refused). Reports
medians, the ratios registered/unregistered measured in this same run, and how often a registered request
of a pair took longer than the unregistered one next to it (0.5 = a coin toss; the finding was 0.94).

    python benchmarks/bench_identity_timing.py [--rounds N]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _setup import host_and_appliance

from yoshin.device.outbox import seal_payload
from yoshin.devtools.card_emulator import CardImage
from yoshin.devtools.dev_pki import DevPki
from yoshin.devtools.personas import all_personas, persona, registry_csv
from yoshin.domain.codes import my_number_check_digit
from yoshin.host import devices
from yoshin.protocol import api

KENHOJO = bytes.fromhex("D3921000310001010408")


def _body(image: CardImage) -> dict[str, str]:
    files = image.files[KENHOJO]
    names = ("ef_my_number", "ef_basic_info", "ef_signature")
    return {name: base64.b64encode(files[fid]).decode() for name, fid in zip(names, (1, 2, 3), strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        pki = DevPki.load_or_create(workdir / "pki")
        server, appliance = host_and_appliance(workdir)
        service = server.service
        service.limiter.take = lambda *a, **k: (True, 0, False)  # type: ignore[method-assign]  # measure, not limit
        service.jlis_key = pki.jlis_key.public_key()
        service.registry.import_csv(registry_csv(list(all_personas().values())))
        adult = persona("adult")
        stranger_body = "39" + adult.my_number[2:11]
        stranger = dataclasses.replace(adult, my_number=stranger_body + str(my_number_check_digit(stranger_body)))
        kinds = {
            "registered_ok": _body(CardImage.for_persona(adult, pki)),
            "registered_mismatch": _body(
                CardImage.for_persona(dataclasses.replace(adult, address="東京都千代田区1"), pki)
            ),
            "unregistered": _body(CardImage.for_persona(stranger, pki)),
        }
        keystore = appliance.keystore
        keys = (keystore.host_sealing_key(), keystore.signing_key())
        device_id = keystore.identity()["device_id"]
        client = appliance.client()
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        in_process: dict[str, list[float]] = {kind: [] for kind in kinds}
        statuses: dict[str, set[str]] = {kind: set() for kind in kinds}
        try:
            shuffle = random.Random(15).shuffle  # a fixed seed: the same interleaving every run
            for round_number in range(args.rounds + 20):
                order = list(kinds)
                shuffle(order)  # no kind keeps a place in the round
                for kind in order:
                    envelope = seal_payload(keys, device_id, "identity", kinds[kind], "2026-10-15T10:00:00+09:00")
                    body = {"envelope": envelope.to_json()}
                    started = time.perf_counter()
                    answer = client.call("POST", api.IDENTITY, body)
                    elapsed = time.perf_counter() - started
                    if round_number >= 20:  # the first rounds warm the connections and caches
                        times[kind].append(elapsed)
                        statuses[kind].add(answer["status"])
            # The same look-ups through the library face in this process (no TLS, no event loop): the
            # host's own work, with less of the machine's noise around it.
            device = devices.get(service.db, device_id)
            assert device is not None
            for round_number in range(args.rounds + 20):
                order = list(kinds)
                shuffle(order)
                for kind in order:
                    started = time.perf_counter()
                    service.resolve_identity(device, kinds[kind])
                    elapsed = time.perf_counter() - started
                    if round_number >= 20:
                        in_process[kind].append(elapsed)
        finally:
            server.stop()

    def figures(measured: dict[str, list[float]]) -> dict[str, object]:
        def median_ms(kind: str) -> float:
            return round(statistics.median(measured[kind]) * 1000, 3)

        def slower(kind: str) -> float:
            pairs = list(zip(measured[kind], measured["unregistered"], strict=True))
            return round(sum(a > b for a, b in pairs) / len(pairs), 3)

        others = [kind for kind in measured if kind != "unregistered"]
        return {
            "median_ms": {kind: median_ms(kind) for kind in measured},
            "p90_ms": {kind: round(statistics.quantiles(v, n=10)[-1] * 1000, 3) for kind, v in measured.items()},
            "ratio_vs_unregistered": {kind: round(median_ms(kind) / median_ms("unregistered"), 3) for kind in others},
            "share_of_pairs_slower_than_unregistered": {kind: slower(kind) for kind in others},
        }

    print(
        json.dumps(
            {
                "benchmark": "identity_timing",
                "backend": "sqlite",
                "rounds": args.rounds,
                "statuses": {kind: sorted(found) for kind, found in statuses.items()},
                "served_over_mutual_tls": figures(times),
                "host_service_in_process": figures(in_process),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
