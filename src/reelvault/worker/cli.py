"""`reelvault worker` (a worker anywhere that reaches the API) and `reelvault demo-worker`
(the one `make run` starts beside the app, with a key of its own)."""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from pathlib import Path

import click
import httpx

from reelvault.worker.api import Api
from reelvault.worker.engine import DEMO, Engine, EngineNotFound, load_engine
from reelvault.worker.loop import Worker

_KEY_PREFIX = "rvk_"


def check_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except Exception:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise click.BadParameter(
            "give the API's base URL, e.g. http://127.0.0.1:8000", param_hint="'--url'"
        )
    return url.rstrip("/")


def _engine(spec: str) -> Engine:
    try:
        engine = load_engine(spec)
    except EngineNotFound as exc:
        raise click.BadParameter(str(exc), param_hint="'--engine'") from None
    if spec == DEMO:
        from reelvault.worker.demo_engine import pace_from_env

        try:
            pace_from_env()
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    return engine


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per call is noise here


def run_worker(
    url: str,
    key: str,
    engine: Engine,
    *,
    lease_seconds: int,
    grace_seconds: float,
    work_dir: Path | None,
) -> int:
    async def main() -> int:
        api = Api(url, key)
        worker = Worker(
            api,
            engine,
            lease_seconds=lease_seconds,
            grace_seconds=grace_seconds,
            work_root=work_dir,
        )
        worker.install_signal_handlers()
        try:
            return await worker.run()
        finally:
            await api.aclose()

    return asyncio.run(main())


_common = [
    click.option(
        "--engine",
        envvar="REELVAULT_WORKER_ENGINE",
        default=DEMO,
        show_default=True,
        help="module:callable of the engine (see reelvault.worker.engine), or 'demo'.",
    ),
    click.option(
        "--lease-seconds",
        envvar="REELVAULT_WORKER_LEASE_SECONDS",
        type=click.IntRange(5, 600),
        default=60,
        show_default=True,
        help="How long a claim lasts without a heartbeat.",
    ),
    click.option(
        "--grace-seconds",
        envvar="REELVAULT_WORKER_GRACE_SECONDS",
        type=click.FloatRange(0, 3600),
        default=30.0,
        show_default=True,
        help="On SIGTERM/SIGINT, how long the running job may take to finish before it is "
        "given back.",
    ),
    click.option(
        "--work-dir",
        envvar="REELVAULT_WORKER_WORK_DIR",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where each job's temporary directory is made (default: the system's).",
    ),
    click.option(
        "--log-level",
        envvar="REELVAULT_LOG_LEVEL",
        type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
        default="INFO",
    ),
]


def _with_common(command):  # type: ignore[no-untyped-def]
    for option in reversed(_common):
        command = option(command)
    return command


@click.command("worker")
@click.option(
    "--url",
    envvar="REELVAULT_WORKER_URL",
    required=True,
    help="The API's base URL (also REELVAULT_WORKER_URL).",
)
@click.option(
    "--key",
    envvar="REELVAULT_WORKER_KEY",
    required=True,
    help="A key from `reelvault worker-key create` (better: REELVAULT_WORKER_KEY, which no "
    "process listing shows).",
)
@_with_common
def worker(
    url: str,
    key: str,
    engine: str,
    lease_seconds: int,
    grace_seconds: float,
    work_dir: Path | None,
    log_level: str,
) -> None:
    """Claim generations from the API and make them with ENGINE until stopped (SIGTERM:
    finish or give back the running job, then exit)."""
    url = check_url(url)
    if not key.startswith(_KEY_PREFIX):
        # Never echo the value: it may be a real secret pasted into the wrong place.
        raise click.BadParameter("a worker key starts with 'rvk_'", param_hint="'--key'")
    loaded = _engine(engine)
    _logging(log_level.upper())
    code = run_worker(
        url,
        key,
        loaded,
        lease_seconds=lease_seconds,
        grace_seconds=grace_seconds,
        work_dir=work_dir,
    )
    sys.exit(code)


@click.command("demo-worker")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True)
@_with_common
def demo_worker(
    url: str,
    engine: str,
    lease_seconds: int,
    grace_seconds: float,
    work_dir: Path | None,
    log_level: str,
) -> None:
    """A worker with a key of its own (made now, on the configured database, and revoked when
    it stops): what `make run` starts beside the app."""
    url = check_url(url)
    loaded = _engine(engine)
    _logging(log_level.upper())
    name = f"demo-worker-{uuid.uuid4().hex[:8]}"
    key = asyncio.run(_keyring("create", name))
    click.echo(f"Demo worker {name!r} making generations for {url}", err=True)
    try:
        code = run_worker(
            url,
            key,
            loaded,
            lease_seconds=lease_seconds,
            grace_seconds=grace_seconds,
            work_dir=work_dir,
        )
    finally:
        asyncio.run(_keyring("revoke", name))
    sys.exit(code)


async def _keyring(action: str, name: str) -> str:
    # The one place this package touches the database: the demo's own key, on this machine.
    from reelvault.db import build_sqlalchemy_config
    from reelvault.settings import Settings, SettingsError
    from reelvault.workers.keyring import create_key, revoke_key

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    config = build_sqlalchemy_config(settings)
    try:
        async with config.get_session() as session:
            if action == "create":
                return await create_key(session, name)
            await revoke_key(session, name)
            return name
    finally:
        await config.get_engine().dispose()


def register(group: click.Group) -> None:
    group.add_command(worker)
    group.add_command(demo_worker)
