"""The container image's recipe, run on this machine (no container engine here): the same
install script builds the wheel and a fresh virtual environment, the same entry point migrates
an empty PostgreSQL database and starts several workers with the image's environment, and the
same health check says when it is ready and when it is not."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from reelvault.demo.library import DEMO_EMAIL, DEMO_PASSWORD
from tests.support.factories import PASSWORD
from tests.support.media import clip
from tests.support.postgres import PostgresServer, postgres_server
from tests.support.servers import ROOT, free_port

CONTAINERFILE = ROOT / "Containerfile"


def image_environment() -> dict[str, str]:
    """The ENV instructions of the Containerfile's runtime stage."""
    runtime = CONTAINERFILE.read_text().rsplit("\nFROM ", 1)[1]
    env: dict[str, str] = {}
    for block in re.findall(r"^ENV ((?:.*\\\n)*.*)$", runtime, flags=re.MULTILINE):
        for pair in block.replace("\\\n", " ").split():
            name, _, value = pair.partition("=")
            env[name] = value
    return env


def test_the_containerfile_runs_what_this_module_runs() -> None:
    text = CONTAINERFILE.read_text()
    build, runtime = text.split("\nFROM ", 2)[1:]
    assert "AS build" in build.splitlines()[0]
    assert "RUN sh deploy/install.sh /opt/reelvault" in build
    assert "COPY --from=build /opt/reelvault /opt/reelvault" in runtime
    assert "COPY deploy/entrypoint.sh /usr/local/bin/reelvault-entrypoint" in runtime
    assert "COPY deploy/healthcheck.py /usr/local/bin/reelvault-healthcheck" in runtime
    assert 'ENTRYPOINT ["/usr/local/bin/reelvault-entrypoint"]' in runtime
    assert re.search(
        r'HEALTHCHECK .*\\\n\s+CMD \["python", "/usr/local/bin/reelvault-healthcheck"\]', runtime
    )
    assert re.search(r"^USER reelvault$", runtime, flags=re.MULTILINE)  # not root
    assert 'VOLUME ["/data"]' in runtime
    env = image_environment()
    assert env["PATH"].startswith("/opt/reelvault/bin:")
    assert env["REELVAULT_DATA_DIR"] == "/data"
    assert env["REELVAULT_MEDIA_DELIVERY"] == "accel"
    assert int(env["REELVAULT_WORKERS"]) > 1


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/install.sh, as the image's build stage runs it."""
    target = tmp_path_factory.mktemp("image") / "opt-reelvault"
    subprocess.run(
        ["sh", str(ROOT / "deploy" / "install.sh"), str(target)],
        env={**os.environ, "PYTHON": sys.executable},
        check=True,
        capture_output=True,
        timeout=900,
    )
    return target


def test_the_wheel_carries_the_package_and_its_migrations(venv: Path) -> None:
    found = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import reelvault.db as d; print(d.__file__); print(d.migrations_dir())",
        ],
        cwd=venv,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    module, migrations = Path(found[0]), Path(found[1])
    assert module.is_relative_to(venv)  # the installed copy, not this checkout
    assert migrations == module.parent / "migrations"
    assert (migrations / "env.py").is_file()
    assert list((migrations / "versions").glob("*.py"))


@dataclass
class Container:
    process: subprocess.Popen[str]
    base_url: str
    env: dict[str, str]
    database: str
    postgres: PostgresServer
    output: Path

    def healthcheck(self) -> int:
        """The image's HEALTHCHECK command, with the image's PATH (so the venv's python)."""
        return subprocess.run(
            ["python", str(ROOT / "deploy" / "healthcheck.py")],
            env=self.env,
            capture_output=True,
            timeout=10,
        ).returncode


