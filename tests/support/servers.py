"""The app served over real HTTP by uvicorn on a free port, in a thread of the test process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from reelvault.app import create_app
from reelvault.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings_env(settings: Settings) -> dict[str, str]:
    return {
        "REELVAULT_DATA_DIR": str(settings.data_dir),
        "REELVAULT_MEDIA_DIR": str(settings.media_root),
        "REELVAULT_DATABASE_URL": settings.database_url,
        "REELVAULT_MEDIA_DELIVERY": settings.media_delivery,
        "REELVAULT_MAX_UPLOAD_BYTES": str(settings.max_upload_bytes),
    }


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a `litestar` command in a child process, as an operator would."""
    env = {**os.environ, **settings_env(settings), "LITESTAR_APP": "reelvault.app:create_app"}
    return subprocess.run(
        [sys.executable, "-m", "litestar", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )


def migrate(settings: Settings) -> None:
    run_cli(settings, "database", "upgrade", "--no-prompt")


@dataclass
class LiveServer:
    settings: Settings
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, settings: Settings) -> LiveServer:
        port = free_port()
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start")
            time.sleep(0.02)
        return cls(settings, port, server, thread)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
