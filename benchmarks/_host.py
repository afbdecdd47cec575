"""Shared parts of the host benchmarks: served workers, enrolled appliances, fully verifiable records.

Every record a benchmark sends passes the host's full verification: the device's signature, HPKE
decryption, the contract, a resident that exists, and host-signed staff attestations (the same checks
as in production; nothing is switched off for speed).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from yoshin.device.appliance import Appliance
from yoshin.device.hostclient import HostAddress, enroll, fetch_ca
from yoshin.device.outbox import seal_payload
from yoshin.domain import examples
from yoshin.domain.codes import my_number_check_digit
from yoshin.host import attest, devices, staff, technicians
from yoshin.host.server import HostService
from yoshin.protocol.api import new_record_id

MUNICIPALITY, CLINIC = "141305", "1410000001"
SUBJECT = "S000102"  # the example records' resident
STAFF = {"D0001": ("医師 一郎", "doctor"), "N0001": ("看護 花子", "nurse"), "N0002": ("看護 次郎", "nurse")}
FULL_SCALE = 1_500_000
_TICKS = os.sysconf("SC_CLK_TCK")


def synthetic_registry(rows: int, start: int = 0) -> tuple[str, list[str]]:
    """A municipal extract of `rows` residents (valid check digits), and their My Numbers."""
    header = "my_number,atena_number,kana,name,birth_date,sex,address,municipality_code,history\n"
    lines, numbers = [header], []
    for n in range(start, start + rows):
        body = f"{10_000_000_000 + n:011d}"
        number = body + str(my_number_check_digit(body))
        numbers.append(number)
        lines.append(
            f"{number},{n:010d},テスト タロウ,試験 太郎{n},19{40 + n % 60:02d}-0{1 + n % 9}-1{n % 9},"
            f"{'male' if n % 2 else 'female'},神奈川県川崎市中原区小杉町{n % 9 + 1}丁目{n % 50 + 1}番地,141305,"
            f"flu_elderly:1:2025-10-{10 + n % 18}\n"
        )
    return "".join(lines), numbers


def seed(service: HostService) -> None:
    """The example records' resident and staff."""
    service.registry.import_csv(
        "my_number,atena_number,kana,name,birth_date,sex,address,municipality_code,subject_id\n"
        f"123456789018,0000000001,イリョウ タロウ,医療 太郎,1950-01-01,male,川崎市中原区,{MUNICIPALITY},{SUBJECT}\n"
    )
    made = datetime.now(UTC)
    for staff_id, (name, role) in STAFF.items():
        if staff.member(service.db, staff_id) is None:
            staff.add(service.db, staff_id, name, role, MUNICIPALITY, "benchmark staff password", made)


def vaccination_envelopes(service: HostService, appliance: Appliance, count: int) -> list[dict[str, Any]]:
    """`count` sealed vaccination records, each with the host's attestations of its staff, as the kiosk
    sends them (one login per staff member and day: the same tokens on every record of the day)."""
    keys = (appliance.keystore.host_sealing_key(), appliance.keystore.signing_key())
    device_id = appliance.keystore.identity()["device_id"]
    sample = examples.vaccination_record(new_record_id(), new_record_id())
    made = datetime.fromisoformat(str(sample["created_at"]))
    proofs = {
        slot: attest.issue(service.keys.attestation, str(sample[field]), STAFF[str(sample[field])][1],
                           MUNICIPALITY, device_id, made)[0]
        for slot, field in (("entered_by", "entered_by"), ("checked_by", "checked_by"))
    }  # fmt: skip
    return [
        seal_payload(
            keys, device_id, "vaccination_record",
            {**examples.vaccination_record(new_record_id(), new_record_id()), "proofs": proofs},
            "2026-10-15T09:30:00+09:00",
        ).to_json()
        for _ in range(count)
    ]  # fmt: skip


TECHNICIAN, TECHNICIAN_PASSWORD = "T9141305", "benchmark technician password"


def technician_proof(service: HostService) -> str:
    """A technician on the roster, logged in: the attestation enrollment needs (control 27)."""
    if staff.member(service.db, TECHNICIAN) is None:
        technicians.add(
            service.db, TECHNICIAN, "技術 測定", MUNICIPALITY, TECHNICIAN_PASSWORD, "保守株式会社", "the clinic",
            datetime.now(UTC),
        )  # fmt: skip
    token, _, _ = technicians.login(
        service.db, service.keys.attestation, TECHNICIAN, TECHNICIAN_PASSWORD, MUNICIPALITY, datetime.now(UTC)
    )
    return token


def enrolled(workdir: Path, service: HostService, address: HostAddress, count: int, prefix: str = "B") -> list:
    """`count` appliances enrolled through the served enrollment port (real CSR, real certificate)."""
    made = []
    ca = fetch_ca(address, service.pki.ca_fingerprint)
    technician = technician_proof(service)
    for n in range(count):
        appliance = Appliance(workdir / f"device-{prefix}{n}")
        token = devices.issue_token(service.db, MUNICIPALITY, CLINIC, "bench", datetime.now(UTC))
        enroll(address, ca, appliance.keystore, token, MUNICIPALITY, CLINIC, f"{prefix}{n}", technician)
        made.append(appliance)
    return made


class Workers:
    """`yoshin-host serve` worker processes on one data directory and one database."""

    def __init__(self, data: Path, count: int, extra: tuple[str, ...] = ()) -> None:
        script = Path(sys.executable).parent / "yoshin-host"
        self.processes: list[subprocess.Popen[str]] = []
        self.addresses: list[HostAddress] = []
        for _ in range(count):
            process = subprocess.Popen(
                [script, "serve", "--data-dir", str(data), "--port", "0", "--enroll-port", "0", *extra],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert process.stdout is not None
            port, enroll_port = (int(p) for p in re.findall(r":(\d+)", process.stdout.readline())[:2])
            self.processes.append(process)
            self.addresses.append(HostAddress("127.0.0.1", port, enroll_port))

    def cpu_seconds(self) -> float:
        """User + system CPU the workers have used so far (from /proc), to compare with wall time."""
        return sum(cpu_seconds(process.pid) for process in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(timeout=60)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def server_cpu_seconds(data_dir: Path) -> float:
    """CPU used so far by a PostgreSQL cluster's processes (the postmaster's children: backends, WAL
    writer, checkpointer), read from /proc; a backend that has exited is not counted."""
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * fraction + 0.5) - 1))]
