from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$",
        description="An e-mail address; compared regardless of case",
        examples=["ada@example.com"],
    ),
]
# No NUL: PostgreSQL text cannot hold it, and no person types one.
NoNul = r"^[^\x00]*$"
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=256, pattern=NoNul)]


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class LoginCredentials(msgspec.Struct):
    # Login never explains which rule a value breaks: any mismatch is one 401.
    email: Annotated[str, msgspec.Meta(max_length=320, pattern=NoNul)]
    password: Annotated[str, msgspec.Meta(max_length=256, pattern=NoNul)]


class Account(msgspec.Struct):
    id: UUID
    email: str
    created_at: datetime


class AccessToken(msgspec.Struct):
    access_token: str
    expires_in: int
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
