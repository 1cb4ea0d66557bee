"""A PostgreSQL server for the suite: the local one, or a throwaway cluster made with pg_ctl.

Outside CI a machine without PostgreSQL skips the PostgreSQL half with a printed reason;
in CI (CI=true) a missing server is a failure.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str

    def url(self, database: str, driver: str = "asyncpg") -> str:
        return f"postgresql+{driver}://{self.user}@{self.host}:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> None:
        subprocess.run(
            [
                "psql",
                "-X",
                "-q",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
        )

    @contextlib.contextmanager
    def database(self, prefix: str = "reelvault_test") -> Iterator[str]:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.psql(f'CREATE DATABASE "{name}"')
        try:
            yield name
        finally:
            self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _accepts(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _throwaway_cluster() -> Iterator[PostgresServer]:
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not binaries:
        raise RuntimeError("no PostgreSQL server on 127.0.0.1:5432 and no pg_ctl to start one")
    bindir = os.path.dirname(binaries[-1])
    workdir = tempfile.mkdtemp(prefix="reelvault-pg-")
    port = _free_port()
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(workdir, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    datadir = os.path.join(workdir, "data")
    subprocess.run(
        [
            *as_postgres,
            f"{bindir}/initdb",
            "-D",
            datadir,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_postgres,
            f"{bindir}/pg_ctl",
            "-D",
            datadir,
            "-w",
            "-l",
            os.path.join(workdir, "log"),
            "-o",
            f"-p {port} -k {workdir} -h 127.0.0.1",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield PostgresServer("127.0.0.1", port, "postgres")
    finally:
        subprocess.run(
            [*as_postgres, f"{bindir}/pg_ctl", "-D", datadir, "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    host = os.environ.get("REELVAULT_TEST_PG_HOST", "127.0.0.1")
    port = int(os.environ.get("REELVAULT_TEST_PG_PORT", "5432"))
    if _accepts(host, port):
        yield PostgresServer(host, port, os.environ.get("REELVAULT_TEST_PG_USER", "postgres"))
        return
    try:
        with _throwaway_cluster() as server:
            yield server
    except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
        reason = f"PostgreSQL unavailable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        print(f"\nSKIPPING the PostgreSQL half of the suite: {reason}")
        pytest.skip(reason)
