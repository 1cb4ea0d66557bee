"""The HTTP server's one adjustment: a bound on the size of a request's head.

uvicorn's httptools protocol (the fast parser) accepts a request line and header lines of any
size: one client could make the process hold megabytes per connection. Behind Nginx the head is
bounded by `large_client_header_buffers` (4 x 16 KiB); this gives direct mode the same bound, with
a 431 answer, and keeps httptools' speed (uvicorn's h11 parser has a bound but is several times
slower). Used by `make run`, the image's entry point and the test servers alike.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# As much as Nginx takes in front of us: four header buffers of 16 KiB.
MAX_HEAD_BYTES = 64 * 1024
LINGER_SECONDS = 2.0
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: application/json\r\n"
    b"content-length: %d\r\n"
    b"connection: close\r\n\r\n%s"
)
_DETAIL = b'{"status_code":431,"detail":"The request\'s headers are too large"}'


class BoundedHeadProtocol(HttpToolsProtocol):
    """httptools with the request head (request line and headers) bounded to MAX_HEAD_BYTES."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = True
        self._refused = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the rest of a refused head: read and dropped until the connection closes
        super().data_received(data)
        # Still in the head after parsing: all of this chunk was head. (httptools keeps an
        # unfinished header value itself, so at most one read is held beyond the bound.)
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse_head()

    def _refuse_head(self) -> None:
        self._refused = True
        self.logger.warning("Request head over %d bytes refused", MAX_HEAD_BYTES)
        if self.transport.is_closing():
            return
        self.transport.write(_TOO_LARGE % (len(_DETAIL), _DETAIL))
        # A lingering close, as Nginx does: closing with the client's bytes still unread would
        # reset the connection, and the client would lose the answer. Finish writing, drop what
        # still arrives, close a moment later.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)


def main(argv: list[str] | None = None) -> None:
    """`python -m reelvault.server`: uvicorn with the bounded protocol (its CLI offers only
    the built-in parsers). The options are the ones `make run` and the image use."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m reelvault.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="proxies whose X-Forwarded-For/-Proto are believed (default: none but loopback)",
    )
    parser.add_argument("--timeout-graceful-shutdown", type=int, default=30)
    options = parser.parse_args(argv)
    uvicorn.run(
        "reelvault.app:create_app",
        factory=True,
        http="reelvault.server:BoundedHeadProtocol",
        host=options.host,
        port=options.port,
        workers=options.workers,
        proxy_headers=True,
        forwarded_allow_ips=options.forwarded_allow_ips or "127.0.0.1",
        access_log=False,  # the app writes its own access line, with the request id
        timeout_graceful_shutdown=options.timeout_graceful_shutdown,
    )


if __name__ == "__main__":
    main()
