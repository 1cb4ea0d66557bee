from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import bindparam, delete, insert, select, update

from reelvault.accounts.models import User, auth_session
from reelvault.accounts.passwords import Passwords, hash_password
from reelvault.accounts.schemas import EMAIL_MAX_LENGTH, Account, normalise_email
from reelvault.accounts.throttle import count_attempt, forget_attempts, throttle_key
from reelvault.errors import Conflict, Forbidden, NotAuthenticated
from reelvault.settings import Registration

_user = User.__table__.c
_session = auth_session.c
_ACCOUNT_BY_ID = select(_user.id, _user.email, _user.created_at).where(
    _user.id == bindparam("user_id")
)
_EXISTS = select(_user.id).where(_user.id == bindparam("user_id"))
_HASH_BY_EMAIL = select(_user.id, _user.password_hash).where(_user.email == bindparam("email"))
_HASH_BY_ID = select(_user.email, _user.password_hash).where(_user.id == bindparam("user_id"))
_SET_HASH = (
    update(User.__table__)
    .where(_user.id == bindparam("user_id"))
    .values(password_hash=bindparam("password_hash"), updated_at=bindparam("now"))
)
_NEW_SESSION = insert(auth_session)
_END_SESSION = delete(auth_session).where(_session.id == bindparam("session_id"))
_END_OTHER_SESSIONS = delete(auth_session).where(
    _session.user_id == bindparam("user_id"), _session.id != bindparam("session_id")
)
_PURGE_EXPIRED = delete(auth_session).where(_session.expires_at <= bindparam("now"))
WRONG_CREDENTIALS = "Incorrect e-mail or password"


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: the token's `sub` and `jti`, and how long it lasts."""

    user_id: UUID
    session_id: UUID
    lifetime: timedelta


def to_account(user: User) -> Account:
    return Account(id=user.id, email=user.email, created_at=user.created_at)


class UserService(SQLAlchemyAsyncRepositoryService[User]):
    """Accounts, their passwords and their sessions.

    Argon2 never runs inside a transaction: the flows below read what they need, end the
    transaction (its connection goes back to the pool), hash or verify on the `Passwords` pool,
    and only then write; the request boundary commits those writes."""

    class Repository(SQLAlchemyAsyncRepository[User]):
        model_type = User

    repository_type = Repository

    async def sign_up(
        self, email: str, password: str, passwords: Passwords, registration: Registration
    ) -> Account:
        """Registration through the API, which the configuration may close."""
        if registration != "open":
            raise Forbidden("Registration is closed; ask the administrator for an account")
        return await self.register(email, password, passwords)

    async def register(
        self, email: str, password: str, passwords: Passwords | None = None
    ) -> Account:
        """A new account (the API's sign-up, `reelvault create-user`, the demo: without a pool,
        outside the app, the hash runs on a worker thread)."""
        # Hashed before the first statement: no connection is held while Argon2 runs.
        password_hash = await (passwords.hash(password) if passwords else hash_password(password))
        email = normalise_email(email)
        if await self.exists(email=email):
            raise Conflict("An account with this e-mail already exists")
        user = User(email=email, password_hash=password_hash)
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

    async def sign_in(
        self,
        email: str,
        password: str,
        address: str,
        passwords: Passwords,
        lifetime: timedelta,
    ) -> SignedIn:
        """A new session for these credentials; one answer for every mismatch, and 429 after
        too many in a row for this account from this address (unknown e-mails included, so
        the answers tell nothing about which accounts exist)."""
        passwords.admit()  # a full pool refuses before the attempt is even counted
        email = normalise_email(email)
        key = throttle_key(email, address)
        session = self.repository.session
        now = datetime.now(UTC)
        await count_attempt(session, key, now)
        row = None
        if len(email) <= EMAIL_MAX_LENGTH:  # a longer one matches nobody (and fits no column)
            row = (await session.execute(_HASH_BY_EMAIL, {"email": email})).first()
        await session.commit()  # the count is seen by every process; no connection held below
        if not await passwords.verify(row.password_hash if row else None, password) or not row:
            raise NotAuthenticated(WRONG_CREDENTIALS)
        now = datetime.now(UTC)
        await forget_attempts(session, key, now)
        await session.execute(_PURGE_EXPIRED, {"now": now})
        session_id = uuid4()
        await session.execute(
            _NEW_SESSION,
            {
                "id": session_id,
                "user_id": row.id,
                "created_at": now,
                "expires_at": now + lifetime,
            },
        )
        return SignedIn(row.id, session_id, lifetime)

    async def sign_out(self, session_id: UUID) -> None:
        await self.repository.session.execute(_END_SESSION, {"session_id": session_id})

    async def check_password(
        self, user_id: UUID, password: str, address: str, passwords: Passwords
    ) -> None:
        """401 unless `password` is the account's own, throttled like sign-ins (a stolen session
        must not become a way to guess the password)."""
        key = await self._verify_own_password(user_id, password, address, passwords)
        await forget_attempts(self.repository.session, key, datetime.now(UTC))

    async def change_password(
        self,
        user_id: UUID,
        session_id: UUID,
        current_password: str,
        new_password: str,
        address: str,
        passwords: Passwords,
    ) -> None:
        """Set a new password and end every other session of the user (the caller's stays)."""
        key = await self._verify_own_password(user_id, current_password, address, passwords)
        password_hash = await passwords.hash(new_password)
        session = self.repository.session
        now = datetime.now(UTC)
        await forget_attempts(session, key, now)
        await session.execute(
            _SET_HASH, {"user_id": user_id, "password_hash": password_hash, "now": now}
        )
        await session.execute(_END_OTHER_SESSIONS, {"user_id": user_id, "session_id": session_id})

    async def _verify_own_password(
        self, user_id: UUID, password: str, address: str, passwords: Passwords
    ) -> str:
        """The throttle key of a verified password; ends the transaction it reads in, so the
        caller's next statement (after any further Argon2 work) starts a fresh one."""
        passwords.admit()
        session = self.repository.session
        row = (await session.execute(_HASH_BY_ID, {"user_id": user_id})).first()
        if row is None:
            await session.rollback()
            raise NotAuthenticated()
        key = throttle_key(row.email, address, purpose="own-password")
        await count_attempt(session, key, datetime.now(UTC))
        await session.commit()
        if not await passwords.verify(row.password_hash, password):
            raise NotAuthenticated("The current password is incorrect")
        return key
