# Firmware logic tests: plain `def test_*` functions that run under pytest (CPython) and under the
# MicroPython unix port via firmware_tests/mp_runner.py. Keep this file MicroPython-compatible.
import os
import random

import app
import framing
import hal
import machine
import maintlog
import patterns

import protocol as P


class ManualBoard(hal.Board):
    """The real hal.Board on the strict fake machine, with a hand-driven clock."""

    def __init__(self):
        hal.Board.__init__(self, maint_flag="/nonexistent/maint.flag")
        self.now = 1000

    def ticks_ms(self):
        return self.now

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, a, b):
        return a + b

    def mem_alloc(self):
        try:
            import gc

            return gc.mem_alloc()
        except AttributeError:
            return 0

    def mem_free(self):
        return 0


def fresh(temp=36.6, tamper=0, sensor=True, log=None):
    machine.reset_state()
    state = {"temp": temp, "tamper": tamper}
    machine.set_input(hal.TAMPER_PIN, lambda: state["tamper"])
    if sensor:
        machine.add_i2c_device(0, 0x5A, machine.MLX90614(lambda: state["temp"]))
    b = ManualBoard()
    return b, app.App(b, log), state


def _log_path(tag):
    path = f"/tmp/yoshin-fw-{tag}-{random.getrandbits(30)}.log"
    for name in (path, path + ".1"):
        try:  # noqa: SIM105 (no contextlib in MicroPython)
            os.remove(name)
        except OSError:
            pass
    return path


def _lines(path):
    with open(path) as f:
        return f.read().splitlines()


def request(a, mtype, req_id, body=None):
    frames = a.receive(framing.encode_frame(P.pack(mtype, req_id, body)), a.board.now)
    assert len(frames) == 1
    return P.unpack(frames[0])


def test_crc_check_value():
    assert framing.crc32(b"123456789") == 0xCBF43926
    assert framing.crc32_py(b"123456789") == 0xCBF43926


def test_cobs_full_block_has_no_trailing_block():
    data = b"\x01" * 254
    enc = framing.cobs_encode(data)
    assert enc == b"\xff" + data
    assert framing.cobs_decode(enc) == data
    assert framing.cobs_encode(b"\x01" * 255) == b"\xff" + b"\x01" * 254 + b"\x02\x01"


def test_cobs_round_trip_and_no_zero():
    rnd = random.Random(7) if hasattr(random, "Random") else None
    for n in (0, 1, 2, 253, 254, 255, 508, 509, 600):
        for _ in range(3):
            if rnd:
                data = bytes(rnd.getrandbits(8) for _ in range(n))
            else:
                data = bytes(random.getrandbits(8) for _ in range(n))
            enc = framing.cobs_encode(data)
            assert 0 not in enc
            assert len(enc) <= n + 1 + n // 254 + 1
            assert framing.cobs_decode(enc) == data


def test_deframer_resyncs_after_garbage_and_counts_errors():
    d = framing.Deframer()
    good = framing.encode_frame(b"abc\x00\x03def")
    out = d.feed(b"\x07\x07\x07" + b"\x00" + good + good[:4])
    assert out == [b"abc\x00\x03def"]
    assert d.errors == 1
    # the half frame is completed by garbage: it is rejected, the next good frame passes
    assert d.feed(b"\x55\x00" + good) == [b"abc\x00\x03def"]
    assert d.errors == 2


def test_deframer_rejects_corrupt_crc_and_overlong():
    d = framing.Deframer(max_payload=16)
    bad = bytearray(framing.encode_frame(b"hello"))
    bad[2] ^= 0x01
    assert d.feed(bytes(bad)) == []
    assert d.feed(b"\x01" * 200 + b"\x00" + framing.encode_frame(b"ok!")) == [b"ok!"]
    assert d.errors == 2


def test_deframer_random_garbage_never_raises_then_resyncs():
    for seed in range(40):
        random.seed(seed)
        d = framing.Deframer()
        junk = bytes(random.getrandbits(8) for _ in range(random.getrandbits(9)))
        d.feed(junk)
        assert d.feed(b"\x00" + framing.encode_frame(b"sync")) == [b"sync"]


def test_truncated_frame_is_refused():
    # A code byte flipped to 0x00 cuts a frame at a block boundary; the rest has a matching CRC
    # (here: the empty payload, CRC 0xFFFF) but never the length it claims.
    d = framing.Deframer()
    assert d.feed(b"\x03\xff\xff\x00") == []
    payload = b"\x05\x00\x01\x00\x00"
    frame = framing.encode_frame(payload)
    cuts = 0
    i = frame[0]  # the first code byte sits at 0; cut the frame at every later one
    while i < len(frame) - 1:
        assert d.feed(frame[:i] + b"\x00") == []
        cuts += 1
        i += frame[i]
    assert cuts >= 3 and d.errors == 1 + cuts
    assert d.feed(frame) == [payload]


