"""How the kiosk runs blocking work: in a thread, and never ending the app when it fails.

Textual's default (exit_on_error=True) ends the app on a worker's exception: a kiosk must not die
because pcscd went away mid-wait. A failed worker posts Worker.StateChanged(ERROR) instead, which the
screens and the app turn into the error screen (KioskApp.worker_failed).
"""

from __future__ import annotations

from typing import Any

from textual import work


def kiosk_work(group: str, exclusive: bool = True) -> Any:
    return work(thread=True, exclusive=exclusive, group=group, exit_on_error=False)
