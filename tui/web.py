"""Browser mode: the same kiosk app served by textual-serve on 127.0.0.1 for a Chromium kiosk window.

The clinic network is closed, so the page must not fetch anything from the internet: textual-serve's
page links a web font from Google, which this server strips. The terminal draws with the appliance's
Noto Sans Mono CJK JP (fonts-noto-cjk, installed by tools/setup-system.sh): its Latin letters fill one
cell and its kana and kanji exactly two, so Japanese lines up on the terminal's grid.

Large text. textual-serve sizes the page's terminal font per page load (its `fontsize` query), and a page
load is a new kiosk process. So large text is chosen when the page opens, never in the middle of a visit:
`/?text=large` (or `--large-text`, the appliance's default) serves the page at LARGE_FONT_PX, and its
websocket, `/ws-large`, starts the kiosk with `--large-text` so the new session's welcome screen has the
box ticked. Ticking or clearing the box on the welcome screen (nothing is entered yet) reloads the page
the other way (tui/screens/welcome.py).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from textual_serve.server import Server

NORMAL_FONT_PX = 16  # textual-serve's own default
LARGE_FONT_PX = 26  # 1.625 ×: the rendered cell must come out ≥ 1.5 × (tests/tui/test_chromium.py measures it)
LARGE_URL, NORMAL_URL = "/?text=large", "/?text=normal"

# A link to anywhere but this loopback server (textual-serve links its own xterm.css by absolute URL: keep it).
EXTERNAL_LINK = re.compile(r"<link[^>]+https?://(?!127\.0\.0\.1[:/]|localhost[:/])[^>]+>", re.IGNORECASE)
CJK_FONTS = """<style>
  @font-face { font-family: "yoshin-cjk"; src: local("Noto Sans Mono CJK JP"), local("Noto Sans CJK JP"),
               local("IPAGothic"), local("TakaoGothic"); }
  body, .intro { font-family: "yoshin-cjk", monospace; }
  body { margin: 0; overflow: hidden; }
  #terminal { width: 100vw; height: 100vh; }
</style>"""
TERMINAL_FONT = "\"'Noto Sans Mono CJK JP', 'yoshin-cjk', monospace\""
# Two edits to textual-serve's bundled script (its version is pinned in pyproject.toml; a test fails
# if a marker is gone): the terminal's font, and the terminal object on `window` so a test (or a
# screen reader bridge) can read the text the browser holds.
SCRIPT_EDITS = (
    ("fontFamily:\"'Roboto Mono', Monaco, 'Courier New', monospace\"", f"fontFamily:{TERMINAL_FONT}"),
    ("this.terminal.open(e),", "this.terminal.open(e),window.yoshinTerminal=this.terminal,"),
)
SCRIPT_ROUTE = "/yoshin/textual.js"


def page_for_closed_network(html: str, large: bool = False) -> str:
    """The served page with every external link removed, the local CJK font named, our script, and the
    font size (and websocket) of the text size asked for."""
    html = EXTERNAL_LINK.sub("", html).replace("</head>", CJK_FONTS + "</head>", 1)
    html = re.sub(r'src="[^"]*/js/textual\.js"', f'src="{SCRIPT_ROUTE}"', html, count=1)
    if large:
        html = re.sub(r'data-font-size="\d+"', f'data-font-size="{LARGE_FONT_PX}"', html, count=1)
        html = re.sub(r'(data-session-websocket-url="[^"]*/ws)"', r'\1-large"', html, count=1)
    return html


def terminal_script(original: str) -> str:
    for old, new in SCRIPT_EDITS:
        if old not in original:
            raise RuntimeError(f"textual-serve's script changed: {old!r} not found")
        original = original.replace(old, new, 1)
    return original


class KioskWebServer(Server):
    """textual-serve's server, bound to loopback, serving a page that needs no internet, in two text sizes."""

    def __init__(self, command: list[str], port: int, large_text: bool = False) -> None:
        import shlex

        super().__init__(shlex.join(command), host="127.0.0.1", port=port, title="yoshin")
        self.large_text = large_text
        # The large page's websocket starts the same kiosk with large text on (its own Server for the command).
        self.large = Server(shlex.join([*command, "--large-text"]), host="127.0.0.1", port=port, title="yoshin")

    def wants_large(self, request: web.Request) -> bool:
        text = request.query.get("text")
        return text == "large" or (self.large_text and text != "normal")

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        script = terminal_script((Path(self.statics_path) / "js" / "textual.js").read_text())

        async def serve_script(request: web.Request) -> web.Response:
            return web.Response(text=script, content_type="application/javascript")

        app.router.add_get(SCRIPT_ROUTE, serve_script)
        app.router.add_get("/ws-large", self.large.handle_websocket)

        @web.middleware
        async def sized_page(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            response = await handler(request)
            if request.path == "/" and isinstance(response, web.Response) and response.text is not None:
                response.text = page_for_closed_network(response.text, self.wants_large(request))
            return response

        app.middlewares.append(sized_page)
        return app


@web.middleware
async def _closed_network_page(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """For the staff app's page (tui/staff_web.py): external links removed, the local CJK font named."""
    response = await handler(request)
    if request.path == "/" and isinstance(response, web.Response) and response.text is not None:
        response.text = EXTERNAL_LINK.sub("", response.text).replace("</head>", CJK_FONTS + "</head>", 1)
    return response
