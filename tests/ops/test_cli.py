"""`reelvault create-user`: an operator creates an account that can sign in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from reelvault.settings import Settings
from tests.support.servers import ROOT, live_app, migrate, settings_env


def create_user(settings: Settings, email: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("reelvault")), "create-user", "--email", email],
        input=f"{password}\n{password}\n",
        cwd=ROOT,
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
    )


def test_create_user_then_sign_in(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path).resolved()
    migrate(settings)
    created = create_user(settings, "Operator@Example.com", "a long enough password")
    assert created.returncode == 0, created.stderr
    assert "Created operator@example.com" in created.stdout
    again = create_user(settings, "operator@example.com", "another password")
    assert again.returncode != 0
    assert "already exists" in again.stderr
    invalid = create_user(settings, "not-an-email", "a long enough password")
    assert invalid.returncode != 0
    assert "Invalid value" in invalid.stderr
    with live_app(settings) as server:
        response = httpx.post(
            f"{server.base_url}/api/auth/login",
            json={"email": "operator@example.com", "password": "a long enough password"},
        )
    assert response.status_code == 200


def test_litestar_cli_exposes_our_commands() -> None:
    env = {**os.environ, "LITESTAR_APP": "reelvault.app:create_app", "REELVAULT_DATA_DIR": "/tmp/x"}
    result = subprocess.run(
        [sys.executable, "-m", "litestar", "reelvault", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout and "create-user" in result.stdout
