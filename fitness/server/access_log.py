"""One access-log line per request: method, path, status and duration, and nothing else.

Logged on `fitness.api.access` at INFO. The path is the raw, still percent-encoded path
without its query string, so a log line never holds a query value, a header (tokens live
there), a body, or a control character smuggled in through the URL.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("fitness.api.access")


class AccessLogMiddleware:
    """ASGI middleware writing the access log; outermost, so 401s and 500s are logged too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # If the app raises before answering, the server error middleware answers 500.
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            logger.info(
                "%s %s %s %.1fms", scope["method"], _loggable_path(scope), status, elapsed_ms
            )


def _loggable_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    if raw:
        return raw.split(b"?", 1)[0].decode("ascii", "backslashreplace")
    return quote(scope["path"])
