"""`bench/endpoints.py --quick` runs end to end and prints its table.

The benchmark checks every answer it measures (status, header, the whole body) and exits 1 on
any wrong one, so this smoke run also proves the endpoints it drives answer as the API says,
under concurrent load, on a fresh instance set up through the API only. With pyinstrument
installed it also profiles one row, which exercises the profiled launcher of bench/servers.py.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADER = re.compile(r"^row\s+answer\s+checked\s+req/s\s+x floor", re.MULTILINE)


def test_quick_endpoints_bench_prints_its_table(tmp_path: Path) -> None:
    profile = tmp_path / "me.txt"
    command = [sys.executable, "bench/endpoints.py", "--quick"]
    profiled = importlib.util.find_spec("pyinstrument") is not None
    if profiled:
        command += ["--profile", str(profile), "--profile-row", "me"]

    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)

    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-4000:]}"
    assert HEADER.search(done.stdout), done.stdout
    floor = next(line for line in done.stdout.splitlines() if line.startswith("/health/live"))
    assert "1.00x" in floor, floor
    assert "/api/auth/me" in done.stdout
    assert "targets (req/s against the floor in this run):" in done.stdout
    if profiled:
        text = profile.read_text()
        assert "heaviest functions by self time" in text, text[:2000]