@pytest.fixture(scope="module")
def container(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    """deploy/entrypoint.sh with the image's environment, against an empty database."""
    data = tmp_path_factory.mktemp("data")
    port = free_port()
    with postgres_server() as postgres, postgres.database("reelvault_image") as database:
        env = {
            **image_environment(),
            "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(data),
            "REELVAULT_DATA_DIR": str(data),
            "REELVAULT_DATABASE_URL": postgres.url(database),
            "REELVAULT_HOST": "127.0.0.1",
            "REELVAULT_PORT": str(port),
            "REELVAULT_WORKERS": "2",
        }
        output = data / "container.log"
        with output.open("w") as log:
            process = subprocess.Popen(
                ["sh", str(ROOT / "deploy" / "entrypoint.sh")],
                cwd=data,  # nothing of this checkout on the way
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        box = Container(process, f"http://127.0.0.1:{port}", env, database, postgres, output)
        try:
            deadline = time.monotonic() + 120
            while box.healthcheck() != 0:
                assert process.poll() is None, output.read_text()
                assert time.monotonic() < deadline, output.read_text()
                time.sleep(0.5)
            yield box
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_the_entrypoint_migrates_and_serves_with_several_workers(container: Container) -> None:
    uvicorn = psutil.Process(container.process.pid)
    # exec'd: the server (uvicorn, with our bounded protocol) is the main process
    assert "reelvault.server" in " ".join(uvicorn.cmdline())
    workers = [
        child
        for child in uvicorn.children()
        if "multiprocessing.resource_tracker" not in " ".join(child.cmdline())
    ]
    assert len(workers) == 2
    with httpx.Client(base_url=container.base_url, timeout=30) as client:
        email = f"image-{os.getpid()}@example.com"
        assert (
            client.post(
                "/api/auth/register", json={"email": email, "password": PASSWORD}
            ).status_code
            == 201
        )
        # The image never makes the demo account (its password is public).
        demo = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        assert client.post("/api/auth/login", json=demo).status_code == 401
        token = client.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()[
            "access_token"
        ]
        auth = {"Authorization": f"Bearer {token}"}
        created = client.post(
            "/api/generations",
            data={"prompt": "From the image"},
            files={"file": ("c.mp4", clip(320, 180, 1.0).read_bytes(), "video/mp4")},
            headers=auth,
        )
        assert created.status_code == 201, created.text  # PyAV and its codecs came with the wheel
        item = created.json()
        video = client.get(item["video_url"], headers=auth)
        # The wheel carries the gallery too: the installed app serves its pages by itself.
        for page in ("/", "/gallery", f"/gallery/{item['id']}", "/js/main.js"):
            assert client.get(page).status_code == 200, page
    # The image's default: accel mode, for the Nginx next to it.
    assert video.headers["x-accel-redirect"] == f"/_protected_media/videos/{item['id']}.mp4"
    logged = [
        json.loads(line)
        for line in container.output.read_text().splitlines()
        if line.startswith("{")
    ]
    assert any(entry.get("event") == "request" and entry.get("request_id") for entry in logged)


def test_only_the_proxy_may_name_the_client_address(container: Container) -> None:
    """The image believes X-Forwarded-For from loopback (its Nginx) only. From any other
    address the header is ignored: a client that reaches the app's port cannot pose as one
    of /metrics' local networks, nor spread its sign-in guesses over forged addresses."""
    public = {"X-Forwarded-For": "8.8.8.8"}
    with httpx.Client(base_url=container.base_url) as proxy:
        assert proxy.get("/metrics", headers=public).status_code == 403  # believed: public
    # 127.0.0.2 is loopback (so /metrics would serve it) but not the proxy: the header it
    # sends is ignored, so it is still served as itself. Under a wildcard it would be 403.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, base_url=container.base_url) as other:
        answer = other.get("/metrics", headers=public)
    assert answer.status_code == 200
    assert "reelvault_requests_total" in answer.text


def test_the_healthcheck_fails_when_the_database_is_gone(container: Container) -> None:
    container.postgres.psql(f'DROP DATABASE "{container.database}" WITH (FORCE)')
    deadline = time.monotonic() + 30
    while container.healthcheck() == 0:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    with httpx.Client(base_url=container.base_url) as client:
        assert client.get("/health/ready").json()["database"] == "unavailable"
        assert client.get("/health/live").status_code == 200


def test_sigterm_stops_it_cleanly(container: Container) -> None:
    container.process.send_signal(signal.SIGTERM)
    assert container.process.wait(timeout=40) == 0
