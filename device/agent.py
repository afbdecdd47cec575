"""The appliance agent: the one process that holds the device's keys, the sealed outbox, the pending store
and the host client, and answers the kiosk over a Unix socket (privilege separation).

The kiosk's process draws the screens, talks to the card reader and the I/O board, and asks the agent for
everything else through `ApplianceCore`: it never opens the key store, so a fault in the screens (a browser
session, a Textual bug) cannot read or copy the device keys, and it loads neither cryptography nor SQLite
(docs/ARCHITECTURE.md, "The appliance agent"; docs/performance.md, "Kiosk"). The agent runs in the
forwarder's process (`yoshin-device serve`), which already holds them, so the appliance loads them once.

`LocalCore` is the implementation on an `Appliance` (the agent's, or in-process for the staff app, the
tests and the demo's scripted visits); `AgentClient` is the same interface over the socket. The protocol is
one JSON object a line each way: `{"call": name, "args": {...}}`, answered `{"ok": value}` or
`{"error": {...}}`. Only the calls below are served, only to a peer of the agent's own user.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from yoshin.device.errors import AgentUnavailable, DeviceRevoked, HostRefused, HostUnreachable, KeyStoreError
from yoshin.domain.i18n import Bilingual, BilingualError
from yoshin.protocol import api

if TYPE_CHECKING:
    from yoshin.device.appliance import Appliance

log = logging.getLogger(__name__)

SOCKET_NAME = "agent.sock"
MAX_LINE = 4 * 1024 * 1024  # a request or answer: a record with its answers is a few kB
TIMEOUT = 60.0  # longer than the host client's own timeout (15 s a node), so the agent always answers first
# The host calls the kiosk may make through the agent by path; the rest (records, enrollment, renewal) are
# the agent's own.
HOST_CALLS = frozenset({("POST", api.JPKI_CHALLENGE), ("POST", api.STAFF_LOGIN), ("POST", api.STAFF_LOGIN_CARD),
                        ("POST", api.STAFF_LOGOUT), ("POST", api.STAFF_ATTEST)})  # fmt: skip


class ApplianceCore(Protocol):
    """What the kiosk asks of the appliance's keys, queue and host client: JSON values in and out."""

    def host_call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any: ...
    def identify(self, body: dict[str, str]) -> Any: ...
    def history(self, subject_id: str, proof: str | None) -> dict[str, Any]: ...
    def reception_required(self) -> bool: ...
    def rules_bundle(self) -> dict[str, Any] | None: ...
    def device_identity(self) -> dict[str, str]: ...
    def place(self) -> str: ...
    def submit(self, kind: str, record: dict[str, Any]) -> str: ...
    def pending_put(self, visit_id: str, data: dict[str, Any]) -> None: ...
    def pending_list(self) -> list[tuple[str, dict[str, Any]]]: ...
    def pending_complete(self, visit_id: str) -> None: ...
    def pending_revision(self) -> str: ...
    def card_today(self, efs: list[str], subject_id: str | None) -> list[str]: ...
    def open_reception(self, slot: dict[str, Any]) -> str: ...
    def take_reception(self) -> dict[str, Any] | None: ...
    def receptions(self) -> list[tuple[str, dict[str, Any]]]: ...
    def cancel_reception(self, slot_id: str) -> bool: ...
    def queue_status(self) -> dict[str, Any]: ...
    def raise_staff_call(self, screen: str) -> str: ...
    def verify_installation(self, manifest: str, release_key: str) -> None: ...


CALLS = frozenset(name for name in vars(ApplianceCore) if not name.startswith("_"))


