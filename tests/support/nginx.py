"""A real Nginx (Debian's package) in front of a live app, configured by our own nginx.conf as
rendered by deploy/render-nginx.sh, on free local ports, with its logs in a temporary folder.

Outside CI a machine without Nginx skips what needs it, saying why; in CI (CI=true) a
missing Nginx is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from reelvault.settings import Settings
from tests.support.servers import ROOT, free_port

RENDER = ROOT / "deploy" / "render-nginx.sh"
TEMPLATE = ROOT / "nginx.conf"


def nginx_binary() -> str:
    """The nginx executable, or a skip (a failure in CI) saying what is missing."""
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )
    missing = [
        name
        for name, path in (("nginx", found), ("envsubst", shutil.which("envsubst")))
        if not path
    ]
    if missing:
        reason = f"{' and '.join(missing)} not installed (Debian: nginx-light, gettext-base)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        print(f"\nSKIPPING the tests behind Nginx: {reason}")
        pytest.skip(reason)
    assert found is not None
    return found


def render_config(env: dict[str, str]) -> str:
    """nginx.conf as deploy/render-nginx.sh renders it for these REELVAULT_* values."""
    return subprocess.run(
        ["sh", str(RENDER), str(TEMPLATE)],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@dataclass
class Nginx:
    port: int
    prefix: Path
    process: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.prefix / "logs" / "access.log"

    @property
    def error_log(self) -> Path:
        return self.prefix / "logs" / "error.log"

    def log_entries(self) -> list[dict]:
        """The access log so far, one dict per request (our JSON log format). Nginx's JSON
        escaping leaves bytes that are not UTF-8 (a client's header) as they came."""
        text = self.access_log.read_text(errors="replace")
        return [json.loads(line) for line in text.splitlines() if line]

    def logged(self, request_id: str) -> dict:
        """The access-log entry of the request sent with this X-Request-ID."""
        deadline = time.monotonic() + 5
        while True:
            found = [e for e in self.log_entries() if e["request_id"] == request_id]
            if found or time.monotonic() > deadline:
                assert len(found) == 1, (request_id, found)
                return found[0]
            time.sleep(0.02)


@contextlib.contextmanager
def nginx_in_front(
    app_port: int | Sequence[int],
    settings: Settings,
    workdir: Path,
    render_env: Mapping[str, str] | None = None,
) -> Iterator[Nginx]:
    """Nginx on a free port, proxying to the app on `app_port` (or to the replicas on each of
    several ports, one upstream server each), serving web/ and the media. `render_env` adds
    REELVAULT_* values for deploy/render-nginx.sh (REELVAULT_NGINX_S3_CACHE, ...)."""
    app_ports = [app_port] if isinstance(app_port, int) else list(app_port)
    binary = nginx_binary()
    # Nginx's workers run as `nobody` when the tests run as root: like the container's Nginx,
    # they read what the app wrote as another user, so every folder on the way is searchable.
    prefix = workdir / "nginx"
    (prefix / "logs").mkdir(parents=True)
    (prefix / "run").mkdir()
    web = workdir / "web"
    shutil.copytree(ROOT / "web", web)  # as the image does (COPY web /srv/reelvault/web)
    for folder in (workdir, prefix, prefix / "run", web):
        folder.chmod(0o755)
    port = free_port()
    config = prefix / "nginx.conf"
    config.write_text(
        render_config(
            {
                "REELVAULT_NGINX_LISTEN": f"127.0.0.1:{port}",
                "REELVAULT_UPSTREAM": ",".join(f"127.0.0.1:{app}" for app in app_ports),
                "REELVAULT_WEB_ROOT": str(web),
                "REELVAULT_MEDIA_DIR": str(settings.media_root),
                "REELVAULT_ACCEL_PREFIX": settings.accel_prefix,
                "REELVAULT_MAX_UPLOAD_BYTES": str(settings.max_upload_bytes),
                "REELVAULT_NGINX_RUN_DIR": str(prefix / "run"),
                "REELVAULT_NGINX_LOG_DIR": str(prefix / "logs"),
                **(render_env or {}),
            }
        )
    )
    command = [binary, "-p", str(prefix), "-c", str(config)]
    checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    nginx = Nginx(port, prefix, process)
    try:
        _wait_for(nginx)
        yield nginx
    finally:
        process.send_signal(signal.SIGTERM)  # fast shutdown
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _wait_for(nginx: Nginx) -> None:
    deadline = time.monotonic() + 10
    while True:
        if nginx.process.poll() is not None:
            errors = nginx.process.stderr.read().decode() if nginx.process.stderr else ""
            log = nginx.error_log.read_text() if nginx.error_log.exists() else ""
            raise RuntimeError(f"nginx exited with {nginx.process.returncode}: {errors}{log}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", nginx.port), 1):
            return
        if time.monotonic() > deadline:
            raise RuntimeError("nginx did not start listening")
        time.sleep(0.02)
