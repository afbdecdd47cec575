"""The staff app served to the staff PC's browser on the clinic's local network: textual-serve over TLS.

Unlike the resident's browser mode (loopback only, tui/web.py), this page crosses the clinic LAN, so it is
served over HTTPS and the terminal's websocket over WSS. The certificate is the clinic's own (given with
--tls-cert/--tls-key), or one the appliance makes for itself on first start (self-signed, for the
addresses it serves on); its SHA-256 fingerprint is printed at start so the staff PC can pin or install
it. Everything behind the page is the staff app with its own login: no staff screen opens without one.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from textual_serve.server import Server

from yoshin.tui.web import _closed_network_page

CERTIFICATE_DAYS = 397  # the longest validity browsers accept for a server certificate


@dataclass(frozen=True, slots=True)
class TlsFiles:
    certificate: Path
    key: Path

    def fingerprint(self) -> str:
        certificate = x509.load_pem_x509_certificate(self.certificate.read_bytes())
        return certificate.fingerprint(hashes.SHA256()).hex(":").upper()

    def context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certificate, self.key)
        return context


def ensure_certificate(directory: Path, names: list[str], now: datetime | None = None) -> TlsFiles:
    """The appliance's own certificate for the staff page, made once (P-256, self-signed) for `names`
    (IP addresses or host names). Remade when it has expired or no longer names every address."""
    files = TlsFiles(directory / "staff-tls.pem", directory / "staff-tls.key")
    now = now or datetime.now(UTC)
    if files.certificate.exists() and files.key.exists():
        current = x509.load_pem_x509_certificate(files.certificate.read_bytes())
        san = current.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        named = {str(v) for v in san.get_values_for_type(x509.IPAddress)} | set(san.get_values_for_type(x509.DNSName))
        if current.not_valid_after_utc > now + timedelta(days=30) and set(names) <= named:
            return files
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "yoshin staff display")])
    alternative: list[x509.GeneralName] = []
    for name in names:
        try:
            alternative.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alternative.append(x509.DNSName(name))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=CERTIFICATE_DAYS))
        .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(files.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem_key)
    files.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return files


class StaffWebServer(Server):
    """textual-serve's server on the given address, over TLS, with a page that needs no internet."""

    def __init__(self, command: str, host: str, port: int, tls: TlsFiles) -> None:
        super().__init__(command, host=host, port=port, title="yoshin staff", public_url=f"https://{host}:{port}")
        self.tls = tls

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(_closed_network_page)
        return app

    def serve(self, debug: bool = False) -> None:
        """As textual-serve's, with the TLS context (textual-serve has no option for one)."""
        import asyncio
        import signal

        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        loop.add_signal_handler(signal.SIGINT, self.request_exit)
        loop.add_signal_handler(signal.SIGTERM, self.request_exit)
        web.run_app(
            self._make_app(),
            host=self.host,
            port=self.port,
            ssl_context=self.tls.context(),
            handle_signals=False,
            loop=loop,
            print=lambda *args: None,
        )
