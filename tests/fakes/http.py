"""A real HTTP server on 127.0.0.1, run in a thread, whose routes are plain functions.

Tests of our HTTP clients point them at one of these, so the real request, retry and
refresh code runs over real sockets.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    """One request the fake server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Reply:
    """What a route answers; `hang=True` never answers (until the server stops). `text`
    sends a body that is not JSON (as text/html, the way some providers answer errors)."""

    status: int = 200
    json: object = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    text: str | None = None


Handler = Callable[[Request], Reply]


class FakeHTTPServer:
    """Routes `(method, path)` to handlers; records every request in `requests`."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval makes `stop()` quick (shutdown waits for the next poll).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            for (method, pattern), candidate in self.routes.items():
                if method == request.method and _matches(pattern, request.path):
                    handler = candidate
                    break
        if handler is None:
            return Reply(404, {"message": "Record Not Found"})
        return handler(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                reply = fake._handle(request)
                if reply.hang:
                    fake.stopping.wait()
                    self.close_connection = True
                    return
                if reply.text is not None:
                    body, content_type = reply.text.encode(), "text/html; charset=utf-8"
                else:
                    body = b"" if reply.json is None else json.dumps(reply.json).encode()
                    content_type = "application/json"
                self.send_response(reply.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return _Handler


@contextmanager
def running(server: FakeHTTPServer) -> Iterator[FakeHTTPServer]:
    """Run `server` for the duration of the block."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _matches(pattern: str, path: str) -> bool:
    # "/gear/{id}" matches "/gear/g123": a `{...}` segment matches any one segment.
    want, got = pattern.strip("/").split("/"), path.strip("/").split("/")
    return len(want) == len(got) and all(
        w == g or (w.startswith("{") and w.endswith("}")) for w, g in zip(want, got, strict=True)
    )
