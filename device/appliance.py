"""The appliance's data directory and the objects built from it: one place that knows the layout.

<data_dir>/keys/      the key store (0700; files 0600)
<data_dir>/queue.db   the sealed outbox and the pending visits (with -wal and -shm beside it)
<data_dir>/host.json  where the host is (address and ports; no secret): one object, or a list of the
                      nodes of one host (same CA), tried in turn
<data_dir>/clinic.json the clinic's settings from provisioning (the place name printed on records)
<data_dir>/voice.json  voice guidance on/off, volume and audio device (device/voice.py; defaults when absent)
<data_dir>/voice/      the synthesised prompts (WAV), named by a hash of engine, language and text: fixed
                       prompts only, no personal data; safe to delete (remade on use)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

# Imported where used: the kiosk's first screen needs none of them (cryptography, the outbox, the client).
if TYPE_CHECKING:
    from yoshin.device.hostclient import HostAddress, HostClient
    from yoshin.device.keystore import FileKeyStore
    from yoshin.device.outbox import Outbox, QueueStatus
    from yoshin.device.pending import PendingVisits

if TYPE_CHECKING:
    from yoshin.device.voice import VoiceSettings


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    device_id: str | None
    queue: QueueStatus | None
    certificate_not_after: str | None
    certificate_days_left: float | None


class Appliance:
    def __init__(self, data_dir: Path, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.data_dir = data_dir
        self.clock = clock
        self._client: HostClient | None = None
        self._client_made_from: tuple[tuple[int, int] | None, ...] = ()
        self._client_lock = threading.Lock()

    @cached_property
    def keystore(self) -> FileKeyStore:
        from yoshin.device.keystore import FileKeyStore

        return FileKeyStore(self.data_dir / "keys")

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "queue.db"

    def save_host(self, address: HostAddress | Sequence[HostAddress]) -> None:
        from yoshin.device.hostclient import HostAddress

        saved = asdict(address) if isinstance(address, HostAddress) else [asdict(node) for node in address]
        (self.data_dir / "host.json").write_text(json.dumps(saved))
        self.close()  # the next client() speaks to the new address (not only when the file's stamp differs)

    def host_addresses(self) -> list[HostAddress]:
        from yoshin.device.hostclient import HostAddress

        saved = json.loads((self.data_dir / "host.json").read_text())
        return [HostAddress(**node) for node in (saved if isinstance(saved, list) else [saved])]

    def host_address(self) -> HostAddress:
        """The first node (enrollment and the CA fetch go there)."""
        return self.host_addresses()[0]

    def save_place(self, place: str) -> None:
        (self.data_dir / "clinic.json").write_text(json.dumps({"place": place}, ensure_ascii=False))

    def place(self) -> str:
        """The clinic's name as printed on vaccination records (接種場所)."""
        path = self.data_dir / "clinic.json"
        return str(json.loads(path.read_text())["place"]) if path.exists() else "未設定 (not set)"

    @property
    def voice_dir(self) -> Path:
        return self.data_dir / "voice"

    def voice_settings(self) -> VoiceSettings:
        from yoshin.device.voice import VoiceSettings  # (the voice module is loaded only where it is used)

        return VoiceSettings.load(self.data_dir / "voice.json")

    def save_voice_settings(self, settings: VoiceSettings) -> None:
        settings.save(self.data_dir / "voice.json")

    def outbox(self, max_bytes: int | None = None) -> Outbox:
        from yoshin.device.outbox import Outbox

        device_id = self.keystore.identity()["device_id"]
        if max_bytes is None:
            return Outbox(self.queue_path, self.keystore, device_id, clock=self.clock)
        return Outbox(self.queue_path, self.keystore, device_id, max_bytes=max_bytes, clock=self.clock)

    def pending(self) -> PendingVisits:
        from yoshin.device.pending import PendingVisits

        return PendingVisits(self.queue_path, self.keystore, self.clock)

    def client(self) -> HostClient:
        """The host client, one for this appliance object's life (the kiosk's session): its TLS
        connections are kept and reused across calls, so a kiosk call pays no handshake (a kept connection
        was 7–65× faster for a small request). Safe from several threads (a connection is used by one
        call at a time). Made again when what it was made from changes (host.json, the device
        certificate or the host CA: re-provisioning, renewal); `close()` closes it."""
        from yoshin.device.hostclient import HostClient

        made_from = self._client_sources()
        with self._client_lock:
            old, client = self._client, self._client
            if client is None or self._client_made_from != made_from:
                client = self._client = HostClient(self.keystore, self.host_addresses())
                self._client_made_from = made_from
            if old is not None and old is not client:
                old.close()
            return client

    def _client_sources(self) -> tuple[tuple[int, int] | None, ...]:
        from yoshin.device.keystore import FileKeyStore

        paths = (self.data_dir / "host.json", self.keystore.directory / FileKeyStore.CERTIFICATE,
                 self.keystore.directory / FileKeyStore.HOST_CA)  # fmt: skip
        return tuple(_stamp(path) for path in paths)

    def close(self) -> None:
        """Close the kept host client's connections (at the app's exit; the host also drops idle ones)."""
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def status(self) -> DeviceStatus:
        if not self.keystore.is_enrolled():
            return DeviceStatus(None, None, None, None)
        outbox = self.outbox()
        try:
            queue = outbox.status()
        finally:
            outbox.close()
        not_after = self.keystore.certificate().not_valid_after_utc
        return DeviceStatus(
            device_id=self.keystore.identity()["device_id"],
            queue=queue,
            certificate_not_after=not_after.isoformat(),
            certificate_days_left=round((not_after - self.clock()).total_seconds() / 86400, 1),
        )


def _stamp(path: Path) -> tuple[int, int] | None:
    """A file's modification time and size, or None when it does not exist."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_mtime_ns, status.st_size
