"""A small JSON body read from a raw stream, for a handler that also takes other bodies (the
generations POST: JSON requests a generation, multipart imports one), with the API's answers:
400 for what is not JSON, 413 past the bound, 422 with `extra` for a bad value."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import TypeVar

import msgspec
from litestar.exceptions import ValidationException

from reelvault.errors import BadRequest, PayloadTooLarge

MAX_JSON_BYTES = 64 * 1024
T = TypeVar("T")
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<key>[^`]*)`)?$", re.DOTALL)
# "Object missing required field `prompt`", "Object contains unknown field `status`"
_FIELD = re.compile(r"field `(?P<field>[^`]*)`")


async def read_json(stream: AsyncIterator[bytes], into: type[T]) -> T:
    body = bytearray()
    async for chunk in stream:
        body.extend(chunk)
        if len(body) > MAX_JSON_BYTES:
            raise PayloadTooLarge(f"The JSON body is larger than {MAX_JSON_BYTES} bytes")
    try:
        return msgspec.json.decode(bytes(body), type=into)
    except msgspec.ValidationError as exc:
        raise ValidationException(extra=[validation_item(str(exc))]) from None
    except msgspec.DecodeError:
        raise BadRequest("The body is not valid JSON") from None


def validation_item(message: str) -> dict[str, str]:
    """msgspec's "Expected `int` >= 1 - at `$.duration`" as the API's
    {"message", "key", "source"} (the shape Litestar gives its own validation errors)."""
    match = _AT.match(message)
    assert match is not None  # the pattern matches any text
    key = match["key"] or ""
    named = _FIELD.search(match["message"])
    if named:  # the field itself is the key, inside the object the path names
        key = f"{key}.{named['field']}" if key else named["field"]
    return {"message": match["message"], "key": key, "source": "body"}
