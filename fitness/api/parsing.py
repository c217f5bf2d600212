"""Reading requests: JSON bodies (at most 1 MiB), If-Match, query parameters, field values.

Every function here either returns a clean Python value or raises a problem (`ApiError`,
400/413/422), so that nothing malformed ever reaches the library and no bad input can end in
a 500.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Final, NoReturn

from starlette.requests import Request

from fitness.api.errors import ApiError, invalid, malformed
from fitness.models import as_utc

# JSON bodies are small edits; a larger one is a mistake or an attack. Routes that take
# uploads (multipart) do not read their body through here and set their own limit.
MAX_JSON_BYTES: Final = 1024 * 1024
MAX_VERSION: Final = 2**31 - 1  # runs.version is a PostgreSQL integer

# Nine digits at most: a run will never see a billion versions, and every such number is a
# valid PostgreSQL integer.
_ETAG = re.compile(r'(?:W/)?"([1-9][0-9]{0,8})"')
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INTEGER = re.compile(r"[0-9]{1,10}")


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
        raise malformed('If-Match must be one ETag such as "3" (a run version), or *.')
    return int(match.group(1))


def etag(version: int) -> str:
    """The ETag of a run at `version`: its version number, quoted."""
    return f'"{version}"'


def text_problem(value: str) -> str | None:
    """What makes `value` impossible to store as PostgreSQL text, or None if it is fine."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    return None


def path_id(request: Request, name: str, missing: Callable[[str], Exception]) -> str:
    """A path parameter used as an id; `missing(value)` is raised for one no row can have."""
    value: str = request.path_params[name]
    if text_problem(value) is not None:
        raise missing(value)
    return value


def optional_text(value: object) -> str | None:
    """A JSON string or null, as stored text; anything else is a `ValueError`."""
    if value is None:
        return None
    return required_text(value)


def required_text(value: object) -> str:
    """A JSON string that PostgreSQL can store; anything else is a `ValueError`."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def non_empty_text(value: object) -> str:
    """A JSON string with more than whitespace in it."""
    text = required_text(value)
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def number(value: object) -> float:
    """A JSON number as a float; strings, booleans, null and huge integers are a `ValueError`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON number")
    try:
        converted = float(value)
    except OverflowError:
        raise ValueError("is out of range") from None
    if not math.isfinite(converted):
        raise ValueError("must be a finite number")
    return converted


def optional_number(value: object) -> float | None:
    """A JSON number or null."""
    return None if value is None else number(value)


def aware_datetime(value: object) -> datetime:
    """An ISO 8601 date-time string with an offset (`Z`, `+02:00`), converted to UTC."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string with an offset")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 date-time, e.g. 2025-05-06T07:30:00Z") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("must include an offset, e.g. Z or +02:00")
    try:
        return as_utc(parsed)
    except OverflowError:
        raise ValueError("is out of range") from None


def calendar_date(value: object) -> date:
    """A `YYYY-MM-DD` string as a date."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a calendar date") from None


def optional_calendar_date(value: object) -> date | None:
    """A `YYYY-MM-DD` string or null."""
    return None if value is None else calendar_date(value)


class QueryParameters:
    """Reads query parameters, collecting every problem; `done()` raises them as one 422.

    >>> query = QueryParameters(request)                      # doctest: +SKIP
    >>> limit = query.integer("limit", default=100, minimum=1, maximum=1000)
    >>> query.done()
    """

    def __init__(self, request: Request) -> None:
        self._params = request.query_params
        self.errors: dict[str, str] = {}

    def date(self, name: str) -> date | None:
        raw = self._params.get(name)
        if raw is None:
            return None
        try:
            return calendar_date(raw)
        except ValueError as error:
            self.errors[name] = str(error)
            return None

    def flag(self, name: str, *, default: bool = False) -> bool:
        raw = self._params.get(name)
        if raw is None:
            return default
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        self.errors[name] = "must be true or false"
        return default

    def integer(self, name: str, *, default: int, minimum: int, maximum: int) -> int:
        raw = self._params.get(name)
        if raw is None:
            return default
        if not _INTEGER.fullmatch(raw) or not minimum <= int(raw) <= maximum:
            self.errors[name] = f"must be a whole number from {minimum} to {maximum}"
            return default
        return int(raw)

    def text(self, name: str) -> str | None:
        return self._params.get(name)

    def done(self) -> None:
        if self.errors:
            raise invalid(self.errors)


def parse_fields(
    body: Mapping[str, object], parsers: Mapping[str, Callable[[object], object]]
) -> tuple[dict[str, object], dict[str, str]]:
    """Apply `parsers[name]` to each field present in `body`: (values, errors by field)."""
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for name, parse in parsers.items():
        if name not in body:
            continue
        try:
            values[name] = parse(body[name])
        except ValueError as error:
            errors[name] = str(error)
    return values, errors


def _too_large() -> NoReturn:
    raise ApiError(
        413,
        f"The body is larger than {MAX_JSON_BYTES // 1024} KiB.",
        slug="content-too-large",
    )


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")
