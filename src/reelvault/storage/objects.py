"""An S3-compatible object store (AWS S3, MinIO, Garage, Ceph RGW, R2) through aiobotocore:
one client per app process, a bounded connection pool, every call with a timeout.

What the rest of the app needs of a store is small: put a local file (multipart past one
part, each upload verified against the ETag the store computes), read a byte range as a
stream or as bytes, ask whether an object is there, remove objects (a missing one counts as
removed), presign a GET (with the headers the response must carry), and prove the bucket
answers. A store that cannot be reached, or answers 5xx, raises `StoreUnavailable`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from aiobotocore.session import get_session
from anyio import to_thread
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from reelvault.errors import ServiceUnavailable
from reelvault.settings import Settings

logger = logging.getLogger("reelvault.objects")

_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_DELETE_BATCH = 1000  # the most keys one DeleteObjects call takes
STREAM_CHUNK = 256 * 1024


class StoreUnavailable(ServiceUnavailable):
    """The object store did not answer, or answered with a server error."""

    detail = "The media store is unavailable for a moment; try again shortly"


class ObjectMissing(FileNotFoundError):
    """No object under that key."""


class UploadMismatch(StoreUnavailable):
    """The store's ETag of an upload differs from the digest of the bytes sent."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    size: int
    etag: str  # the store's, quotes stripped
    last_modified: datetime


def client_config(settings: Settings) -> Config:
    addressing = settings.s3_addressing
    if addressing == "auto":
        addressing = "path" if settings.s3_endpoint_url else "virtual"
    return Config(
        signature_version="s3v4",
        s3={"addressing_style": addressing},
        # botocore >= 1.36 adds CRC32 checksums to every request by default; several
        # S3-compatible stores refuse them (R2 answers 501). Only where an operation needs one.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=64,
    )


def multipart_etag(part_digests: Sequence[bytes]) -> str:
    """The ETag S3 gives a multipart upload: the MD5 of the parts' MD5s, then `-<parts>`."""
    return f"{hashlib.md5(b''.join(part_digests)).hexdigest()}-{len(part_digests)}"  # noqa: S324


