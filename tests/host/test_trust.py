"""Finding 1 (control 2): the served host checks card data against configured trust anchors.

`yoshin-host serve` runs as a real process: in development it loads the card emulator's test anchors
and says so; card data signed with anybody else's key is refused, online and as an offline claim;
`--production` refuses to start without the J-LIS key and the JPKI CAs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from yoshin.device.appliance import Appliance
from yoshin.device.hostclient import HostAddress, enroll, fetch_ca
from yoshin.devtools.card_emulator import CardImage
from yoshin.devtools.dev_pki import DevPki
from yoshin.devtools.personas import all_personas, persona, registry_csv
from yoshin.domain.contract import new_provisional_subject_id
from yoshin.host import devices
from yoshin.host.pki import HostPki
from yoshin.host.server import HostService
from yoshin.protocol import api
from yoshin.protocol.api import new_record_id

SCRIPT = str(Path(sys.executable).parent / "yoshin-host")


@pytest.fixture
def served(tmp_path: Path, test_pki: DevPki, make_device_from) -> Iterator[tuple[str, Any]]:
    data = tmp_path / "host"
    subprocess.run([SCRIPT, "init", "--data-dir", str(data)], check=True, capture_output=True, timeout=60)
    command = [SCRIPT, "serve", "--data-dir", str(data), "--port", "0", "--enroll-port", "0"]
    process = subprocess.Popen([*command, "--test-pki", str(test_pki.directory)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        ports = json.loads((data / "serve.json").read_text())
        yield banner, make_device_from(data, HostAddress("127.0.0.1", ports["port"], ports["enroll_port"]))
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def make_device_from(tmp_path: Path, clock, technician_proof):
    def make(data: Path, address: HostAddress) -> Any:
        service = HostService.open(data)  # the admin's side: a token and the registry
        service.registry.import_csv(registry_csv(list(all_personas().values())))
        token = devices.issue_token(service.db, "141305", "1410000001", "admin01", service.clock())
        appliance = Appliance(tmp_path / "device", clock=clock)
        ca = fetch_ca(address, service.pki.ca_fingerprint)
        enroll(address, ca, appliance.keystore, token, "141305", "1410000001", "TRUST1", technician_proof(service))
        appliance.save_host(address)
        return appliance

    return make


def _face(image: CardImage) -> dict[str, str]:
    import base64

    files = image.files[bytes.fromhex("D3921000310001010408")]
    return {
        name: base64.b64encode(files[n]).decode()
        for n, name in ((1, "ef_my_number"), (2, "ef_basic_info"), (3, "ef_signature"))
    }


def test_forged_card_data_is_refused_by_the_served_host(served, test_pki: DevPki, tmp_path: Path) -> None:
    banner, appliance = served
    assert "DEVELOPMENT test anchors" in banner and str(test_pki.directory) in banner
    attacker = DevPki.load_or_create(tmp_path / "attacker-pki")  # own key: hashes right, signature not J-LIS
    who = persona("adult")
    client = appliance.client()
    outbox = appliance.outbox()

    def online(pki: DevPki) -> str:
        from yoshin.device.outbox import seal_payload

        keystore = appliance.keystore
        keys = (keystore.host_sealing_key(), keystore.signing_key())
        body = _face(CardImage.for_persona(who, pki))
        envelope = seal_payload(keys, keystore.identity()["device_id"], "identity", body, "2026-10-15T10:00:00+09:00")
        return client.call("POST", api.IDENTITY, {"envelope": envelope.to_json()})["status"]

    assert online(attacker) == "not_found"
    assert online(test_pki) == "ok"
    provisional = new_provisional_subject_id()
    claim = {
        "record_id": new_record_id(), "municipality_code": "141305", "clinic_code": "1410000001",
        "subject_id": provisional, "created_at": "2026-10-15T10:00:00+09:00",
        **_face(CardImage.for_persona(who, attacker)),
    }  # fmt: skip
    outbox.enqueue("identity_claim", claim)
    from yoshin.device.forwarder import Forwarder

    rounds = Forwarder(outbox, client).drain()
    assert sum(r.accepted for r in rounds) == 1 and outbox.status().depth == 0
    outbox.close()
    service = HostService.open(tmp_path / "host")
    outcome = service.db.execute("SELECT outcome, subject_id FROM provisional_subjects").fetchall()
    assert outcome == [("not_found", None)]  # the forged claim resolved to nobody


def test_production_refuses_to_start_without_trust_anchors(tmp_path: Path, test_pki: DevPki) -> None:
    HostPki.load_or_create_development(tmp_path / "pki")
    files = {name: str(tmp_path / "pki" / name) for name in ("ca.pem", "ca.key", "server.pem", "server.key")}
    command = [SCRIPT, "serve", "--data-dir", str(tmp_path / "h"), "--production", "--port", "0", "--enroll-port", "0"]
    command += ["--ca-cert", files["ca.pem"], "--ca-key", files["ca.key"]]
    command += ["--server-cert", files["server.pem"], "--server-key", files["server.key"]]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "J-LIS public key" in refused.stderr
    half = subprocess.run(
        [*command, "--jpki-ca", str(test_pki.ca_cert_pem)], capture_output=True, text=True, timeout=60
    )
    assert half.returncode == 2 and "J-LIS public key" in half.stderr
    (tmp_path / "h").mkdir(exist_ok=True)
    (tmp_path / "h" / "host.toml").write_text(
        f'[trust]\njlis_key = "{test_pki.jlis_public_pem}"\njpki_cas = ["{test_pki.ca_cert_pem}"]\n'
    )
    configured = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert configured.returncode == 2 and "DEVELOPMENT CA" in configured.stderr  # past the anchors, to the CA
