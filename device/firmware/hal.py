# The thin board layer: every access to `machine` lives here. Pin numbers are the yoshin I/O board's.
import gc
import sys
import time

import machine

try:
    import select
except ImportError:  # pragma: no cover
    import uselect as select

LED_PIN = 25
BUZZER_PIN = 15
TAMPER_PIN = 14  # switch to GND while the lid is closed; pulled up, so 1 = open
I2C_ID = 0
I2C_SCL = 5
I2C_SDA = 4
WDT_TIMEOUT_MS = 5000  # RP2040 accepts at most 8388 ms
MAINT_FLAG = "maint.flag"
LOG_FILE = "maint.log"


class StdioLink:
    """USB CDC data port = the REPL's stdin/stdout, always in binary (.buffer) mode."""

    def __init__(self):
        self.inp = sys.stdin.buffer
        self.out = sys.stdout.buffer
        self.poller = select.poll()
        self.poller.register(sys.stdin, select.POLLIN)

    def read(self, timeout_ms):
        # Returns b"" on timeout, None when the port is gone. Reads one byte per wakeup:
        # a larger read blocks until that many bytes arrive.
        ev = self.poller.poll(timeout_ms)
        if not ev:
            return b""
        flags = ev[0][1]
        b = self.inp.read(1)
        if not b:
            if flags & (select.POLLHUP | select.POLLERR):
                return None
            return None
        return b

    def write(self, data):
        self.out.write(data)


class Board:
    def __init__(self, maint_flag=None, log_file=None):
        self.maint_flag = maint_flag or MAINT_FLAG
        self.log_file = log_file or LOG_FILE
        self._led = machine.Pin(LED_PIN, machine.Pin.OUT, value=0)
        self._buzzer = machine.PWM(machine.Pin(BUZZER_PIN))
        self._buzzer.duty_u16(0)
        self._tamper = machine.Pin(TAMPER_PIN, machine.Pin.IN, machine.Pin.PULL_UP)
        self._i2c = machine.I2C(I2C_ID, scl=machine.Pin(I2C_SCL), sda=machine.Pin(I2C_SDA), freq=100000)
        self._wdt = None

    def start_watchdog(self):
        self._wdt = machine.WDT(timeout=WDT_TIMEOUT_MS)

    def feed(self):
        if self._wdt is not None:
            self._wdt.feed()

    def led(self, on):
        self._led.value(1 if on else 0)

    def buzzer(self, freq):
        if freq:
            self._buzzer.freq(freq)
            self._buzzer.duty_u16(32768)
        else:
            self._buzzer.duty_u16(0)

    def tamper_open(self):
        return self._tamper.value() == 1

    def read_sensor(self, addr, reg, n):
        return self._i2c.readfrom_mem(addr, reg, n)

    def uid(self):
        return "".join("%02x" % b for b in machine.unique_id())

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def ticks_add(self, a, b):
        return time.ticks_add(a, b)

    def mem_alloc(self):
        return gc.mem_alloc()

    def mem_free(self):
        return gc.mem_free()

    def collect(self):
        gc.collect()

    def link(self):
        return StdioLink()

    def set_maint_flag(self):
        with open(self.maint_flag, "w") as f:
            f.write("1")

    def take_maint_flag(self):
        try:
            import os

            os.remove(self.maint_flag)
            return True
        except OSError:
            return False

    def reset(self):
        machine.reset()
