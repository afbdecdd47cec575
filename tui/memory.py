"""What the resident kiosk lets go of when a visit ends: nothing drawn for one person outlives the visit,
and the memory its screens used goes back to the system (docs/performance.md, "Issue 18, visit end").

Textual 8.2.8 decorates an instance method, `StylesCache.get_inner_outer`, with `functools.lru_cache`, so
the cache keeps up to 1024 widgets' `StylesCache` objects alive after their widgets are gone, each with the
lines it last rendered: names, birth dates and answers of earlier residents, and about 13 MiB of strips
after six visits (Textualize/textual#6665, open). Rich keeps the text it measured and split in two more
`lru_cache`s. Clearing them (functools' own `cache_clear`) at the visit's end drops all of it; they refill
from the next screen on. Then a collection, and glibc's `malloc_trim(0)` to hand freed pages back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable
from functools import cache
from typing import Any


def _render_caches() -> list[Any]:
    """The process-wide caches that hold what was drawn (those that exist in the installed versions)."""
    from rich import cells, segment
    from textual import _styles_cache

    found = [
        getattr(_styles_cache.StylesCache, "get_inner_outer", None),
        getattr(cells, "cached_cell_len", None),
        getattr(segment.Segment, "_split_cells", None),
    ]
    return [each for each in found if callable(getattr(each, "cache_clear", None))]


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None on another C library (then only the collection runs)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


def forget_drawn_visit() -> None:
    """At a visit's end, once its screens are removed: the render caches cleared, garbage collected, and
    free heap returned to the system."""
    for each in _render_caches():
        each.cache_clear()
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
