"""Shared test fixtures. Component fixtures live in tests/<component>/conftest.py."""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import serial

from yoshin.device.appliance import Appliance
from yoshin.device.hostclient import HostAddress, HostClient, enroll, fetch_ca
from yoshin.device.keystore import FileKeyStore
from yoshin.devtools.card_emulator import CardImage
from yoshin.devtools.dev_pki import DevPki
from yoshin.devtools.personas import all_personas, registry_csv
from yoshin.devtools.virtual_reader import VirtualReader
from yoshin.host import attest, devices, staff, store, technicians
from yoshin.host.server import HostServer, HostService
from yoshin.protocol.api import new_record_id
from yoshin.protocol.sealing import EnvelopeHeader, SealedEnvelope, seal

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def virtual_reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualReader]:
    """One isolated pcscd with the vpcd virtual reader for the whole run (one pcscd per machine)."""
    with VirtualReader(tmp_path_factory.mktemp("pcscd")) as reader:
        yield reader


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    """The J-LIS-style test key and the JPKI test CA, written once for the run."""
    return DevPki.load_or_create(tmp_path_factory.mktemp("test-pki"))


NOW = datetime(2026, 10, 15, 1, 0, tzinfo=UTC)  # 10:00 JST
CLINIC = "1410000001"


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Device:
    """An enrolled appliance (real key store, real client) as tests drive it."""

    keystore: FileKeyStore
    client: HostClient
    device_id: str
    appliance: Appliance

    def seal(self, kind: str, body: dict[str, object], record_id: str | None = None) -> SealedEnvelope:
        """Sealed as the outbox seals, but without validation, so tests can send what a device never would."""
        header = EnvelopeHeader(
            record_id or new_record_id(), self.device_id, kind, datetime.now(UTC).isoformat(timespec="seconds")
        )
        payload = json.dumps({"contract_version": "1", "kind": kind, "body": body}, ensure_ascii=False).encode()
        return seal(payload, header, self.keystore.host_sealing_key(), self.keystore.signing_key())

    def identity_body(self, image: CardImage) -> dict[str, str]:
        files = image.files[bytes.fromhex("D3921000310001010408")]
        return {
            "ef_my_number": base64.b64encode(files[1]).decode(),
            "ef_basic_info": base64.b64encode(files[2]).decode(),
            "ef_signature": base64.b64encode(files[3]).decode(),
        }


@pytest.fixture
def personal_data_in() -> Callable[[Path, object], list[tuple[str, bytes]]]:
    """Which files under a directory hold a persona's personal data in clear, in any Japanese encoding."""

    def scan(directory: Path, who) -> list[tuple[str, bytes]]:
        texts = [who.name, who.kana, who.address, who.my_number, who.name.replace(" ", ""), who.address[:12]]
        texts += [who.birth_date.isoformat(), who.birth_date.strftime("%Y%m%d"), who.birth_date.strftime("%Y/%m/%d")]
        needles = []
        for text in texts:
            for encoding in ("utf-8", "utf-16-le", "utf-16-be", "shift_jis", "euc_jp"):
                with contextlib.suppress(UnicodeEncodeError):
                    needles.append(text.encode(encoding))
        found = []
        for path in (p for p in directory.rglob("*") if p.is_file()):
            data = path.read_bytes()
            found += [(path.name, needle) for needle in needles if needle in data]
        return found

    return scan


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def database_url() -> str | None:
    """The host's database: the embedded SQLite file (None) here; tests/host/conftest.py runs every
    storage test on SQLite and on PostgreSQL."""
    return None


@pytest.fixture
def open_service(database_url: str | None) -> Callable[..., HostService]:
    return lambda data_dir, clock: open_host_service(data_dir, database_url, clock)


def open_host_service(data_dir: Path, database_url: str | None, clock: Callable[[], datetime]) -> HostService:
    """A host service on the given backend; a PostgreSQL URL goes in the data directory's host.toml, so the
    `yoshin-host` CLI run on that directory uses the same database."""
    if database_url:
        store.write_config(data_dir, database_url)
    return HostService.open(data_dir, clock=clock)


@pytest.fixture
def host(tmp_path: Path, clock: Clock, test_pki: DevPki, database_url: str | None) -> Iterator[HostServer]:
    service = open_host_service(tmp_path / "host", database_url, clock)
    service.registry.import_csv(registry_csv(list(all_personas().values())))
    service.jpki_anchors = [test_pki.ca_cert]
    with HostServer(service) as server:
        yield server
    service.db.close()


TECHNICIAN_PASSWORD = "technician-password-1"  # test accounts


def technician_proof(service: HostService, municipality: str = "141305") -> str:
    """A technician of `municipality` on the host's roster (added the first time), logged in: the host's
    attestation that enrollment and decommissioning need (control 27)."""
    staff_id = f"T9{municipality}"
    with service.db.read() as tx:
        known = tx.one("SELECT 1 FROM staff WHERE staff_id = ?", [staff_id])
    if not known:
        technicians.add(
            service.db, staff_id, f"技術 {municipality}", municipality, TECHNICIAN_PASSWORD, "保守株式会社",
            "the clinic", service.clock(),
        )  # fmt: skip
    token, _, _ = technicians.login(
        service.db, service.keys.attestation, staff_id, TECHNICIAN_PASSWORD, municipality, service.clock()
    )
    return token


