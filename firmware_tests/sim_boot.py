# Boots the unmodified firmware main.py on the MicroPython unix port, with fake hardware driven
# by files in a control directory (argv[1]): "tamper" present = lid open; "temp" holds the object
# temperature in Celsius; "no_sensor" present = thermometer absent.
import os
import sys

import machine

CTL = sys.argv[1] if len(sys.argv) > 1 else "."


def _exists(name):
    try:
        os.stat(CTL + "/" + name)
        return True
    except OSError:
        return False


def _temp():
    if _exists("no_sensor"):
        raise OSError(machine.ENODEV)
    try:
        with open(CTL + "/temp") as f:
            return float(f.read().strip())
    except OSError:
        return 36.5


machine.set_input(14, lambda: 1 if _exists("tamper") else 0)
machine.add_i2c_device(0, 0x5A, machine.MLX90614(_temp))

import hal  # noqa: E402

hal.MAINT_FLAG = CTL + "/maint.flag"
hal.LOG_FILE = CTL + "/maint.log"

while True:
    try:
        if "main" in sys.modules:
            del sys.modules["main"]
        import main  # noqa: F401  (runs the firmware)

        break
    except machine.Reset:
        continue

if machine._resets[0]:
    with open(CTL + "/maint_entered", "w") as f:
        f.write("1")
