"""Dependencies of the accounts domain: its service, and who is asking.

`owner` is the principal a valid token names; the token check has proven its session and its
account (and read the account's e-mail and creation time), so `current_user` needs no
statement of its own."""

from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Request

from reelvault.accounts.auth import Principal
from reelvault.accounts.schemas import Account
from reelvault.accounts.services import UserService

provide_users = create_service_provider(UserService)


def provide_owner(request: Request[Principal, Any, Any]) -> Principal:
    return request.user


def provide_current_user(request: Request[Principal, Any, Any]) -> Account:
    """The signed-in account, as the token check read it."""
    user = request.user
    return Account(id=user.id, email=user.email, created_at=user.created_at)
