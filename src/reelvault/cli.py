"""reelvault's own commands, available as `reelvault ...` and as `litestar reelvault ...`."""

from __future__ import annotations

import anyio
import click
from litestar.plugins import CLIPluginProtocol

from reelvault.settings import Settings, SettingsError


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(name="reelvault")
def reelvault_cli() -> None:
    """Manage reelvault: the demo account and users."""


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


class ReelvaultCLIPlugin(CLIPluginProtocol):
    def on_cli_init(self, cli: click.Group) -> None:
        cli.add_command(reelvault_cli)
