"""Imports flow one way (docs/ARCHITECTURE.md): every `yoshin.*` import of every module, function-level
ones included, read from the source (nothing is imported to check it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMARTCARD_PURE = {"carddata", "errors", "verify", "tlv", "apdu"}  # no PC/SC: the host may use these
ALLOWED = {
    "domain": {"domain"},
    "protocol": {"protocol", "domain"},
    "smartcard": {"smartcard", "domain"},
    "device": {"device", "protocol", "smartcard", "domain"},  # the visit layer is device/visit.py
    "host": {"host", "protocol", "smartcard.pure", "domain"},
    "tui": {"tui", "device", "protocol", "smartcard", "domain"},
    "tools": {"tools", "tui", "host", "device", "protocol", "smartcard", "domain"},  # never the dev tools
    "devtools": {"devtools", "tools", "tui", "host", "device", "protocol", "smartcard", "domain"},  # anything
}


# Known exceptions, each with its reason (to be removed, not added to):
EXCEPTIONS = {
    # `yoshin-host serve` without --production creates the emulator's test anchors; a production host never
    # reaches this function-level import (security's host/cli.py; to move into yoshin.devtools)
    ("host/cli.py", "yoshin.devtools.dev_pki"),
}


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def layer(module: str) -> str | None:
    """The layer a module belongs to, as ALLOWED names it; None for anything outside yoshin."""
    parts = module.split(".")
    if parts[0] == "smartcard":
        return "pyscard"
    if parts[0] != "yoshin" or len(parts) < 2:
        return None
    if parts[1] == "smartcard" and len(parts) > 2 and parts[2] in SMARTCARD_PURE:
        return "smartcard.pure"
    return parts[1]


def sources(component: str) -> list[Path]:
    return [p for p in sorted((ROOT / component).rglob("*.py")) if "firmware" not in p.relative_to(ROOT).parts]


@pytest.mark.parametrize("component", sorted(ALLOWED))
def test_imports_flow_one_way(component: str) -> None:
    allowed = ALLOWED[component] | ({"smartcard.pure"} if "smartcard" in ALLOWED[component] else set())
    allowed |= {"pyscard"} if component in {"smartcard", "devtools"} else set()  # only they touch PC/SC directly
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sources(component)
        for line, module in imports(path)
        if (target := layer(module)) is not None
        and target not in allowed
        and (str(path.relative_to(ROOT)), module) not in EXCEPTIONS
    ]
    assert sources(component) and not wrong, "\n".join(wrong)


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from yoshin.tui.app import KioskApp\n    import smartcard.scard\n")
    assert [layer(name) for _, name in imports(module)] == ["tui", "pyscard"]
    assert layer("yoshin.smartcard.verify") == "smartcard.pure" and layer("yoshin.smartcard.card") == "smartcard"
