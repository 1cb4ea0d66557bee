"""Dependencies of the accounts domain: its service, and who is asking.

`owner` is the principal a valid token names, for handlers whose own statement proves the
account (the owner in its WHERE clause); `current_user` reads the account (one statement) for
handlers that need it or that write on its behalf."""

from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Request
from litestar.di import NamedDependency
from litestar.params import SkipValidation

from reelvault.accounts.auth import Principal
from reelvault.accounts.schemas import Account
from reelvault.accounts.services import UserService

provide_users = create_service_provider(UserService)


def provide_owner(request: Request[Principal, Any, Any]) -> Principal:
    return request.user


async def provide_current_user(
    request: Request[Principal, Any, Any], users: NamedDependency[SkipValidation[UserService]]
) -> Account:
    """The signed-in account; 401 where it no longer exists."""
    return await users.account_of(request.user.id)
