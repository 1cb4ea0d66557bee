"""bench/load.py --small, as CI runs it: 10 users for 5 s against the app itself (direct mode,
our own range engine) and through Nginx (accel mode), every range checked byte for byte, and
not one error either way."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.deploy.conftest import Stack
from tests.support.servers import ROOT, LiveServer, live_app

LABELS = (
    "POST /api/auth/login",
    "GET /api/generations",
    "GET /api/generations?q=",
    "GET /api/generations?offset=",
    "GET /api/generations/{id}",
    "GET /api/video/{id} Range",
    "GET /api/video/{id} multipart",
    "POST /api/generations",
    "DELETE /api/generations/{id}",
)


@pytest.fixture(scope="module")
def direct_app(stack: Stack) -> Iterator[LiveServer]:
    """A second app on the same database and media, sending the bytes itself."""
    with live_app(stack.settings, media_delivery="direct") as server:
        yield server


@pytest.mark.parametrize("through", ["the app", "nginx"])
def test_a_small_load_has_no_error(stack: Stack, direct_app: LiveServer, through: str) -> None:
    if through == "nginx":
        base_url, app_port = stack.base_url, stack.app.port
    else:
        base_url, app_port = direct_app.base_url, direct_app.port
    command = ["bench/load.py", "--small", "--base", base_url, "--app-port", str(app_port)]
    result = subprocess.run(
        [sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ", 0 errors" in result.stdout
    for label in LABELS:
        assert f"\n{label} " in result.stdout, label
