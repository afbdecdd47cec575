"""`yoshin-kiosk --staff --serve`: the staff app for the staff PC's browser, over TLS only, login first."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509

from yoshin.tui.staff_web import ensure_certificate

KIOSK = str(Path(sys.executable).parent / "yoshin-kiosk")


def test_the_certificate_is_made_once_and_remade_for_a_new_address(tmp_path: Path) -> None:
    now = datetime(2026, 10, 15, 1, 0, tzinfo=UTC)
    files = ensure_certificate(tmp_path, ["127.0.0.1"], now)
    first = files.fingerprint()  # read now: the files are rewritten in place
    assert (files.key.stat().st_mode & 0o777) == 0o600
    assert ensure_certificate(tmp_path, ["127.0.0.1"], now + timedelta(days=1)).fingerprint() == first
    moved = ensure_certificate(tmp_path, ["192.168.10.5"], now + timedelta(days=1))
    second = moved.fingerprint()
    assert second != first
    san = x509.load_pem_x509_certificate(moved.certificate.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert [str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)] == ["192.168.10.5"]
    late = ensure_certificate(tmp_path, ["192.168.10.5"], now + timedelta(days=380))  # within 30 days of the end
    assert late.fingerprint() != second


@pytest.mark.functional  # a TLS server (textual-serve) on loopback
async def test_the_staff_app_is_served_over_tls_and_opens_on_the_login(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data_dir = tmp_path / "device"
    server = subprocess.Popen(
        [KIOSK, "--staff", "--serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()  # printed before listening: the address and the fingerprint to pin
        assert f"https://127.0.0.1:{port}/" in banner and "SHA-256" in banner
        certificate = data_dir / "staff-tls" / "staff-tls.pem"
        trusted = ssl.create_default_context(cafile=str(certificate))
        async with aiohttp.ClientSession() as session:
            page = await _get_when_listening(session, f"https://127.0.0.1:{port}/", trusted)
            assert f"wss://127.0.0.1:{port}/ws" in page and "https://fonts" not in page
            async with asyncio.timeout(30):  # plain HTTP is not answered
                try:
                    async with session.get(f"http://127.0.0.1:{port}/") as plain:
                        assert plain.status >= 400
                except aiohttp.ClientError:
                    pass
            screen = b""
            url = f"https://127.0.0.1:{port}/ws?width=100&height=30"
            async with session.ws_connect(url, ssl=trusted) as websocket:
                async with asyncio.timeout(60):
                    async for message in websocket:
                        if message.type == aiohttp.WSMsgType.BINARY:
                            screen += message.data
                        # a fresh data directory: the technician's login to provision it (control 27)
                        if "未設置の端末".encode() in screen and b"Log in to provision" in screen:
                            break
            assert "未設置の端末".encode() in screen
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0


async def _get_when_listening(session: aiohttp.ClientSession, url: str, trusted: ssl.SSLContext) -> str:
    async with asyncio.timeout(30):
        while True:
            try:
                async with session.get(url, ssl=trusted) as response:
                    assert response.status == 200
                    return await response.text()
            except aiohttp.ClientConnectorError:
                await asyncio.sleep(0.05)  # the server is still starting; the response ends the wait