@pytest.fixture(name="technician_proof")
def technician_proof_fixture() -> Callable[..., str]:
    """`technician_proof(service, municipality="141305")`: the attestation of technician T9<municipality>
    (password `technician_password`), put on the roster the first time."""
    return technician_proof


ADMIN_PASSWORD = "admin-password-1"  # test accounts


def admin_approval(service: HostService, municipality: str = "141305") -> staff.Approval:
    """Two municipal administrators of `municipality` (A1<municipality>, A2<municipality>, added the first
    time as its first two), verified: the approval a change of rights or policy needs (control 14)."""
    ids = (f"A1{municipality}", f"A2{municipality}")
    with service.db.read() as tx:
        known = tx.one("SELECT 1 FROM staff WHERE staff_id = ?", [ids[0]])
    if not known:
        for n, staff_id in enumerate(ids, 1):
            name = f"管理 {n}"
            staff.add(service.db, staff_id, name, "municipal_admin", municipality, ADMIN_PASSWORD, service.clock())
    return staff.approve(service.db, municipality, ids[0], ADMIN_PASSWORD, ids[1], ADMIN_PASSWORD, service.clock())


@pytest.fixture(name="admin_approval")
def admin_approval_fixture() -> Callable[..., staff.Approval]:
    """`admin_approval(service, municipality="141305")`: two verified administrators' approval."""
    return admin_approval


@pytest.fixture
def technician_password() -> str:
    return TECHNICIAN_PASSWORD


@pytest.fixture
def make_device(host: HostServer, tmp_path: Path) -> Callable[..., Device]:
    def make(municipality: str = "141305", clinic: str = CLINIC, serial: str = "KIOSK01") -> Device:
        service = host.service
        token = devices.issue_token(service.db, municipality, clinic, "admin01", service.clock())
        address = HostAddress("127.0.0.1", host.port, host.enroll_port)
        appliance = Appliance(tmp_path / f"device-{municipality}-{serial}", clock=service.clock)
        ca = fetch_ca(address, service.pki.ca_fingerprint)
        proof = technician_proof(service, municipality)
        answer = enroll(address, ca, appliance.keystore, token, municipality, clinic, serial, proof)
        appliance.save_host(address)
        return Device(appliance.keystore, HostClient(appliance.keystore, address), answer["device_id"], appliance)

    return make


class SerialCable:
    """A socat pty pair: a driver opens `port`, the test types into `feed` (a scanner, a board line)."""

    def __init__(self, tmp: Path) -> None:
        self.port, self.feed_path = tmp / "ttyScanner", tmp / "feed"
        self.proc: subprocess.Popen | None = None

    def plug(self) -> None:
        self.proc = subprocess.Popen(
            ["socat", "-d", "-d", f"pty,raw,echo=0,link={self.port}", f"pty,raw,echo=0,link={self.feed_path}"],
            stderr=subprocess.PIPE,
        )
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if b"starting data transfer loop" in line:
                break
        self.feed = serial.Serial(str(self.feed_path), timeout=1)

    def unplug(self) -> None:
        self.feed.close()
        if self.proc:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def cable(tmp_path: Path):
    c = SerialCable(tmp_path)
    c.plug()
    yield c
    if c.proc:
        c.unplug()


EXAMPLE_STAFF = {  # the staff the example records name (yoshin.domain.examples)
    "D0001": ("医師 一郎", "doctor"),
    "N0001": ("看護 花子", "nurse"),
    "N0002": ("看護 次郎", "nurse"),
}
PROOF_SLOTS = {
    "doctor_decision": {"decided_by": "doctor_id"},
    "vaccination_record": {"entered_by": "entered_by", "checked_by": "checked_by"},
}


def add_proofs(service: HostService, device_id: str, kind: str, body: dict[str, object]) -> dict[str, object]:
    """`body` with the host's attestations (seam 5), as the kiosk sends it after the host verified those
    staff; the example staff are registered in `service` on first use."""
    if kind not in PROOF_SLOTS:
        return body
    made = datetime.fromisoformat(str(body["created_at"]))
    municipality = device_id[:6]

    def ensure(staff_id: str) -> str:
        member = staff.member(service.db, staff_id)
        if member is None and staff_id in EXAMPLE_STAFF:
            name, role = EXAMPLE_STAFF[staff_id]
            staff.add(service.db, staff_id, name, role, municipality, "example staff password", made)
            member = staff.member(service.db, staff_id)
        return member.role if member else "nurse"

    ensure(str(body["doctor_id"]))
    proofs = {}
    for slot, name in PROOF_SLOTS[kind].items():
        staff_id = str(body[name])
        role = ensure(staff_id)
        proofs[slot] = attest.issue(service.keys.attestation, staff_id, role, municipality, device_id, made)[0]
    return {**body, "proofs": proofs}


@pytest.fixture
def prove(host: HostServer) -> Callable[[Device, str, dict[str, object]], dict[str, object]]:
    """`prove(device, kind, body)`: the body with the served host's attestations (see add_proofs)."""
    return lambda device, kind, body: add_proofs(host.service, device.device_id, kind, body)


@pytest.fixture
def prove_with() -> Callable[[HostService, str, str, dict[str, object]], dict[str, object]]:
    """`prove_with(service, device_id, kind, body)`, for a host the test runs itself."""
    return add_proofs
