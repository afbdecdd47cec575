"""Normalisation of what people type: NFKC first, so full-width １２３ is 123 everywhere."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# Hyphen-like characters people and registries use in addresses (丁目-番地-号 written with any of them).
_DASHES = re.compile("[\u2010-\u2015\u2212\u30fc\uff70-]")
_ADDRESS_UNITS = re.compile(r"(\d+)(?:丁目|番地|番|号)")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")  # exactly Unicode's category Cc


def nfkc(text: str) -> str:
    if text.isascii():  # ASCII is already NFKC (the registry import normalises millions of fields)
        return text
    return unicodedata.normalize("NFKC", text)


def digits(text: str) -> str:
    """NFKC, spaces removed; the caller checks the result is all ASCII digits."""
    if text.isascii() and text.isdigit():
        return text
    return _SPACES.sub("", nfkc(text))


# Invisible or unassignable characters (finding 9): format characters such as bidi overrides (U+202E),
# zero-width space/joiners, the BOM and tag characters, and surrogates and private-use code points.
# Japanese text needs none of them.
REFUSED_CATEGORIES = {"Cf": "invisible format characters", "Cs": "surrogates", "Co": "private-use characters"}


def refuse_invisible(text: str) -> str:
    """`text` unchanged, or ValueError when it holds a character of REFUSED_CATEGORIES."""
    if text.isascii():  # ASCII has no Cf, Cs or Co character
        return text
    for char in dict.fromkeys(text):  # each distinct character once, in order (the first offender is named)
        what = REFUSED_CATEGORIES.get(unicodedata.category(char))
        if what:
            raise ValueError(f"{what} (U+{ord(char):04X}) are not allowed")
    return text


def free_text(text: str, max_length: int) -> str:
    """Designated free-text fields: NFKC, runs of white space folded, no control or invisible characters."""
    cleaned = _SPACES.sub(" ", nfkc(refuse_invisible(text))).strip()
    if _CONTROLS.search(cleaned):
        raise ValueError("control characters are not allowed")
    refuse_invisible(cleaned)
    if len(cleaned) > max_length:
        raise ValueError(f"at most {max_length} characters")
    return cleaned


def name_key(name: str) -> str:
    """A name for comparison: NFKC, no spaces (registries and cards differ in spacing)."""
    return _SPACES.sub("", nfkc(name))


def address_key(address: str) -> str:
    """An address for comparison: NFKC, no spaces, 1丁目2番地3号 and 1-2-3 written the same way."""
    text = _SPACES.sub("", nfkc(address))
    text = _ADDRESS_UNITS.sub(r"\1-", text)
    text = _DASHES.sub("-", text)
    return text.rstrip("-")
