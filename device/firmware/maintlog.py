# The board's maintenance log: a small text file on flash, through micropython-lib's logging
# (lib/logging.py; CPython's logging in the host-side tests). Never stdout or stderr: the USB CDC
# port carries the frames, so a stray log line would corrupt them. Each record is appended and the
# file closed at once, because a watchdog or MAINT reset gives no chance to flush. One previous file
# is kept (maint.log.1) once the log passes MAX_BYTES, to bound flash use and wear.
import os

import logging

LOG_FILE = "maint.log"
MAX_BYTES = 8192
NAME = "yoshin.board"


class AppendHandler(logging.Handler):
    def __init__(self, path):
        logging.Handler.__init__(self)
        self.path = path
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))

    def emit(self, record):
        try:
            with open(self.path, "a") as f:
                f.write(self.format(record) + "\n")
        except OSError:
            pass  # a full or read-only flash must not stop the board


class NullLog:
    # For an App built without a log (the logic tests): the same calls, nothing written anywhere.
    def info(self, msg, *args):
        pass

    warning = error = info


NULL = NullLog()


def rotate(path, max_bytes=MAX_BYTES):
    try:
        size = os.stat(path)[6]
    except OSError:
        return False
    if size <= max_bytes:
        return False
    try:
        os.remove(path + ".1")
    except OSError:
        pass
    os.rename(path, path + ".1")
    return True


def open_log(path=LOG_FILE, max_bytes=MAX_BYTES):
    rotate(path, max_bytes)
    log = logging.getLogger(NAME)
    log.handlers = [AppendHandler(path)]  # only ours: never the root logger's stderr handler
    log.propagate = False
    log.setLevel(logging.INFO)
    return log
