"""`yoshin-device board deploy` as far as the MicroPython unix port allows: the file set, the manifest
and the version check. mpremote itself needs a board's raw REPL (the unix port has none), so the test
carries out the deploy command's copies into a directory that stands for the board's flash, boots the
firmware from that copy under MicroPython behind a pty, and checks the version the way deploy does."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from fwsupport import FIRMWARE, Simulator, needs_micropython, needs_socat

from yoshin.device.board_cli import (
    MANIFEST,
    VersionMismatch,
    board,
    build_manifest,
    check_version,
    deploy_commands,
    firmware_files,
    manifest_mismatches,
)
from yoshin.device.ioboard import IOBoard


def install(cmd: list[str], flash: Path) -> None:
    """Do what mpremote would do with the command's `cp SRC :DEST` steps, onto `flash`."""
    for i, word in enumerate(cmd):
        if word == "cp":
            src, dest = cmd[i + 1], cmd[i + 2]
            assert dest.startswith(":")
            target = flash / dest[1:]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)


def test_the_file_set_is_the_firmware_and_its_vendored_libraries(tmp_path: Path) -> None:
    dests = [dest for _, dest in firmware_files()]
    assert set(dests) == {p.name for p in FIRMWARE.glob("*.py")} | {
        "lib/logging.py",
        "lib/unittest/__init__.py",
        "lib/LICENSE",
    }
    (cmd,) = deploy_commands("id:e6613852832a112c", tmp_path / MANIFEST)
    copied = [cmd[i + 2] for i, a in enumerate(cmd) if a == "cp"]
    assert copied == [f":{d}" for d in dests] + [f":{MANIFEST}"]
    assert cmd[cmd.index("exec") + 1].count("os.mkdir") == 1 and "'lib', 'lib/unittest'" in cmd[cmd.index("exec") + 1]
    assert cmd[-1] == "reset" and "id:e6613852832a112c" in cmd


def test_the_manifest_pins_versions_and_hashes() -> None:
    manifest = build_manifest()
    app = (FIRMWARE / "app.py").read_text()
    assert manifest["firmware"] == re.search(r'^FW_VERSION = "(.+)"$', app, re.M).group(1)  # type: ignore[union-attr]
    assert manifest["proto"] == 2
    assert manifest["micropython_lib"] == "ee4bb8ff139e24c42b739935fbd8ec7c4d061e02"
    files = manifest["files"]
    assert (
        isinstance(files, dict)
        and files["lib/logging.py"] == hashlib.sha256((FIRMWARE / "lib" / "logging.py").read_bytes()).hexdigest()
    )
    assert manifest_mismatches(manifest, FIRMWARE) == []


def test_dry_run_prints_the_manifest_and_the_command() -> None:
    r = CliRunner().invoke(board, ["--serial", "e6613852832a112c", "deploy", "--dry-run"])
    assert r.exit_code == 0, r.output
    manifest_text, command = r.output.rsplit("}\n", 1)
    assert json.loads(manifest_text + "}") == build_manifest()
    assert "mpremote connect id:e6613852832a112c exec" in command and ":lib/logging.py" in command


@needs_micropython
@needs_socat
@pytest.mark.micropython
def test_a_deployed_copy_boots_and_passes_the_version_check(tmp_path: Path) -> None:
    flash = tmp_path / "flash"
    manifest = build_manifest()
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    (cmd,) = deploy_commands("id:e6613852832a112c", tmp_path / MANIFEST)
    install(cmd, flash)
    assert manifest_mismatches(manifest, flash) == []
    assert json.loads((flash / MANIFEST).read_text()) == manifest
    (tmp_path / "board").mkdir()
    simulator = Simulator(tmp_path / "board", firmware=flash)
    simulator.start()
    b = IOBoard(port=str(simulator.link), backoff=(0.1, 0.5)).start()
    try:
        assert check_version(b, manifest, timeout=10) == manifest["firmware"]
        with pytest.raises(VersionMismatch) as stale:
            check_version(b, {**manifest, "firmware": "9.9.9"}, timeout=1)
        assert "9.9.9" in stale.value.message.en and "更新されていません" in stale.value.message.ja
        # The copy's maintenance log, written through the vendored micropython-lib logging:
        log = (tmp_path / "board" / "ctl" / "maint.log").read_text().splitlines()
        assert log == [f"INFO boot fw {manifest['firmware']}"]
    finally:
        b.close()
        simulator.unplug()
    (flash / "lib" / "logging.py").write_text("# edited on the board\n")
    assert manifest_mismatches(manifest, flash) == ["lib/logging.py"]
