"""Request bodies are bounded as they stream in: size (413) and arrival rate (408), on every
route, with or without Content-Length."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from fitness.api.app import create_app
from fitness.api.errors import EXCEPTION_HANDLERS
from fitness.api.imports import MAX_UPLOAD_BYTES
from fitness.config import Settings
from fitness.db.runs import get_all_runs
from fitness.server.limits import MAX_HEAD_BYTES, RequestLimits
from tests.api.conftest import TOKEN
from tests.importers.mmf_csv import mmf_csv, mmf_row

MIB = 1024 * 1024
BOUNDARY = "fitness-test-boundary"


def test_a_chunked_upload_over_the_limit_is_refused_as_soon_as_it_passes_it(
    settings: Settings, db: str
) -> None:
    # 260 MiB, as in the issue, sent chunked (no Content-Length): the multipart parser
    # used to spool all of it to disk before the limit was checked.
    total_chunks = 260
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'
        )
        yield head.encode() + mmf_csv([mmf_row()]).encode()
        chunk = b"x" * MIB
        for _ in range(total_chunks):
            pulled += 1
            yield chunk

    async def upload() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(settings), client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post(
                "/mmf/upload-csv",
                content=body(),
                headers={
                    "Authorization": f"Bearer {TOKEN}",
                    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                },
            )

    response = anyio.run(upload)

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "200 MiB" in response.json()["detail"]
    assert pulled <= MAX_UPLOAD_BYTES // MIB + 1  # stopped right past the limit
    assert get_all_runs() == []


def test_a_head_over_64_kib_is_a_431_however_it_arrived() -> None:
    # The server's read buffer stops an unfinished head; a whole one that came in a few
    # reads reaches the app, which measures it against the same bound.
    app = _limited(max_bytes=1000)
    fits = _call(app, [b"x"], headers=[(b"x-filler", b"a" * (MAX_HEAD_BYTES - 1024))])
    over = _call(app, [b"x"], headers=[(b"x-filler", b"a" * MAX_HEAD_BYTES)])
    many = _call(app, [b"x"], headers=[(b"x-%d" % n, b"a" * 1000) for n in range(70)])
    assert _status(fits) == 200
    assert _status(over) == _status(many) == 431
    body = json.loads(next(m["body"] for m in over if m["type"] == "http.response.body"))
    assert "64 KiB" in body["detail"]


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    app = _limited(max_bytes=1000)
    messages = _call(app, [b"x" * 10], headers=[(b"content-length", b"1001")])
    assert _status(messages) == 413


@pytest.mark.parametrize("chunks", [[b"x" * 600, b"x" * 600], [b"x" * 1001]])
def test_every_body_reading_route_is_bounded_without_a_content_length(
    chunks: list[bytes],
) -> None:
    app = _limited(max_bytes=1000)
    assert _status(_call(app, chunks)) == 413


def test_a_body_within_the_limit_is_read_whole() -> None:
    app = _limited(max_bytes=1000)
    messages = _call(app, [b"a" * 500, b"b" * 500])
    assert _status(messages) == 200
    assert b'"length":1000' in b"".join(m.get("body", b"") for m in messages)


def test_a_body_that_stops_arriving_is_a_408() -> None:
    app = _limited(max_bytes=1000, grace_seconds=0.2)
    messages = _call(app, [b"x" * 10], stall=True)
    assert _status(messages) == 408
    assert b"too slowly" in b"".join(m.get("body", b"") for m in messages)


def test_a_trickled_body_is_cut_however_long_it_keeps_trickling() -> None:
    # Each byte comes within the grace period of the previous one; the rate rule still
    # ends it (after 0.2 s plus 1 ms per byte received).
    app = _limited(max_bytes=10_000, grace_seconds=0.2, min_bytes_per_second=1000)
    messages = _call(app, [b"x"] * 1000, delay=0.01)
    assert _status(messages) == 408


# --- helpers ------------------------------------------------------------------------------


def _limited(
    max_bytes: int, grace_seconds: float = 20.0, min_bytes_per_second: int = 1024
) -> Starlette:
    """An app with one route that reads its body, put together as `create_app` does."""

    async def echo_length(request: Request) -> Response:
        return JSONResponse({"length": len(await request.body())})

    limits = Middleware(
        RequestLimits,
        max_bytes=max_bytes,
        grace_seconds=grace_seconds,
        min_bytes_per_second=min_bytes_per_second,
    )
    return Starlette(
        routes=[Route("/", echo_length, methods=["POST"])],
        middleware=[limits],
        exception_handlers=EXCEPTION_HANDLERS,
    )


def _call(
    app: Starlette,
    chunks: list[bytes],
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    stall: bool = False,
    delay: float = 0.0,
    disconnect: bool = False,
) -> list[Message]:
    """Run one POST through `app` the way a server does; the messages it sent back."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": headers or [],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    pending = list(chunks)
    sent: list[Message] = []

    async def receive() -> Message:
        if pending:
            if delay:
                await anyio.sleep(delay)
            chunk = pending.pop(0)
            more_body = bool(pending) or stall or disconnect
            return {"type": "http.request", "body": chunk, "more_body": more_body}
        if disconnect:
            return {"type": "http.disconnect"}
        await anyio.sleep_forever()  # a stalled body, or past the body: only a disconnect
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    async def run(receive: Receive, send: Send) -> None:
        await app(scope, receive, send)

    anyio.run(run, receive, send)
    return sent


def _status(messages: list[Message]) -> int:
    return next(m["status"] for m in messages if m["type"] == "http.response.start")


def test_a_client_that_leaves_in_the_middle_of_its_body_is_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _limited(max_bytes=1000)
    messages = _call(app, [b"x" * 10], disconnect=True)
    assert messages == []  # nobody to answer
    assert "Traceback" not in caplog.text and not any(
        record.levelno >= logging.WARNING for record in caplog.records
    )
