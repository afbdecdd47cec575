"""What the kiosk needs from the layers below, wired to the real card layer, host client and outbox."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from yoshin.device.appliance import Appliance
from yoshin.device.hostclient import DeviceRevoked, HostUnreachable
from yoshin.device.outbox import seal_payload
from yoshin.domain.bundle import Rules, load_rules, verify_bundle
from yoshin.domain.catalogue import default_catalogue
from yoshin.domain.templates import default_templates
from yoshin.protocol import api
from yoshin.smartcard.card import FaceRead, open_card
from yoshin.smartcard.transport import PcscContext


@dataclass
class KioskServices:
    appliance: Appliance
    reader: str | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    _rules: Rules | None = field(default=None, repr=False)
    # One card operation at a time: a worker still closing its exclusive connection must not meet the next.
    _card_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reader_name(self) -> str:
        with PcscContext() as context:
            names = context.reader_names()
        if self.reader:
            return self.reader
        return names[0] if names else ""

    def wait_for_card(self, timeout: float) -> bool:
        with PcscContext() as context:
            return context.wait_for_card(self.reader_name(), timeout)

    def wait_for_removal(self, timeout: float) -> bool:
        with PcscContext() as context:
            return context.wait_for_removal(self.reader_name(), timeout)

    def face_tries(self) -> int | None:
        with self._card_lock, open_card(self.reader_name()) as card:
            return card.pin_status().face

    def read_face(self, pin: str, confirm_last_try: bool) -> FaceRead:
        with self._card_lock, open_card(self.reader_name()) as card:
            return card.read_face(pin, confirm_last_try=confirm_last_try)

    def rules(self) -> Rules:
        """The verified bundle from provisioning, or the shipped defaults when none was pulled."""
        if self._rules is None:
            path = self.appliance.data_dir / "templates.json"
            if path.exists():
                self._rules = load_rules(
                    verify_bundle(json.loads(path.read_text()), self.appliance.keystore.template_key())
                )
            else:
                self._rules = Rules(default_catalogue(), default_templates())
        return self._rules

    def resolve(self, face: FaceRead) -> dict[str, Any] | None:
        """The host's answer for this card, or None when the host cannot be reached (offline)."""
        keystore = self.appliance.keystore
        body = {
            "ef_my_number": base64.b64encode(face.raw.my_number).decode(),
            "ef_basic_info": base64.b64encode(face.raw.basic_info).decode(),
            "ef_signature": base64.b64encode(face.raw.signature).decode(),
        }
        keys = (keystore.host_sealing_key(), keystore.signing_key())
        envelope = seal_payload(
            keys, keystore.identity()["device_id"], "identity", body, self.clock().isoformat(timespec="seconds")
        )
        try:
            return dict(self.appliance.client().call("POST", api.IDENTITY, {"envelope": envelope.to_json()}))
        except HostUnreachable:
            return None
        except DeviceRevoked:
            raise

    def submit(self, kind: str, record: dict[str, Any]) -> str:
        outbox = self.appliance.outbox()
        try:
            return outbox.enqueue(kind, record)
        finally:
            outbox.close()

    def identity(self) -> dict[str, str]:
        return self.appliance.keystore.identity()
