"""Deleting one's own account: `DELETE /api/auth/me` with the password. The account, all its
generations and all their files go, all or nothing (see GenerationService.delete_library)."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, SkipValidation
from sqlalchemy import bindparam
from sqlalchemy import delete as sa_delete

from reelvault.accounts.auth import Principal, expired_auth_cookie
from reelvault.accounts.controllers import client_address
from reelvault.accounts.models import User
from reelvault.accounts.passwords import Passwords
from reelvault.accounts.schemas import NoNul
from reelvault.accounts.services import UserService
from reelvault.errors import NotAuthenticated
from reelvault.generations.deps import provide_generations
from reelvault.generations.services import GenerationService
from reelvault.observability import log_event

logger = logging.getLogger("reelvault.accounts")

# Its sessions (and sign-in records) go with it: every foreign key to it cascades.
_DROP_ACCOUNT = sa_delete(User.__table__).where(User.__table__.c.id == bindparam("user_id"))


class AccountDeletion(msgspec.Struct, forbid_unknown_fields=True):
    password: Annotated[str, msgspec.Meta(max_length=256, pattern=NoNul)]


class AccountClosure:
    """The account's side of its deletion: the password check, then its row, dropped in the
    transaction that deletes its library."""

    def __init__(self, users: UserService, generations: GenerationService) -> None:
        self.users = users
        self.generations = generations

    async def close(self, user_id: UUID, password: str, address: str, passwords: Passwords) -> int:
        """401 (nothing deleted) unless `password` is the account's own; throttled like
        sign-ins, so a stolen session cannot guess it. Returns how many generations went."""
        await self.users.check_password(user_id, password, address, passwords)
        session = self.users.repository.session

        async def drop_account() -> None:
            dropped = await session.execute(_DROP_ACCOUNT, {"user_id": user_id})
            if dropped.rowcount != 1:  # type: ignore[attr-defined]
                raise NotAuthenticated()  # gone meanwhile (a concurrent deletion)

        deleted = await self.generations.delete_library(user_id, drop_account)
        log_event(logger, "account-deleted", user_id=user_id, generations=deleted)
        return deleted


async def provide_closure(
    users: NamedDependency[SkipValidation[UserService]],
    generations: NamedDependency[SkipValidation[GenerationService]],
) -> AccountClosure:
    return AccountClosure(users, generations)


class AccountClosureController(Controller):
    path = "/api/auth"
    tags = ["Authentication"]
    dependencies = {
        "generations": Provide(provide_generations),
        "closure": Provide(provide_closure),
    }

    @delete(
        "/me",
        status_code=204,
        summary="Delete the account, all its generations and all their files (all or nothing)",
        response_cookies=[expired_auth_cookie()],
    )
    async def delete_account(
        self,
        request: Request[Principal, Any, Any],
        data: JSONBody[AccountDeletion],
        closure: NamedDependency[SkipValidation[AccountClosure]],
        passwords: NamedDependency[SkipValidation[Passwords]],
    ) -> None:
        await closure.close(request.user.id, data.password, client_address(request), passwords)
