"""The appliance's HTTPS client to its host: mutual TLS with the device certificate, host CA pinned.

Synchronous stdlib `http.client` on purpose: the forwarder and the kiosk's workers call it from threads,
and one request at a time is all a clinic needs.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from yoshin.device.keystore import FileKeyStore
from yoshin.domain.i18n import Bilingual, BilingualError
from yoshin.protocol import api

TIMEOUT = 15.0


class HostUnreachable(BilingualError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            Bilingual(ja="ホストに接続できません (オフライン)", en=f"The host cannot be reached (offline): {detail}")
        )


class DeviceRevoked(BilingualError):
    def __init__(self) -> None:
        super().__init__(
            Bilingual(
                ja="この端末は失効しています。技術担当者に連絡してください",
                en="This device has been revoked. Please contact the technician",
            )
        )


class HostRefused(BilingualError):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        super().__init__(
            Bilingual(
                ja=str(body.get("message_ja", "ホストが要求を拒否しました")),
                en=str(body.get("message_en", f"HTTP {status}")),
            )
        )


@dataclass(frozen=True)
class HostAddress:
    host: str
    port: int
    enroll_port: int


def _context(ca_pem: str, keystore: FileKeyStore | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    context.load_verify_locations(cadata=ca_pem)
    if keystore is not None:
        certificate, key = keystore.tls_files()
        context.load_cert_chain(certificate, key)
    return context


def _request(
    host: str, port: int, context: ssl.SSLContext, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=TIMEOUT)
    try:
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        status = response.status
    except (OSError, http.client.HTTPException) as error:
        raise HostUnreachable(type(error).__name__ + (f": {error}" if str(error) else "")) from None
    finally:
        connection.close()
    content = response.getheader("Content-Type") or ""
    return status, json.loads(raw) if "json" in content and raw else raw.decode("utf-8", "replace")


def fetch_ca(address: HostAddress, fingerprint: str) -> str:
    """EST /cacerts over the enrollment port, trusted only if its SHA-256 matches the technician's pin."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # bootstrap only: the answer is checked against the pin below
    status, text = _request(address.host, address.enroll_port, context, "GET", api.CACERTS)
    if status != 200 or not isinstance(text, str):
        raise HostUnreachable(f"cacerts answered {status}")
    certificate = x509.load_pem_x509_certificate(text.encode())
    seen = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
    if seen != fingerprint.lower().replace(":", ""):
        raise BilingualError(
            Bilingual(ja="ホストのCA証明書が指紋と一致しません", en="the host CA does not match the fingerprint given")
        )
    return text


def enroll(
    address: HostAddress, ca_pem: str, keystore: FileKeyStore, token: str, municipality: str, clinic: str, serial: str
) -> dict[str, Any]:
    keystore.ensure_device_keys()
    body = {
        "token": token,
        "csr": keystore.csr(municipality, clinic, serial),
        "signing_public_key": keystore.signing_public_pem(),
        "serial": serial,
    }
    status, answer = _request(address.host, address.enroll_port, _context(ca_pem, None), "POST", api.ENROLL, body)
    if status != 200:
        raise HostRefused(status, answer if isinstance(answer, dict) else {})
    keystore.store_enrollment(answer)
    return answer


class HostClient:
    """Mutual-TLS calls on the main port. A 403 'device_revoked' raises DeviceRevoked."""

    def __init__(self, keystore: FileKeyStore, address: HostAddress) -> None:
        self.keystore = keystore
        self.address = address
        self._context: ssl.SSLContext | None = None

    def context(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = _context(self.keystore.host_ca_pem(), self.keystore)
        return self._context

    def call(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = _request(self.address.host, self.address.port, self.context(), method, path, body)
        if status == 403 and isinstance(answer, dict) and answer.get("error") == "device_revoked":
            raise DeviceRevoked()
        if status != 200:
            raise HostRefused(status, answer if isinstance(answer, dict) else {})
        return answer

    def renew(self) -> str:
        identity = self.keystore.identity()
        serial = identity["device_id"].rsplit("-", 1)[-1]
        answer = self.call(
            "POST",
            api.REENROLL,
            {"csr": self.keystore.csr(identity["municipality_code"], identity["clinic_code"], serial)},
        )
        self.keystore.replace_certificate(answer["certificate"])
        self._context = None
        return str(answer["certificate"])
