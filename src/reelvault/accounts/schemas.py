from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

EMAIL_MAX_LENGTH = 320  # the column's size (RFC 5321's limit on a path)
Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=EMAIL_MAX_LENGTH,
        pattern=r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$",
        description="An e-mail address; compared regardless of case",
        examples=["ada@example.com"],
    ),
]
# No NUL: PostgreSQL text cannot hold it, and no person types one.
NoNul = r"^[^\x00]*$"
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=256, pattern=NoNul)]


def normalise_email(email: str) -> str:
    return email.strip().lower()


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password

    def __post_init__(self) -> None:
        # Checked again once normalised: lower-casing can lengthen a string ("İ" becomes two
        # code points), and PostgreSQL refuses a value longer than the column (a 500 before).
        self.email = normalise_email(self.email)
        if len(self.email) > EMAIL_MAX_LENGTH:
            raise ValueError(f"Expected an e-mail of at most {EMAIL_MAX_LENGTH} characters")


class LoginCredentials(msgspec.Struct):
    # Login never explains which rule a value breaks: any mismatch is one 401.
    email: Annotated[str, msgspec.Meta(max_length=320, pattern=NoNul)]
    password: Annotated[str, msgspec.Meta(max_length=256, pattern=NoNul)]


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    # The current one is only compared: any mismatch is one 401, never a validation error.
    current_password: Annotated[str, msgspec.Meta(max_length=256, pattern=NoNul)]
    new_password: Password


class Account(msgspec.Struct):
    id: UUID
    email: str
    created_at: datetime


class AccessToken(msgspec.Struct):
    access_token: str
    expires_in: int
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
