"""The kiosk's own widget defaults."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Input


class KioskInput(Input):
    """An input whose cursor does not blink: steadier for older eyes, and screenshots are deterministic."""

    cursor_blink = reactive(False, init=False)
