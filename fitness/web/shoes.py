"""The shoes page: each shoe's wear and projected replacement, retiring and unretiring it,
and its mileage limits (fitness.db.shoes, fitness.db.stats.get_shoe_wear).

Each shoe is a card with one form per action, so a new action (rename, merge) is one more
form and one more route here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Final
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fitness.api.parameters import PATH_PARAMETERS
from fitness.config import Settings
from fitness.db import shoes as db_shoes
from fitness.db import stats
from fitness.errors import InvalidUpdate
from fitness.shapes.pages import UnitsQuery
from fitness.shapes.shoes import ShoeLimits, ShoeUpdate
from fitness.web.forms import query_values, read_form, validate
from fitness.web.rendering import render

NOTICES: Final = {
    "retired": "Retired.",
    "unretired": "Back in use.",
    "limits": "Mileage limits saved.",
}


async def list_shoes(request: Request) -> Response:
    query, errors = validate(UnitsQuery, query_values(request))
    return await _shoes_page(
        request,
        units=query.units if query else None,
        notice=NOTICES.get(request.query_params.get("notice", "")),
        errors=errors,
    )


async def retire_shoe(request: Request) -> Response:
    shoe_id = _shoe_id(request)
    fields = await read_form(request)
    update, errors = validate(ShoeUpdate, fields)
    if not fields.get("retired_at", "").strip():
        # Here a blank date is a missing one, not the null that unretires.
        update, errors = None, {**errors, "retired_at": "is required"}
    if update is None:
        return await _shoes_page(request, failed=(shoe_id, "retire", fields, errors))
    try:
        await run_in_threadpool(db_shoes.update_shoe_by_id, shoe_id, update.given())
    except InvalidUpdate as error:
        return await _shoes_page(request, failed=(shoe_id, "retire", fields, error.errors))
    return _back_to(shoe_id, "retired")


async def unretire_shoe(request: Request) -> Response:
    shoe_id = _shoe_id(request)
    await read_form(request)
    await run_in_threadpool(db_shoes.unretire_shoe_by_id, shoe_id)
    return _back_to(shoe_id, "unretired")


async def set_limits(request: Request) -> Response:
    shoe_id = _shoe_id(request)
    fields = await read_form(request)
    limits, errors = validate(ShoeLimits, fields)
    if limits is None:
        return await _shoes_page(request, failed=(shoe_id, "limits", fields, errors))
    try:
        await run_in_threadpool(db_shoes.set_shoe_mileage_limits, shoe_id, **limits.given())
    except InvalidUpdate as error:
        return await _shoes_page(request, failed=(shoe_id, "limits", fields, error.errors))
    return _back_to(shoe_id, "limits")


async def _shoes_page(
    request: Request,
    *,
    units: str | None = None,
    notice: str | None = None,
    failed: tuple[str, str, Mapping[str, str], Mapping[str, str]] | None = None,
    errors: Mapping[str, str] | None = None,
) -> Response:
    """The shoes page; after a refused form, `failed` is (shoe id, which form, the user's
    input, what was wrong) and that form shows the input and the messages."""
    settings: Settings = request.app.state.settings
    # Limits are set in miles, so the page reads them in miles and shows them converted.
    wear, shoes = await asyncio.gather(
        run_in_threadpool(stats.get_shoe_wear, units="mi"),
        run_in_threadpool(db_shoes.get_shoes),
    )
    by_id = {shoe.id: shoe for shoe in shoes}
    context = {
        "title": "Shoes",
        "units": units or settings.units,
        "active": [item for item in wear if item.retired_at is None and item.shoe_id in by_id],
        "retired": [item for item in wear if item.retired_at is not None and item.shoe_id in by_id],
        "shoes": by_id,
        "failed": failed,
        "notice": notice,
        "today": stats.local_today().isoformat(),
        "errors": errors or {},
    }
    return render(request, "shoes.html", context, status=422 if failed or errors else 200)


def _shoe_id(request: Request) -> str:
    shoe_id: str = PATH_PARAMETERS["shoe_id"].parse(request.path_params["shoe_id"])
    return shoe_id


def _back_to(shoe_id: str, notice: str) -> Response:
    return RedirectResponse(f"/app/shoes?notice={notice}#shoe-{quote(shoe_id)}", status_code=303)


routes = [
    Route("/shoes", list_shoes, methods=["GET"]),
    Route("/shoes/{shoe_id}/retire", retire_shoe, methods=["POST"]),
    Route("/shoes/{shoe_id}/unretire", unretire_shoe, methods=["POST"]),
    Route("/shoes/{shoe_id}/limits", set_limits, methods=["POST"]),
]
