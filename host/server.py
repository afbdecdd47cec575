"""The host's HTTPS service (aiohttp): a mutual-TLS main listener and a token-only enrollment listener.

aiohttp is used because it hands the application the TLS peer certificate, which is how the host knows
which device made each request (docs/dependencies.md). There is no plaintext port.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import ssl
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from yoshin.domain.bundle import build_bundle, sign_bundle
from yoshin.domain.catalogue import Catalogue, default_catalogue
from yoshin.domain.clock import today as jst_today
from yoshin.domain.i18n import Bilingual, BilingualError
from yoshin.host import attest, audit, devices, history, identity, intake, policy, ratelimit, staff, store, technicians
from yoshin.host.keys import HostKeys, public_pem
from yoshin.host.pki import EnrollmentError, HostPki
from yoshin.host.ratelimit import RateLimiter
from yoshin.host.registry import Registry
from yoshin.protocol import api, safejson
from yoshin.protocol.sealing import SealedEnvelope, SealError
from yoshin.smartcard.verify import JpkiVerificationError, RevocationChecker, verify_jpki_auth

log = logging.getLogger("yoshin.host")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DEVICE = web.RequestKey("device", devices.Device)


class RateLimited(Exception):
    def __init__(self, wait: int) -> None:
        super().__init__(f"rate limited for {wait} s")
        self.wait = wait


def _too_many(wait: int) -> web.Response:
    response = _error(
        429, "rate_limited", "しばらく待ってからもう一度お試しください", "too many requests: wait and retry"
    )
    response.headers["Retry-After"] = str(wait)
    return response


LIMITED = {  # path -> (bucket kind, rate) per device
    api.IDENTITY: ("identity", ratelimit.IDENTITY_PER_DEVICE),
    api.JPKI_IDENTITY: ("identity", ratelimit.IDENTITY_PER_DEVICE),
    api.JPKI_CHALLENGE: ("identity", ratelimit.IDENTITY_PER_DEVICE),
    api.STAFF_LOGIN: ("login", ratelimit.LOGIN_PER_DEVICE),
    api.STAFF_LOGIN_CARD: ("login", ratelimit.LOGIN_PER_DEVICE),
    api.STAFF_ATTEST: ("login", ratelimit.LOGIN_PER_DEVICE),
    api.HISTORY: ("history", ratelimit.HISTORY_PER_DEVICE),
}


class NotInitialised(BilingualError):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(
            Bilingual(
                ja=f"{data_dir} はホストのデータディレクトリではありません（yoshin-host init で作成します）",
                en=f"{data_dir} is not a host data directory (create one with `yoshin-host init`)",
            )
        )


@dataclass
class HostService:
    """Everything a request handler needs; usable as a library without the HTTP layer."""

    data_dir: Path
    db: store.Database
    pki: HostPki
    keys: HostKeys
    registry: Registry
    catalogue: Catalogue
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    jlis_key: rsa.RSAPublicKey | None = None
    jpki_anchors: list[x509.Certificate] = field(default_factory=list)
    revocation: RevocationChecker | None = None
    signed_bundle: dict[str, Any] = field(default_factory=dict)
    # Record batches verified at once by this worker; more are shed with 503 Retry-After (a reconnect
    # storm queues at the appliances, with jittered backoff, not in the host's memory and threads).
    intake_limit: int = 32
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(lambda: self.clock())

    def rate_limit(self, device: devices.Device, kind: str, key: str, rate: ratelimit.Rate) -> int:
        """0 when the request may go on; else the seconds to wait (the first refusal of a run is audited)."""
        allowed, wait, first = self.limiter.take(kind, key, rate)
        if not allowed and first:
            with self.db.transaction(device.municipality_code) as tx:
                audit.append(
                    tx, self.clock(), device.municipality_code, device.device_id, device.device_id,
                    f"ratelimit.{kind}", key, f"refused: more than {rate.capacity:g} at once",
                )  # fmt: skip
        return 0 if allowed else wait

    def refusals_wait(self, kind: str, address: str) -> int:
        """0 when `address` may try `kind` (enroll, technician_login) on the enrollment listener; else the
        seconds to wait after too many refusals."""
        return self.limiter.wait(kind, address, ratelimit.REFUSALS_PER_ADDRESS[kind])

    def count_refusal(self, kind: str, address: str) -> None:
        """Count a refused `kind` from `address`; the refusal that empties its bucket is audited."""
        rate = ratelimit.REFUSALS_PER_ADDRESS[kind]
        self.limiter.take(kind, address, rate)
        if self.limiter.wait(kind, address, rate):
            with self.db.transaction() as tx:
                audit.append(
                    tx, self.clock(), "-", "device", address, f"ratelimit.{kind}", address,
                    f"refused: more than {rate.capacity:g} refused attempts",
                )  # fmt: skip

    @classmethod
    def open(
        cls,
        data_dir: Path,
        clock: Callable[[], datetime] | None = None,
        production_pki: HostPki | None = None,
        database: str | None = None,
    ) -> HostService:
        """Embedded defaults: a development CA and keys are created in `data_dir` on first run.

        Production passes the municipality's own CA and server keys (`production_pki`). `database` is a
        `postgresql://` URL; without one, the one in `data_dir/host.toml`, else the SQLite file
        `data_dir/host.db`.
        """
        keys = HostKeys.load_or_create(data_dir / "keys")  # the audit key first: nothing is audited unkeyed
        db = store.open_database(database or store.configured_url(data_dir))
        db.data_dir = data_dir  # the audit log's key and external anchor live here, whatever the backend
        pki = production_pki or HostPki.load_or_create_development(data_dir / "pki")
        service = cls(data_dir, db, pki, keys, Registry(db, keys), default_catalogue())
        if clock is not None:
            service.clock = clock
        service.signed_bundle = sign_bundle(build_bundle(service.clock()), keys.template)
        return service

    @classmethod
    def initialised(cls, data_dir: Path) -> bool:
        """Whether `yoshin-host init` (or a library `open`) has made this data directory: its keys exist."""
        return (data_dir / "keys" / "audit.key").is_file() and (data_dir / "keys" / "sealing.key").is_file()

    @classmethod
    def open_existing(cls, data_dir: Path, database: str | None = None) -> HostService:
        """Open a data directory made before; never create one (a mistyped path must not become a new host)."""
        if not cls.initialised(data_dir):
            raise NotInitialised(data_dir)
        return cls.open(data_dir, database=database)

    def today(self) -> date:
        return jst_today(self.clock())

    # --- devices: identity, records, certificates (the HTTP layer and yoshin-host call these) ------

    def resolve_identity(self, device: devices.Device, body: dict[str, Any]) -> api.IdentityAnswer:
        """Answer a face read (online, or an offline claim drained later) for `device`'s municipality."""
        return identity.resolve_face(
            self.db, self.registry, device, body, self.clock(), self.today(), self.catalogue, self.jlis_key,
            self.jpki_anchors,
        )  # fmt: skip

    def resolve_jpki(self, device: devices.Device, body: dict[str, Any]) -> api.IdentityAnswer:
        return identity.resolve_jpki(
            self.db, self.registry, device, body, self.clock(), self.today(), self.catalogue, self.jpki_anchors,
            self.revocation,
        )  # fmt: skip

    def read_history(self, device: devices.Device, body: Any) -> api.HistoryAnswer:
        """The resident's current history for the vaccination entry, to a clinician of `device` (issue 13;
        raises history.HistoryRefused, audited)."""
        return history.read_history(
            self.db, self.registry, self.keys.attestation.public_key(), device, body, self.clock()
        )

    def new_challenge(self, device: devices.Device) -> dict[str, str]:
        return identity.new_challenge(self.db, device, self.clock())

    def accept_records(self, device: devices.Device, envelopes: list[Any]) -> list[api.RecordResult]:
        """Verify and store a batch; each record is accepted, a duplicate, or refused on its own."""

        def resolve_claim(claimant: devices.Device, body: dict[str, Any]) -> api.IdentityAnswer:
            # an offline claim is resolved like an online face read, without the JPKI anchors (no link)
            return identity.resolve_face(
                self.db, self.registry, claimant, body, self.clock(), self.today(), self.catalogue, self.jlis_key
            )

        return intake.accept_batch(
            self.db, device, envelopes, self.keys.sealing, self.clock(), resolve_claim,
            self.keys.attestation.public_key(),
        )  # fmt: skip

    def open_payload(self, device: devices.Device, envelope: SealedEnvelope) -> dict[str, Any]:
        """The verified, decrypted payload of a sealed envelope from `device`."""
        return intake.open_payload(envelope, device, self.keys.sealing)

    def enroll(
        self, token: str, csr_pem: str, signing_public_key: str, serial: str, technician: object = None
    ) -> dict[str, Any]:
        """A new device from a one-time token and a technician's proof (control 27): its certificate and
        what it needs to talk to this host."""
        device_id, certificate, _, _ = devices.enroll(
            self.db, self.pki, token, csr_pem, signing_public_key, serial, self.clock(), technician,
            self.keys.attestation.public_key(),
        )  # fmt: skip
        device = devices.get(self.db, device_id)
        assert device is not None  # enrolled in the call above
        return _enrollment_answer(self, device_id, certificate, device)

    def renew_certificate(self, device: devices.Device, csr_pem: str) -> dict[str, Any]:
        certificate = devices.renew(self.db, self.pki, device, csr_pem, self.clock())
        return _enrollment_answer(self, device.device_id, certificate, device)

    def staff_logout(self, token: str) -> None:
        staff.logout(self.db, token, self.clock())

    def policy(self, device: devices.Device) -> dict[str, str]:
        """What `device`'s municipality requires of its appliances (control 4: reception's identity check)."""
        return policy.policy_answer(self.db, device.municipality_code)

    # --- staff (seam 5): every answer that verifies a person carries the host's attestation ----------

    def card_fingerprint(self, device: devices.Device, body: dict[str, Any]) -> str | None:
        """The fingerprint of the JPKI certificate in `body` if it signed this device's unused host
        challenge and chains to the configured anchors; None otherwise."""
        message = identity.consume_challenge(self.db, device, body.get("challenge_id"), self.clock())
        if message is None:
            return None
        try:
            verified = verify_jpki_auth(
                base64.b64decode(str(body.get("certificate")), validate=True),
                base64.b64decode(str(body.get("signature")), validate=True),
                message,
                self.jpki_anchors,
                self.clock(),
                self.revocation,
            )
        except (JpkiVerificationError, ValueError):
            return None
        return verified.fingerprint

    def attestation(self, device: devices.Device, staff_id: str, role: str) -> dict[str, str]:
        token, claim = attest.issue(
            self.keys.attestation, staff_id, role, device.municipality_code, device.device_id, self.clock()
        )
        return {"attestation": token, "attestation_expires_at": claim.expires_at.isoformat()}

    def technician_login(self, staff_id: str, password: str, municipality_code: str) -> dict[str, str]:
        """A technician's login (control 27): the host's attestation that enrollment and decommissioning
        carry. Raises StaffError or TechnicianError (bilingual); every attempt is audited."""
        allowed, wait, _ = self.limiter.take("staff_id", staff_id, ratelimit.LOGIN_PER_STAFF_ID)
        if not allowed:
            raise RateLimited(wait)
        token, claim, technician = technicians.login(
            self.db, self.keys.attestation, staff_id, password, municipality_code, self.clock()
        )
        return {
            "attestation": token,
            "staff_id": technician.staff_id,
            "name": technician.name,
            "municipality_code": technician.municipality_code,
            "expires_at": claim.expires_at.isoformat(),
        }

    def record_erasure(self, device: devices.Device, certificate: dict[str, Any]) -> None:
        """The device's erasure certificate and its decommissioning, in one transaction, only with a valid
        technician proof in the certificate (control 27); a refusal is audited and raises TechnicianError."""
        now = self.clock()
        refusal: technicians.TechnicianError | None = None
        with self.db.transaction(device.municipality_code) as tx:
            try:
                technician = technicians.check(
                    tx, self.keys.attestation.public_key(), certificate.get("technician"), device.municipality_code,
                    now,
                )  # fmt: skip
            except technicians.TechnicianError as error:
                audit.append(
                    tx, now, device.municipality_code, "device", device.device_id, "device.decommission",
                    device.device_id, f"refused: {error.reason}",
                )  # fmt: skip
                refusal = error
            else:
                tx.insert(
                    "erasures",
                    {
                        "municipality_code": device.municipality_code,
                        "kind": "device_decommission",
                        "device_id": device.device_id,
                        "recorded_at": now.isoformat(),
                        # the technician's ID is kept, not the day's proof itself
                        "detail": json.dumps(
                            {**certificate, "technician": technician.staff_id}, ensure_ascii=False, sort_keys=True
                        ),
                    },
                )
                devices.revoke_in(
                    tx, device.device_id, f"decommissioned with erasure certificate, {technician.audit_text()}",
                    technician.staff_id, now, "decommissioned",
                )  # fmt: skip
        if refusal is not None:
            raise refusal

    def _staff_id_limit(self, device: devices.Device, staff_id: str) -> None:
        wait = self.rate_limit(device, "staff_id", staff_id, ratelimit.LOGIN_PER_STAFF_ID)
        if wait:
            raise RateLimited(wait)

    def staff_login(self, device: devices.Device, body: dict[str, Any], card_only: bool = False) -> dict[str, Any]:
        """A session (and an attestation) for a password login, a password and card login, or a card login."""
        self._staff_id_limit(device, str(body["staff_id"]))
        card = self.card_fingerprint(device, body) if "certificate" in body else None
        password = None if card_only else str(body["password"])
        session = staff.login(
            self.db, str(body["staff_id"]), password, device.device_id, device.municipality_code, self.clock(), card
        )
        return {
            "token": session.token,
            "staff_id": session.staff_id,
            "name": session.name,
            "role": session.role,
            "expires_at": session.expires_at.isoformat(),
            **self.attestation(device, session.staff_id, session.role),
        }

    def staff_attest(self, device: devices.Device, body: dict[str, Any]) -> dict[str, Any]:
        """Verify a second person (password, or their own card) without opening or closing any session."""
        self._staff_id_limit(device, str(body["staff_id"]))
        card = self.card_fingerprint(device, body) if "certificate" in body else None
        password = str(body["password"]) if "password" in body else None
        member = staff.authenticate(
            self.db, str(body["staff_id"]), password, device.device_id, device.municipality_code, self.clock(), card,
            action="staff.attest",
        )  # fmt: skip
        answer = self.attestation(device, member.staff_id, member.role)
        return {
            "attestation": answer["attestation"],
            "staff_id": member.staff_id,
            "name": member.name,
            "role": member.role,
            "expires_at": answer["attestation_expires_at"],
        }


