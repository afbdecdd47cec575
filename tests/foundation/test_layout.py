"""The layout keeps `import smartcard` meaning pyscard, and the wheel ships every package."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

COMPONENTS = {
    "domain": "yoshin.domain",
    "protocol": "yoshin.protocol",
    "smartcard": "yoshin.smartcard",
    "device": "yoshin.device",
    "host": "yoshin.host",
    "tui": "yoshin.tui",
    "tools": "yoshin.tools",
}
NOT_PYTHON_PACKAGES = {Path("device/firmware")}  # MicroPython sources, shipped as package data


def _run_from(cwd: Path, code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_import_smartcard_from_repo_root_is_pyscard(repo_root: Path) -> None:
    origin = _run_from(repo_root, "import smartcard.System, smartcard; print(smartcard.__file__)")
    assert origin, "pyscard must be a regular package with a file"
    assert not Path(origin).resolve().is_relative_to(repo_root / "smartcard"), origin
    assert Path(origin).parent.parent.name in {"site-packages", "dist-packages"}, origin


def test_yoshin_smartcard_is_ours_from_repo_root(repo_root: Path) -> None:
    path = _run_from(repo_root, "import yoshin.smartcard as s; print(list(s.__path__)[0])")
    assert Path(path).resolve() == (repo_root / "smartcard").resolve()


def test_component_roots_have_no_init(repo_root: Path) -> None:
    # A regular package at the root would shadow same-named installed packages (pyscard's `smartcard`).
    for directory in COMPONENTS:
        assert not (repo_root / directory / "__init__.py").exists(), directory


def test_every_python_package_is_listed_for_the_wheel(repo_root: Path) -> None:
    config = tomllib.loads((repo_root / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    assert set(config["package-dir"].values()) <= set(COMPONENTS)  # sub-packages map through their parent
    expected = set()
    for directory, package in COMPONENTS.items():
        for source in (repo_root / directory).rglob("*.py"):
            relative = source.parent.relative_to(repo_root)
            if "__pycache__" in relative.parts or any(relative.is_relative_to(skip) for skip in NOT_PYTHON_PACKAGES):
                continue
            expected.add(".".join([package, *relative.parts[1:]]))
    assert expected <= listed, sorted(expected - listed)


DEV_ONLY = {"card_emulator", "dev_pki", "virtual_reader", "demo", "personas", "pg_cluster"}


def test_a_production_install_has_no_development_tools(repo_root: Path) -> None:
    """What `pip install .` ships is what pyproject.toml maps: no emulator, test PKI, virtual reader or demo.
    They are the separate distribution yoshin-devtools (devtools/pyproject.toml), installed by make setup."""
    main = tomllib.loads((repo_root / "pyproject.toml").read_text())
    shipped = {
        path.stem
        for directory in main["tool"]["setuptools"]["package-dir"].values()
        for path in (repo_root / directory).rglob("*")
        if "__pycache__" not in path.parts
    }
    assert not DEV_ONLY & shipped, sorted(DEV_ONLY & shipped)
    assert not [p for p in main["tool"]["setuptools"]["packages"] if p.startswith("yoshin.devtools")]
    assert "yoshin-demo" not in main["project"]["scripts"]
    dev = tomllib.loads((repo_root / "devtools" / "pyproject.toml").read_text())
    assert dev["tool"]["setuptools"]["packages"] == ["yoshin.devtools"]
    assert dev["project"]["scripts"]["yoshin-demo"] == "yoshin.devtools.demo:main"
    devtools = {path.stem for path in (repo_root / "devtools").glob("*.py")}
    assert devtools | {"personas"} >= DEV_ONLY


def test_the_development_tools_are_installed_here_from_their_own_folder(repo_root: Path) -> None:
    path = _run_from(repo_root, "import yoshin.devtools.card_emulator as m; print(m.__file__)")
    assert Path(path).resolve().parent == (repo_root / "devtools").resolve()
