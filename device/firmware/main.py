# yoshin I/O board firmware entry point (runs after boot.py on the RP2040).
# The data protocol shares the USB CDC port with the REPL, so Ctrl-C (0x03) is disabled while the
# loop runs; MAINT sets a flag and resets, and the next boot stays in the REPL with Ctrl-C enabled
# (the RP2040 watchdog cannot be stopped once started, so maintenance starts from a fresh boot).
import micropython

import app
import hal
import maintlog


def main(board=None):
    if board is None:
        board = hal.Board()
    log = maintlog.open_log(board.log_file)
    if board.take_maint_flag():
        micropython.kbd_intr(3)
        log.info("boot fw %s: maintenance mode, REPL open", app.FW_VERSION)
        return "maint"
    log.info("boot fw %s", app.FW_VERSION)
    a = app.App(board, log)
    link = board.link()
    board.start_watchdog()
    micropython.kbd_intr(-1)
    try:
        a.run(link)
    finally:
        micropython.kbd_intr(3)
    if a.maint:
        log.warning("maintenance requested by the host: resetting")
        board.set_maint_flag()
        board.reset()
    return "stopped"


main()
