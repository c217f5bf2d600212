"""Bounds on every request: its head, and its body whatever route reads it and however it
is sent.

The server refuses an unfinished head once it outgrows its read buffer (fitness/cli/serve.py,
`MAX_HEAD_BYTES`); a whole head that arrives in a few reads can still get through there, so
the app measures every head it is given against the same bound.

A body is counted as it streams in, so a chunked body (no Content-Length) is refused as
soon as it passes the limit, not after it has been read whole; and it must keep arriving
at a minimum average rate, so a client trickling a body cannot hold a connection (and a
slot of the server's connection limit) for ever. The limit is the largest body any route
takes (the MapMyFitness upload); routes that take less count for themselves
(`parsing.read_json_object`, 1 MiB).
"""

from __future__ import annotations

import logging
import time
from typing import Final

import anyio
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fitness.server.problems import ApiError, problem

logger = logging.getLogger(__name__)

# 64 KiB holds any real request head (a bearer token, cookies) 8 times over; nginx allows
# 32 KiB.
MAX_HEAD_BYTES: Final = 64 * 1024
# The rule of Apache's mod_reqtimeout (`body=20,MinRate=500`), a little stricter: a body
# gets 20 s, plus one more second for each KiB received, so any honest connection (even
# 10 kbit/s) finishes while a trickle of a byte now and then is cut after about 20 s.
BODY_GRACE_SECONDS: Final = 20.0
BODY_MIN_BYTES_PER_SECOND: Final = 1024


class RequestLimits:
    """ASGI middleware: a head (request line and headers) over `MAX_HEAD_BYTES` is a 431, a
    body over `max_bytes` a 413, one arriving too slowly a 408.

    Both are raised from `receive` as `ApiError`, so the route that is reading stops there
    and nothing it would have written is written; the app's error handler answers. A client
    that goes away in the middle of its body is not an error of the app: nobody is left to
    answer, so it is logged at DEBUG, not as a traceback.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        grace_seconds: float = BODY_GRACE_SECONDS,
        min_bytes_per_second: int = BODY_MIN_BYTES_PER_SECOND,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.grace_seconds = grace_seconds
        self.min_bytes_per_second = min_bytes_per_second

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _head_bytes(scope) > MAX_HEAD_BYTES:
            await problem(
                431,
                f"The request head (its line and headers) is larger than "
                f"{MAX_HEAD_BYTES // 1024} KiB.",
                slug="request-header-fields-too-large",
            )(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            await problem(413, self._too_large_detail(), slug="content-too-large")(
                scope, receive, send
            )
            return
        body = _MeteredBody(self, receive)
        try:
            await self.app(scope, body.receive, send)
        except ClientDisconnect:
            if not body.disconnected:
                raise
            logger.debug("The client went away while sending its request body")

    def _too_large_detail(self) -> str:
        return f"The request body is larger than {self.max_bytes // (1024 * 1024)} MiB."


class _MeteredBody:
    """One request's `receive`, counting body bytes and timing their arrival."""

    def __init__(self, limits: RequestLimits, receive: Receive) -> None:
        self._limits = limits
        self._receive = receive
        self._started = time.monotonic()
        self._received = 0
        self._complete = False
        self.disconnected = False

    async def receive(self) -> Message:
        if self._complete:
            # Past the body, `receive` only waits for a disconnect: never timed.
            return await self._receive()
        limits = self._limits
        deadline = (
            self._started + limits.grace_seconds + self._received / limits.min_bytes_per_second
        )
        message: Message | None = None
        with anyio.move_on_after(deadline - time.monotonic()):
            message = await self._receive()
        if message is None:
            self._complete = True
            raise ApiError(
                408,
                "The request body arrived too slowly (under "
                f"{limits.min_bytes_per_second} bytes a second after the first "
                f"{limits.grace_seconds:g} s).",
                slug="request-timeout",
            )
        if message["type"] != "http.request":
            self._complete = True
            self.disconnected = message["type"] == "http.disconnect"
            return message
        self._received += len(message.get("body", b""))
        if self._received > limits.max_bytes:
            self._complete = True
            raise ApiError(413, limits._too_large_detail(), slug="content-too-large")
        if not message.get("more_body", False):
            self._complete = True
        return message


def _head_bytes(scope: Scope) -> int:
    """The size of the request's head as it was sent: its line and every header line."""
    target = scope.get("raw_path") or scope["path"].encode()
    # "GET /path?query HTTP/1.1\r\n": two spaces, "?", the version and CRLF add 12 bytes;
    # a header line adds ": " and CRLF.
    line = len(scope["method"]) + len(target) + len(scope.get("query_string", b"")) + 12
    return line + sum(len(name) + len(value) + 4 for name, value in scope["headers"])