class LocalCore:
    """`ApplianceCore` on the appliance's own files and host client (in the agent, or in-process)."""

    def __init__(self, appliance: Appliance, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.appliance = appliance
        self.clock = clock

    def host_call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if (method, path) not in HOST_CALLS:
            raise BilingualError(Bilingual("この操作はできません", f"not a call the kiosk may make: {method} {path}"))
        return self.appliance.client().call(method, path, body)

    def identify(self, body: dict[str, str]) -> Any:
        """Seal the card's identity for the host and ask it (POST /identity); HostUnreachable when offline."""
        from yoshin.device.outbox import seal_payload
        from yoshin.protocol.sealing import PayloadKind

        keystore = self.appliance.keystore
        keys = (keystore.host_sealing_key(), keystore.signing_key())
        stamp = self.clock().isoformat(timespec="seconds")
        envelope = seal_payload(keys, keystore.identity()["device_id"], PayloadKind.IDENTITY, body, stamp)
        return self.appliance.client().call("POST", api.IDENTITY, {"envelope": envelope.to_json()})

    def history(self, subject_id: str, proof: str | None) -> dict[str, Any]:
        return self.appliance.client().history(subject_id, proof).to_json()

    def reception_required(self) -> bool:
        """Whether the municipality requires reception's check before the card step (GET /policy). The
        last answer is kept in <data dir>/policy.json for when the host cannot be reached; never asked: no."""
        path = self.appliance.data_dir / "policy.json"
        try:
            answer = self.appliance.client().call("GET", api.POLICY)
            required = answer.get("reception_check") == "required" if isinstance(answer, dict) else None
        except (HostUnreachable, HostRefused, DeviceRevoked, KeyStoreError):
            required = None  # the last answer; a revoked device or broken key store is told at the card read
        if required is None:
            return path.exists() and json.loads(path.read_text()).get("reception_check") == "required"
        path.write_text(json.dumps({"reception_check": "required" if required else "optional"}))
        return required

    def rules_bundle(self) -> dict[str, Any] | None:
        """The rules bundle from provisioning, verified against the template key; None when none was pulled."""
        from yoshin.domain.bundle import verify_bundle

        path = self.appliance.data_dir / "templates.json"
        if not path.exists():
            return None
        return verify_bundle(json.loads(path.read_text()), self.appliance.keystore.template_key())

    def device_identity(self) -> dict[str, str]:
        return self.appliance.keystore.identity()

    def place(self) -> str:
        return self.appliance.place()

    def submit(self, kind: str, record: dict[str, Any]) -> str:
        outbox = self.appliance.outbox()
        try:
            return outbox.enqueue(kind, record)
        finally:
            outbox.close()

    def pending_put(self, visit_id: str, data: dict[str, Any]) -> None:
        """Keep a visit for the staff screens, under today's day key (destroyed at day end)."""
        with closing(self.appliance.pending()) as pending:
            pending.put(visit_id, data)

    def pending_list(self) -> list[tuple[str, dict[str, Any]]]:
        with closing(self.appliance.pending()) as pending:
            return pending.list()

    def pending_complete(self, visit_id: str) -> None:
        with closing(self.appliance.pending()) as pending:
            pending.complete(visit_id)

    def pending_revision(self) -> str:
        with closing(self.appliance.pending()) as pending:
            return pending.revision()

    def card_today(self, efs: list[str], subject_id: str | None) -> list[str]:
        """This card's subject ids on this appliance today; `efs` are the face EFs in base64."""
        with closing(self.appliance.pending()) as pending:
            return pending.card_today([base64.b64decode(ef) for ef in efs], subject_id)

    def open_reception(self, slot: dict[str, Any]) -> str:
        with closing(self.appliance.pending()) as pending:
            return pending.open_reception(slot)

    def take_reception(self) -> dict[str, Any] | None:
        from yoshin.device.visit import RECEPTION_VALID

        with closing(self.appliance.pending()) as pending:
            return pending.take_reception(RECEPTION_VALID)

    def receptions(self) -> list[tuple[str, dict[str, Any]]]:
        from yoshin.device.visit import RECEPTION_VALID

        with closing(self.appliance.pending()) as pending:
            return pending.receptions(RECEPTION_VALID)

    def cancel_reception(self, slot_id: str) -> bool:
        with closing(self.appliance.pending()) as pending:
            return pending.cancel_reception(slot_id)

    def queue_status(self) -> dict[str, Any]:
        from dataclasses import asdict

        outbox = self.appliance.outbox()
        try:
            return asdict(outbox.status())
        finally:
            outbox.close()

    def raise_staff_call(self, screen: str) -> str:
        from yoshin.device.staff_calls import StaffCalls

        return StaffCalls(self.appliance.data_dir).raise_call(screen, self.clock())

    def verify_installation(self, manifest: str, release_key: str) -> None:
        """The installed files against the release's signed manifest (`device/integrity.py`): the kiosk's
        check at start, done where cryptography is loaded anyway. IntegrityError names what differs."""
        from yoshin.device import integrity

        integrity.verify_files(Path(manifest), Path(release_key))


# --- the wire: errors, the client, the server ----------------------------------------------------------

ERRORS: dict[str, type[BilingualError]] = {
    cls.__name__: cls for cls in (HostUnreachable, DeviceRevoked, HostRefused, KeyStoreError, AgentUnavailable)
}


def error_to_json(error: BilingualError) -> dict[str, Any]:
    kind = type(error).__name__ if type(error).__name__ in ERRORS else "BilingualError"
    answer: dict[str, Any] = {"kind": kind, "ja": error.message.ja, "en": error.message.en}
    if isinstance(error, HostRefused):
        answer |= {"status": error.status, "body": error.body, "retry_after": error.retry_after}
    return answer


def error_from_json(data: dict[str, Any]) -> BilingualError:
    """The same class and the same words as the agent raised (a class the kiosk does not know by name, a
    VisitError or QueueFull, arrives as a BilingualError with its message)."""
    cls = ERRORS.get(str(data.get("kind")), BilingualError)
    error = cls.__new__(cls)
    BilingualError.__init__(error, Bilingual(str(data.get("ja", "")), str(data.get("en", ""))))
    if isinstance(error, HostRefused):
        error.status, error.body, error.retry_after = int(data["status"]), dict(data["body"]), data["retry_after"]
    return error


class AgentClient:
    """`ApplianceCore` over the agent's socket: a connection per call (local and cheap; nothing to keep
    when the agent restarts). AgentUnavailable when the agent cannot be reached or does not answer."""

    def __init__(self, path: Path, timeout: float = TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout

    def call(self, name: str, **args: Any) -> Any:
        request = json.dumps({"call": name, "args": args}, ensure_ascii=False).encode() + b"\n"
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(self.timeout)
                connection.connect(str(self.path))
                connection.sendall(request)
                with connection.makefile("rb") as stream:
                    line = stream.readline(MAX_LINE + 1)
        except OSError as error:
            raise AgentUnavailable(f"{self.path}: {error.strerror or type(error).__name__}") from None
        try:
            answer = json.loads(line) if line.endswith(b"\n") else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise AgentUnavailable(f"{self.path}: no answer")
        if "error" in answer:
            raise error_from_json(answer["error"])
        return answer["ok"]

    def host_call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.call("host_call", method=method, path=path, body=body)

    def identify(self, body: dict[str, str]) -> Any:
        return self.call("identify", body=body)

    def history(self, subject_id: str, proof: str | None) -> dict[str, Any]:
        return dict(self.call("history", subject_id=subject_id, proof=proof))

    def reception_required(self) -> bool:
        return bool(self.call("reception_required"))

    def rules_bundle(self) -> dict[str, Any] | None:
        bundle = self.call("rules_bundle")
        return None if bundle is None else dict(bundle)

    def device_identity(self) -> dict[str, str]:
        return dict(self.call("device_identity"))

    def place(self) -> str:
        return str(self.call("place"))

    def submit(self, kind: str, record: dict[str, Any]) -> str:
        return str(self.call("submit", kind=kind, record=record))

    def pending_put(self, visit_id: str, data: dict[str, Any]) -> None:
        self.call("pending_put", visit_id=visit_id, data=data)

    def pending_list(self) -> list[tuple[str, dict[str, Any]]]:
        return [(str(key), dict(value)) for key, value in self.call("pending_list")]

    def pending_complete(self, visit_id: str) -> None:
        self.call("pending_complete", visit_id=visit_id)

    def pending_revision(self) -> str:
        return str(self.call("pending_revision"))

    def card_today(self, efs: list[str], subject_id: str | None) -> list[str]:
        return [str(item) for item in self.call("card_today", efs=efs, subject_id=subject_id)]

    def open_reception(self, slot: dict[str, Any]) -> str:
        return str(self.call("open_reception", slot=slot))

    def take_reception(self) -> dict[str, Any] | None:
        slot = self.call("take_reception")
        return None if slot is None else dict(slot)

    def receptions(self) -> list[tuple[str, dict[str, Any]]]:
        return [(str(key), dict(value)) for key, value in self.call("receptions")]

    def cancel_reception(self, slot_id: str) -> bool:
        return bool(self.call("cancel_reception", slot_id=slot_id))

    def queue_status(self) -> dict[str, Any]:
        return dict(self.call("queue_status"))

    def raise_staff_call(self, screen: str) -> str:
        return str(self.call("raise_staff_call", screen=screen))

    def verify_installation(self, manifest: str, release_key: str) -> None:
        self.call("verify_installation", manifest=manifest, release_key=release_key)


class AgentServer(socketserver.ThreadingUnixStreamServer):
    """Serves a `LocalCore` on `path` (0600, replaced if a dead agent left it), a thread per connection.

    The mode is set right after binding, not by the process-wide umask (the agent's other threads create
    files meanwhile); a peer in that instant still meets the uid check."""

    daemon_threads = True
    core: LocalCore

    def __init__(self, core: LocalCore, path: Path) -> None:
        self.core = core
        self.path = path
        path.unlink(missing_ok=True)
        super().__init__(str(path), _Handler)
        path.chmod(0o600)  # only the appliance's user may connect

    def start(self) -> AgentServer:
        threading.Thread(target=self.serve_forever, name="agent", daemon=True).start()
        return self

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.path.unlink(missing_ok=True)


class _Handler(socketserver.StreamRequestHandler):
    server: AgentServer
    timeout: ClassVar[float] = TIMEOUT

    def handle(self) -> None:
        if _peer_uid(self.request) != os.getuid():
            return  # another user: no answer at all
        line = self.rfile.readline(MAX_LINE + 1)
        if not line.endswith(b"\n"):
            return
        self.wfile.write(json.dumps(self.answer(line), ensure_ascii=False).encode() + b"\n")

    def answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            name, args = request["call"], request["args"]
            if name not in CALLS or not isinstance(args, dict):
                raise BilingualError(Bilingual("不明な要求です", f"unknown call: {name!r}"))
            return {"ok": getattr(self.server.core, name)(**args)}
        except BilingualError as error:
            return {"error": error_to_json(error)}
        except Exception as error:  # a bug here must not end the agent; the kiosk shows its fault screen
            log.error("agent call failed: %s", type(error).__name__, exc_info=error)
            return {"error": error_to_json(AgentUnavailable(f"the agent failed ({type(error).__name__})"))}


def _peer_uid(connection: socket.socket) -> int:
    """SO_PEERCRED: the connecting process's user id (Linux)."""
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", credentials)[1])
