# A fake `machine` module as strict as the RP2040 port, for MicroPython (unix) and CPython.
# Earlier on MICROPYPATH / sys.path than the built-in, it shadows it.
import time

try:
    _ticks = time.ticks_ms
    _diff = time.ticks_diff
except AttributeError:  # CPython

    def _ticks():
        return int(time.monotonic() * 1000)

    def _diff(a, b):
        return a - b


ENODEV = 19
WDT_MAX_MS = 8388  # RP2040 limit (RP2350: 16777)

_inputs = {}  # pin id -> int or callable returning int
_outputs = {}  # pin id -> last value written
_i2c_devices = {}  # (bus, addr) -> device with readfrom_mem(reg, n)
_pwm = {}  # pin id -> PWM
_resets = [0]
_wdt = []
_UID = b"\xe6\x61\x38\x52\x83\x2a\x11\x2c"


def set_input(pin_id, value):
    _inputs[pin_id] = value


def add_i2c_device(bus, addr, dev):
    _i2c_devices[(bus, addr)] = dev


def reset_state():
    _inputs.clear()
    _outputs.clear()
    _i2c_devices.clear()
    _pwm.clear()
    del _wdt[:]
    _resets[0] = 0


def _pin_id(pin):
    if isinstance(pin, Pin):
        return pin.id
    if not isinstance(pin, int) or pin < 0 or pin > 29:
        raise ValueError("invalid pin")
    return pin


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        if not isinstance(id, int) or id < 0 or id > 29:
            raise ValueError("invalid pin")
        self.id = id
        self.mode = mode
        self.pull = pull
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            if self.mode == Pin.OUT:
                return _outputs.get(self.id, 0)
            src = _inputs.get(self.id)
            if src is None:
                return 1 if self.pull == Pin.PULL_UP else 0
            return int(src()) if callable(src) else int(src)
        if self.mode != Pin.OUT:
            raise ValueError("pin is not an output")
        _outputs[self.id] = 1 if v else 0

    def __call__(self, v=None):
        return self.value(v)


class PWM:
    def __init__(self, pin, freq=None, duty_u16=None):
        self.pin = _pin_id(pin)
        self._freq = 1000
        self._duty = 0
        _pwm[self.pin] = self
        if freq is not None:
            self.freq(freq)
        if duty_u16 is not None:
            self.duty_u16(duty_u16)

    def freq(self, f=None):
        if f is None:
            return self._freq
        if f < 8 or f > 62500000:
            raise ValueError("freq out of range")
        self._freq = f

    def duty_u16(self, d=None):
        if d is None:
            return self._duty
        if d < 0 or d > 65535:
            raise ValueError("duty out of range")
        self._duty = d

    def deinit(self):
        self._duty = 0


class I2C:
    def __init__(self, id, scl=None, sda=None, freq=400000):
        if id not in (0, 1):
            raise ValueError("I2C(%s) doesn't exist" % id)
        if freq <= 0 or freq > 1000000:
            raise ValueError("freq out of range")
        self.id = id

    def _dev(self, addr):
        if addr < 0 or addr > 0x7F:
            raise ValueError("address out of range")
        d = _i2c_devices.get((self.id, addr))
        if d is None:
            raise OSError(ENODEV)
        return d

    def scan(self):
        return sorted(a for (b, a) in _i2c_devices if b == self.id)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        data = self._dev(addr).readfrom_mem(memaddr, nbytes)
        if len(data) != nbytes:
            raise OSError(5)
        return bytes(data)


class WDT:
    def __init__(self, id=0, timeout=5000):
        if id != 0:
            raise ValueError("WDT(%s) doesn't exist" % id)
        if timeout > WDT_MAX_MS:
            raise ValueError("timeout exceeds %d" % WDT_MAX_MS)
        if timeout < 1:
            raise ValueError("timeout too short")
        self.timeout = timeout
        self.last = _ticks()
        self.max_gap = 0
        self.starved = False
        _wdt.append(self)

    def feed(self):
        now = _ticks()
        gap = _diff(now, self.last)
        if gap > self.max_gap:
            self.max_gap = gap
        if gap > self.timeout:
            self.starved = True  # a real board would have reset
        self.last = now


class Reset(Exception):
    pass


def reset():
    _resets[0] += 1
    raise Reset()


def unique_id():
    return _UID


def freq():
    return 125000000


def _crc8(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


class MLX90614:
    """MLX90614 RAM reads with the 0.02 K/LSB quantisation and SMBus PEC of the real part.
    `source` returns the object temperature in Celsius, or raises OSError when unplugged."""

    ADDR = 0x5A

    def __init__(self, source, ambient_c=24.0, corrupt_pec=False):
        self.source = source
        self.ambient_c = ambient_c
        self.corrupt_pec = corrupt_pec

    def readfrom_mem(self, reg, n):
        if reg == 0x07:
            c = self.source()
        elif reg == 0x06:
            c = self.ambient_c
        else:
            raise OSError(5)
        raw = int(round((c + 273.15) / 0.02)) & 0x7FFF
        lo, hi = raw & 0xFF, raw >> 8
        pec = _crc8(bytes((self.ADDR << 1, reg, (self.ADDR << 1) | 1, lo, hi)))
        if self.corrupt_pec:
            pec ^= 0xFF
        return bytes((lo, hi, pec))[:n]
