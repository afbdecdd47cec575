"""I/O board link: request round-trip latency and frames per second between the real pyserial driver
and the unmodified firmware under MicroPython (-X heapsize=160k) behind a socat pty pair, plus the
firmware's heap high-water mark. Baseline in the same run: the same frame bytes echoed by `cat` behind
an identical socat pty pair (the cost of the pty plumbing alone). Prints one JSON object.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "firmware_tests"))

import serial  # noqa: E402
from fwsupport import Simulator  # noqa: E402

from yoshin.device.framing import Deframer, encode_frame  # noqa: E402
from yoshin.device.ioboard import PING, IOBoard, _pack  # noqa: E402

N = 500


def firmware_round_trips(tmp: Path) -> tuple[list[float], float, dict]:
    sim = Simulator(tmp)
    sim.start()
    b = IOBoard(port=str(sim.link), heartbeat=3600).start()
    try:
        if not b.wait_for(lambda x: x.status.connected, 10):
            raise RuntimeError("board did not connect")
        for _ in range(20):
            b.ping()
        lat = []
        start = time.perf_counter()
        for _ in range(N):
            t = time.perf_counter()
            b.ping()
            lat.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
        status = b.board_status()
    finally:
        b.close()
        sim.unplug()
    return lat, elapsed, status


def echo_round_trips(tmp: Path) -> list[float]:
    link = tmp / "ttyECHO"
    proc = subprocess.Popen(
        ["socat", "-d", "-d", f"pty,raw,echo=0,link={link}", "EXEC:cat,pty,raw,echo=0"], stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if b"starting data transfer loop" in line:
            break
    try:
        ser = serial.Serial(str(link), timeout=1, exclusive=True)
        frame = encode_frame(_pack(PING, 1, None))
        lat = []
        for i in range(N + 20):
            d = Deframer()
            t = time.perf_counter()
            ser.write(frame)
            got: list[bytes] = []
            while not got:
                got = d.feed(ser.read(max(1, ser.in_waiting)))
            if i >= 20:
                lat.append(time.perf_counter() - t)
        ser.close()
    finally:
        proc.kill()
        proc.wait()
    return lat


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fw_lat, elapsed, status = firmware_round_trips(Path(tmp))
        echo_lat = echo_round_trips(Path(tmp))
    fw_med, echo_med = statistics.median(fw_lat), statistics.median(echo_lat)
    print(
        json.dumps(
            {
                "benchmark": "ioboard",
                "requests": N,
                "round_trip_ms_median": round(fw_med * 1000, 3),
                "round_trip_ms_p95": round(sorted(fw_lat)[int(0.95 * N)] * 1000, 3),
                "frames_per_second": round(2 * N / elapsed, 1),
                "baseline_echo_round_trip_ms_median": round(echo_med * 1000, 3),
                "ratio_firmware_to_echo": round(fw_med / echo_med, 2),
                "firmware_heap_peak_bytes": status["heap_peak"],
                "firmware_heap_free_bytes": status["heap_free"],
                "heap_budget_bytes": 160 * 1024,
                "frame_errors": status["frame_errors"],
            }
        )
    )


if __name__ == "__main__":
    main()
