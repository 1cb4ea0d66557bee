"""A real S3-protocol server for the suite: the standalone server of moto (`moto_server`), a
child process on a free port (SigV4, ranges, multipart uploads, presigned URLs). It can be
stopped and started again on the same port (a store outage); its objects live in its memory,
so a restart empties it, as a lost store would be."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
from botocore.config import Config

from reelvault.settings import Settings
from tests.support.servers import free_port

ACCESS_KEY = "reelvault-test"
SECRET_KEY = "reelvault-test-secret"  # moto accepts any credentials
REGION = "us-east-1"


def _moto_command(port: int) -> list[str]:
    found = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    if found:
        return [found, "-H", "127.0.0.1", "-p", str(port)]
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


@dataclass
class S3Server:
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            _moto_command(self.port),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{self.endpoint_url}/moto-api/", timeout=1)
                return
            except httpx.HTTPError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server at once (SIGKILL): every request to it now fails to connect."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """The store down for the block, then back (empty: moto keeps objects in memory, so
        tests that need objects to survive use `paused` instead)."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The store frozen (SIGSTOP) for the block: connections hang, then time out, and its
        objects survive. Callers must use short client timeouts."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(self.process.pid, signal.SIGCONT)

    def client(self):
        """A plain (synchronous) boto3 client, for tests to look inside the store."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def new_bucket(self) -> str:
        name = f"reelvault-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        client = self.client()
        found: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found += [entry["Key"] for entry in page.get("Contents", [])]
        return found


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    server = S3Server(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def s3_settings(settings: Settings, server: S3Server, bucket: str, **overrides: object) -> Settings:
    """`settings` pointed at a bucket of `server` (REELVAULT_STORAGE=s3)."""
    return dataclasses.replace(
        settings,
        storage="s3",
        s3_endpoint_url=server.endpoint_url,
        s3_bucket=bucket,
        s3_region=REGION,
        s3_access_key_id=ACCESS_KEY,
        s3_secret_access_key=SECRET_KEY,
        **overrides,
    ).resolved()


def s3_env(settings: Settings) -> dict[str, str]:
    """The REELVAULT_S3_* variables of `settings`, for a child process."""
    return {
        "REELVAULT_STORAGE": settings.storage,
        "REELVAULT_S3_ENDPOINT_URL": settings.s3_endpoint_url or "",
        "REELVAULT_S3_BUCKET": settings.s3_bucket,
        "REELVAULT_S3_REGION": settings.s3_region,
        "REELVAULT_S3_ACCESS_KEY_ID": settings.s3_access_key_id or "",
        "REELVAULT_S3_SECRET_ACCESS_KEY": settings.s3_secret_access_key or "",
        "REELVAULT_S3_PREFIX": settings.s3_prefix,
    }
