"""Finding 10: `yoshin-host init` makes a data directory; every other command only opens one, and the
audit lines of admin commands carry the operating-system user who ran them (the real CLI)."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = str(Path(sys.executable).parent / "yoshin-host")


def _run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], input=stdin, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "command",
    [
        ["device", "list"],
        ["audit", "verify"],
        ["device", "token", "--municipality", "141305", "--clinic", "1410000001", "--by", "admin01"],
        ["staff", "export-rights", "--municipality", "141305"],
        ["export", "csv", "--municipality", "141305", "--by", "admin01"],
        ["serve", "--port", "0", "--enroll-port", "0"],
    ],
)
def test_a_mistyped_data_directory_is_an_error_not_a_new_host(tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "var" / "hots"
    result = _run(*command, "--data-dir", str(typo))
    assert result.returncode == 1
    assert "yoshin-host init" in result.stderr and "ホストのデータディレクトリではありません" in result.stderr
    assert not typo.exists()  # no CA, no keys, no database were made


def test_init_makes_one_once_and_admin_lines_carry_the_os_user(tmp_path: Path) -> None:
    data = tmp_path / "host"
    made = _run("init", "--data-dir", str(data))
    assert made.returncode == 0 and json.loads(made.stdout)["ca_fingerprint"]
    again = _run("init", "--data-dir", str(data))
    assert again.returncode == 1 and "already" in again.stderr

    def add(staff_id: str, role: str, *options: str, stdin: str) -> subprocess.CompletedProcess[str]:
        name = f"職員 {staff_id}"
        command = ["staff", "add", staff_id, "--name", name, "--role", role, "--municipality", "141305"]
        return _run(*command, *options, "--data-dir", str(data), stdin=stdin)

    pw = "a long enough password\n"
    assert add("A0001", "municipal_admin", "--first-admin", stdin=pw).returncode == 0
    assert add("A0002", "municipal_admin", "--first-admin", stdin=pw).returncode == 0
    third = add("A0003", "municipal_admin", "--first-admin", stdin=pw)
    assert third.returncode == 1 and "first two" in third.stderr
    unapproved = add("N0100", "nurse", stdin=pw)
    assert unapproved.returncode == 1 and "--approved-by" in unapproved.stderr
    alone = add("N0100", "nurse", "--by", "A0001", "--approved-by", "A0001", stdin=pw * 3)
    assert alone.returncode == 1 and "another administrator" in alone.stderr
    added = add("N0100", "nurse", "--by", "A0001", "--approved-by", "A0002", stdin=pw * 3)
    assert added.returncode == 0, added.stderr
    role = _run(
        "staff", "set-role", "N0100", "--role", "doctor", "--municipality", "141305", "--by", "A0002",
        "--approved-by", "A0001", "--data-dir", str(data), stdin=pw * 2,
    )  # fmt: skip
    assert role.returncode == 0, role.stderr
    assert _run("device", "list", "--data-dir", str(data)).returncode == 0
    verified = _run("audit", "verify", "--data-dir", str(data))
    assert verified.returncode == 0 and "audit log intact" in verified.stdout
    import sqlite3

    rows = sqlite3.connect(data / "host.db").execute("SELECT action, terminal FROM audit ORDER BY seq").fetchall()
    user = pwd.getpwuid(os.geteuid()).pw_name
    assert ("host.init", f"cli:{user}") in rows and ("staff.add", f"cli:{user}") in rows
    outcomes = dict(
        sqlite3.connect(data / "host.db").execute("SELECT target, outcome FROM audit WHERE action LIKE 'staff.%' "
                                                  "AND action IN ('staff.add', 'staff.set_role') AND target = 'N0100'")
        .fetchall()
    )  # fmt: skip
    assert outcomes["N0100"].endswith("by A0002, approved by A0001")
