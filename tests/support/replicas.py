"""Several app replicas behind one Nginx, as a deployment that outgrew one machine runs them:
each replica is a real child process (`python -m reelvault.server`, the command of `make run`
and the image) on a port and a data directory of its own, all on one PostgreSQL database and
one bucket of the suite's S3 server (REELVAULT_STORAGE=s3), and one real Nginx rendered from
our nginx.conf lists them all in its upstream.

A replica can be killed (SIGKILL: no shutdown code runs, as when a machine dies) and started
again on the same port. Each writes its JSON log to a file, so a test can tell which replica
served a request (by the request id Nginx passes on) or which one an upload in flight went to
(by the account's upload slot it holds open).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from reelvault.settings import Settings
from tests.support.nginx import Nginx, nginx_in_front
from tests.support.s3 import S3Server, s3_env, s3_settings
from tests.support.servers import ROOT, free_port, settings_env


def replica_env(settings: Settings) -> dict[str, str]:
    """The REELVAULT_* environment of a replica of `settings`: everything a test may have set
    that the replicas must agree on (the signing key above all: a token from one is valid on
    every other)."""
    return {
        **settings_env(settings),
        **s3_env(settings),
        "REELVAULT_SECRET_KEY": settings.secret_key,
        "REELVAULT_MAX_UPLOADS_PER_USER": str(settings.max_uploads_per_user),
        "REELVAULT_UPLOAD_IDLE_SECONDS": str(settings.upload_idle_seconds),
        "REELVAULT_EVENTS_PING_SECONDS": str(int(settings.events_ping_seconds)),
        "REELVAULT_S3_INTENT_GRACE_SECONDS": str(settings.s3_intent_grace_seconds),
        "REELVAULT_S3_EXISTS_TTL_SECONDS": str(settings.s3_exists_ttl_seconds),
        "REELVAULT_LOG_JSON": "true",
    }


@dataclass
class Replica:
    """One app process. `port`, `base_url` and `settings` as a LiveServer has them."""

    name: str
    port: int
    settings: Settings
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _environment(self) -> dict[str, str]:
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("REELVAULT_")},
            **replica_env(self.settings),
        }

    def spawn(self) -> None:
        assert not self.alive, f"{self.name} is running"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "reelvault.server", "--port", str(self.port)],
                cwd=ROOT,
                env=self._environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its media children die with it (killpg)
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/health/ready", timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not become ready: {self.log_tail()}")
            time.sleep(0.1)

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def migrate(self) -> None:
        """The real migrations, with this replica's environment (as an operator runs
        `litestar database upgrade` once before rolling the replicas out)."""
        subprocess.run(
            [sys.executable, "-m", "litestar", "database", "upgrade", "--no-prompt"],
            cwd=ROOT,
            env={**self._environment(), "LITESTAR_APP": "reelvault.app:create_app"},
            check=True,
            capture_output=True,
        )

    def kill(self) -> None:
        """SIGKILL, the replica and the media children of its session: nothing of it runs on."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if not self.alive:
            self.process = None
            return
        assert self.process is not None
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=20)
        self.kill()  # what is left of its session, if anything

    def log_entries(self) -> list[dict]:
        """The replica's JSON log lines so far (other output, a traceback, is left out)."""
        if not self.log_path.exists():
            return []
        entries = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    entries.append(json.loads(line))
        return entries

    def served(self, request_id: str) -> bool:
        """Whether this replica answered the request of that X-Request-ID."""
        return any(
            e.get("request_id") == request_id and e.get("event") == "request"
            for e in self.log_entries()
        )

    def log_tail(self, size: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-size:] if self.log_path.exists() else ""

    def open_files(self) -> list[Path]:
        """The files this replica (or a media child of it) has open in its data directory."""
        if not self.alive:
            return []
        assert self.process is not None
        root = self.settings.data_dir
        found: list[Path] = []
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(self.process.pid)
            for member in (process, *process.children(recursive=True)):
                with contextlib.suppress(psutil.Error):
                    paths = [Path(f.path) for f in member.open_files()]
                    found += [path for path in paths if path.is_relative_to(root)]
        return found

    def holds_upload_slot(self, owner_id: uuid.UUID) -> bool:
        """Whether an upload of that account is in progress here: the replica holds one of
        the account's upload slots (an flock on `<data dir>/uploads-in-flight/<owner>.<n>`,
        open from before the body's first byte until the import has ended)."""
        slots = self.settings.data_dir / "uploads-in-flight"
        return any(
            path.parent == slots and path.name.startswith(f"{owner_id}.")
            for path in self.open_files()
        )

    def work_files(self) -> list[Path]:
        """The files of imports in its media directory (their work folders): none once every
        import it took has ended, or once it has restarted after a crash."""
        return [path for path in self.settings.media_root.rglob("*") if path.is_file()]


