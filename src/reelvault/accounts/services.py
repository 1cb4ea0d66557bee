from __future__ import annotations

from uuid import UUID

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService

from reelvault.accounts.models import User
from reelvault.accounts.passwords import hash_password, verify_password
from reelvault.accounts.schemas import Account
from reelvault.errors import Conflict, NotAuthenticated


def normalise_email(email: str) -> str:
    return email.strip().lower()


def to_account(user: User) -> Account:
    return Account(id=user.id, email=user.email, created_at=user.created_at)


class UserService(SQLAlchemyAsyncRepositoryService[User]):
    class Repository(SQLAlchemyAsyncRepository[User]):
        model_type = User

    repository_type = Repository

    async def register(self, email: str, password: str) -> Account:
        email = normalise_email(email)
        if await self.exists(email=email):
            raise Conflict("An account with this e-mail already exists")
        user = User(email=email, password_hash=await hash_password(password))
        return to_account(await self.create(user))

    async def authenticate(self, email: str, password: str) -> UUID:
        """The id of the account these credentials open; one answer for every mismatch."""
        user = await self.get_one_or_none(email=normalise_email(email))
        if not await verify_password(user.password_hash if user else None, password) or not user:
            raise NotAuthenticated("Incorrect e-mail or password")
        return user.id
