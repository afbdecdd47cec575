"""Technician lifecycle over real TLS: token → provision → visit → renew → revoke → decommission."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yoshin.device import integrity, provisioning
from yoshin.device.appliance import Appliance
from yoshin.device.forwarder import Forwarder
from yoshin.device.hostclient import DeviceRevoked, HostAddress
from yoshin.domain import examples
from yoshin.host import devices
from yoshin.host.server import HostServer
from yoshin.protocol.api import new_record_id

PROVISION = str(Path(sys.executable).parent / "yoshin-provision")
KIOSK = str(Path(sys.executable).parent / "yoshin-kiosk")


def _token(host: HostServer) -> str:
    return devices.issue_token(host.service.db, "141305", "1410000001", "admin01", host.service.clock())


def _login(
    host: HostServer, appliance: Appliance, technician_proof, technician_password
) -> provisioning.TechnicianProof:
    """The roster technician (tests/conftest.py) logged in over the enrollment listener, CA pinned."""
    technician_proof(host.service)  # puts T9141305 on the roster
    address = HostAddress("127.0.0.1", host.port, host.enroll_port)
    return provisioning.technician_login(
        appliance, "T9141305", technician_password, [address], host.service.pki.ca_fingerprint, "141305"
    )


def test_full_lifecycle(
    host: HostServer, tmp_path: Path, clock, prove_with, technician_proof, technician_password
) -> None:
    service = host.service
    device_clock = type(clock)(clock.now)  # the appliance's own clock: moving it must not move the host's
    appliance = Appliance(tmp_path / "device", clock=device_clock)
    technician = _login(host, appliance, technician_proof, technician_password)
    report = provisioning.provision(appliance, technician, _token(host), "1410000001", "LIFE1")
    assert report.device_id == "141305-1410000001-LIFE1" and report.technician == "T9141305"
    assert set(report.self_test) == {"host", "queue", "templates", "certificate"}
    assert report.self_test["host"] == "ok" and report.self_test["templates"].startswith("ok")
    assert report.firmware.startswith("skipped")
    # a visit's records reach the host
    outbox = appliance.outbox()
    q = new_record_id()
    outbox.enqueue("questionnaire_response", examples.questionnaire_response(q))
    vaccination = examples.vaccination_record(new_record_id(), q)
    outbox.enqueue("vaccination_record", prove_with(service, report.device_id, "vaccination_record", vaccination))
    assert Forwarder(outbox, appliance.client()).drain()[0].accepted == 2
    assert service.db.execute("SELECT count(*) FROM inbox WHERE device_id = ?", [report.device_id]).fetchone()[0] == 2
    # renewal: not due, then due
    assert not provisioning.renew_if_due(appliance)
    old = appliance.keystore.certificate().serial_number
    device_clock.now = appliance.keystore.certificate().not_valid_after_utc - timedelta(days=10)
    assert provisioning.renew_if_due(appliance)
    assert appliance.keystore.certificate().serial_number != old
    # revocation: refused, and the kiosk can say so
    devices.revoke(service.db, report.device_id, "reported stolen, then found", "admin01", service.clock())
    outbox.enqueue("questionnaire_response", examples.questionnaire_response(new_record_id()))
    with pytest.raises(DeviceRevoked) as revoked:
        Forwarder(outbox, appliance.client()).run_once()
    assert "失効" in revoked.value.message.ja
    outbox.close()
    # decommission: the undeliverable record blocks it unless forced, and is listed
    with pytest.raises(provisioning.ProvisioningError) as refused:
        provisioning.decommission(appliance, technician.attestation)
    assert len(refused.value.lost) == 1
    certificate = provisioning.decommission(appliance, technician.attestation, force=True)
    assert certificate["recorded_at_host"] and certificate["records_lost"]
    assert not [path for path in appliance.data_dir.rglob("*") if path.is_file()]
    recorded = service.db.execute(
        "SELECT device_id, detail FROM erasures WHERE kind = 'device_decommission'"
    ).fetchone()
    assert recorded[0] == report.device_id and "cryptographic erase" in json.loads(recorded[1])["method"]
    assert devices.get(service.db, report.device_id).status == "decommissioned"


def test_token_reuse_is_refused_through_the_cli(
    host: HostServer, tmp_path: Path, technician_proof, technician_password
) -> None:
    technician_proof(host.service)  # puts T9141305 on the roster
    token = _token(host)
    args = [
        "--host", "127.0.0.1", "--port", str(host.port), "--enroll-port", str(host.enroll_port), "--token", token,
        "--ca-fingerprint", host.service.pki.ca_fingerprint, "--municipality", "141305", "--clinic", "1410000001",
        "--technician", "T9141305",
    ]  # fmt: skip
    first = subprocess.run(
        [PROVISION, "provision", "--data-dir", str(tmp_path / "a"), *args, "--serial", "A1", "--json"],
        capture_output=True,
        text=True,
        input=technician_password + "\n",
    )
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["self_test"]["host"] == "ok"
    second = subprocess.run(
        [PROVISION, "provision", "--data-dir", str(tmp_path / "b"), *args, "--serial", "B1"],
        capture_output=True,
        text=True,
        input=technician_password + "\n",
    )
    assert second.returncode == 1 and "reused" in second.stderr
    assert not (tmp_path / "b").exists() or not [path for path in (tmp_path / "b").rglob("*") if path.is_file()]
    wrong = subprocess.run(
        [PROVISION, "decommission", "--data-dir", str(tmp_path / "a"), "--technician", "T9141305"],
        capture_output=True,
        text=True,
        input="not-the-password\n",
    )
    assert wrong.returncode == 1 and "パスワード" in wrong.stderr and Appliance(tmp_path / "a").keystore.is_enrolled()
    erased = subprocess.run(
        [PROVISION, "decommission", "--data-dir", str(tmp_path / "a"), "--technician", "T9141305"],
        capture_output=True,
        text=True,
        input=technician_password + "\n",
    )
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout[erased.stdout.index("{") :])["recorded_at_host"]


def test_production_refuses_a_development_ca(
    host: HostServer, tmp_path: Path, technician_proof, technician_password
) -> None:
    appliance = Appliance(tmp_path / "d")
    technician = _login(host, appliance, technician_proof, technician_password)
    with pytest.raises(provisioning.ProvisioningError, match="development CA"):
        provisioning.provision(appliance, technician, _token(host), "1410000001", "P1", production=True)


def test_integrity_check_catches_a_modified_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Ed25519PrivateKey.generate()
    signed = integrity.build_manifest(key, "test")
    integrity.verify_installation(signed, key.public_key())
    files = integrity.installed_files()
    assert "domain/contract.py" in files and "domain/data/templates/2026.3.toml" in files
    target = files["domain/data/templates/2026.3.toml"]
    copy = tmp_path / "templates.toml"
    shutil.copy(target, copy)
    tampered = dict(signed)
    tampered["manifest"] = {
        **signed["manifest"],
        "files": {**signed["manifest"]["files"], "domain/data/templates/2026.3.toml": "0" * 64},
    }
    with pytest.raises(integrity.IntegrityError, match="signature"):
        integrity.verify_installation(tampered, key.public_key())
    monkeypatch.setattr(
        integrity,
        "_digest",
        lambda path: "0" * 64 if path == target else integrity.hashlib.sha256(path.read_bytes()).hexdigest(),
    )
    with pytest.raises(integrity.IntegrityError) as changed:
        integrity.verify_installation(signed, key.public_key())
    assert changed.value.problems == ["changed domain/data/templates/2026.3.toml"]
    assert "改ざん" in changed.value.message.ja


def test_integrity_cli(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    private, public = tmp_path / "release.key", tmp_path / "release.pub"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    manifest = tmp_path / "manifest.json"
    subprocess.run(
        [PROVISION, "manifest", "build", "--key", str(private), "--version", "t", "--output", str(manifest)], check=True
    )
    data = json.loads(manifest.read_text())
    ok = subprocess.run(
        [PROVISION, "manifest", "verify", "--manifest", str(manifest), "--public-key", str(public)],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and "intact" in ok.stdout
    data["manifest"]["files"]["domain/contract.py"] = "0" * 64
    manifest.write_text(json.dumps(data))
    bad = subprocess.run(
        [PROVISION, "manifest", "verify", "--manifest", str(manifest), "--public-key", str(public)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1


@pytest.mark.parametrize("unit", ["yoshin-forwarder.service", "yoshin-kiosk.service"])
def test_systemd_units_verify_and_are_hardened(repo_root: Path, tmp_path: Path, unit: str) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (make setup installs it)")
    text = (repo_root / "tools" / "systemd" / unit).read_text()
    for setting in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "User=yoshin",
        "ReadWritePaths=/var/lib/yoshin/device",
        "CapabilityBoundingSet=",
    ):
        assert setting in text, setting
    if unit == "yoshin-kiosk.service":  # privilege separation: the keys and the queue only through the agent
        assert "--agent /var/lib/yoshin/device/agent.sock" in text
        assert "InaccessiblePaths=-/var/lib/yoshin/device/keys -/var/lib/yoshin/device/queue.db" in text
    else:
        assert "yoshin-device serve --data-dir /var/lib/yoshin/device" in text
    bin_dir = Path(sys.executable).parent
    local = {}
    for name in ("yoshin-forwarder.service", "yoshin-kiosk.service"):  # verified together: the kiosk requires the agent
        local[name] = tmp_path / name
        local[name].write_text(
            (repo_root / "tools" / "systemd" / name).read_text().replace("/opt/yoshin/venv/bin", str(bin_dir))
        )
    command = [
        "systemd-analyze",
        "verify",
        str(local[unit]),
        *(str(path) for name, path in local.items() if name != unit),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    problems = [line for line in result.stderr.splitlines() if unit in line and "yoshin" in line]
    assert result.returncode == 0 and not problems, result.stderr


def _kiosk_with_manifest(tmp_path: Path, files: dict[str, str], env: dict[str, str] | None = None) -> subprocess.Popen:
    key = Ed25519PrivateKey.generate()
    body = {"version": "test", "files": files}
    signature = key.sign(json.dumps(body, sort_keys=True).encode())
    manifest, public = tmp_path / "manifest.json", tmp_path / "release.pem"
    manifest.write_text(json.dumps({"manifest": body, "signature": base64.b64encode(signature).decode()}))
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [KIOSK, "--serve", "--port", str(port), "--data-dir", str(tmp_path / "device")]
    command += ["--manifest", str(manifest), "--release-key", str(public)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    process.port = port  # type: ignore[attr-defined]
    return process


def test_the_kiosk_refuses_to_start_on_a_modified_file(tmp_path: Path) -> None:
    files = dict(integrity.build_manifest(Ed25519PrivateKey.generate(), "installed")["manifest"]["files"])
    files["tui/app.py"] = "0" * 64  # what the release signed differs from what is installed
    process = _kiosk_with_manifest(tmp_path, files)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "改ざん" in stderr and "changed tui/app.py" in stderr


def test_the_kiosk_starts_on_an_intact_installation_and_production_needs_a_manifest(tmp_path: Path) -> None:
    production = {**os.environ, "YOSHIN_PRODUCTION": "1"}
    refused = subprocess.run(
        [KIOSK, "--data-dir", str(tmp_path / "device")], capture_output=True, text=True, env=production
    )
    assert refused.returncode != 0 and "manifest" in refused.stderr
    files = dict(integrity.build_manifest(Ed25519PrivateKey.generate(), "installed")["manifest"]["files"])
    process = _kiosk_with_manifest(tmp_path, files, env=production)
    try:
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", process.port), timeout=1):
                break  # listening: the check passed and the kiosk is being served
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_host_addresses_are_read_as_a_technician_types_them() -> None:
    assert provisioning.parse_addresses("10.0.0.5") == [HostAddress("10.0.0.5", 8443, 8444)]
    assert provisioning.parse_addresses("10.0.0.5:9443, host-b:9000:9100") == [
        HostAddress("10.0.0.5", 9443, 9444),
        HostAddress("host-b", 9000, 9100),
    ]
    for wrong in ("", "10.0.0.5:http", "10.0.0.5:70000", ":8443", "a:1:2:3"):
        with pytest.raises(provisioning.ProvisioningError) as refused:
            provisioning.parse_addresses(wrong)
        assert refused.value.message.ja and refused.value.message.en, wrong


def test_a_malformed_fingerprint_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    appliance = Appliance(tmp_path / "fresh")
    address = HostAddress("127.0.0.1", 1, 1)  # never reached: the fingerprint is checked first
    with pytest.raises(provisioning.ProvisioningError) as refused:
        provisioning.technician_login(appliance, "T1", "password", [address], "not-hex", "141305")
    assert "16進数64桁" in refused.value.message.ja and "64 hexadecimal digits" in refused.value.message.en
    assert not [path for path in appliance.data_dir.rglob("*") if path.is_file()]
