"""JSON as the host accepts it from a network peer: bounded nesting, finite numbers only.

`json.loads` recurses once per nesting level (a deep enough document is a RecursionError, a 500) and
accepts `NaN`, `Infinity` and `-Infinity`, which are not JSON and make every later export invalid.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)  # unrolled: one step per run, not per character
_BRACKETS = re.compile(r"[\[\]{}]")


class JsonRefused(ValueError):
    """Not JSON the host accepts; the message says why (English, for the error body and the audit)."""


def _no_constants(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON number (finite numbers only)")


def depth(text: str) -> int:
    """The deepest nesting of arrays and objects, counted without recursion (strings skipped)."""
    deepest = level = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub('""', text)):
        level += 1 if bracket in "[{" else -1
        deepest = max(deepest, level)
    return deepest


def loads(data: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parse, or raise JsonRefused (a ValueError): malformed, nested deeper than `max_depth`, non-finite."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise JsonRefused("not UTF-8") from None
    if depth(text) > max_depth:
        raise JsonRefused(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as error:
        raise JsonRefused(f"not JSON: {error.msg}") from None
    except RecursionError:  # not reached after the depth check; kept so no input can become a 500
        raise JsonRefused(f"nested deeper than {max_depth} levels") from None
