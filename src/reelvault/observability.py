"""Request ids, structured logs and Prometheus metrics.

Every request gets an id (a sane incoming `X-Request-ID` is kept, so Nginx and the app agree),
returned as `X-Request-ID` and attached to every log record made while serving it. Logs are
JSON lines when `REELVAULT_LOG_JSON` is on; domain events carry their fields as JSON keys.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import logging
import re
import secrets
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from litestar.config.app import AppConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.logging import LoggingConfig
from litestar.plugins.prometheus import PrometheusController
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Histogram

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_access_logger = logging.getLogger("reelvault.access")

MEDIA_BYTES = Counter(
    "reelvault_media_bytes_served_total", "Bytes of media bodies sent by the app", ["kind"]
)
MEDIA_TTFB = Histogram(
    "reelvault_media_time_to_first_byte_seconds",
    "Time from the request to the first byte of a media body",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
# Counted in `observe_response` rather than by Litestar's Prometheus middleware: that middleware
# runs inside authentication, so it never sees a 401, and it reports requests that end in an
# exception as 200.
REQUESTS = Counter(
    "reelvault_requests_total", "HTTP requests by route and status", ["method", "route", "status"]
)
REQUEST_ERRORS = Counter(
    "reelvault_request_errors_total", "HTTP 4xx and 5xx answers", ["method", "route", "status"]
)
REQUEST_SECONDS = Histogram(
    "reelvault_request_duration_seconds",
    "Time to the last byte of the answer",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DELETIONS = Counter("reelvault_deletions_total", "Video deletions by outcome", ["outcome"])
IMPORTS = Counter("reelvault_imports_total", "Video imports by outcome", ["outcome"])
SEARCH_SECONDS = Histogram(
    "reelvault_search_duration_seconds",
    "Time to answer a gallery search (q), database and files included",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """One event, readable as text (`event k=v ...`) and as JSON keys."""
    text = " ".join(f"{key}={_text_value(value)}" for key, value in fields.items())
    logger.log(level, "%s %s", event, text, extra={"fields": {"event": event, **fields}})


def _text_value(value: object) -> str:
    text = str(value)
    # Quoted (and so escaped) where a client-chosen value (a search term, a Range header, a
    # path) could blur the k=v line or, with a control character, forge a line of its own.
    if not text or any(c.isspace() or c in '="' or not c.isprintable() for c in text):
        return json.dumps(text)
    return text


# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: anything a terminal
# or a log shipper could take for the end of a line, or for a command.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """`text` on one line: every control character becomes a visible escape (`\\n`, `\\x1b`)."""
    return _CONTROLS.sub(lambda match: json.dumps(match.group())[1:-1], text)


class TextFormatter(logging.Formatter):
    """The text log: a client-chosen value (a path with `%0a` in it, say) can never forge a
    line. The message is escaped; a traceback, which is ours, keeps its lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


def clip(value: str | None, limit: int = 200) -> str | None:
    """Bound what a client can write into one log line."""
    if value is None or len(value) <= limit:
        return value
    return value[:limit] + f"...(+{len(value) - limit} chars)"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        payload.update(getattr(record, "fields", {}))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def logging_config(level: str, *, as_json: bool) -> LoggingConfig:
    return LoggingConfig(
        formatters={
            "text": {
                "()": TextFormatter,
                "fmt": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s",
            },
            "json": {"()": JsonFormatter},
        },
        filters={"request_id": {"()": RequestIdFilter}},
        handlers={
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if as_json else "text",
                "filters": ["request_id"],
            }
        },
        root={"level": level, "handlers": ["console"]},
        loggers={
            "reelvault": {"level": level, "propagate": True},
            "aiosqlite": {"level": "WARNING"},
            "httpx": {"level": "WARNING"},
        },
        # Our exception handlers log every error with its context, once.
        log_exceptions="never",
    )


# A random prefix per process and a counter: unique like a UUID4 for our purposes, without a
# getrandom() system call on every request.
_ID_PREFIX = secrets.token_hex(8)
_id_counter = itertools.count(1)


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_id_counter):016x}"


class RequestContextMiddleware:
    """Gives each request its id before anything else runs (installed outermost), so that every
    log line of the request, error handlers included, carries it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
            request_id = incoming if _SANE_REQUEST_ID.match(incoming) else new_request_id()
            # Not reset on the way out: the server runs each request in its own task, and the
            # exception handlers that answer after this returns still log with the id.
            request_id_var.set(request_id)
            scope.setdefault("state", {})["reelvault.request"] = {
                "id": request_id,
                "started": time.perf_counter(),
                "status": 0,
                "first_byte": 0.0,
                "sent": 0,
            }
        await self.app(scope, receive, send)


def install_request_context(app_config: AppConfig) -> AppConfig:
    app_config.middleware.insert(0, RequestContextMiddleware)
    app_config.before_send.append(observe_response)
    return app_config


async def observe_response(message: Message, scope: Scope) -> None:
    """Runs on every message the app sends, error responses included: the request id header,
    the access log line, and the media metrics."""
    if scope["type"] != "http":
        return
    state = scope.get("state", {}).get("reelvault.request")
    if state is None:
        return
    if message["type"] == "http.response.start":
        state["status"] = message["status"]
        message["headers"] = [
            *message.get("headers", []),
            (b"x-request-id", state["id"].encode()),
        ]
        return
    if message["type"] != "http.response.body":
        return
    body = message.get("body", b"")
    if body and not state["first_byte"]:
        state["first_byte"] = time.perf_counter()
    state["sent"] += len(body)
    if message.get("more_body", False):
        return
    path: str = scope["path"]
    kind = _media_kind(path)
    if kind and state["status"] in (200, 206):
        MEDIA_BYTES.labels(kind).inc(state["sent"])
        if state["first_byte"]:
            MEDIA_TTFB.labels(kind).observe(state["first_byte"] - state["started"])
    elapsed = time.perf_counter() - state["started"]
    route = scope.get("path_template") or "unmatched"
    status = str(state["status"])
    REQUESTS.labels(scope["method"], route, status).inc()
    REQUEST_SECONDS.labels(scope["method"], route).observe(elapsed)
    if state["status"] >= 400:
        REQUEST_ERRORS.labels(scope["method"], route, status).inc()
    log_event(
        _access_logger,
        "request",
        method=scope["method"],
        path=path,
        status=state["status"],
        duration_ms=round(elapsed * 1000, 2),
        bytes=state["sent"],
    )


def _media_kind(path: str) -> str | None:
    if path.startswith("/api/video/"):
        return "video"
    if path.startswith("/api/thumbnail/"):
        return "thumbnail"
    return None


async def local_network_only(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Metrics are for the operator's scraper, not for the internet. (A coroutine: Litestar
    runs a plain function guard in a worker thread.)"""
    host = connection.client.host if connection.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise PermissionDeniedException("Metrics are only served to the local network") from None
    if not (address.is_loopback or address.is_private):
        raise PermissionDeniedException("Metrics are only served to the local network")


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False
    guards = [local_network_only]
    opt = {"exclude_from_auth": True}
