"""Browser mode: the same kiosk app served by textual-serve on 127.0.0.1 for a Chromium kiosk window.

The clinic network is closed, so the page must not fetch anything from the internet: textual-serve's
page links a web font from Google, which this server strips, and the terminal falls back to a CJK
font installed on the appliance (fonts-noto-cjk; docs/operations.md) for Japanese.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web
from textual_serve.server import Server

EXTERNAL_LINK = re.compile(r"<link[^>]+https?://[^>]+>", re.IGNORECASE)
CJK_FONTS = """<style>
  @font-face { font-family: "yoshin-cjk"; src: local("Noto Sans Mono CJK JP"), local("Noto Sans CJK JP"),
               local("IPAGothic"), local("TakaoGothic"); }
  body, .intro { font-family: "Roboto Mono", "yoshin-cjk", monospace; }
</style>"""


def page_for_closed_network(html: str) -> str:
    """The served page with every external link removed and the local CJK font named."""
    return EXTERNAL_LINK.sub("", html).replace("</head>", CJK_FONTS + "</head>", 1)


class KioskWebServer(Server):
    """textual-serve's server, bound to loopback, serving a page that needs no internet."""

    def __init__(self, command: str, port: int) -> None:
        super().__init__(command, host="127.0.0.1", port=port, title="yoshin")

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(_closed_network_page)
        return app


@web.middleware
async def _closed_network_page(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    if request.path == "/" and isinstance(response, web.Response) and response.text is not None:
        response.text = page_for_closed_network(response.text)
    return response
