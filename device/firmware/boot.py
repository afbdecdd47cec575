# Runs first on every boot. Nothing here may block: a fault in boot.py would make the board
# unreachable for mpremote. Hardware setup happens in main.py through hal.Board.
import gc

gc.collect()
