"""Host fixtures: a real host over TLS on loopback, enrolled devices with real key stores."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from yoshin.device.hostclient import HostAddress, HostClient, enroll, fetch_ca
from yoshin.device.keystore import FileKeyStore
from yoshin.host import devices
from yoshin.host.server import HostServer, HostService
from yoshin.protocol.sealing import EnvelopeHeader, SealedEnvelope, new_record_id, seal
from yoshin.tools.card_emulator import CardImage
from yoshin.tools.personas import Persona, all_personas
from yoshin.tools.test_pki import TestPki

NOW = datetime(2026, 10, 15, 1, 0, tzinfo=UTC)  # 10:00 JST
CLINIC = "1410000001"


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def registry_csv(personas: list[Persona], **overrides: dict[str, str]) -> str:
    out = io.StringIO()
    columns = [
        "my_number", "atena_number", "kana", "name", "birth_date", "sex", "address", "guardian_name",
        "municipality_code", "no_auto_answer", "history", "conditions", "subject_id",
    ]  # fmt: skip
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for number, who in enumerate(personas, start=1):
        row = {
            "my_number": who.my_number,
            "atena_number": f"{number:010d}",
            "kana": who.kana,
            "name": who.name,
            "birth_date": who.birth_date.isoformat(),
            "sex": who.sex,
            "address": who.address,
            "guardian_name": who.guardian_name or "",
            "municipality_code": who.municipality_code,
            "no_auto_answer": "0",
            "history": ";".join(who.history),
            "conditions": ";".join(who.conditions),
            "subject_id": who.subject_id,
        }
        row.update(overrides.get(who.id, {}))
        writer.writerow(row)
    return out.getvalue()


@dataclass
class Device:
    keystore: FileKeyStore
    client: HostClient
    device_id: str

    def seal(self, kind: str, body: dict[str, object], record_id: str | None = None) -> SealedEnvelope:
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
def clock() -> Clock:
    return Clock()


@pytest.fixture
def host(tmp_path: Path, clock: Clock, test_pki: TestPki) -> Iterator[HostServer]:
    service = HostService.open(tmp_path / "host", clock=clock)
    service.registry.import_csv(registry_csv(list(all_personas().values())))
    service.jpki_anchors = [test_pki.ca_cert]
    with HostServer(service) as server:
        yield server


@pytest.fixture
def make_device(host: HostServer, tmp_path: Path) -> Callable[..., Device]:
    def make(municipality: str = "141305", clinic: str = CLINIC, serial: str = "KIOSK01") -> Device:
        service = host.service
        token = devices.issue_token(service.db, municipality, clinic, "admin01", service.clock())
        address = HostAddress("127.0.0.1", host.port, host.enroll_port)
        keystore = FileKeyStore(tmp_path / f"device-{municipality}-{serial}")
        ca = fetch_ca(address, service.pki.ca_fingerprint)
        answer = enroll(address, ca, keystore, token, municipality, clinic, serial)
        return Device(keystore, HostClient(keystore, address), answer["device_id"])

    return make
