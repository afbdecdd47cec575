"""The appliance's HTTPS client to its host: mutual TLS with the device certificate, host CA pinned.

Synchronous stdlib `http.client` on purpose: the forwarder and the kiosk's workers call it from threads,
and one request at a time is all a clinic needs.

A host may run as several nodes (workers against one PostgreSQL database): the client takes a list of
addresses, all with the same CA and the same device certificate, and fails over to the next when one
cannot be reached, remembering the one that answered. Resending after a failure is safe because intake
is idempotent (a record already stored is answered `duplicate`).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from yoshin.device.errors import DeviceRevoked, HostRefused, HostUnreachable
from yoshin.device.keystore import FileKeyStore
from yoshin.domain.i18n import Bilingual, BilingualError
from yoshin.protocol import api

TIMEOUT = 15.0


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
) -> tuple[int, Any, float | None]:
    """One request on a connection of its own (enrollment and the CA bootstrap)."""
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=TIMEOUT)
    try:
        return _exchange(connection, method, path, body)[:3]
    except (OSError, http.client.HTTPException) as error:
        raise HostUnreachable(_describe(error)) from None
    finally:
        connection.close()


def _exchange(
    connection: http.client.HTTPSConnection, method: str, path: str, body: Any
) -> tuple[int, Any, float | None, bool]:
    """Send and read one request: status, answer, Retry-After, and whether the host keeps the connection."""
    payload = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"} if payload is not None else {}
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    raw = response.read()
    retry_after = _seconds(response.getheader("Retry-After"))
    content = response.getheader("Content-Type") or ""
    answer = json.loads(raw) if "json" in content and raw else raw.decode("utf-8", "replace")
    return response.status, answer, retry_after, not response.will_close


def _describe(error: BaseException) -> str:
    return type(error).__name__ + (f": {error}" if str(error) else "")


# A kept connection the host closed while it was idle fails on first use (a reset, a broken pipe, an
# empty answer); the request is then sent once more on a new connection (records are idempotent by id).
# Never after a timeout: the host may still be working on it.
KEEP_IDLE = 4  # connections kept open per node (the forwarder uses one; the kiosk's threads a few)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the forwarder's own backoff applies


def fetch_ca(address: HostAddress, fingerprint: str) -> str:
    """EST /cacerts over the enrollment port, trusted only if its SHA-256 matches the technician's pin."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # bootstrap only: the answer is checked against the pin below
    status, text, _ = _request(address.host, address.enroll_port, context, "GET", api.CACERTS)
    if status != 200 or not isinstance(text, str):
        raise HostUnreachable(f"cacerts answered {status}")
    certificate = x509.load_pem_x509_certificate(text.encode())
    seen = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
    if seen != fingerprint.lower().replace(":", ""):
        raise BilingualError(
            Bilingual(ja="ホストのCA証明書が指紋と一致しません", en="the host CA does not match the fingerprint given")
        )
    return text


def technician_login(
    address: HostAddress, ca_pem: str, staff_id: str, password: str, municipality: str
) -> dict[str, Any]:
    """A technician's login on the enrollment port (CA pinned): the host's attestation (control 27)."""
    body = {"staff_id": staff_id, "password": password, "municipality_code": municipality}
    status, answer, retry_after = _request(
        address.host, address.enroll_port, _context(ca_pem, None), "POST", api.TECHNICIAN_LOGIN, body
    )
    if status != 200:
        raise HostRefused(status, answer if isinstance(answer, dict) else {}, retry_after)
    return dict(answer)


def enroll(
    address: HostAddress, ca_pem: str, keystore: FileKeyStore, token: str, municipality: str, clinic: str, serial: str,
    technician: str,
) -> dict[str, Any]:  # fmt: skip
    """Enroll with a one-time token and a technician's attestation (`technician_login`)."""
    keystore.ensure_device_keys()
    body = {
        "token": token,
        "csr": keystore.csr(municipality, clinic, serial),
        "signing_public_key": keystore.signing_public_pem(),
        "serial": serial,
        "technician": technician,
    }
    status, answer, _ = _request(address.host, address.enroll_port, _context(ca_pem, None), "POST", api.ENROLL, body)
    if status != 200:
        raise HostRefused(status, answer if isinstance(answer, dict) else {})
    keystore.store_enrollment(answer)
    return answer