class ObjectStore:
    """One bucket (and key prefix) of an S3-compatible store. Use `async with` (or `open()` /
    `close()`) around its life; keys given to it are relative to the prefix."""

    def __init__(self, settings: Settings) -> None:
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix.strip("/") + "/" if settings.s3_prefix.strip("/") else ""
        self.part_bytes = settings.s3_part_bytes
        self._settings = settings
        self._exit = contextlib.AsyncExitStack()
        self._client: Any = None

    async def open(self) -> ObjectStore:
        settings = self._settings
        session = get_session()
        self._client = await self._exit.enter_async_context(
            session.create_client(
                "s3",
                endpoint_url=settings.s3_endpoint_url,
                region_name=settings.s3_region,
                aws_access_key_id=settings.s3_access_key_id,
                aws_secret_access_key=settings.s3_secret_access_key,
                config=client_config(settings),
            )
        )
        return self

    async def close(self) -> None:
        await self._exit.aclose()
        self._client = None

    async def __aenter__(self) -> ObjectStore:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def full_key(self, key: str) -> str:
        """The bucket's key of a stored path. A path no import could have made (a tampered
        row) names no object: ObjectMissing, so it never reaches outside the prefix."""
        if not is_our_key(key):
            logger.error("refused a stored path that is not a key of ours: %r", key)
            raise ObjectMissing(key)
        return self.prefix + key

    # -- reading ---------------------------------------------------------------------------

    async def head(self, key: str) -> ObjectInfo | None:
        try:
            full = self.full_key(key)
        except ObjectMissing:
            return None
        try:
            answer = await self._client.head_object(Bucket=self.bucket, Key=full)
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise _unavailable(exc, "head", key) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc, "head", key) from exc
        return ObjectInfo(
            size=int(answer["ContentLength"]),
            etag=str(answer.get("ETag", "")).strip('"'),
            last_modified=answer["LastModified"],
        )

    @contextlib.asynccontextmanager
    async def _get(self, key: str, first: int | None, last: int | None) -> AsyncIterator[Any]:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self.full_key(key)}
        if first is not None:
            params["Range"] = f"bytes={first}-{'' if last is None else last}"
        try:
            answer = await self._client.get_object(**params)
        except ClientError as exc:
            if _is_missing(exc):
                raise ObjectMissing(key) from None
            raise _unavailable(exc, "get", key) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc, "get", key) from exc
        async with answer["Body"] as body:
            yield body

    async def read(self, key: str, first: int | None = None, last: int | None = None) -> bytes:
        """The object's bytes, or those of `first`..`last` (inclusive). ObjectMissing."""
        async with self._get(key, first, last) as body:
            try:
                return await body.read()
            except (BotoCoreError, OSError) as exc:
                raise _unavailable(exc, "get", key) from exc

    async def stream(
        self, key: str, first: int, last: int, chunk_size: int = STREAM_CHUNK
    ) -> AsyncIterator[bytes]:
        """Bytes `first`..`last` (inclusive) in chunks of at most `chunk_size`, from one
        ranged GET: memory stays at a chunk however long the range."""
        async with self._get(key, first, last) as body:
            remaining = last - first + 1
            try:
                async for chunk in body.iter_chunks(chunk_size):
                    remaining -= len(chunk)
                    yield chunk
            except (BotoCoreError, OSError) as exc:
                raise _unavailable(exc, "get", key) from exc
            if remaining > 0:
                raise EOFError(f"object {key} ended {remaining} bytes short")

    async def download(self, key: str, target: Path) -> None:
        """Write the object to a local file (created or replaced)."""
        handle = await to_thread.run_sync(target.open, "wb")
        try:
            async with self._get(key, None, None) as body:
                async for chunk in body.iter_chunks(1024 * 1024):
                    await to_thread.run_sync(handle.write, chunk)
        finally:
            await to_thread.run_sync(handle.close)

    # -- writing ---------------------------------------------------------------------------

    async def put_file(self, key: str, source: Path, content_type: str) -> ObjectInfo:
        """Upload a local file under `key`: one PUT up to a part's size, a multipart upload
        past it (aborted on any failure, so no parts linger). The store's ETag is checked
        against our own MD5s of the bytes sent: a mismatch is an error, nothing is kept."""
        size = (await to_thread.run_sync(source.stat)).st_size
        handle: BinaryIO = await to_thread.run_sync(source.open, "rb")
        try:
            if size <= self.part_bytes:
                return await self._put_single(key, handle, size, content_type)
            return await self._put_multipart(key, handle, size, content_type)
        finally:
            await to_thread.run_sync(handle.close)

    async def _put_single(
        self, key: str, handle: BinaryIO, size: int, content_type: str
    ) -> ObjectInfo:
        data = await to_thread.run_sync(handle.read)
        digest = hashlib.md5(data).hexdigest()  # noqa: S324 (S3's ETag, not a secret)
        try:
            answer = await self._client.put_object(
                Bucket=self.bucket, Key=self.full_key(key), Body=data, ContentType=content_type
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc, "put", key) from exc
        etag = str(answer.get("ETag", "")).strip('"')
        if etag and etag != digest:
            await self.remove([key])
            raise UploadMismatch(f"The store kept other bytes than were sent for {key}")
        return ObjectInfo(size=size, etag=etag or digest, last_modified=datetime.now(UTC))

    async def _put_multipart(
        self, key: str, handle: BinaryIO, size: int, content_type: str
    ) -> ObjectInfo:
        full = self.full_key(key)
        try:
            started = await self._client.create_multipart_upload(
                Bucket=self.bucket, Key=full, ContentType=content_type
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc, "put", key) from exc
        upload_id = started["UploadId"]
        parts: list[dict[str, Any]] = []
        digests: list[bytes] = []
        try:
            number = 1
            while True:
                data = await to_thread.run_sync(handle.read, self.part_bytes)
                if not data:
                    break
                digest = hashlib.md5(data)  # noqa: S324
                answer = await self._client.upload_part(
                    Bucket=self.bucket,
                    Key=full,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=data,
                )
                if str(answer["ETag"]).strip('"') != digest.hexdigest():
                    raise UploadMismatch(f"Part {number} of {key} arrived damaged")
                parts.append({"ETag": answer["ETag"], "PartNumber": number})
                digests.append(digest.digest())
                number += 1
            done = await self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=full,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await self._client.abort_multipart_upload(
                    Bucket=self.bucket, Key=full, UploadId=upload_id
                )
            if isinstance(exc, ClientError | BotoCoreError):
                raise _unavailable(exc, "put", key) from exc
            raise
        etag = str(done.get("ETag", "")).strip('"')
        if etag and etag != multipart_etag(digests):
            await self.remove([key])
            raise UploadMismatch(f"The store kept other bytes than were sent for {key}")
        return ObjectInfo(size=size, etag=etag, last_modified=datetime.now(UTC))

    async def remove(self, keys: Iterable[str]) -> None:
        """Delete objects; one that is not there counts as deleted. StoreUnavailable where
        any could not be deleted (the caller keeps its intent for the sweeper)."""
        wanted = [key for key in dict.fromkeys(keys) if is_our_key(key)]  # others name nothing
        for start in range(0, len(wanted), _DELETE_BATCH):
            batch = wanted[start : start + _DELETE_BATCH]
            try:
                answer = await self._client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": self.full_key(k)} for k in batch], "Quiet": True},
                )
            except (ClientError, BotoCoreError) as exc:
                raise _unavailable(exc, "delete", batch[0]) from exc
            failed = [e for e in answer.get("Errors", []) if e.get("Code") not in _MISSING]
            if failed:
                raise StoreUnavailable(
                    f"The store kept {len(failed)} objects it was asked to delete"
                )

    # -- the rest --------------------------------------------------------------------------

    async def presign(
        self,
        key: str,
        *,
        expires_seconds: int,
        content_type: str | None = None,
        content_disposition: str | None = None,
        cache_control: str | None = None,
        method: str = "get_object",
    ) -> str:
        """A URL that reads the object without credentials until it expires; the response
        headers given are signed into it (a client cannot change them)."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self.full_key(key)}
        if content_type:
            params["ResponseContentType"] = content_type
        if content_disposition:
            params["ResponseContentDisposition"] = content_disposition
        if cache_control:
            params["ResponseCacheControl"] = cache_control
        return await self._client.generate_presigned_url(
            method, Params=params, ExpiresIn=expires_seconds
        )

    async def ping(self) -> bool:
        """The bucket answers (readiness)."""
        try:
            await self._client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            logger.warning("object store not ready: %s", exc)
            return False
        return True

    async def keys(self, under: str = "") -> AsyncIterator[tuple[str, ObjectInfo]]:
        """Every object under a key prefix (relative keys), page by page."""
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + under):
                for entry in page.get("Contents", []):
                    yield (
                        entry["Key"][len(self.prefix) :],
                        ObjectInfo(
                            int(entry["Size"]),
                            str(entry.get("ETag", "")).strip('"'),
                            entry["LastModified"],
                        ),
                    )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc, "list", under) from exc


def is_our_key(key: str) -> bool:
    """Relative, without empty, `.` or `..` parts and without NUL: what our paths look like."""
    parts = key.split("/")
    return bool(key) and "\x00" not in key and all(p not in ("", ".", "..") for p in parts)


def _is_missing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code")) in _MISSING or status == 404


def _unavailable(exc: Exception, operation: str, key: str) -> StoreUnavailable:
    logger.error("object store %s %s failed: %s", operation, key, exc)
    return StoreUnavailable()
