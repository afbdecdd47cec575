# Minimal test runner for MicroPython: runs every test_* function of the named modules and exits
# non-zero on any failure (unittest.main() would exit 0).
import sys


def run(names):
    failed = passed = 0
    for name in names:
        mod = __import__(name)
        for attr in sorted(dir(mod)):
            if not attr.startswith("test_"):
                continue
            try:
                getattr(mod, attr)()
                passed += 1
            except Exception as e:
                failed += 1
                print(f"FAIL {name}.{attr}: {e!r}")
                sys.print_exception(e)
    print("passed %d failed %d" % (passed, failed))  # noqa: UP031 (MicroPython runner)
    return failed


sys.exit(1 if run(sys.argv[1:]) else 0)
