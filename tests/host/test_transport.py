"""Mutual TLS and enrollment: tokens, certificates, revocation, renewal. Real TLS on loopback."""

from __future__ import annotations

import http.client
import socket
import ssl
from pathlib import Path

import pytest

from yoshin.device.hostclient import DeviceRevoked, HostAddress, HostClient, HostRefused, enroll, fetch_ca
from yoshin.device.keystore import FileKeyStore
from yoshin.host import devices
from yoshin.host.pki import HostPki
from yoshin.host.server import HostServer, client_context
from yoshin.protocol import api


def _address(host: HostServer) -> HostAddress:
    return HostAddress("127.0.0.1", host.port, host.enroll_port)


def test_enrollment_gives_a_working_device(make_device) -> None:
    device = make_device()
    answer = device.client.call("GET", api.HEALTH)
    assert answer["device_id"] == device.device_id == "141305-1410000001-KIOSK01"
    certificate = device.keystore.certificate()
    assert "141305" in certificate.subject.rfc4514_string()


def test_a_token_cannot_be_reused(host: HostServer, tmp_path: Path, technician_proof) -> None:
    service = host.service
    proof = technician_proof(service)
    token = devices.issue_token(service.db, "141305", "1410000001", "admin01", service.clock())
    ca = fetch_ca(_address(host), service.pki.ca_fingerprint)
    enroll(_address(host), ca, FileKeyStore(tmp_path / "a"), token, "141305", "1410000001", "A1", proof)
    with pytest.raises(HostRefused) as refused:
        enroll(_address(host), ca, FileKeyStore(tmp_path / "b"), token, "141305", "1410000001", "B1", proof)
    assert refused.value.status == 403 and "reused" in refused.value.message.en


def test_an_expired_or_unknown_token_is_refused(host: HostServer, tmp_path: Path, clock, technician_proof) -> None:
    service = host.service
    proof = technician_proof(service)
    token = devices.issue_token(service.db, "141305", "1410000001", "admin01", service.clock(), hours=1)
    ca = fetch_ca(_address(host), service.pki.ca_fingerprint)
    clock.now = clock.now.replace(hour=clock.now.hour + 2)
    with pytest.raises(HostRefused, match="expired"):
        enroll(_address(host), ca, FileKeyStore(tmp_path / "a"), token, "141305", "1410000001", "A1", proof)
    with pytest.raises(HostRefused, match="unknown"):
        enroll(_address(host), ca, FileKeyStore(tmp_path / "b"), "not-a-token", "141305", "1410000001", "B1", proof)


def test_a_wrong_ca_fingerprint_is_refused(host: HostServer) -> None:
    with pytest.raises(Exception, match="fingerprint"):
        fetch_ca(_address(host), "00" * 32)


def test_no_client_certificate_no_answer(host: HostServer) -> None:
    context = client_context(host.service.pki.ca_pem)
    connection = http.client.HTTPSConnection("127.0.0.1", host.port, context=context, timeout=10)
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException, OSError)):
        connection.request("GET", api.HEALTH)
        connection.getresponse().read()


def test_a_certificate_from_another_ca_is_refused(host: HostServer, tmp_path: Path, make_device) -> None:
    device = make_device()
    other = HostPki.load_or_create_development(tmp_path / "other-ca")
    certificate = other.issue_device_certificate(
        device.keystore.csr("141305", "1410000001", "KIOSK01"), device.device_id, "141305", "1410000001",
        host.service.clock(),
    )  # fmt: skip
    from cryptography.hazmat.primitives import serialization

    forged = tmp_path / "forged.pem"
    forged.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    context = client_context(host.service.pki.ca_pem, forged, device.keystore.tls_files()[1])
    connection = http.client.HTTPSConnection("127.0.0.1", host.port, context=context, timeout=10)
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException, OSError)):
        connection.request("GET", api.HEALTH)
        connection.getresponse().read()


def test_revoked_device_gets_403(host: HostServer, make_device, caplog: pytest.LogCaptureFixture) -> None:
    device = make_device()
    devices.revoke(host.service.db, device.device_id, "stolen", "admin01", host.service.clock())
    with caplog.at_level("WARNING", logger="yoshin.host"), pytest.raises(DeviceRevoked) as revoked:
        device.client.call("GET", api.HEALTH)
    assert "失効" in revoked.value.message.ja
    assert any("revoked" in record.getMessage() for record in caplog.records)


