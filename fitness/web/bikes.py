"""The bikes page: every bike with the distance ridden on it (fitness.db.bikes computes it
from the non-deleted rides), retiring a bike as of a day and putting it back in use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fitness.api.parameters import PATH_PARAMETERS
from fitness.config import Settings
from fitness.db import bikes as db_bikes
from fitness.db.stats import local_today
from fitness.shapes.pages import UnitsQuery
from fitness.shapes.rides import BikeRetirement
from fitness.web.forms import query_values, read_form, validate
from fitness.web.rendering import render

NOTICES: Final = {"retired": "Retired.", "unretired": "Back in use."}


async def list_bikes(request: Request) -> Response:
    query, errors = validate(UnitsQuery, query_values(request))
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return await _bikes_page(
        request, units=query.units if query else None, notice=notice, errors=errors
    )


async def retire_bike(request: Request) -> Response:
    bike_id = _bike_id(request)
    fields = await read_form(request)
    retirement, errors = validate(BikeRetirement, {"retired_at": fields.get("retired_at", "")})
    if retirement is not None and retirement.retired_at is None:
        # Here a blank date is a missing one, not the null that puts the bike back in use.
        retirement, errors = None, {"retired_at": "is required"}
    if retirement is None:
        return await _bikes_page(request, failed=(bike_id, errors))
    await run_in_threadpool(db_bikes.retire_bike, bike_id, retirement.retired_at)
    return _back_to(bike_id, "retired")


async def unretire_bike(request: Request) -> Response:
    bike_id = _bike_id(request)
    await read_form(request)
    await run_in_threadpool(db_bikes.retire_bike, bike_id, None)
    return _back_to(bike_id, "unretired")


async def _bikes_page(
    request: Request,
    *,
    units: str | None = None,
    notice: str | None = None,
    errors: Mapping[str, str] | None = None,
    failed: tuple[str, Mapping[str, str]] | None = None,
) -> Response:
    settings: Settings = request.app.state.settings
    bikes = await run_in_threadpool(db_bikes.get_bikes)
    today = await run_in_threadpool(local_today)
    context = {
        "title": "Bikes",
        "units": units or settings.units,
        "bikes": bikes,
        "today": today,
        "notice": notice,
        "errors": errors or {},
        "failed": failed,
    }
    status = 422 if errors or failed else 200
    return render(request, "bikes.html", context, status=status)


def _bike_id(request: Request) -> str:
    bike_id: str = PATH_PARAMETERS["bike_id"].parse(request.path_params["bike_id"])
    return bike_id


def _back_to(bike_id: str, notice: str) -> Response:
    url = f"/app/bikes?notice={notice}#bike-{quote(bike_id, safe='')}"
    return RedirectResponse(url, status_code=303)


routes = [
    Route("/bikes", list_bikes, methods=["GET"]),
    Route("/bikes/{bike_id}/retire", retire_bike, methods=["POST"]),
    Route("/bikes/{bike_id}/unretire", unretire_bike, methods=["POST"]),
]
