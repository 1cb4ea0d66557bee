"""Worker keys as pure logic: making one, its digest, and what a well-formed one looks like."""

from __future__ import annotations

import hashlib
import re
import secrets

PREFIX = "rvk_"
RANDOM_BYTES = 32  # 43 URL-safe characters after the prefix
# What a key we made can look like (bounded, so a huge header is refused before any hashing).
_WELL_FORMED = re.compile(r"^rvk_[A-Za-z0-9_-]{32,128}$")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(RANDOM_BYTES)


def digest(key: str) -> str:
    """SHA-256, hex: a key is 256 random bits, so no salt or slow hash adds anything."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def is_well_formed(key: str) -> bool:
    return _WELL_FORMED.match(key) is not None


def is_valid_name(name: str) -> bool:
    return re.match(NAME_PATTERN, name) is not None
