"""reelvault's own commands, available as `reelvault ...` and as `litestar reelvault ...`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import anyio
import click
from litestar.plugins import CLIPluginProtocol

from reelvault.settings import Settings, SettingsError
from reelvault.worker.cli import register as register_worker_commands

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(name="reelvault")
def reelvault_cli() -> None:
    """Manage reelvault: the demo account, users and worker keys."""


@reelvault_cli.command("demo")
@click.option("--reset", is_flag=True, help="Delete the demo videos first and render them again.")
def demo(reset: bool) -> None:
    """Create (or refresh) the demo account and its demo videos (embedded database only)."""
    from reelvault.demo.library import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo

    settings = _settings()
    if not settings.uses_embedded_database:
        # Its password is in the README: never on a database that serves real accounts.
        click.echo(
            "No demo account: it is only made on the embedded default database "
            "(REELVAULT_DATABASE_URL unset), as `make run` uses it."
        )
        return
    settings.ensure_directories()
    _, created = anyio.run(lambda: ensure_demo(settings, reset=reset))
    click.echo(f"Demo account ready ({created} generations created).")
    click.echo(f"  e-mail:   {DEMO_EMAIL}")
    click.echo(f"  password: {DEMO_PASSWORD}")


@reelvault_cli.command("create-user")
@click.option("--email", prompt=True, help="The new account's e-mail address.")
@click.password_option(help="At least 8 characters.")
def create_user(email: str, password: str) -> None:
    """Create an account (also while registration through the API is closed)."""
    import msgspec

    from reelvault.accounts.passwords import Passwords
    from reelvault.accounts.schemas import Credentials
    from reelvault.accounts.services import UserService
    from reelvault.db import build_sqlalchemy_config
    from reelvault.errors import Conflict

    try:
        credentials = msgspec.convert({"email": email, "password": password}, Credentials)
    except msgspec.ValidationError as exc:
        raise click.ClickException(f"Invalid value: {exc}") from exc

    async def create() -> str:
        config = build_sqlalchemy_config(_settings())
        passwords = Passwords(workers=1)
        try:
            async with config.get_session() as session:
                user = await UserService(session=session).register(
                    credentials.email, credentials.password, passwords
                )
                await session.commit()
                return str(user.id)
        finally:
            passwords.close()
            await config.get_engine().dispose()

    try:
        user_id = anyio.run(create)
    except Conflict as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"Created {credentials.email} ({user_id}).")


@reelvault_cli.group("worker-key")
def worker_key() -> None:
    """Keys that generator processes (workers) authenticate with."""


def _with_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work(session)` on a session of the configured database; domain errors exit 1."""
    from reelvault.db import build_sqlalchemy_config
    from reelvault.errors import DomainError

    async def run() -> T:
        config = build_sqlalchemy_config(_settings())
        try:
            async with config.get_session() as session:
                return await work(session)
        finally:
            await config.get_engine().dispose()

    try:
        return anyio.run(run)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc


@worker_key.command("create")
@click.argument("name")
def worker_key_create(name: str) -> None:
    """Create a key named NAME and print it (this is the only time it is shown)."""
    from reelvault.workers.keyring import create_key

    key = _with_session(lambda session: create_key(session, name))
    click.echo(key)
    click.echo(f"Worker key {name!r} created. It is shown only once: keep it now.", err=True)


@worker_key.command("list")
def worker_key_list() -> None:
    """Every key's name, when it was made and when it was last used (to the minute)."""
    from reelvault.workers.keyring import list_keys

    keys = _with_session(list_keys)
    if not keys:
        click.echo("No worker keys.")
        return
    width = max(len("NAME"), *(len(key.name) for key in keys))
    click.echo(f"{'NAME':<{width}}  {'CREATED':<20}  LAST USED")
    for key in keys:
        used = _when(key.last_used_at) if key.last_used_at else "never"
        click.echo(f"{key.name:<{width}}  {_when(key.created_at):<20}  {used}")


@worker_key.command("revoke")
@click.argument("name")
def worker_key_revoke(name: str) -> None:
    """End the key NAME at once, on every app process."""
    from reelvault.workers.keyring import revoke_key

    _with_session(lambda session: revoke_key(session, name))
    click.echo(f"Worker key {name!r} revoked.")


@reelvault_cli.group("storage")
def storage() -> None:
    """Where the media files live."""


@storage.command("migrate")
@click.option(
    "--to", "target", type=click.Choice(["s3"]), required=True, help="Where the files go."
)
@click.option(
    "--jobs", type=click.IntRange(1, 64), default=4, show_default=True, help="Files sent at once."
)
@click.option("--dry-run", is_flag=True, help="Compare and report; upload nothing.")
def storage_migrate(target: str, jobs: int, dry_run: bool) -> None:
    """Copy the local media files into the bucket of the REELVAULT_S3_* settings, each under
    its stored path, verified; run again to resume (what is there already is not sent).
    Local files are left in place. Exit 0 when every file is in the bucket, 3 when only rows
    whose files are missing everywhere stand in the way, 1 otherwise."""
    from reelvault.storage.migrate import MigrationRefused, migrate_to_s3, summary_lines

    settings = _settings()
    try:
        summary = anyio.run(
            lambda: migrate_to_s3(
                settings,
                jobs=jobs,
                dry_run=dry_run,
                progress=lambda line: click.echo(line, err=True),
            )
        )
    except MigrationRefused as exc:
        raise click.ClickException(str(exc)) from exc
    for line in summary_lines(summary, settings):
        click.echo(line)
    raise SystemExit(summary.exit_code)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


register_worker_commands(reelvault_cli)  # `reelvault worker`, `reelvault demo-worker`


class ReelvaultCLIPlugin(CLIPluginProtocol):
    def on_cli_init(self, cli: click.Group) -> None:
        cli.add_command(reelvault_cli)
