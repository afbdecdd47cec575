"""Browser mode: `yoshin-kiosk --serve` serves the same kiosk on 127.0.0.1, with a page that needs no internet."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

from yoshin.tui.web import page_for_closed_network

KIOSK = str(Path(sys.executable).parent / "yoshin-kiosk")


def test_the_page_loses_external_links_and_names_a_local_cjk_font() -> None:
    page = '<html><head><link rel="stylesheet" href="https://fonts.googleapis.com/css?family=X" /></head></html>'
    served = page_for_closed_network(page)
    assert "googleapis" not in served and 'local("Noto Sans CJK JP")' in served


async def test_the_kiosk_is_served_to_a_browser_on_loopback(virtual_reader, tmp_path: Path) -> None:
    """With the run's pcscd (its socket is in the environment the server passes on): the welcome screen."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        # The run's vpcd shows two readers: a kiosk must be told which one (it never guesses).
        [KIOSK, "--serve", "--port", str(port), "--data-dir", str(tmp_path / "device"), "--reader", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session:
            page = await _get_when_listening(session, f"http://127.0.0.1:{port}/")
            assert "yoshin-cjk" in page and "https://" not in page.split("<body")[0]
            # The browser's side of the terminal: the kiosk's welcome screen arrives over the websocket.
            screen = b""
            async with session.ws_connect(f"http://127.0.0.1:{port}/ws?width=100&height=30") as websocket:
                async with asyncio.timeout(60):
                    async for message in websocket:
                        if message.type == aiohttp.WSMsgType.BINARY:
                            screen += message.data
                        if "日本語".encode() in screen and b"English" in screen:
                            break
            assert "日本語".encode() in screen
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0


async def _get_when_listening(session: aiohttp.ClientSession, url: str) -> str:
    async with asyncio.timeout(30):
        while True:
            try:
                async with session.get(url) as response:
                    assert response.status == 200
                    return await response.text()
            except aiohttp.ClientConnectorError:
                await asyncio.sleep(0.05)  # the server is still starting; the response ends the wait
