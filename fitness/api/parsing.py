"""Reading what the declarations cannot: a JSON body's bytes (at most 1 MiB) and If-Match.

Every function here either returns a clean Python value or raises a problem (`ApiError`,
400/413), so that nothing malformed ever reaches the library and no bad input can end in a
500. The body's fields are then validated by its declared model (fitness.api.operations).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import IO, Final, NoReturn

from starlette.requests import Request

from fitness.server.problems import ApiError, malformed

# JSON bodies are small edits; a larger one is a mistake or an attack. Routes that take
# uploads (multipart) do not read their body through here and set their own limit.
MAX_JSON_BYTES: Final = 1024 * 1024

# A streamed body stays in memory up to this size, then goes to a temporary file.
SPOOL_IN_MEMORY_BYTES: Final = 1024 * 1024

# Nine digits at most: a run will never see a billion versions, and every such number is a
# valid PostgreSQL integer.
_ETAG = re.compile(r'(?:W/)?"([1-9][0-9]{0,8})"')


async def read_json_object(request: Request, *, required: bool = True) -> dict[str, object]:
    """The request body as a JSON object, whatever its Content-Type says.

    An empty body is `{}` when not `required`, else a 400. Over `MAX_JSON_BYTES` is a 413,
    decided from Content-Length when sent and by counting the bytes as they stream in.
    Malformed JSON (including NaN/Infinity literals) and non-objects are a 400.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise malformed("Content-Length is not a number.")
        if int(declared) > MAX_JSON_BYTES:
            _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_JSON_BYTES:
            _too_large()
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        if required:
            raise malformed("This request needs a JSON object body.")
        return {}
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise malformed("The body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise malformed("The body must be a JSON object.")
    return value


@asynccontextmanager
async def spooled_body(request: Request, max_bytes: int) -> AsyncIterator[IO[bytes]]:
    """The request body as a file, spooled to disk past 1 MiB while it streams in, for a
    reader that streams it in turn (a phone's push of any size, in little memory).

    Over `max_bytes` is a 413, decided from Content-Length when sent and by counting the
    bytes as they stream in; an empty body is a 400.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise malformed("Content-Length is not a number.")
        if int(declared) > max_bytes:
            _too_large(max_bytes)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                _too_large(max_bytes)
            spool.write(chunk)
        if size == 0:
            raise malformed("This request needs a JSON body.")
        spool.seek(0)
        yield spool  # type: ignore[misc]


def expected_version(request: Request) -> int | None:
    """The run version named by If-Match (`"3"` or `W/"3"`), or None without a precondition.

    `*` is no precondition (any current version will do). Anything else, including a list
    of several ETags, is a 400.
    """
    values = request.headers.getlist("if-match")
    if not values:
        return None
    if len(values) == 1 and values[0].strip() == "*":
        return None
    match = _ETAG.fullmatch(values[0].strip()) if len(values) == 1 else None
    if match is None:
        raise malformed('If-Match must be one ETag such as "3" (a version number), or *.')
    return int(match.group(1))


def _too_large(limit: int = MAX_JSON_BYTES) -> NoReturn:
    size = f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"
    raise ApiError(413, f"The body is larger than {size}.", slug="content-too-large")


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")
