"""A tiny HTTP proxy in front of the suite's S3 server that breaks chosen requests on purpose:
moto has no switch for a store that answers 500, drops connections, or dies in the middle of
a response, and stopping moto itself empties it (its objects live in its memory).

    with s3_proxy(server) as proxy:           # point the app at proxy.endpoint_url
        with proxy.failing(500, method="POST", query="delete"):
            ...                               # every DeleteObjects answers 500 meanwhile
        with proxy.failing("drop", key="thumbnails/"):
            ...                               # connections of thumbnail requests are closed
        with proxy.cutting_after(64 * 1024, method="GET", key="videos/"):
            ...                               # GET bodies stop after 64 KiB, mid-stream

Requests that no rule matches are forwarded to the server unchanged (SigV4 signs the Host the
client used, which the proxy keeps; moto accepts any signature anyway). Each rule counts the
requests it broke (`Rule.hits`), so a test can prove its fault was met."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import unquote, urlsplit

import httpx

from tests.support.s3 import S3Server
from tests.support.servers import free_port

Fault = Literal["drop"] | int  # "drop": close the connection without an answer; else a status
_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "upgrade"}
_ERROR_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>Injected fault</Message></Error>"
)


@dataclass
class Rule:
    """Requests this rule breaks: every condition given must hold (`key`: a substring of the
    object key, `query`: a substring of the query string, `method`: exact)."""

    fault: Fault | None = None
    method: str | None = None
    key: str | None = None
    query: str | None = None
    cut_after: int | None = None  # forward, but close the connection after this many bytes
    hits: int = 0

    def matches(self, method: str, path: str, query: str) -> bool:
        return (
            (self.method is None or method == self.method)
            and (self.key is None or self.key in unquote(path))
            and (self.query is None or self.query in query)
        )


@dataclass
class S3Proxy:
    upstream: str
    port: int = field(default_factory=free_port)
    rules: list[Rule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rule_for(self, method: str, path: str, query: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path, query):
                    rule.hits += 1
                    return rule
        return None

    @contextlib.contextmanager
    def _ruling(self, rule: Rule) -> Iterator[Rule]:
        with self._lock:
            self.rules.append(rule)
        try:
            yield rule
        finally:
            with self._lock:
                self.rules.remove(rule)

    def failing(
        self,
        fault: Fault,
        *,
        method: str | None = None,
        key: str | None = None,
        query: str | None = None,
    ) -> contextlib.AbstractContextManager[Rule]:
        """Until the block ends, matching requests get `fault` (every one: the client's
        retries meet it too, as they would a store that stays broken)."""
        return self._ruling(Rule(fault, method, key, query))

    def down(self) -> contextlib.AbstractContextManager[Rule]:
        """The store unreachable for the block: every connection closed without an answer."""
        return self._ruling(Rule("drop"))

    def cutting_after(
        self, size: int, *, method: str | None = None, key: str | None = None
    ) -> contextlib.AbstractContextManager[Rule]:
        """Matching responses stop after `size` bytes of body: the store died mid-stream."""
        return self._ruling(Rule(None, method, key, cut_after=size))

    def start(self) -> None:
        proxy = self
        client = httpx.Client(base_url=self.upstream, timeout=60)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, and 100-continue for big PUTs

            def log_message(self, *args: object) -> None:
                return None

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _any(self) -> None:
                target = urlsplit(self.path)
                body = self._body()
                rule = proxy.rule_for(self.command, target.path, target.query)
                if rule is not None and rule.fault == "drop":
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(2)
                    return
                if rule is not None and rule.fault is not None:
                    self.send_response(rule.fault)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(_ERROR_BODY)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(_ERROR_BODY)
                    return
                headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP]
                request = client.build_request(
                    self.command, self.path, headers=headers, content=body
                )
                answer = client.send(request, stream=True)
                try:
                    raw = b"".join(answer.iter_raw())
                finally:
                    answer.close()
                self.send_response(answer.status_code)
                for name, value in answer.headers.multi_items():
                    if name.lower() not in _HOP | {"content-length"}:
                        self.send_header(name, value)
                if self.command == "HEAD":
                    self.send_header("Content-Length", answer.headers.get("content-length", "0"))
                    self.end_headers()
                    return
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                if rule is not None and rule.cut_after is not None:
                    self.wfile.write(raw[: rule.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(2)
                    return
                self.wfile.write(raw)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@contextlib.contextmanager
def s3_proxy(server: S3Server) -> Iterator[S3Proxy]:
    proxy = S3Proxy(server.endpoint_url)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
