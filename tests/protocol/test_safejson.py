"""The host's JSON reader: nesting is counted outside strings, whatever the strings hold."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from yoshin.protocol.safejson import depth

_TRICKY = st.text(alphabet='"\\[]{}ab\n\u3042', max_size=12)  # quotes, escapes and brackets inside strings
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TRICKY, inner, max_size=3),
    max_leaves=12,
)


def _nesting(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_nesting(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_nesting(item) for item in value.values()), default=0)
    return 0


@given(_JSON, st.booleans())
def test_depth_counts_the_nesting_and_skips_the_strings(value: Any, ascii_only: bool) -> None:
    assert depth(json.dumps(value, ensure_ascii=ascii_only)) == _nesting(value)
