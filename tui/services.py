"""What the kiosk needs from the layers below, wired to the real card layer, host client, outbox and I/O board."""

from __future__ import annotations

import base64
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from yoshin.smartcard.errors import CardError

# The kiosk's first screen needs none of these (pyscard, cryptography, the outbox, the rules engine, the
# host client, the GS1 parser): each method imports what it uses, so a cold start loads only Textual and
# the welcome screen (docs/performance.md, "Kiosk").
if TYPE_CHECKING:
    from yoshin.device.agent import ApplianceCore
    from yoshin.device.appliance import Appliance, DeviceStatus
    from yoshin.device.ioboard import BoardStatus, IOBoard
    from yoshin.device.outbox import QueueStatus
    from yoshin.device.scanner import Scanner
    from yoshin.device.staff_calls import StaffCalls
    from yoshin.device.visit import Clinic, PendingVisit, ReceptionSlot, StaffMember
    from yoshin.device.voice import Speaker
    from yoshin.domain.bundle import Rules
    from yoshin.protocol import api
    from yoshin.smartcard.card import BindRequest, FaceRead
    from yoshin.tui.staff_view import DoneVisit


@dataclass(frozen=True, slots=True)
class StaffSession:
    member: StaffMember
    token: str
    attestation: str | None = None  # the host-signed proof of who this is (seam 5), put into records


@dataclass(frozen=True, slots=True)
class Attestation:
    """A second person verified by the host without opening or closing any session (seam 5)."""

    member: StaffMember
    token: str | None


class KioskServices(Protocol):
    """What the kiosk's screens may ask of the layers below: the interface the resident and staff apps are
    written against. `ApplianceServices` is the real implementation (pcscd, the host over mutual TLS, the
    outbox, the pending store, the I/O board and the scanner); it also satisfies the visit layer's
    `VisitServices`."""

    appliance: Appliance  # the technician's self-test and status read the appliance itself
    board: IOBoard | None
    scanner: Scanner | None
    voice: Speaker | None  # 音声案内 (device/voice.py); None: the kiosk is silent

    def reader_name(self) -> str: ...
    def reader_ready(self) -> bool: ...
    def card_present(self) -> bool: ...
    def wait_for_card(self, timeout: float) -> bool: ...
    def wait_for_removal(self, timeout: float) -> bool: ...
    def face_tries(self) -> int | None: ...
    def read_face(self, pin: str, confirm_last_try: bool) -> FaceRead: ...
    def rules(self) -> Rules: ...
    def resolve(self, face: FaceRead) -> api.IdentityAnswer | None: ...
    def clinic(self) -> Clinic: ...
    def submit(self, kind: str, record: dict[str, Any]) -> str: ...
    def keep_pending(self, visit: PendingVisit) -> None: ...
    def pending_visits(self) -> list[PendingVisit]: ...
    def finish_pending(self, visit: PendingVisit, outcome: str, at: datetime) -> None: ...
    def done_visits(self) -> list[DoneVisit]: ...
    def complete_pending(self, visit_id: str) -> None: ...
    def sealed_today(self, subject_id: str) -> list[api.HistoryItem]: ...
    def host_history(self, subject_id: str, proof: str | None) -> api.HistoryAnswer: ...
    def card_today(self, face: FaceRead, subject_id: str | None = None) -> list[str]: ...
    def open_reception(self, slot: ReceptionSlot) -> str: ...
    def take_reception(self) -> ReceptionSlot | None: ...
    def reception_slots(self) -> list[tuple[str, ReceptionSlot]]: ...
    def cancel_reception(self, slot_id: str) -> bool: ...
    def reception_required(self) -> bool: ...
    def staff_list_revision(self) -> str: ...
    def queue_status(self) -> QueueStatus: ...
    def device_status(self) -> DeviceStatus: ...
    def staff_login(self, staff_id: str, password: str | None, card_pin: str | None = None) -> StaffSession: ...
    def staff_logout(self, session: StaffSession) -> None: ...
    def attest(self, staff_id: str, password: str | None = None, card_pin: str | None = None) -> Attestation: ...
    def staff_calls(self) -> StaffCalls: ...
    def call_staff(self, screen: str) -> str: ...
    def beep(self, pattern: str) -> None: ...
    def temperature(self) -> float | None: ...
    def read_scan(self, timeout: float) -> bytes | None: ...
    def board_status(self) -> BoardStatus | None: ...
    def identity(self) -> dict[str, str]: ...