async def _no_version_header(request: web.Request, response: web.StreamResponse) -> None:
    """No software or version in the Server header (aiohttp would name itself and Python)."""
    response.headers["Server"] = "yoshin-host"


KEEPALIVE_SECONDS = 300.0


def _error(status: int, code: str, ja: str, en: str) -> web.Response:
    return web.json_response(api.error_body(code, ja, en), status=status)


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = safejson.loads(await request.read())
    except safejson.JsonRefused as error:
        raise web.HTTPBadRequest(
            text=json.dumps(
                api.error_body("malformed_json", "JSONの形式が正しくありません", f"the body is refused: {error}")
            ),
            content_type="application/json",
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps(api.error_body("wrong_schema", "形式が正しくありません", "the body must be a JSON object")),
            content_type="application/json",
        )
    return body


def _schema_error(en: str) -> web.Response:
    return _error(400, "wrong_schema", "要求の形式が正しくありません", en)


def _peer_certificate(request: web.Request) -> bytes | None:
    ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
    return ssl_object.getpeercert(binary_form=True) if ssl_object else None


def _device_from_certificate(service: HostService, der: bytes | None, path: str) -> devices.Device | web.Response:
    if not der:
        return _error(403, "no_certificate", "端末証明書がありません", "a device certificate is required")
    certificate = x509.load_der_x509_certificate(der)
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    device_id = str(names[0].value) if names else ""
    device = devices.get(service.db, device_id)
    if device is None:
        log.warning("refused %s: unknown device", device_id)
        return _error(403, "unknown_device", "登録されていない端末です", "this device is not enrolled")
    if device.status != "active" and not (device.status == "revoked" and path == api.ERASURE):
        # A revoked (lost, then found) device may still file its own erasure certificate; nothing else.
        log.warning("refused %s: device %s", device_id, device.status)
        return _error(403, "device_revoked", "この端末は失効しています", f"this device has been {device.status}")
    if format(certificate.serial_number, "x") != device.certificate_serial:
        log.warning("refused %s: superseded certificate", device_id)
        return _error(403, "certificate_superseded", "古い端末証明書です", "this certificate has been replaced")
    return device


