"""`python -m benchmarks` (make bench): run every benchmarks/bench_*.py, one JSON line each."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
failed = 0
for script in sorted(here.glob("bench_*.py")):
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False)
    if result.returncode:
        failed += 1
        print(f'{{"benchmark": "{script.stem}", "error": {result.returncode}}}', file=sys.stderr)
        print(result.stderr[-2000:], file=sys.stderr)
    else:
        print(result.stdout.strip().splitlines()[-1])
sys.exit(1 if failed else 0)
