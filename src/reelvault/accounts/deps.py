"""Dependencies of the accounts domain: its service, and the signed-in user of a request."""

from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar.providers import create_service_provider
from litestar import Request

from reelvault.accounts.models import User
from reelvault.accounts.services import UserService

provide_users = create_service_provider(UserService)


def provide_current_user(request: Request[User, Any, Any]) -> User:
    """The user the request's token names (authentication already proved they exist)."""
    return request.user
