from __future__ import annotations

from uuid import UUID

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import bindparam, select

from reelvault.accounts.models import User
from reelvault.accounts.passwords import hash_password, verify_password
from reelvault.accounts.schemas import Account
from reelvault.errors import Conflict, NotAuthenticated

_user = User.__table__.c
_ACCOUNT_BY_ID = select(_user.id, _user.email, _user.created_at).where(
    _user.id == bindparam("user_id")
)
_EXISTS = select(_user.id).where(_user.id == bindparam("user_id"))


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

    async def account_of(self, user_id: UUID) -> Account:
        """The account a token names; 401 where it no longer exists (no cache: a deleted
        account's token is refused at once, by every process)."""
        row = (await self.repository.session.execute(_ACCOUNT_BY_ID, {"user_id": user_id})).first()
        if row is None:
            raise NotAuthenticated()
        return Account(id=row.id, email=row.email, created_at=row.created_at)

    async def is_present(self, user_id: UUID) -> bool:
        return (
            await self.repository.session.execute(_EXISTS, {"user_id": user_id})
        ).first() is not None

    async def authenticate(self, email: str, password: str) -> UUID:
        """The id of the account these credentials open; one answer for every mismatch."""
        user = await self.get_one_or_none(email=normalise_email(email))
        if not await verify_password(user.password_hash if user else None, password) or not user:
            raise NotAuthenticated("Incorrect e-mail or password")
        return user.id
