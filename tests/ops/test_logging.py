"""The service's logs as an operator reads them: JSON lines, one event each, with request ids,
the spec's fields, and never a password, a token or a stored path."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from reelvault.settings import Settings
from tests.support.factories import PASSWORD
from tests.support.servers import ROOT, free_port, migrate, settings_env


@dataclass
class LoggingServer:
    base_url: str
    output: str = ""  # everything the server wrote, once it has stopped


@contextlib.contextmanager
def logging_server(tmp_path: Path, *, log_json: bool) -> Iterator[LoggingServer]:
    """The service as `make run` starts it (`python -m reelvault.server`), in a child process
    whose log is collected: `output` holds it after the block."""
    settings = Settings(data_dir=tmp_path).resolved()
    migrate(settings)
    port = free_port()
    env = {**os.environ, **settings_env(settings), "REELVAULT_LOG_JSON": str(log_json).lower()}
    server = subprocess.Popen(
        [sys.executable, "-m", "reelvault.server", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = LoggingServer(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{served.base_url}/health/live")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield served
    finally:
        server.terminate()
        served.output, _ = server.communicate(timeout=20)


def test_json_logs_carry_request_ids_and_the_spec_fields(tmp_path: Path) -> None:
    with (
        logging_server(tmp_path, log_json=True) as served,
        httpx.Client(base_url=served.base_url) as client,
    ):
        email = "logger@example.com"
        client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        token = client.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()[
            "access_token"
        ]
        search = client.get("/api/generations", params={"q": "neon 50%"})
        missing = client.get("/api/video/7d1c3a52-3a32-4e4a-9a43-6a9f3f1d2b11")
        wrong = client.post("/api/auth/login", json={"email": email, "password": "wrong-pass"})
    output = served.output
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert events, output
    assert all({"ts", "level", "logger", "request_id", "message"} <= set(e) for e in events)
    searches = [e for e in events if e.get("event") == "search"]
    assert len(searches) == 1
    assert searches[0]["term"] == "neon 50%"
    assert searches[0]["results"] == 0
    assert isinstance(searches[0]["elapsed_ms"], float)
    assert searches[0]["request_id"] == search.headers["x-request-id"]
    listing = next(e for e in events if e.get("event") == "listing")
    assert {"user_id", "limit", "offset", "status", "results", "total"} <= set(listing)
    error_lines = [e for e in events if e["request_id"] == missing.headers["x-request-id"]]
    assert any(e["logger"] == "reelvault.errors" and "404" in e["message"] for e in error_lines)
    assert any(
        e["request_id"] == wrong.headers["x-request-id"] and "401" in e["message"] for e in events
    )
    text = "\n".join(line for line in output.splitlines())
    assert PASSWORD not in text
    assert "wrong-pass" not in text
    assert token not in text


def test_a_client_cannot_forge_a_line_of_the_text_log(tmp_path: Path) -> None:
    """`make run`'s server and text log: a `%0a` (or any control character) in a path, a query
    or a header ends up escaped inside its own line, never as a line of its own."""
    forged = "2026-01-01 00:00:00,000 ERROR [forged] reelvault.access: request status=200"
    with (
        logging_server(tmp_path, log_json=False) as served,
        httpx.Client(base_url=served.base_url) as client,
    ):
        email = "forger@example.com"
        client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        token = client.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()[
            "access_token"
        ]
        auth = {"Authorization": f"Bearer {token}"}
        injected = "%0a" + forged.replace(" ", "%20")
        client.get(f"/api/generations/x{injected}", headers=auth)
        client.get(f"/api/video/x%0d{injected}", headers=auth)
        client.get("/api/generations", params={"q": "neon\n" + forged}, headers=auth)
        client.get("/api/generations", params={"q": "\x1b[2J\u2028" + forged}, headers=auth)
    output = served.output
    lines = output.splitlines()
    assert any("forged" in line for line in lines), output  # the requests were logged ...
    # ... and every line of the log is one of ours: none starts with what a client wrote.
    assert not [line for line in lines if line.startswith(forged[:10])], output
    assert "\x1b" not in output and "\u2028" not in output
