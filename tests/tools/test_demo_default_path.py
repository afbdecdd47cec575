"""`make demo` as the README documents it: from the repository root, with the default data directory.

The other demo tests pass an absolute temporary directory, so they never saw pcscd refuse the relative
default `var/demo`. This one runs the default path itself, then removes what it made (a folder left by
an earlier `make demo` is wiped by the demo itself at start, as every demo start does).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from yoshin.tools.virtual_reader import VirtualReader

pytestmark = pytest.mark.pcsc
DEMO = str(Path(sys.executable).parent / "yoshin-demo")


def test_the_demo_runs_from_the_repository_root_with_its_default_data_dir(
    virtual_reader: VirtualReader, repo_root: Path
) -> None:
    data_dir = repo_root / "var" / "demo"  # disposable: every demo start wipes it
    made_var, made_demo = not (repo_root / "var").exists(), not data_dir.exists()
    try:
        result = subprocess.run(
            [DEMO, "--check"], cwd=repo_root, capture_output=True, text=True, timeout=180
        )  # no --data-dir: the default, relative to the repository root
        assert result.returncode == 0, result.stderr
        visit = json.loads(result.stdout.splitlines()[-1])
        assert visit["identity"]["status"] == "ok"
        assert visit["delivered"] == {"accepted": 3, "duplicate": 0, "rejected": 0}
        assert (data_dir / "pcscd" / "reader.conf.d").is_dir()  # the default really was used
    finally:
        if made_demo:
            shutil.rmtree(repo_root / "var" if made_var else data_dir, ignore_errors=True)
