"""A child process for the crash tests: one forwarding round that dies by SIGKILL after the host answered
and before the outbox acknowledges (the local delete). The fault comes in through the forwarder's client
seam; the forwarder itself has no test hook.

python crashing_forwarder.py DATA_DIR
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from yoshin.device.appliance import Appliance
from yoshin.device.forwarder import Forwarder
from yoshin.device.hostclient import HostClient


class DiesAfterTheAnswer:
    """The real client; the process is killed as soon as the host's answer is in hand."""

    def __init__(self, client: HostClient) -> None:
        self.client = client

    def call(self, *args: Any, **kwargs: Any) -> Any:
        self.client.call(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


appliance = Appliance(Path(sys.argv[1]))
outbox = appliance.outbox()
Forwarder(outbox, DiesAfterTheAnswer(appliance.client())).run_once()  # type: ignore[arg-type]
sys.exit("the host never answered")  # not reached when the round reached the host
