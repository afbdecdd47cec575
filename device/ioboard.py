"""Host driver for the yoshin I/O board over USB CDC serial (pyserial).

One background thread owns the port: it finds the board (VID:PID 2E8A:0005 + serial number, or a
fixed path), opens it exclusively, runs the version handshake, routes replies to waiting requests by
request id and pushed events to a callback, and after an unplug closes, backs off (0.5 s -> 5 s),
rescans and reconnects. The kiosk reads `status` (bilingual, never a traceback).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import serial
import serial.tools.list_ports

from yoshin.device.framing import Deframer, encode_frame
from yoshin.domain.i18n import Bilingual, BilingualError

VID, PID = 0x2E8A, 0x0005
PROTO_VERSION = 2
HELLO, PING, STATUS, LED, BEEP, TEMP, MAINT, CLEAR_TAMPER = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08
EVENT, REPLY, ERROR = 0x40, 0x80, 0xFF
LED_PATTERNS = ("off", "idle", "busy", "attention", "error", "offline")
BEEP_PATTERNS = ("off", "success", "error", "remove_card")

DISCONNECTED = Bilingual("I/Oボードが接続されていません", "I/O board disconnected")
CONNECTED = Bilingual("I/Oボード接続中", "I/O board connected")
INCOMPATIBLE = Bilingual(
    "I/Oボードのファームウェアが対応していません。技術者に連絡してください",
    "I/O board firmware is incompatible; call the technician",
)

# Board error codes -> what a person reads.
BOARD_ERRORS: dict[str, Bilingual] = {
    "implausible": Bilingual(
        "体温の測定値が不自然です。測り直すか、職員が確認してください",
        "Implausible temperature reading; measure again or have staff check",
    ),
    "sensor_absent": Bilingual("体温計が応答しません", "The thermometer does not respond"),
    "sensor_pec": Bilingual(
        "体温計のデータが壊れています。測り直してください", "Corrupt thermometer data; measure again"
    ),
    "sensor_io": Bilingual(
        "体温計のデータが壊れています。測り直してください", "Corrupt thermometer data; measure again"
    ),
    "sensor_flag": Bilingual("体温計が異常を報告しています", "The thermometer reports a fault"),
    "tamper_open": Bilingual("筐体が開いたままです", "The enclosure is still open"),
    "version": INCOMPATIBLE,
}


class IOBoardError(BilingualError):
    """The board could not do what was asked (disconnected, timed out, refused)."""

    def __init__(self, message: Bilingual, code: str = "error") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class BoardStatus:
    """What the kiosk shows about the board; safe to display as is."""

    connected: bool
    message: Bilingual
    firmware: str | None = None
    uid: str | None = None
    tamper: bool = False
    reconnects: int = 0
    detail: str = ""


@dataclass(frozen=True)
class BoardEvent:
    seq: int
    body: dict


def find_port(serial_number: str | None = None, vid: int = VID, pid: int = PID) -> str | None:
    """The device path of the board with this USB serial number (any board when None)."""
    for p in serial.tools.list_ports.comports():
        if p.vid == vid and p.pid == pid and (serial_number is None or p.serial_number == serial_number):
            return p.device
    return None


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    reply: tuple[int, dict] | None = None


class IOBoard:
    """Connection manager; `start()` it, then call the request methods from any thread."""

    def __init__(
        self,
        port: str | None = None,
        serial_number: str | None = None,
        on_event: Callable[[BoardEvent], None] | None = None,
        request_timeout: float = 0.5,
        retries: int = 2,
        backoff: tuple[float, float] = (0.5, 5.0),
        heartbeat: float = 1.0,
    ) -> None:
        self.port = port
        self.serial_number = serial_number
        self.on_event = on_event
        self.request_timeout = request_timeout
        self.retries = retries
        self.backoff = backoff
        self.heartbeat = heartbeat
        self._ser: serial.Serial | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status = BoardStatus(False, DISCONNECTED)
        self.events: list[BoardEvent] = []

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> IOBoard:
        self._thread = threading.Thread(target=self._run, name="ioboard", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._drop()

    def __enter__(self) -> IOBoard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def status(self) -> BoardStatus:
        return self._status

    def _set_status(self, status: BoardStatus) -> None:
        with self._cond:
            self._status = status
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[IOBoard], bool], timeout: float) -> bool:
        """Block until `predicate(self)` holds (re-checked on every status change or event)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.2))
            return True

    # --- connection thread -------------------------------------------------------------------
    def _run(self) -> None:
        delay = self.backoff[0]
        reconnects = -1
        while not self._stop.is_set():
            try:
                self._open_and_handshake()
            except (serial.SerialException, OSError, IOBoardError) as e:
                self._drop()
                msg = e.message if isinstance(e, IOBoardError) and e.code == "version" else DISCONNECTED
                self._set_status(BoardStatus(False, msg, reconnects=max(reconnects, 0), detail=str(e)))
                self._stop.wait(delay)
                delay = min(delay * 2, self.backoff[1])
                continue
            reconnects += 1
            delay = self.backoff[0]
            self._set_status(replace(self._status, reconnects=reconnects))
            try:
                self._read_loop()
            except (serial.SerialException, OSError) as e:
                self._drop()
                self._set_status(BoardStatus(False, DISCONNECTED, reconnects=reconnects, detail=str(e)))
                self._stop.wait(delay)

    def _open_and_handshake(self) -> None:
        port = self.port or find_port(self.serial_number)
        if port is None:
            raise IOBoardError(DISCONNECTED, "absent")
        ser = serial.Serial(port, 115200, timeout=0.05, write_timeout=1, exclusive=True)
        self._ser = ser
        self._reader_deframer = Deframer()
        ser.write(b"\x00")  # ends any half frame the board holds
        # The reader loop is not running yet: read the HELLO reply inline.
        req_id = self._next_id()
        ser.write(encode_frame(_pack(HELLO, req_id, {"proto": PROTO_VERSION})))
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            for payload in self._reader_deframer.feed(ser.read(256)):
                try:
                    mtype, rid, body = _unpack(payload)
                except ValueError:
                    continue
                if rid != req_id or mtype == EVENT:
                    continue
                if mtype == ERROR:
                    code = str(body.get("code", "error"))
                    raise IOBoardError(BOARD_ERRORS.get(code, INCOMPATIBLE), code)
                if body.get("proto") != PROTO_VERSION:
                    raise IOBoardError(INCOMPATIBLE, "version")
                self._set_status(
                    BoardStatus(
                        True, CONNECTED, firmware=body.get("fw"), uid=body.get("uid"), tamper=body.get("tamper", False)
                    )
                )
                if body.get("tamper"):
                    # Tamper latched while we were away: report it like a live event.
                    self._deliver(BoardEvent(0, {"event": "tamper", "open": True, "latched": True}))
                return
        raise IOBoardError(DISCONNECTED, "no handshake reply")

    def _read_loop(self) -> None:
        assert self._ser is not None
        last_tx = time.monotonic()
        while not self._stop.is_set():
            chunk = self._ser.read(max(1, self._ser.in_waiting))
            for payload in self._reader_deframer.feed(chunk):
                self._dispatch(payload)
            if time.monotonic() - last_tx > self.heartbeat:
                # Keeps the board from going "offline"; a dead link shows up as a write error.
                self._send(PING, self._next_id(), None)
                last_tx = time.monotonic()

    def _dispatch(self, payload: bytes) -> None:
        try:
            mtype, rid, body = _unpack(payload)
        except ValueError:
            return
        if mtype == EVENT:
            if body.get("event") == "tamper" and body.get("open"):
                self._set_status(replace(self._status, tamper=True))
            self._deliver(BoardEvent(rid, body))
            return
        with self._lock:
            p = self._pending.get(rid)
        if p is not None:
            p.reply = (mtype, body)
            p.done.set()

    def _deliver(self, ev: BoardEvent) -> None:
        with self._cond:
            self.events.append(ev)
            self._cond.notify_all()
        if self.on_event:
            self.on_event(ev)

    def _drop(self) -> None:
        ser, self._ser = self._ser, None
        if ser is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                ser.close()

    def _next_id(self) -> int:
        return next(self._ids) % 0xFFFF + 1

    def _send(self, mtype: int, req_id: int, body: dict | None) -> None:
        ser = self._ser
        if ser is None:
            raise IOBoardError(DISCONNECTED, "disconnected")
        with self._write_lock:
            ser.write(encode_frame(_pack(mtype, req_id, body)))

    # --- requests ----------------------------------------------------------------------------
    def request(self, mtype: int, body: dict | None = None) -> dict:
        """Send one (idempotent) command and wait for its reply; retried on timeout."""
        if not self._status.connected:
            raise IOBoardError(DISCONNECTED, "disconnected")
        for _attempt in range(self.retries + 1):
            req_id = self._next_id()
            p = _Pending()
            with self._lock:
                self._pending[req_id] = p
            try:
                try:
                    self._send(mtype, req_id, body)
                except (serial.SerialException, OSError) as e:
                    raise IOBoardError(DISCONNECTED, "disconnected") from e
                if p.done.wait(self.request_timeout):
                    assert p.reply is not None
                    rtype, rbody = p.reply
                    if rtype == ERROR:
                        code = str(rbody.get("code", "error"))
                        msg = BOARD_ERRORS.get(
                            code, Bilingual("I/Oボードがエラーを返しました", "The I/O board reported an error")
                        )
                        raise IOBoardError(msg, code)
                    return rbody
            finally:
                with self._lock:
                    self._pending.pop(req_id, None)
        raise IOBoardError(Bilingual("I/Oボードが応答しません", "The I/O board does not answer"), "timeout")

    def ping(self) -> dict:
        return self.request(PING)

    def board_status(self) -> dict:
        return self.request(STATUS)

    def led(self, pattern: str) -> None:
        self.request(LED, {"pattern": pattern})

    def beep(self, pattern: str) -> None:
        self.request(BEEP, {"pattern": pattern})

    def temperature(self) -> float:
        """Object temperature in Celsius, already checked for plausibility by the board."""
        return float(self.request(TEMP)["celsius"])

    def clear_tamper(self) -> None:
        self.request(CLEAR_TAMPER)
        self._set_status(replace(self._status, tamper=False))

    def maintenance(self) -> None:
        """Ask the board to reboot into its maintenance REPL (Ctrl-C enabled) for mpremote."""
        self.request(MAINT, {"confirm": "MAINT"})


def _pack(mtype: int, req_id: int, body: dict | None) -> bytes:
    data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    return bytes((mtype,)) + req_id.to_bytes(2, "big") + data


def _unpack(payload: bytes) -> tuple[int, int, dict]:
    if len(payload) < 3:
        raise ValueError("short payload")
    body = json.loads(payload[3:]) if len(payload) > 3 else {}
    if not isinstance(body, dict):
        raise ValueError("body is not an object")
    return payload[0], int.from_bytes(payload[1:3], "big"), body
