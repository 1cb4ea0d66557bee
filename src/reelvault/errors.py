"""Domain errors, and the one place that turns them (and every other failure) into HTTP."""

from __future__ import annotations

import logging
import math
from typing import Any

from advanced_alchemy.exceptions import DuplicateKeyError, NotFoundError, RepositoryError
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY, HTTP_500_INTERNAL_SERVER_ERROR

logger = logging.getLogger("reelvault.errors")


class DomainError(Exception):
    status_code: int = HTTP_500_INTERNAL_SERVER_ERROR
    detail: str = "Internal server error"
    headers: dict[str, str] | None = None

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or self.detail)
        if detail:
            self.detail = detail
        if headers:
            self.headers = headers


class NotFound(DomainError):
    status_code = 404
    detail = "Not found"


class Forbidden(DomainError):
    status_code = 403
    detail = "Forbidden"


class Conflict(DomainError):
    status_code = 409
    detail = "Conflict"


class NotAuthenticated(DomainError):
    status_code = 401
    detail = "Not authenticated"


class BadRequest(DomainError):
    status_code = 400
    detail = "Bad request"


class InvalidValue(DomainError):
    status_code = 422
    detail = "Validation failed"


class PayloadTooLarge(DomainError):
    status_code = 413
    detail = "The file is larger than the maximum upload size"


class UnsupportedMedia(DomainError):
    status_code = 415
    detail = "The file is not a playable video"


class UnsupportedBody(DomainError):
    status_code = 415
    detail = "Send the body as application/json"


class RequestTimeout(DomainError):
    status_code = 408
    detail = "The request body stopped arriving"


class TooManyRequests(DomainError):
    """429 with `Retry-After` (whole seconds, at least 1)."""

    status_code = 429
    detail = "Too many requests; try again later"

    def __init__(self, detail: str | None = None, *, retry_after: float) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, math.ceil(retry_after)))})
        self.retry_after = retry_after


class Gone(DomainError):
    status_code = 410
    detail = "Gone"


class StorageFailure(DomainError):
    status_code = 500
    detail = "The video could not be deleted; nothing was changed"


class ServiceUnavailable(DomainError):
    status_code = 503
    detail = "Unavailable for a moment; try again shortly"


def _error_response(
    request: Request[Any, Any, Any],
    status_code: int,
    detail: str,
    extra: Any = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"status_code": status_code, "detail": detail}
    if extra:
        body["extra"] = extra if isinstance(extra, list) else [extra]
    if status_code >= 500:
        logger.error("%s %s -> %s: %s", request.method, request.url.path, status_code, detail)
    else:
        logger.info("%s %s -> %s: %s", request.method, request.url.path, status_code, detail)
    return Response(body, status_code=status_code, media_type=MediaType.JSON, headers=headers)


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return _error_response(request, exc.status_code, exc.detail, headers=exc.headers)


def validation_error_handler(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Any]:
    # The contract asks 422 for every invalid value; Litestar's default is 400.
    return _error_response(request, HTTP_422_UNPROCESSABLE_ENTITY, "Validation failed", exc.extra)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code >= 500:
        # Framework 5xx details can name files (a missing static file, say): log, don't send.
        logger.error(
            "%s %s -> %s: %s", request.method, request.url.path, exc.status_code, exc.detail
        )
        return _error_response(request, exc.status_code, "Internal server error")
    return _error_response(request, exc.status_code, exc.detail, exc.extra)


def repository_error_handler(
    request: Request[Any, Any, Any], exc: RepositoryError
) -> Response[Any]:
    if isinstance(exc, NotFoundError):
        return _error_response(request, 404, "Not found")
    if isinstance(exc, DuplicateKeyError):
        return _error_response(request, 409, "Conflict")
    logger.exception("repository failure on %s %s", request.method, request.url.path)
    return _error_response(request, 500, "Internal server error")


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_response(request, 500, "Internal server error")


exception_handlers: dict[type[Exception] | int, Any] = {
    DomainError: domain_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    RepositoryError: repository_error_handler,
    Exception: unexpected_error_handler,
}