@web.middleware
async def busy_is_503(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A database busy or locked past its bound is 503 with Retry-After (the device retries), never 500."""
    try:
        return await handler(request)
    except store.StoreBusy as busy:
        log.warning("503 for %s: %s", request.path, busy)
        return _busy(busy.retry_after)


def _busy(retry_after: int) -> web.Response:
    response = _error(
        503, "busy", "ホストが混み合っています。しばらくして再送します", "the host is busy; retry shortly"
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


def main_app(service: HostService) -> web.Application:
    """The mutual-TLS API. Every handler receives the device its certificate names."""

    @web.middleware
    async def identify(request: web.Request, handler: Handler) -> web.StreamResponse:
        device = await asyncio.to_thread(_device_from_certificate, service, _peer_certificate(request), request.path)
        if isinstance(device, web.Response):
            return device
        request[DEVICE] = device
        limited = LIMITED.get(request.path)
        if limited is not None:
            wait = await asyncio.to_thread(service.rate_limit, device, limited[0], device.device_id, limited[1])
            if wait:
                return _too_many(wait)
        try:
            return await handler(request)
        except RateLimited as limited_id:
            return _too_many(limited_id.wait)

    app = web.Application(middlewares=[busy_is_503, identify], client_max_size=api.MAX_BODY)
    app.on_response_prepare.append(_no_version_header)

    async def _sealed_payload(request: web.Request, device: devices.Device, kind: str) -> dict[str, Any] | web.Response:
        """The opened payload of a body `{"envelope": ...}` of `kind`, or the 400 answer saying why not."""
        body = await _json(request)
        try:
            envelope = SealedEnvelope.from_json(body.get("envelope"))
            if envelope.header.kind != kind:
                return _schema_error(f"the envelope must be of kind {kind}")
            return service.open_payload(device, envelope)
        except (SealError, ValueError) as error:
            return _schema_error(str(getattr(error, "message", error)))

    async def health(request: web.Request) -> web.Response:
        device: devices.Device = request[DEVICE]
        return web.json_response(
            {"status": "ok", "device_id": device.device_id, "certificate_not_after": device.certificate_not_after}
        )

    inflight = 0

    async def records(request: web.Request) -> web.Response:
        nonlocal inflight  # only the event loop's thread touches it
        if inflight >= service.intake_limit:
            return _busy(store.RETRY_AFTER_SECONDS)
        inflight += 1
        try:
            return await _records(request)
        finally:
            inflight -= 1

    async def _records(request: web.Request) -> web.Response:
        body = await _json(request)
        envelopes = body.get("envelopes")
        if set(body) != {"envelopes"} or not isinstance(envelopes, list) or not 0 < len(envelopes) <= api.MAX_BATCH:
            return _schema_error(f"the body is {{'envelopes': [1..{api.MAX_BATCH} sealed envelopes]}}")

        results = await asyncio.to_thread(service.accept_records, request[DEVICE], envelopes)
        return web.json_response({"results": [result.to_json() for result in results]})

    async def resolve_identity(request: web.Request) -> web.Response:
        device: devices.Device = request[DEVICE]
        payload = await _sealed_payload(request, device, "identity")
        if isinstance(payload, web.Response):
            return payload
        answer = await asyncio.to_thread(service.resolve_identity, device, payload["body"])
        return web.json_response(answer.to_json())

    async def subject_history(request: web.Request) -> web.Response:
        body = await _json(request)
        try:
            answer = await asyncio.to_thread(service.read_history, request[DEVICE], body)
        except history.HistoryRefused as refused:
            return _error(refused.status, refused.code, refused.message.ja, refused.message.en)
        return web.json_response(answer.to_json())

    async def jpki_challenge(request: web.Request) -> web.Response:
        return web.json_response(await asyncio.to_thread(service.new_challenge, request[DEVICE]))

    async def jpki_identity(request: web.Request) -> web.Response:
        body = await _json(request)
        answer = await asyncio.to_thread(service.resolve_jpki, request[DEVICE], body)
        return web.json_response(answer.to_json())

    async def templates(request: web.Request) -> web.Response:
        return web.json_response({"bundle": service.signed_bundle})

    async def reenroll(request: web.Request) -> web.Response:
        body = await _json(request)
        if not isinstance(body.get("csr"), str):
            return _schema_error("the body is {'csr': PEM}")
        try:
            answer = await asyncio.to_thread(service.renew_certificate, request[DEVICE], body["csr"])
        except EnrollmentError as error:
            return _error(400, "enrollment_refused", error.message.ja, error.message.en)
        return web.json_response(answer)

    async def erasure(request: web.Request) -> web.Response:
        device: devices.Device = request[DEVICE]
        payload = await _sealed_payload(request, device, "erasure_certificate")
        if isinstance(payload, web.Response):
            return payload
        try:
            await asyncio.to_thread(service.record_erasure, device, payload["body"])
        except technicians.TechnicianError as error:
            return _error(403, "technician_refused", error.message.ja, error.message.en)
        return web.json_response({"status": "recorded"})

    async def staff_login(request: web.Request) -> web.Response:
        body = await _json(request)
        if not isinstance(body.get("staff_id"), str) or not isinstance(body.get("password"), str):
            return _schema_error("the body is {'staff_id', 'password'} (+ 'challenge_id', 'certificate', 'signature')")
        try:
            answer = await asyncio.to_thread(service.staff_login, request[DEVICE], body)
        except staff.StaffError as error:
            return _error(401, "login_refused", error.message.ja, error.message.en)
        return web.json_response(answer)

    async def staff_login_card(request: web.Request) -> web.Response:
        body = await _json(request)
        card = ("staff_id", "challenge_id", "signature", "certificate")
        if not all(isinstance(body.get(name), str) for name in card):
            return _schema_error("the body is {'staff_id', 'challenge_id', 'signature', 'certificate'}")
        try:
            answer = await asyncio.to_thread(service.staff_login, request[DEVICE], body, True)
        except staff.StaffError as error:
            return _error(401, "login_refused", error.message.ja, error.message.en)
        return web.json_response(answer)

    async def staff_attest(request: web.Request) -> web.Response:
        body = await _json(request)
        card = ("staff_id", "challenge_id", "signature", "certificate")
        password = isinstance(body.get("staff_id"), str) and isinstance(body.get("password"), str)
        if not password and not all(isinstance(body.get(name), str) for name in card):
            return _schema_error("the body is {'staff_id', 'password'} or {'staff_id', 'challenge_id', ...}")
        try:
            answer = await asyncio.to_thread(service.staff_attest, request[DEVICE], body)
        except staff.StaffError as error:
            return _error(401, "attest_refused", error.message.ja, error.message.en)
        return web.json_response(answer)

    async def municipality_policy(request: web.Request) -> web.Response:
        return web.json_response(await asyncio.to_thread(service.policy, request[DEVICE]))

    async def staff_logout(request: web.Request) -> web.Response:
        body = await _json(request)
        await asyncio.to_thread(service.staff_logout, str(body.get("token", "")))
        return web.json_response({"status": "ok"})

    app.router.add_get(api.HEALTH, health)
    app.router.add_post(api.RECORDS, records)
    app.router.add_post(api.IDENTITY, resolve_identity)
    app.router.add_post(api.JPKI_CHALLENGE, jpki_challenge)
    app.router.add_post(api.JPKI_IDENTITY, jpki_identity)
    app.router.add_get(api.TEMPLATES, templates)
    app.router.add_post(api.REENROLL, reenroll)
    app.router.add_post(api.ERASURE, erasure)
    app.router.add_post(api.STAFF_LOGIN, staff_login)
    app.router.add_post(api.STAFF_LOGOUT, staff_logout)
    app.router.add_post(api.STAFF_LOGIN_CARD, staff_login_card)
    app.router.add_post(api.STAFF_ATTEST, staff_attest)
    app.router.add_get(api.POLICY, municipality_policy)
    app.router.add_post(api.HISTORY, subject_history)
    return app


def enrollment_app(service: HostService) -> web.Application:
    """Server-authenticated TLS only: the CA certificates, and enrollment with a one-time token."""
    app = web.Application(middlewares=[busy_is_503], client_max_size=64 * 1024)
    app.on_response_prepare.append(_no_version_header)

    async def cacerts(request: web.Request) -> web.Response:
        return web.Response(text=service.pki.ca_pem, content_type="application/pem-certificate-chain")

    async def enroll(request: web.Request) -> web.Response:
        address = request.remote or "-"
        wait = service.refusals_wait("enroll", address)
        if wait:
            return _too_many(wait)
        body = await _json(request)
        fields = ("token", "csr", "signing_public_key", "serial")
        # `technician` (the technician's proof) may be missing: the refusal then says so and is audited
        if not set(fields) <= set(body) <= {*fields, "technician"} or not all(
            isinstance(body[name], str) for name in body
        ):
            return _schema_error(f"the body has {', '.join(fields)} and technician (text)")
        try:
            answer = await asyncio.to_thread(
                service.enroll, body["token"], body["csr"], body["signing_public_key"], body["serial"],
                body.get("technician"),
            )  # fmt: skip
        except EnrollmentError as error:
            log.warning("enrollment refused: %s", error.reason)
            await asyncio.to_thread(service.count_refusal, "enroll", address)
            return _error(403, "enrollment_refused", error.message.ja, error.message.en)
        return web.json_response(answer)

    async def technician_login(request: web.Request) -> web.Response:
        address = request.remote or "-"
        wait = service.refusals_wait("technician_login", address)
        if wait:
            return _too_many(wait)
        body = await _json(request)
        fields = ("staff_id", "password", "municipality_code")
        if set(body) != set(fields) or not all(isinstance(body[name], str) for name in fields):
            return _schema_error(f"the body has exactly {', '.join(fields)} (text)")
        try:
            answer = await asyncio.to_thread(
                service.technician_login, body["staff_id"], body["password"], body["municipality_code"]
            )
        except RateLimited as limited:
            return _too_many(limited.wait)
        except (staff.StaffError, technicians.TechnicianError) as error:
            await asyncio.to_thread(service.count_refusal, "technician_login", address)
            return _error(401, "login_refused", error.message.ja, error.message.en)
        return web.json_response(answer)

    app.router.add_get(api.CACERTS, cacerts)
    app.router.add_post(api.ENROLL, enroll)
    app.router.add_post(api.TECHNICIAN_LOGIN, technician_login)
    return app


def _enrollment_answer(
    service: HostService, device_id: str, certificate: str, device: devices.Device
) -> dict[str, Any]:
    return {
        "device_id": device_id,
        "certificate": certificate,
        "ca_chain": [service.pki.ca_pem],
        "host_sealing_public_key": public_pem(service.keys.sealing),
        "template_signing_public_key": public_pem(service.keys.template),
        "municipality_code": device.municipality_code,
        "clinic_code": device.clinic_code,
    }


class HostServer:
    """Runs both listeners on their own event loop in a thread (tests, the demo, `yoshin-host serve`)."""

    def __init__(self, service: HostService, host: str = "127.0.0.1", port: int = 0, enroll_port: int = 0) -> None:
        self.service = service
        self.host = host
        self.requested = (port, enroll_port)
        self.port = 0
        self.enroll_port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    def start(self) -> HostServer:
        self._runners = []
        self._ready.clear()
        self._failure = None
        self._thread = threading.Thread(target=self._run, name="yoshin-host", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("the host did not start within 30 s")
        if self._failure is not None:
            raise self._failure
        (self.service.data_dir / "serve.json").write_text(
            json.dumps({"host": self.host, "port": self.port, "enroll_port": self.enroll_port})
        )
        return self

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._start_sites())
        except BaseException as error:  # reported to start()
            self._failure = error
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._stop_sites())
        self._loop.close()

    async def _start_sites(self) -> None:
        for app, context, port in (
            (main_app(self.service), self.service.pki.mutual_tls_context(), self.requested[0]),
            (enrollment_app(self.service), self.service.pki.enrollment_context(), self.requested[1]),
        ):
            # an appliance keeps its connection between visits (one every few minutes at peak): one TLS
            # handshake a morning instead of one a request; an idle connection costs the host little
            runner = web.AppRunner(app, access_log=None, keepalive_timeout=KEEPALIVE_SECONDS)
            await runner.setup()
            site = web.TCPSite(runner, self.host, port, ssl_context=context)
            await site.start()
            self._runners.append(runner)
        self.port, self.enroll_port = (runner.addresses[0][1] for runner in self._runners)

    async def _stop_sites(self) -> None:
        for runner in self._runners:
            await runner.cleanup()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        self._loop = None

    def __enter__(self) -> HostServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def client_context(ca_pem: str, certificate: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """A client context pinned to the host CA, strict like Python 3.13, optionally with a device certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    context.load_verify_locations(cadata=ca_pem)
    if certificate is not None:
        context.load_cert_chain(certificate, key)
    return context
