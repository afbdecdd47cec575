"""A child process for the crash tests: a host that dies by SIGKILL once N inbox transactions (batches:
one transaction each) are committed, before it answers, to prove that the device's resend of records the
host committed but never acknowledged lands exactly once. The fault
comes in through the store seam (the service's Database); intake itself has no test hook.

python crashing_host.py DATA_DIR KILL_AFTER_TRANSACTIONS    (prints one line once both listeners are up)
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from yoshin.host.server import HostServer, HostService


class _Spy:
    """A transaction that notes whether it stored an inbox row."""

    def __init__(self, tx: Any) -> None:
        self.tx, self.stored = tx, False

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        self.stored |= sql.lstrip().upper().startswith("INSERT INTO INBOX")
        return self.tx.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tx, name)


class DiesAfterCommits:
    """The service's database; the process is killed right after the N-th committed inbox transaction."""

    def __init__(self, db: Any, after: int) -> None:
        self.db, self.after, self.committed = db, after, 0

    @contextlib.contextmanager
    def transaction(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with self.db.transaction(*args, **kwargs) as tx:
            spy = _Spy(tx)
            yield spy
        if spy.stored:
            self.committed += 1
            if self.committed == self.after:
                os.kill(os.getpid(), signal.SIGKILL)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


service = HostService.open(Path(sys.argv[1]))
service.db = DiesAfterCommits(service.db, int(sys.argv[2]))  # type: ignore[assignment]
with HostServer(service) as server:
    print(f"host up on {server.port}", flush=True)
    threading.Event().wait()