def test_encode_refuses_payload_shorter_than_a_header():
    for short in (b"", b"\x02", b"\x02\x00"):
        try:
            framing.encode_frame(short)
        except ValueError:
            continue
        raise AssertionError("short payload accepted")


def test_encode_refuses_oversized_payload():
    try:
        framing.encode_frame(b"x" * (framing.MAX_PAYLOAD + 1))
    except ValueError:
        return
    raise AssertionError("oversized payload accepted")


def test_hello_reports_identity_and_refuses_other_versions():
    _b, a, _ = fresh()
    t, rid, body = request(a, P.HELLO, 0x0103, {"proto": P.PROTO_VERSION})
    assert (t, rid) == (P.HELLO | P.REPLY, 0x0103)
    assert body["fw"] == app.FW_VERSION and body["uid"] == "e6613852832a112c"
    t, rid, body = request(a, P.HELLO, 9, {"proto": P.PROTO_VERSION + 1})
    assert (t, rid, body["code"]) == (P.ERROR, 9, "version")


def test_temperature_quantised_and_plausible():
    _b, a, _s = fresh(temp=37.9)
    t, _rid, body = request(a, P.TEMP, 5)
    assert t == P.TEMP | P.REPLY
    assert abs(body["celsius"] - 37.9) <= 0.02  # 0.02 K/LSB: 37.9 reads back as 37.89


def test_temperature_implausible_or_absent_is_an_error():
    _b, a, s = fresh(temp=28.0)
    assert request(a, P.TEMP, 1)[2]["code"] == "implausible"
    s["temp"] = 45.6
    assert request(a, P.TEMP, 2)[2]["code"] == "implausible"
    _b, a, s = fresh(sensor=False)
    t, rid, body = request(a, P.TEMP, 3)
    assert (t, rid, body["code"]) == (P.ERROR, 3, "sensor_absent")


def test_corrupt_sensor_checksum_refused():
    machine.reset_state()
    machine.add_i2c_device(0, 0x5A, machine.MLX90614(lambda: 36.6, corrupt_pec=True))
    b = ManualBoard()
    a = app.App(b)
    assert request(a, P.TEMP, 4)[2]["code"] == "sensor_pec"


def test_tamper_debounced_event_and_latch():
    b, a, s = fresh()
    s["tamper"] = 1
    assert a.poll(b.now) == []  # bounce window
    b.now += app.TAMPER_DEBOUNCE_MS
    ev = a.poll(b.now)
    assert len(ev) == 1
    t, seq, body = P.unpack(ev[0])
    assert (t, seq, body) == (P.EVENT, 1, {"event": "tamper", "open": True})
    assert a.led.name == "error"
    assert request(a, P.CLEAR_TAMPER, 6)[2]["code"] == "tamper_open"
    s["tamper"] = 0
    b.now += 1
    a.poll(b.now)
    b.now += app.TAMPER_DEBOUNCE_MS
    assert P.unpack(a.poll(b.now)[0])[2] == {"event": "tamper", "open": False}
    assert request(a, P.STATUS, 7)[2]["tamper"] is True  # latched until cleared
    request(a, P.CLEAR_TAMPER, 8)
    assert request(a, P.STATUS, 9)[2]["tamper"] is False


def test_maintenance_log_is_written_at_once_and_rotated():
    path = _log_path("log")
    try:
        log = maintlog.open_log(path, max_bytes=64)
        log.info("boot fw %s", "1.1.0")
        log.warning("tamper: enclosure %s", "opened")
        # On disk already: no flush is waited for (a reset may come at any moment).
        assert _lines(path) == ["INFO boot fw 1.1.0", "WARNING tamper: enclosure opened"]
        log.info("x" * 80)
        log = maintlog.open_log(path, max_bytes=64)  # next boot: over the limit, rotated
        log.info("boot again")
        assert _lines(path) == ["INFO boot again"]
        assert _lines(path + ".1")[0] == "INFO boot fw 1.1.0"
        assert len(maintlog.open_log(path).handlers) == 1  # reopening never doubles the lines
    finally:
        for name in (path, path + ".1"):
            try:  # noqa: SIM105 (no contextlib in MicroPython)
                os.remove(name)
            except OSError:
                pass


