"""Reading what a page's form or query sends, with the request shapes of fitness.shapes.

An HTML form sends every field as text, a blank one as `""`: a blank field that may be null
becomes null, any other value is validated by the shape as the API validates it (pydantic's
string mode: "5.2" is a number), so a refused value gets the same message as the API's 422
(fitness.rules). The few formats a person types differently from the API are read first:
a duration as h:mm:ss, a start time in the runner's zone. A form's body is bounded
(`MAX_FORM_BYTES`) and every form that writes carries the session's CSRF token.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from typing import Final, TypeVar
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from fitness.errors import FitnessError
from fitness.rules import field_problems
from fitness.web.sessions import session_of, sessions_of

M = TypeVar("M", bound=BaseModel)

# A run's notes may hold 100,000 characters, percent-encoded up to 12 bytes each.
MAX_FORM_BYTES: Final = 2 * 1024 * 1024
MAX_FORM_FIELDS: Final = 50
CSRF_FIELD: Final = "csrf"
_DURATION = re.compile(r"(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)")


class PageRefused(FitnessError):
    """A request a page cannot serve, with its status and words: a form too large, not
    UTF-8, or without a valid CSRF token (it did not come from one of our pages, or the
    session changed since), or something the page keeps that is gone."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a urlencoded form (the first value of each), once its CSRF token is
    checked and removed. Raises `PageRefused`."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PageRefused(413, "This form is larger than the server accepts.")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise PageRefused(400, "This form could not be read.") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    check_csrf(request, fields.pop(CSRF_FIELD, None))
    return fields


def check_csrf(request: Request, given: object) -> None:
    """Raise `PageRefused` unless `given` is the session's CSRF token."""
    if not sessions_of(request).is_valid_csrf(session_of(request), given):
        raise PageRefused(
            403,
            "This form did not come from this site's pages, or your session changed since it "
            "was shown: reload the page and send it again.",
        )


def validate(model: type[M], values: Mapping[str, str]) -> tuple[M | None, dict[str, str]]:
    """`values` (text, as a form sends it) as `model`, or None and `{field: message}`.

    A blank value of a field that may be null is null; a blank value of any other field is
    validated as it is (and so refused, in the words of fitness.rules).
    """
    blanks = [
        name
        for name, value in values.items()
        if value.strip() == "" and name in model.model_fields and _nullable(model, name)
    ]
    given = {name: value for name, value in values.items() if name not in blanks}
    try:
        parsed = model.model_validate_strings(given)
    except ValidationError as error:
        return None, field_problems(error, model)
    return parsed.model_copy(update=dict.fromkeys(blanks)), {}


def query_values(request: Request) -> dict[str, str]:
    """The query string's parameters (the first value of each), blank ones left out, as a
    GET form sends every field."""
    values: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if value != "":
            values.setdefault(name, value)
    return values


def seconds_text(text: str) -> str:
    """A duration typed as `h:mm:ss` or `m:ss` as seconds (`"0:45:30"` is `"2730"`); other
    text unchanged, for the shape to accept (seconds) or refuse."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        return text
    hours, minutes, seconds = match.groups()
    total = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    return f"{total:g}" if total != int(total) else str(int(total))


def zoned_text(text: str, zone: str) -> str:
    """A start time typed without an offset (a datetime-local input) as the runner's local
    time in `zone`, with its offset; other text unchanged."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.isoformat()


def _nullable(model: type[BaseModel], name: str) -> bool:
    annotation = model.model_fields[name].annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return type(None) in typing.get_args(annotation)
    return False
