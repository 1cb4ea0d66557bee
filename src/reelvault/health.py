from __future__ import annotations

import tempfile

from anyio import to_thread
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import SkipValidation
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from reelvault.storage.backend import MediaBackend
from reelvault.storage.store import MediaStore


class HealthController(Controller):
    path = "/health"
    tags = ["Operations"]
    include_in_schema = True

    @get("/live", summary="The process is running", exclude_from_auth=True)
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="The database answers and media can be written", exclude_from_auth=True)
    async def ready(
        self,
        db_session: NamedDependency[AsyncSession],
        media: NamedDependency[SkipValidation[MediaStore]],
        backend: NamedDependency[SkipValidation[MediaBackend]],
    ) -> Response[dict[str, str]]:
        checks = {"database": "ok", "media": "ok"}
        try:
            await db_session.execute(text("SELECT 1"))
        except Exception:  # any failure means not ready; the reason stays in the log
            checks["database"] = "unavailable"
        # Uploads are staged in the media directory whatever the backend; the bucket, where
        # there is one, must answer too (one HeadBucket per check).
        if not await to_thread.run_sync(_media_writable, media):
            checks["media"] = "unwritable"
        elif backend.name != "local" and not await backend.ready():
            checks["media"] = "unavailable"
        ready = all(value == "ok" for value in checks.values())
        return Response(
            {"status": "ok" if ready else "unavailable", **checks},
            status_code=200 if ready else 503,
        )


def _media_writable(media: MediaStore) -> bool:
    try:
        with tempfile.NamedTemporaryFile(dir=media.root, prefix=".ready-"):
            pass
    except OSError:
        return False
    return True
