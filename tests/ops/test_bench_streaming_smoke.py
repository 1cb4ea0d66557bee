"""`bench/streaming.py --quick` runs end to end and prints its table.

The benchmark checks every response it measures and exits 1 on any wrong one, so this smoke
run is also a correctness check of our range streaming beside nginx and the framework peers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADER = re.compile(r"^workload\s+server\s+answer\s+verified\s+req/s", re.MULTILINE)


def test_quick_streaming_bench_prints_its_table() -> None:
    has_nginx = shutil.which("nginx") is not None or os.access("/usr/sbin/nginx", os.X_OK)
    if not has_nginx:
        reason = "nginx not found: the bench runs without its nginx peer"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        print(f"\nSKIP nginx peer: {reason}")

    done = subprocess.run(
        [sys.executable, "bench/streaming.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-4000:]}"
    assert HEADER.search(done.stdout), done.stdout
    servers = {
        line.removeprefix("whole file").split()[0]
        for line in done.stdout.splitlines()
        if line.startswith("whole file ")
    }
    assert "reelvault" in servers
    assert ("nginx" in servers) == has_nginx