def test_tamper_and_refused_versions_reach_the_maintenance_log():
    path = _log_path("app")
    try:
        b, a, s = fresh(log=maintlog.open_log(path))
        s["tamper"] = 1
        a.poll(b.now)
        b.now += app.TAMPER_DEBOUNCE_MS
        a.poll(b.now)
        request(a, P.HELLO, 3, {"proto": P.PROTO_VERSION + 1})
        assert _lines(path) == [
            "WARNING tamper: enclosure opened",
            f"WARNING host speaks protocol {P.PROTO_VERSION + 1}, board {P.PROTO_VERSION}",
        ]
    finally:
        os.remove(path)


def test_short_tamper_glitch_is_ignored():
    b, a, s = fresh()
    s["tamper"] = 1
    a.poll(b.now)
    b.now += 5
    s["tamper"] = 0
    a.poll(b.now)
    b.now += 100
    assert a.poll(b.now) == []


def test_remove_card_reminder_repeats_until_stopped():
    b, a, _s = fresh()
    request(a, P.BEEP, 1, {"pattern": "remove_card"})
    seen = []
    for _ in range(800):
        b.now += 5
        a.poll(b.now)
        seen.append(machine._pwm[hal.BUZZER_PIN].duty_u16() > 0)
    rises = sum(1 for i in range(1, len(seen)) if seen[i] and not seen[i - 1])
    assert rises >= 3  # 4 s: two beeps per 2 s cycle, still going
    request(a, P.BEEP, 2, {"pattern": "off"})
    b.now += 5
    a.poll(b.now)
    assert machine._pwm[hal.BUZZER_PIN].duty_u16() == 0


def test_success_beep_stops_by_itself():
    b, a, _s = fresh()
    request(a, P.BEEP, 1, {"pattern": "success"})
    b.now += 10
    a.poll(b.now)
    assert machine._pwm[hal.BUZZER_PIN].duty_u16() > 0
    b.now += 500
    a.poll(b.now)
    assert machine._pwm[hal.BUZZER_PIN].duty_u16() == 0 and a.beep.name == "off"


def test_unknown_pattern_and_type_refused():
    _b, a, _s = fresh()
    assert request(a, P.LED, 1, {"pattern": "disco"})[2]["code"] == "bad_pattern"
    assert request(a, 0x33, 2)[2]["code"] == "unknown_type"
    assert request(a, P.LED, 3, {"pattern": "busy"})[2] == {"led": "busy"}


def test_host_silence_goes_offline_and_silences_buzzer():
    b, a, _s = fresh()
    request(a, P.BEEP, 1, {"pattern": "remove_card"})
    b.now += app.HOST_SILENCE_MS + 1
    a.poll(b.now)
    assert a.offline and a.led.name == "offline" and a.beep.name == "off"
    request(a, P.PING, 2)
    assert not a.offline and a.led.name == "idle"


def test_maint_needs_confirmation():
    _b, a, _s = fresh()
    assert request(a, P.MAINT, 1)[2]["code"] == "bad_request"
    assert not a.maint
    assert request(a, P.MAINT, 2, {"confirm": "MAINT"})[2] == {"maint": True}
    assert a.maint


def test_bad_json_body_answers_with_the_request_id():
    b, a, _s = fresh()
    frames = a.receive(framing.encode_frame(bytes((P.STATUS, 0, 42)) + b"{nope"), b.now)
    t, rid, body = P.unpack(frames[0])
    assert (t, rid, body["code"]) == (P.ERROR, 42, "bad_request")


def test_fake_wdt_is_rp2040_strict():
    machine.reset_state()
    try:
        machine.WDT(timeout=8389)
    except ValueError:
        pass
    else:
        raise AssertionError("WDT accepted a timeout above 8388 ms")
    assert machine.WDT(timeout=hal.WDT_TIMEOUT_MS).timeout == hal.WDT_TIMEOUT_MS


def test_fake_i2c_absent_device_is_enodev():
    machine.reset_state()
    i2c = machine.I2C(0, scl=machine.Pin(5), sda=machine.Pin(4))
    try:
        i2c.readfrom_mem(0x5A, 0x07, 3)
    except OSError as e:
        assert e.args[0] == machine.ENODEV
    else:
        raise AssertionError("absent device answered")


def test_led_player_timing():
    p = patterns.Player(lambda a, b: a - b, lambda a, b: a + b)
    p.play("busy", patterns.LED_PATTERNS["busy"], True, 0)
    assert p.tick(10) and not p.tick(160) and p.tick(310) and not p.tick(460)