@dataclass
class ApplianceServices:
    """The kiosk's services on a real appliance: the card reader, the I/O board and the scanner here; the
    keys, the queue, the pending store and the host through `core`, the appliance agent's client in the
    resident kiosk (`yoshin-kiosk --agent`), or the same calls in this process (`LocalCore`)."""

    appliance: Appliance
    reader: str | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    board: IOBoard | None = None
    scanner: Scanner | None = None
    voice: Speaker | None = None
    agent: ApplianceCore | None = None  # None: `LocalCore` on `appliance`, in this process
    _rules: Rules | None = field(default=None, repr=False)
    # One card operation at a time: a worker still closing its exclusive connection must not meet the next.
    _card_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _host_unreachable: bool = field(default=False, repr=False)

    @property
    def core(self) -> ApplianceCore:
        if self.agent is None:
            from yoshin.device.agent import LocalCore

            self.agent = LocalCore(self.appliance, self.clock)
        return self.agent

    # --- card ---------------------------------------------------------------------------------------

    def reader_name(self) -> str:
        """The configured reader (name, part of a name, or number), or the only one attached. NoReaderError
        when pcscd or the reader is gone; its subclass ReaderChoiceError (a bilingual list of the readers)
        when several are attached and none is configured, or the configured one is not among them."""
        from yoshin.smartcard.transport import PcscContext

        with PcscContext() as context:
            return context.resolve_reader(self.reader)

    def reader_ready(self) -> bool:
        """Whether pcscd runs and lists the reader: the kiosk's screens depend on it."""
        try:
            self.reader_name()
        except CardError:
            return False
        return True

    def card_present(self) -> bool:
        """Whether a card is on the reader now (False when the reader itself is gone)."""
        from yoshin.smartcard.transport import PcscContext

        try:
            with PcscContext() as context:
                return context.wait_for_card(self.reader_name(), 0)
        except CardError:
            return False

    def wait_for_card(self, timeout: float) -> bool:
        from yoshin.smartcard.transport import PcscContext

        with PcscContext() as context:
            return context.wait_for_card(self.reader_name(), timeout)

    def wait_for_removal(self, timeout: float) -> bool:
        from yoshin.smartcard.transport import PcscContext

        with PcscContext() as context:
            return context.wait_for_removal(self.reader_name(), timeout)

    def face_tries(self) -> int | None:
        """The face PIN's tries left, and nothing else: 3 APDUs, and a card without a signing PIN (a child's)
        is no error. None = the card holds no face PIN."""
        from yoshin.smartcard.card import Pin, open_card

        with self._card_lock, open_card(self.reader_name()) as card:
            return card.pin_tries(Pin.FACE)

    def read_face(self, pin: str, confirm_last_try: bool) -> FaceRead:
        """The face read and, in the same exclusive card session, the JPKI binding to a fresh host challenge
        (finding 4; the PIN policy is the card layer's `_bind`). Offline there is no challenge and no binding."""
        from yoshin.smartcard.card import open_card

        bind = self._bind_request()
        with self._card_lock, open_card(self.reader_name()) as card:
            return card.read_face(pin, confirm_last_try=confirm_last_try, bind=bind)

    def _bind_request(self) -> BindRequest | None:
        from yoshin.device.errors import DeviceRevoked, HostRefused, HostUnreachable
        from yoshin.device.visit import bind_request
        from yoshin.protocol import api

        self._host_unreachable = False
        try:
            return bind_request(self.core.host_call("POST", api.JPKI_CHALLENGE))
        except HostUnreachable:
            self._host_unreachable = True  # `resolve` then goes offline at once instead of waiting again
        except (HostRefused, DeviceRevoked, KeyError, ValueError):
            pass  # no binding; `resolve` says why the host could not be asked (a revoked device, ...)
        return None

    # --- rules and identity ---------------------------------------------------------------------------

    def rules(self) -> Rules:
        """The verified bundle from provisioning, or the shipped defaults when none was pulled."""
        from yoshin.domain.bundle import Rules, load_rules
        from yoshin.domain.catalogue import default_catalogue
        from yoshin.domain.templates import default_templates

        if self._rules is None:
            bundle = self.core.rules_bundle()  # verified against the template key where the key is
            self._rules = load_rules(bundle) if bundle else Rules(default_catalogue(), default_templates())
        return self._rules

    def resolve(self, face: FaceRead) -> api.IdentityAnswer | None:
        """The host's answer for this card, or None when the host cannot be reached (offline)."""
        from yoshin.device.errors import HostUnreachable
        from yoshin.device.visit import identity_body
        from yoshin.protocol import api

        if self._host_unreachable and face.binding is None:
            return None  # the challenge for this very read found no host a moment ago
        try:
            answer = self.core.identify(identity_body(face))  # sealed for the host by the agent
        except HostUnreachable:
            return None
        try:
            return api.IdentityAnswer.from_json(answer)
        except ValueError:  # an answer this kiosk cannot read: continue as offline; the host resolves the claim
            return None

    def clinic(self) -> Clinic:
        from yoshin.device.visit import Clinic

        identity = self.core.device_identity()
        return Clinic(identity["municipality_code"], identity["clinic_code"], self.core.place())

    # --- the queue and the day's pending visits ---------------------------------------------------------

    def submit(self, kind: str, record: dict[str, Any]) -> str:
        return self.core.submit(kind, record)

    def keep_pending(self, visit: PendingVisit) -> None:
        """Keep a visit for the staff screens, under today's day key (destroyed at day end)."""
        self.core.pending_put(visit.visit_id, visit.to_json())

    def pending_visits(self) -> list[PendingVisit]:
        from yoshin.device.visit import PendingVisit

        return [PendingVisit.from_json(visit) for _, visit in self.core.pending_list() if "done" not in visit]

    def finish_pending(self, visit: PendingVisit, outcome: str, at: datetime) -> None:
        """Replace a finished visit by its summary for the day's 完了 list: the name, vaccine, dose, outcome
        and time only (no answers, no birth date); destroyed at day end with the rest."""
        from yoshin.tui.staff_view import done_summary

        self.core.pending_put(visit.visit_id, {"done": done_summary(visit, outcome, at)})

    def done_visits(self) -> list[DoneVisit]:
        from yoshin.tui.staff_view import DoneVisit

        return [DoneVisit.from_json(visit["done"]) for _, visit in self.core.pending_list() if "done" in visit]

    def sealed_today(self, subject_id: str) -> list[api.HistoryItem]:
        """The doses this appliance sealed today for this subject, from the day's 完了 list (the host's
        history came with the identity read and lacks them until the outbox drains)."""
        from yoshin.domain.clock import today
        from yoshin.protocol.api import HistoryItem
        from yoshin.tui.staff_view import Outcome

        return [
            HistoryItem(done.vaccine_code, done.dose_number, today(done.done_at))
            for done in self.done_visits()
            if done.outcome is Outcome.VACCINATED and subject_id and done.subject_id == subject_id
        ]

    def host_history(self, subject_id: str, proof: str | None) -> api.HistoryAnswer:
        """The resident's current history at the host, for the vaccination entry (`visit.history_at_entry`)."""
        from yoshin.protocol.api import HistoryAnswer

        return HistoryAnswer.from_json(self.core.history(subject_id, proof))

    def card_today(self, face: FaceRead, subject_id: str | None = None) -> list[str]:
        """This card's subject ids on this appliance today (`PendingVisits.card_today`, under the day key)."""
        raw = face.raw
        efs = [base64.b64encode(ef).decode() for ef in (raw.my_number, raw.basic_info, raw.signature)]
        return self.core.card_today(efs, subject_id)

    def complete_pending(self, visit_id: str) -> None:
        self.core.pending_complete(visit_id)

    # --- reception (control 4): slots in the pending store, the municipality's policy ---------------------

    def open_reception(self, slot: ReceptionSlot) -> str:
        return self.core.open_reception(slot.to_json())

    def take_reception(self) -> ReceptionSlot | None:
        """The oldest open slot, taken by this card visit (no other visit can take it too)."""
        from yoshin.device.visit import ReceptionSlot

        slot = self.core.take_reception()
        return ReceptionSlot.from_json(slot) if slot is not None else None

    def reception_slots(self) -> list[tuple[str, ReceptionSlot]]:
        from yoshin.device.visit import ReceptionSlot

        return [(slot_id, ReceptionSlot.from_json(slot)) for slot_id, slot in self.core.receptions()]

    def cancel_reception(self, slot_id: str) -> bool:
        return self.core.cancel_reception(slot_id)

    def reception_required(self) -> bool:
        """Whether the municipality requires reception's check before the card step (`LocalCore`)."""
        return self.core.reception_required()

    def staff_list_revision(self) -> str:
        """Changes whenever what the staff list shows changes: the pending store (visits, reception slots),
        the staff calls and the outbox's counts. Cheap (nothing decrypted): the staff app polls it."""
        stored = self.core.pending_revision()
        calls = ",".join(call.call_id for call in self.staff_calls().pending())
        queue = self.queue_status()
        return f"{stored}|{calls}|{queue.depth}|{queue.dead_letters}|{queue.alarm}"

    def queue_status(self) -> QueueStatus:
        from yoshin.device.outbox import QueueStatus

        return QueueStatus(**self.core.queue_status())

    def device_status(self) -> DeviceStatus:
        return self.appliance.status()

    # --- staff --------------------------------------------------------------------------------------

    def staff_login(self, staff_id: str, password: str | None, card_pin: str | None = None) -> StaffSession:
        """The host checks the credentials (lockout, one session per ID). With a password: the password, and
        the staff member's own card when one is registered (`card_pin` given). Without a password: the card
        alone, which signs a host challenge (JPKI user auth, a card and its PIN: two factors). Raises a
        BilingualError."""
        from yoshin.device.visit import StaffMember
        from yoshin.protocol import api

        body: dict[str, Any] = {"staff_id": staff_id}
        if card_pin:
            body |= self._card_proof(card_pin)
        if password is None:
            answer = self.core.host_call("POST", api.STAFF_LOGIN_CARD, body)
        else:
            answer = self.core.host_call("POST", api.STAFF_LOGIN, body | {"password": password})
        member = StaffMember(answer["staff_id"], answer["name"], answer["role"])
        return StaffSession(member, answer["token"], answer.get("attestation"))

    def _card_proof(self, card_pin: str) -> dict[str, str]:
        """The card on the reader signs a fresh host challenge with its JPKI auth key."""
        from yoshin.protocol import api
        from yoshin.smartcard.card import open_card

        challenge = self.core.host_call("POST", api.JPKI_CHALLENGE)
        with self._card_lock, open_card(self.reader_name()) as card:
            auth = card.jpki_authenticate(card_pin, bytes.fromhex(challenge["challenge"]))
        return {
            "challenge_id": challenge["challenge_id"],
            "certificate": base64.b64encode(auth.certificate).decode(),
            "signature": base64.b64encode(auth.signature).decode(),
        }

    def staff_logout(self, session: StaffSession) -> None:
        from yoshin.device.errors import HostUnreachable
        from yoshin.protocol import api

        with contextlib.suppress(HostUnreachable):  # the host expires the session by itself
            self.core.host_call("POST", api.STAFF_LOGOUT, {"token": session.token})

    def attest(self, staff_id: str, password: str | None = None, card_pin: str | None = None) -> Attestation:
        """The second person's own password, or their own card and PIN, checked by the host for the double
        check (ダブルチェック) without logging anyone in or out (POST /staff/attest)."""
        from yoshin.device.errors import HostRefused
        from yoshin.device.visit import StaffMember
        from yoshin.protocol import api

        body: dict[str, Any] = {"staff_id": staff_id}
        body |= self._card_proof(card_pin) if card_pin else {"password": password or ""}
        try:
            answer = self.core.host_call("POST", api.STAFF_ATTEST, body)
        except HostRefused as refused:
            if refused.status != 404 or card_pin:
                raise
            # A host without /staff/attest yet (seam 5 is being built): the old login-and-logout check.
            session = self.staff_login(staff_id, password or "")
            self.staff_logout(session)
            return Attestation(session.member, session.attestation)
        return Attestation(StaffMember(answer["staff_id"], answer["name"], answer["role"]), answer["attestation"])

    # --- staff calls (職員を呼ぶ) ----------------------------------------------------------------------

    def staff_calls(self) -> StaffCalls:
        from yoshin.device.staff_calls import StaffCalls

        return StaffCalls(self.appliance.data_dir)

    # --- 職員を呼ぶ (seam 6) ---------------------------------------------------------------------------

    def call_staff(self, screen: str) -> str:
        """A resident asks for help: the call (the screen's name and the time, nothing personal) goes to the
        staff app's list, and the I/O board's attention light comes on when a board is connected."""
        from yoshin.device.ioboard import IOBoardError

        call_id = self.core.raise_staff_call(screen)
        if self.board is not None:
            with contextlib.suppress(IOBoardError):
                self.board.led("attention")
        return call_id

    # --- I/O board (optional) -------------------------------------------------------------------------

    def beep(self, pattern: str) -> None:
        """Sound through the I/O board when one is connected; a missing board is not an error here."""
        from yoshin.device.ioboard import IOBoardError

        if self.board is not None:
            with contextlib.suppress(IOBoardError):
                self.board.beep(pattern)

    def temperature(self) -> float | None:
        """The forehead thermometer's reading, when a board is connected, for the questionnaire to prefill."""
        from yoshin.device.ioboard import IOBoardError

        if self.board is None:
            return None
        try:
            return round(self.board.temperature(), 1)
        except IOBoardError:
            return None

    def read_scan(self, timeout: float) -> bytes | None:
        """One raw line from the serial GS1 scanner, or None (no scanner, or nothing scanned in time)."""
        return self.scanner.read_line(timeout) if self.scanner is not None else None

    def board_status(self) -> BoardStatus | None:
        return self.board.status if self.board is not None else None

    def identity(self) -> dict[str, str]:
        return self.core.device_identity()