def test_renewal_replaces_the_certificate(host: HostServer, make_device, tmp_path: Path) -> None:
    device = make_device()
    old = device.keystore.certificate()
    old_copy = tmp_path / "old.pem"
    from cryptography.hazmat.primitives import serialization

    old_copy.write_bytes(old.public_bytes(serialization.Encoding.PEM))
    device.client.renew()
    assert device.keystore.certificate().serial_number != old.serial_number
    assert device.client.call("GET", api.HEALTH)["status"] == "ok"
    stale = HostClient(device.keystore, _address(host))
    stale._context = client_context(device.keystore.host_ca_pem(), old_copy, device.keystore.tls_files()[1])
    with pytest.raises(HostRefused) as refused:
        stale.call("GET", api.HEALTH)
    assert refused.value.status == 403 and refused.value.body["error"] == "certificate_superseded"


def test_key_store_files_are_private(make_device) -> None:
    device = make_device()
    assert oct(device.keystore.directory.stat().st_mode & 0o777) == "0o700"
    for path in device.keystore.directory.iterdir():
        assert oct(path.stat().st_mode & 0o777) == "0o600", path


def test_production_serve_refuses_a_development_ca(tmp_path: Path, test_pki) -> None:
    import subprocess
    import sys

    pki = HostPki.load_or_create_development(tmp_path / "pki")
    files = {name: str(tmp_path / "pki" / name) for name in ("ca.pem", "ca.key", "server.pem", "server.key")}
    command = [
        str(Path(sys.executable).parent / "yoshin-host"),
        "serve",
        "--data-dir",
        str(tmp_path / "h"),
        "--production",
    ]
    missing = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "--ca-cert" in missing.stderr
    options = ["--ca-cert", files["ca.pem"], "--ca-key", files["ca.key"]]
    options += ["--server-cert", files["server.pem"], "--server-key", files["server.key"]]
    options += ["--jlis-key", str(test_pki.jlis_public_pem), "--jpki-ca", str(test_pki.ca_cert_pem)]
    refused = subprocess.run([*command, *options], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "DEVELOPMENT" in refused.stderr
    assert pki.development


def test_tls_prefers_1_3_allows_only_aead_on_1_2_and_names_no_version(host: HostServer, make_device) -> None:
    device = make_device()
    connection = http.client.HTTPSConnection("127.0.0.1", host.port, context=device.client.context(), timeout=10)
    connection.request("GET", api.HEALTH)
    response = connection.getresponse()
    response.read()
    assert connection.sock.version() == "TLSv1.3"
    server = response.getheader("Server") or ""
    assert "aiohttp" not in server and "Python" not in server and not any(c.isdigit() for c in server)
    connection.close()

    def handshake(maximum: ssl.TLSVersion, ciphers: str) -> tuple[str | None, str | None]:
        context = device.client.context()
        context.maximum_version = maximum
        context.set_ciphers(ciphers)
        tls = http.client.HTTPSConnection("127.0.0.1", host.port, context=context, timeout=10)
        try:
            tls.connect()
            return tls.sock.version(), tls.sock.cipher()[0]
        finally:
            tls.close()

    assert handshake(ssl.TLSVersion.TLSv1_2, "ECDHE+AESGCM") == ("TLSv1.2", "ECDHE-ECDSA-AES256-GCM-SHA384")
    for cbc in ("ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA", "AES128-SHA"):
        with pytest.raises(ssl.SSLError):
            handshake(ssl.TLSVersion.TLSv1_2, cbc)


def test_the_client_keeps_its_connection_and_recovers_when_the_host_drops_it(make_device) -> None:
    """One TLS handshake per connection, not per request; a kept connection the host has closed is
    replaced on the next call without the caller seeing it."""
    device = make_device()
    device.client.call("GET", api.HEALTH)
    kept = device.client._idle[device.client.address]  # the pool is what is tested
    assert len(kept) == 1
    first = kept[0]
    device.client.call("GET", api.HEALTH)
    assert kept == [first] and first.sock is not None  # the same connection answered again
    first.sock.shutdown(socket.SHUT_RDWR)  # as when the host closes an idle connection
    assert device.client.call("GET", api.HEALTH)["status"] == "ok"
    assert len(kept) == 1 and kept[0] is not first
