# Board application logic. It only talks to a `board` object (hal.Board on the RP2040, a fake in
# tests), so it runs unchanged under MicroPython and CPython.
import framing
import maintlog
import patterns
import protocol as P

FW_VERSION = "1.1.0"
BOARD_NAME = "yoshin-io"
TEMP_MIN_C = 30.0
TEMP_MAX_C = 45.0
MLX_ADDR = 0x5A
MLX_TOBJ1 = 0x07
HOST_SILENCE_MS = 5000
GC_EVERY_MS = 1000  # a collection per second keeps GC pauses short and samples the live heap
TAMPER_DEBOUNCE_MS = 30


def crc8_smbus(data):
    # SMBus PEC: CRC-8, poly 0x07, init 0
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


class BoardError(Exception):
    def __init__(self, code, detail):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def mlx_celsius(raw3, addr=MLX_ADDR, reg=MLX_TOBJ1):
    """Convert an MLX90614 RAM read (lo, hi, PEC) to Celsius, refusing bad or implausible data."""
    if raw3 is None or len(raw3) != 3:
        raise BoardError("sensor_io", "short read from thermometer")
    lo, hi, pec = raw3[0], raw3[1], raw3[2]
    if crc8_smbus(bytes((addr << 1, reg, (addr << 1) | 1, lo, hi))) != pec:
        raise BoardError("sensor_pec", "thermometer checksum mismatch")
    raw = (hi << 8) | lo
    if raw & 0x8000:
        raise BoardError("sensor_flag", "thermometer reports an error")
    c = raw * 0.02 - 273.15
    if c < TEMP_MIN_C or c > TEMP_MAX_C:
        raise BoardError("implausible", "object temperature %.2f C outside %.0f-%.0f C" % (c, TEMP_MIN_C, TEMP_MAX_C))
    return round(c, 2)