class HostClient:
    """Mutual-TLS calls on the main port. A 403 'device_revoked' raises DeviceRevoked.

    `address` is one host or a list of nodes of the same host; a node that cannot be reached is skipped
    for the next one within the same call, and the node that answered is tried first next time.
    """

    def __init__(self, keystore: FileKeyStore, address: HostAddress | Sequence[HostAddress]) -> None:
        self.keystore = keystore
        self.addresses = [address] if isinstance(address, HostAddress) else list(address)
        if not self.addresses:
            raise ValueError("at least one host address")
        self._current = 0
        self._context: ssl.SSLContext | None = None
        # open connections per node, reused (HTTP keep-alive): one TLS handshake per connection, not per
        # request. Guarded by a lock: the kiosk calls from worker threads.
        self._idle: dict[HostAddress, list[http.client.HTTPSConnection]] = {}
        self._idle_lock = threading.Lock()

    @property
    def address(self) -> HostAddress:
        """The node tried first."""
        return self.addresses[self._current]

    def context(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = _context(self.keystore.host_ca_pem(), self.keystore)
        return self._context

    def call(self, method: str, path: str, body: Any = None) -> Any:
        unreachable: HostUnreachable | None = None
        for step in range(len(self.addresses)):
            index = (self._current + step) % len(self.addresses)
            node = self.addresses[index]
            try:
                status, answer, retry_after = self._send(node, method, path, body)
            except HostUnreachable as error:
                unreachable = error
                continue
            self._current = index
            if status == 403 and isinstance(answer, dict) and answer.get("error") == "device_revoked":
                raise DeviceRevoked()
            if status != 200:
                raise HostRefused(status, answer if isinstance(answer, dict) else {}, retry_after)
            return answer
        assert unreachable is not None
        raise unreachable

    def _send(self, node: HostAddress, method: str, path: str, body: Any) -> tuple[int, Any, float | None]:
        with self._idle_lock:
            kept = self._idle.get(node)
            connection = kept.pop() if kept else None
        reused = connection is not None
        while True:
            if connection is None:
                connection = http.client.HTTPSConnection(node.host, node.port, context=self.context(), timeout=TIMEOUT)
            try:
                status, answer, retry_after, keep = _exchange(connection, method, path, body)
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = None
                if reused and not isinstance(error, TimeoutError):  # closed by the host while idle
                    reused = False
                    continue  # once more, on a new connection
                self._forget(node)  # a node that cannot be reached: its other kept connections are stale too
                raise HostUnreachable(_describe(error)) from None
            break
        with self._idle_lock:
            kept = self._idle.setdefault(node, [])
            if keep and len(kept) < KEEP_IDLE:
                kept.append(connection)
                connection = None
        if connection is not None:
            connection.close()
        return status, answer, retry_after

    def _forget(self, node: HostAddress) -> None:
        with self._idle_lock:
            stale = self._idle.pop(node, [])
        for connection in stale:
            connection.close()

    def close(self) -> None:
        """Close the kept connections (they are also closed by the host when idle)."""
        with self._idle_lock:
            kept, self._idle = self._idle, {}
        for connections in kept.values():
            for connection in connections:
                connection.close()

    def history(self, subject_id: str, proof: str | None) -> api.HistoryAnswer:
        """The subject's current history at the host, for the vaccination entry (POST /history): `proof` is
        the logged-in clinician's attestation. Raises HostUnreachable, HostRefused (a bilingual reason and
        its code: unknown_subject, provisional_subject, staff_proof_refused, rate_limited), DeviceRevoked,
        or ValueError for an answer this appliance cannot read."""
        answer = api.HistoryAnswer.from_json(
            self.call("POST", api.HISTORY, {"subject_id": subject_id, "proof": proof or ""})
        )
        if answer.subject_id != subject_id:
            raise ValueError("the host answered for another subject")
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
        self.close()  # the kept connections speak with the old certificate
        return str(answer["certificate"])