@dataclass
class ReplicaSet:
    """The replicas, the store they share and the Nginx in front of them."""

    settings: Settings  # the first replica's: the database, bucket and key they all share
    s3: S3Server
    replicas: list[Replica]
    nginx: Nginx
    workdir: Path

    @property
    def base_url(self) -> str:
        return self.nginx.base_url

    def replica_serving(self, request_id: str, timeout: float = 5) -> Replica:
        """The replica whose log shows the request of that id (its line comes at the end)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.replicas if r.served(request_id)]
            if found or time.monotonic() > deadline:
                assert len(found) == 1, (request_id, [r.name for r in found])
                return found[0]
            time.sleep(0.05)

    def wait_in_rotation(self, timeout: float = 30) -> None:
        """Until Nginx sends requests to every replica again: one that failed stays out of the
        upstream for fail_timeout (10 s) even once restarted, then a request tries it."""
        deadline = time.monotonic() + timeout
        waiting = {replica.name for replica in self.replicas}
        with httpx.Client(base_url=self.base_url, timeout=5) as client:
            while waiting:
                assert time.monotonic() < deadline, f"not back behind Nginx: {waiting}"
                request_id = f"rotation-{uuid.uuid4().hex[:12]}"
                client.get("/health/live", headers={"X-Request-ID": request_id})
                waiting -= {r.name for r in self.replicas if r.served(request_id)}
                time.sleep(0.1)

    def replica_uploading(self, owner_id: uuid.UUID, timeout: float = 10) -> Replica:
        """The replica an upload of that account went to (Nginx chose it): the one holding
        the account's upload slot. Blocks: call it off the event loop that sends the body."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.replicas if r.holds_upload_slot(owner_id)]
            if len(found) == 1:
                return found[0]
            assert time.monotonic() < deadline, f"no one replica uploads: {found}"
            time.sleep(0.02)


def replica_settings(
    database_url: str, s3: S3Server, bucket: str, data_dir: Path, **overrides: object
) -> Settings:
    """The settings every replica shares (their data directories apart), with a signing key
    of their own: `overrides` are further fields."""
    base = Settings(data_dir=data_dir, database_url=database_url).resolved()
    return s3_settings(base, s3, bucket, secret_key=secrets.token_urlsafe(48), **overrides)


@contextlib.contextmanager
def replica_set(
    workdir: Path,
    settings: Settings,
    s3: S3Server,
    *,
    count: int = 2,
    migrate_first: bool = True,
) -> Iterator[ReplicaSet]:
    """`count` replicas of `settings` (each with a data directory of its own under `workdir`)
    behind one Nginx. `workdir` must be readable by Nginx's workers (not pytest's 0700 root).
    The database is migrated first, once, with the real CLI, as an operator does before
    rolling replicas out."""
    replicas = []
    for number in range(1, count + 1):
        data_dir = workdir / f"replica-{number}"
        own = dataclasses.replace(settings, data_dir=data_dir, media_dir=None).resolved()
        own.ensure_directories()
        replicas.append(
            Replica(f"replica-{number}", free_port(), own, workdir / f"replica-{number}.log")
        )
    if migrate_first:
        replicas[0].migrate()
    try:
        for replica in replicas:  # all start together, as a rollout does
            replica.spawn()
        for replica in replicas:
            replica.wait_ready()
        with nginx_in_front([r.port for r in replicas], replicas[0].settings, workdir) as nginx:
            yield ReplicaSet(replicas[0].settings, s3, replicas, nginx, workdir)
    finally:
        for replica in replicas:
            replica.stop()
