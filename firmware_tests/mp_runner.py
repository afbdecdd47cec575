# Test runner for MicroPython: micropython-lib's unittest (device/firmware/lib, vendored) runs every
# test_* function and TestCase of the named modules; exits non-zero on any failure or error
# (unittest.main() itself returns the result and would leave the exit status at 0).
import sys
import unittest


def run(names):
    ok = True
    ran = 0
    for name in names:
        result = unittest.main(name)
        ran += result.testsRun
        ok = ok and result.wasSuccessful()
    print(f"unittest: ran {ran}, {'OK' if ok else 'FAILED'}")
    return ok


sys.exit(0 if run(sys.argv[1:]) else 1)
