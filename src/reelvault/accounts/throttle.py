"""Throttling of password guesses, per (account, client address), shared by every process.

An attempt is counted when it starts, in the database, before any Argon2 work: the count and
the block live in one row that the counting statement locks, so concurrent guesses (from any
number of app processes) cannot all slip under the limit, and a blocked guess costs one
statement. After THRESHOLD attempts in a row, guesses are refused (429) for a growing, capped
time, with one guess allowed each time a block ends. A success deletes the row.

Keyed by account *and* address, so that nobody can lock others out: an attacker's guesses block
only their own address for that account; colleagues behind the same address (other accounts)
and the owner from anywhere else keep signing in. No extra per-address cap across accounts: it
would lock out an office behind one address, and the Argon2 pool already bounds what a spray
of guesses can cost (see passwords.py).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import bindparam, case, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.accounts.models import sign_in_throttle
from reelvault.errors import TooManyRequests

THRESHOLD = 10  # attempts in a row before the first block
FIRST_BLOCK = timedelta(seconds=5)
LONGEST_BLOCK = timedelta(minutes=15)
# A count that saw no attempt for this long starts again (longer than LONGEST_BLOCK, so an
# attacker who waits out each block never resets it).
FORGET_AFTER = timedelta(hours=1)

_t = sign_in_throttle.c
_NOW = bindparam("now", type_=DateTimeUTC(timezone=True))


def throttle_key(email: str, address: str, purpose: str = "sign-in") -> str:
    """The row's key: a digest, so it has a fixed length and the table holds no e-mail.
    `purpose` keeps sign-ins apart from a signed-in user's own password checks (change of
    password, closing the account): a mistyped current password never blocks signing in."""
    return hashlib.sha256(f"{purpose}\n{email}\n{address}".encode()).hexdigest()


def block_after(attempts: int) -> timedelta | None:
    """How long guesses are refused after the `attempts`-th in a row: none below THRESHOLD,
    then FIRST_BLOCK, doubling with each further attempt, at most LONGEST_BLOCK."""
    if attempts < THRESHOLD:
        return None
    return min(LONGEST_BLOCK, FIRST_BLOCK * 2 ** min(attempts - THRESHOLD, 16))


def _count_statement(dialect: str):  # type: ignore[no-untyped-def]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(sign_in_throttle).values(
        key=bindparam("throttle_key"), attempts=1, blocked_until=None, updated_at=_NOW
    )
    return statement.on_conflict_do_update(
        index_elements=[_t.key],
        set_={
            "attempts": case(
                (_t.updated_at < bindparam("forget", type_=DateTimeUTC(timezone=True)), 1),
                else_=_t.attempts + 1,
            ),
            "updated_at": _NOW,
        },
        # A blocked key is not counted: no row comes back, and the guess is refused.
        where=or_(_t.blocked_until.is_(None), _t.blocked_until <= _NOW),
    ).returning(_t.attempts)


_COUNT = {dialect: _count_statement(dialect) for dialect in ("postgresql", "sqlite")}
_BLOCKED_UNTIL = select(_t.blocked_until).where(_t.key == bindparam("throttle_key"))
_BLOCK = (
    sign_in_throttle.update()
    .where(_t.key == bindparam("throttle_key"))
    .values(blocked_until=bindparam("until", type_=DateTimeUTC(timezone=True)))
)
_FORGET = delete(sign_in_throttle).where(
    or_(
        _t.key == bindparam("throttle_key"),
        _t.updated_at < bindparam("forget", type_=DateTimeUTC(timezone=True)),
    )
)


async def count_attempt(session: AsyncSession, key: str, now: datetime) -> None:
    """Count one attempt for `key` in the session's transaction (the caller commits it before
    verifying the password), or raise TooManyRequests where the key is blocked."""
    # A blocked key is told so by a plain read: a flood of refused guesses takes no write lock.
    until = (await session.execute(_BLOCKED_UNTIL, {"throttle_key": key})).scalar()
    if until is None or until <= now:
        dialect = session.get_bind().dialect.name
        values = {"throttle_key": key, "now": now, "forget": now - FORGET_AFTER}
        attempts = (await session.execute(_COUNT[dialect], values)).scalar()
        if attempts is not None:
            block = block_after(attempts)
            if block is not None:
                # The row is still locked by the count: no other attempt runs in between.
                await session.execute(_BLOCK, {"throttle_key": key, "until": now + block})
            return
        # Blocked by a concurrent attempt since the read.
        until = (await session.execute(_BLOCKED_UNTIL, {"throttle_key": key})).scalar()
    await session.rollback()
    raise TooManyRequests(
        "Too many wrong passwords; try again later",
        retry_after=(until - now).total_seconds() if until else 1,
    )


async def forget_attempts(session: AsyncSession, key: str, now: datetime) -> None:
    """A success: the key's count starts again; counts that saw nothing for long go too."""
    await session.execute(_FORGET, {"throttle_key": key, "forget": now - FORGET_AFTER})
