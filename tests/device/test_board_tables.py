"""The I/O board driver and its firmware name the same messages, patterns and error codes.

The firmware is MicroPython and cannot import the driver's tables, so the two are written twice on
purpose; this test loads the firmware's own modules (plain Python) and compares them with the driver's."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from yoshin.device import ioboard

FIRMWARE = Path(ioboard.__file__).resolve().parent / "firmware"


def firmware_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_firmware_{name}", FIRMWARE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_message_types_and_protocol_version_agree() -> None:
    protocol = firmware_module("protocol")
    names = ("HELLO", "PING", "STATUS", "LED", "BEEP", "TEMP", "MAINT", "CLEAR_TAMPER", "EVENT", "REPLY", "ERROR")
    assert {name: getattr(protocol, name) for name in names} == {name: getattr(ioboard, name) for name in names}
    assert protocol.PROTO_VERSION == ioboard.PROTO_VERSION
    firmware_types = {name for name, value in vars(protocol).items() if name.isupper() and isinstance(value, int)}
    assert firmware_types - {"PROTO_VERSION"} == set(names)  # no message type only one side knows
    assert set(protocol.NAMES.values()) == set(names) - {"REPLY"}  # REPLY is a bit, not a type


def test_led_and_beep_pattern_names_agree() -> None:
    patterns = firmware_module("patterns")
    assert set(ioboard.LED_PATTERNS) == set(patterns.LED_PATTERNS) == set(patterns.LED_REPEAT)
    assert set(ioboard.BEEP_PATTERNS) == set(patterns.BEEP_PATTERNS) == set(patterns.BEEP_REPEAT)
    assert set(patterns.BEEP_FREQ) <= set(patterns.BEEP_PATTERNS)


def test_every_error_a_person_can_meet_has_a_bilingual_message() -> None:
    raised = set(re.findall(r"BoardError\(\"([a-z_]+)\"", (FIRMWARE / "app.py").read_text()))
    assert set(ioboard.BOARD_ERRORS) <= raised  # no message for a code the firmware never sends
    # the rest answer only a request the driver itself got wrong: a bug, never shown as such to a resident
    assert raised - set(ioboard.BOARD_ERRORS) == {"bad_pattern", "bad_request", "unknown_type"}
