from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

# Lease tokens are ours (URL-safe); anything else cannot match one, and is refused as a value.
LeaseToken = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class ClaimRequest(msgspec.Struct, forbid_unknown_fields=True):
    lease_seconds: Annotated[
        int, msgspec.Meta(ge=5, le=600, description="How long the lease lasts without a heartbeat")
    ] = 60


class ClaimedJob(msgspec.Struct):
    generation_id: UUID
    prompt: str
    duration: int
    aspect_ratio: str | None
    attempt: int
    lease_token: str
    lease_expires_at: datetime


class Heartbeat(msgspec.Struct, forbid_unknown_fields=True):
    lease_token: LeaseToken
    progress: Annotated[int, msgspec.Meta(ge=0, le=100)]


class LeaseExtended(msgspec.Struct):
    lease_expires_at: datetime


class Failure(msgspec.Struct, forbid_unknown_fields=True):
    lease_token: LeaseToken
    # A sentence the owner will read; PostgreSQL text cannot hold NUL.
    error: Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=r"^[^\x00]*$")]
    retry: bool = False


class WorkerKeyInfo(msgspec.Struct):
    name: str
    created_at: datetime
    last_used_at: datetime | None
