"""Turning a page's data into HTML: the Jinja2 templates, the formats every page shares
(distances in miles or km, h:mm:ss, paces, local times) and the headers every page sends.

Templates autoescape everything and fail on an undefined name, so a typo is an error in
the tests rather than an empty cell. Pages are never cached (they show the log as it is)
and carry a Content-Security-Policy that allows only this server's own files: no inline
script or style, no other origin, no framing.
"""

from __future__ import annotations

import http
import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from fitness.api.errors import ANSWERS
from fitness.config import Settings
from fitness.rules import KM_PER_MILE
from fitness.web.sessions import session_of, sessions_of

HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
UNIT_NAMES: Final = {"mi": "miles", "km": "km"}


def in_units(miles: float | None, units: str) -> float | None:
    """A distance stored in miles, in `units` (`mi` or `km`)."""
    if miles is None:
        return None
    return miles * KM_PER_MILE if units == "km" else miles


def number(value: float | None, places: int = 2) -> str:
    """`1,234.57`; an em dash for no value."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:,.{places}f}"


def duration(seconds: float | None) -> str:
    """`h:mm:ss` (or `m:ss` under an hour)."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def pace(seconds_per_unit: float | None, units: str) -> str:
    """`8:46 /mi`."""
    if seconds_per_unit is None or not math.isfinite(seconds_per_unit):
        return "—"
    return f"{duration(seconds_per_unit)} /{units}"


def run_pace(distance_miles: float, seconds: float, units: str) -> str:
    """A run's pace in `units`; none for a run of no distance."""
    distance = in_units(distance_miles, units) or 0.0
    return pace(seconds / distance if distance > 0 else None, units)


def local_time(moment: datetime | None, zone: str) -> str:
    """`2025-05-06 09:30` in the runner's zone."""
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def local_input(moment: datetime | None, zone: str) -> str:
    """The value of a datetime-local input: `2025-05-06T09:30:00` in the runner's zone."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None).isoformat(timespec="seconds")


def day(value: date | None) -> str:
    return "—" if value is None else value.isoformat()


def query(params: Mapping[str, object], **changes: object) -> str:
    """`?a=1&b=2` from `params` with `changes` applied (None or "" drops a parameter)."""
    merged = {**params, **changes}
    kept = {name: value for name, value in merged.items() if value not in (None, "", False)}
    return "?" + urlencode(kept) if kept else ""


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("fitness.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        in_units=in_units,
        number=number,
        duration=duration,
        pace=pace,
        day=day,
    )
    environment.globals.update(
        run_pace=run_pace,
        local_time=local_time,
        local_input=local_input,
        query=query,
        unit_names=UNIT_NAMES,
    )
    return environment


ENVIRONMENT: Final = _environment()


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The page `template` filled with `context` and what every page shows: the session's
    CSRF token, whether there is a login to leave, the runner's zone and units."""
    settings: Settings = request.app.state.settings
    session = session_of(request)
    sessions = sessions_of(request)
    html = ENVIRONMENT.get_template(template).render(
        {
            "path": request.url.path,
            "csrf": sessions.csrf_token(session),
            "logged_in": session.logged_in,
            "tz": settings.timezone,
            "units": settings.units,
            **context,
        }
    )
    return HTMLResponse(html, status_code=status, headers={**HEADERS, **(headers or {})})


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """An HTML page saying what went wrong, with `status`."""
    title = http.HTTPStatus(status).phrase
    return render(request, "error.html", {"title": title, "message": message}, status=status)


def api_answer(error: Exception) -> tuple[int, str]:
    """The status and words the API answers `error` with (fitness.api.errors.ANSWERS), so
    that a page says the same as a problem document."""
    kind = next(kind for kind in type(error).__mro__ if kind in ANSWERS)
    answer: dict[str, Any] = json.loads(ANSWERS[kind](error).body)
    return int(answer["status"]), str(answer["detail"])
