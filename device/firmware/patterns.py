# LED and buzzer patterns as (on_ms, off_ms) steps. `repeat` patterns loop until replaced.
# Pure data + a tiny player so the timing logic is testable without hardware.

LED_PATTERNS = {
    "off": ((0, 1000),),
    "idle": ((50, 1950),),  # short blink every 2 s
    "busy": ((150, 150),),
    "attention": ((500, 500),),
    "error": ((100, 100), (100, 100), (100, 700)),
    "offline": ((50, 450), (50, 1450)),
}
LED_REPEAT = {"off": True, "idle": True, "busy": True, "attention": True, "error": True, "offline": True}

BEEP_PATTERNS = {
    "off": (),
    "success": ((120, 0),),
    "error": ((300, 100), (300, 100), (300, 0)),
    # The card-left-behind reminder: two beeps, pause, repeated until the card is taken.
    "remove_card": ((150, 100), (150, 1600)),
}
BEEP_REPEAT = {"off": False, "success": False, "error": False, "remove_card": True}
BEEP_FREQ = {"success": 2000, "error": 800, "remove_card": 2600}


class Player:
    """Steps through a pattern by clock ticks; `tick(now)` returns True while the output is on."""

    def __init__(self, ticks_diff, ticks_add):
        self.ticks_diff = ticks_diff
        self.ticks_add = ticks_add
        self.steps = ()
        self.repeat = False
        self.name = "off"
        self.index = 0
        self.started = 0

    def play(self, name, steps, repeat, now):
        self.name = name
        self.steps = steps
        self.repeat = repeat
        self.index = 0
        self.started = now

    def tick(self, now):
        while self.steps:
            on_ms, off_ms = self.steps[self.index]
            elapsed = self.ticks_diff(now, self.started)
            if elapsed < on_ms:
                return True
            if elapsed < on_ms + off_ms:
                return False
            self.started = self.ticks_add(self.started, on_ms + off_ms)
            self.index += 1
            if self.index >= len(self.steps):
                if not self.repeat:
                    self.steps = ()
                    self.name = "off"
                    return False
                self.index = 0
        return False
