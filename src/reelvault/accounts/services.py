from __future__ import annotations

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService

from reelvault.accounts.models import User
from reelvault.accounts.passwords import hash_password, verify_password
from reelvault.errors import Conflict, NotAuthenticated


def normalise_email(email: str) -> str:
    return email.strip().lower()


class UserService(SQLAlchemyAsyncRepositoryService[User]):
    class Repository(SQLAlchemyAsyncRepository[User]):
        model_type = User

    repository_type = Repository

    async def register(self, email: str, password: str) -> User:
        email = normalise_email(email)
        if await self.exists(email=email):
            raise Conflict("An account with this e-mail already exists")
        user = User(email=email, password_hash=await hash_password(password))
        return await self.create(user)

    async def authenticate(self, email: str, password: str) -> User:
        user = await self.get_one_or_none(email=normalise_email(email))
        if not await verify_password(user.password_hash if user else None, password) or not user:
            raise NotAuthenticated("Incorrect e-mail or password")
        return user

    async def set_password(self, user: User, password: str) -> User:
        user.password_hash = await hash_password(password)
        return await self.update(user)
