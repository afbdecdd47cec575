"""The vendored micropython-lib modules are the pinned, unmodified files their README lists."""

from __future__ import annotations

import hashlib
import re

from fwsupport import FIRMWARE

LIB = FIRMWARE / "lib"


def test_every_vendored_file_matches_its_pinned_hash_and_the_licence_is_there() -> None:
    readme = (LIB / "README.md").read_text()
    pinned = dict(re.findall(r"^\| `([^`]+)` \|[^|]+\|[^|]+\| `([0-9a-f]{64})` \|", readme, re.M))
    vendored = {p.relative_to(LIB).as_posix() for p in LIB.rglob("*.py")}
    assert set(pinned) == vendored == {"logging.py", "unittest/__init__.py"}
    for name, digest in pinned.items():
        assert hashlib.sha256((LIB / name).read_bytes()).hexdigest() == digest, name
    assert re.search(r"commit `[0-9a-f]{40}`", readme)
    assert "MIT License" in (LIB / "LICENSE").read_text()