class App:
    def __init__(self, board, log=None):
        self.board = board
        self.log = log or maintlog.NULL
        now = board.ticks_ms()
        self.led = patterns.Player(board.ticks_diff, board.ticks_add)
        self.beep = patterns.Player(board.ticks_diff, board.ticks_add)
        self.deframer = framing.Deframer()
        self.event_seq = 0
        self.tamper_open = bool(board.tamper_open())
        self.tamper_latched = self.tamper_open
        self._tamper_raw = self.tamper_open
        self._tamper_since = now
        self.last_rx = now
        self.host_seen = False
        self.offline = False
        self.maint = False
        self.heap_peak = 0
        self._last_gc = now
        self.sample_heap()
        self.started = now
        self.set_led("idle")
        self._led_on = None
        self._beep_on = None

    # --- outputs ---------------------------------------------------------------------------
    def set_led(self, name):
        self.led.play(name, patterns.LED_PATTERNS[name], patterns.LED_REPEAT[name], self.board.ticks_ms())

    def set_beep(self, name):
        self.beep.play(name, patterns.BEEP_PATTERNS[name], patterns.BEEP_REPEAT[name], self.board.ticks_ms())

    def _drive_outputs(self, now):
        on = self.led.tick(now)
        if on != self._led_on:
            self.board.led(on)
            self._led_on = on
        b = self.beep.tick(now)
        if b != self._beep_on:
            self.board.buzzer(patterns.BEEP_FREQ.get(self.beep.name, 0) if b else 0)
            self._beep_on = b

    # --- requests --------------------------------------------------------------------------
    def identity(self):
        return {
            "proto": P.PROTO_VERSION,
            "fw": FW_VERSION,
            "board": BOARD_NAME,
            "uid": self.board.uid(),
            "tamper": self.tamper_latched,
        }

    def sample_heap(self):
        # Live heap after a collection: mem_alloc() between collections counts garbage too.
        self.board.collect()
        used = self.board.mem_alloc()
        if used > self.heap_peak:
            self.heap_peak = used

    def status(self):
        self.sample_heap()
        d = self.identity()
        d.update(
            {
                "tamper_open": self.tamper_open,
                "led": self.led.name,
                "beep": self.beep.name,
                "heap_free": self.board.mem_free(),
                "heap_peak": self.heap_peak,
                "frame_errors": self.deframer.errors,
                "uptime_ms": self.board.ticks_diff(self.board.ticks_ms(), self.started),
                "event_seq": self.event_seq,
            }
        )
        return d

    def handle(self, payload):
        """One request payload in, one response payload out (or None when it cannot be answered)."""
        try:
            mtype, req_id, body = P.unpack(payload)
        except P.ProtocolError as e:
            if len(payload) >= 3:
                return P.pack(P.ERROR, (payload[1] << 8) | payload[2], {"code": "bad_request", "detail": str(e)})
            return None
        if body is None:
            body = {}
        try:
            reply = self._dispatch(mtype, body)
        except BoardError as e:
            return P.pack(P.ERROR, req_id, {"code": e.code, "detail": e.detail})
        return P.pack(mtype | P.REPLY, req_id, reply)

    def _dispatch(self, mtype, body):
        if mtype == P.HELLO:
            proto = body.get("proto")
            if proto != P.PROTO_VERSION:
                self.log.warning("host speaks protocol %s, board %d", proto, P.PROTO_VERSION)
                raise BoardError("version", "protocol %s not supported (board speaks %d)" % (proto, P.PROTO_VERSION))
            return self.identity()
        if mtype == P.PING:
            return {}
        if mtype == P.STATUS:
            return self.status()
        if mtype == P.LED:
            name = body.get("pattern")
            if name not in patterns.LED_PATTERNS:
                raise BoardError("bad_pattern", "unknown LED pattern")
            self.set_led(name)
            return {"led": name}
        if mtype == P.BEEP:
            name = body.get("pattern")
            if name not in patterns.BEEP_PATTERNS:
                raise BoardError("bad_pattern", "unknown buzzer pattern")
            self.set_beep(name)
            return {"beep": name}
        if mtype == P.TEMP:
            try:
                raw = self.board.read_sensor(MLX_ADDR, MLX_TOBJ1, 3)
            except OSError:
                raise BoardError("sensor_absent", "thermometer does not answer on I2C")
            return {"celsius": mlx_celsius(raw)}
        if mtype == P.CLEAR_TAMPER:
            if self.tamper_open:
                raise BoardError("tamper_open", "enclosure is still open")
            self.tamper_latched = False
            self.log.info("tamper latch cleared")
            return {"tamper": False}
        if mtype == P.MAINT:
            if body.get("confirm") != "MAINT":
                raise BoardError("bad_request", "MAINT needs confirm=MAINT")
            self.maint = True
            return {"maint": True}
        raise BoardError("unknown_type", "unknown message type %d" % mtype)

    # --- periodic work ---------------------------------------------------------------------
    def event(self, body):
        self.event_seq = (self.event_seq + 1) & 0xFFFF
        return P.pack(P.EVENT, self.event_seq, body)

    def poll(self, now):
        """Periodic checks; returns a list of event payloads to push."""
        out = []
        raw = bool(self.board.tamper_open())
        if raw != self._tamper_raw:
            self._tamper_raw = raw
            self._tamper_since = now
        elif raw != self.tamper_open and self.board.ticks_diff(now, self._tamper_since) >= TAMPER_DEBOUNCE_MS:
            self.tamper_open = raw
            if raw:
                self.tamper_latched = True
                self.set_led("error")
            self.log.warning("tamper: enclosure %s", "opened" if raw else "closed")
            out.append(self.event({"event": "tamper", "open": raw}))
        if self.host_seen and not self.offline and self.board.ticks_diff(now, self.last_rx) > HOST_SILENCE_MS:
            # Host gone quiet: show offline and never leave the buzzer sounding.
            self.offline = True
            self.set_led("offline")
            self.set_beep("off")
        self._drive_outputs(now)
        if self.board.ticks_diff(now, self._last_gc) >= GC_EVERY_MS:
            self._last_gc = now
            self.sample_heap()
        return out

    def receive(self, data, now):
        """Bytes from the host in, response payloads out."""
        out = []
        for payload in self.deframer.feed(data):
            self.last_rx = now
            self.host_seen = True
            if self.offline:
                self.offline = False
                self.set_led("idle")
            r = self.handle(payload)
            if r is not None:
                out.append(r)
        return out

    def run(self, link):
        """Main loop: one byte per wakeup (stdin reads block until n bytes), WDT fed every pass."""
        board = self.board
        while not self.maint:
            board.feed()
            data = link.read(10)
            if data is None:
                break  # the link closed (only happens off-board, e.g. the simulator's pty)
            now = board.ticks_ms()
            for p in self.receive(data, now) + self.poll(now):
                link.write(framing.encode_frame(p))
        board.buzzer(0)
