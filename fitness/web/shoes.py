"""The shoes page: each shoe's wear and projected replacement, retiring and unretiring it,
its mileage limits, renaming it and merging it into another after a confirmation
(fitness.db.shoes, fitness.db.shoe_merges, fitness.db.stats.get_shoe_wear).

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
from fitness.db import shoe_merges as db_merges
from fitness.db import shoes as db_shoes
from fitness.db import stats
from fitness.errors import InvalidUpdate, ShoeConflict
from fitness.shapes.pages import UnitsQuery
from fitness.shapes.shoe_changes import ShoeMergeChoice, ShoeMergeForm, ShoeRename
from fitness.shapes.shoes import ShoeLimits, ShoeUpdate
from fitness.web.forms import query_values, read_form, validate
from fitness.web.rendering import render

NOTICES: Final = {
    "retired": "Retired.",
    "unretired": "Back in use.",
    "limits": "Mileage limits saved.",
    "renamed": "Renamed.",
    "merged": "Merged. The kept shoe's card can undo it.",
    "unmerged": "Merge undone: both shoes are back with their runs.",
}
# Who the pages record as making a change, as the API records `api`.
CHANGED_BY: Final = "web"


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


async def rename_shoe(request: Request) -> Response:
    shoe_id = _shoe_id(request)
    fields = await read_form(request)
    rename, errors = validate(ShoeRename, fields)
    if rename is None:
        return await _shoes_page(request, failed=(shoe_id, "rename", fields, errors))
    try:
        await run_in_threadpool(db_shoes.rename_shoe, shoe_id, rename.name)
    except InvalidUpdate as error:
        return await _shoes_page(request, failed=(shoe_id, "rename", fields, error.errors))
    except ShoeConflict as error:
        return await _shoes_page(request, failed=(shoe_id, "rename", fields, {"name": str(error)}))
    return _back_to(shoe_id, "renamed")


async def confirm_merge(request: Request) -> Response:
    """What merging the shoe into the chosen one would do, and the button that does it."""
    shoe_id = _shoe_id(request)
    choice, errors = validate(ShoeMergeChoice, query_values(request))
    if choice is None:
        return await _shoes_page(request, failed=(shoe_id, "merge", {}, errors))
    return await _merge_page(request, shoe_id, choice.kept_shoe_id)


async def merge_shoe(request: Request) -> Response:
    shoe_id = _shoe_id(request)
    fields = await read_form(request)
    form, errors = validate(ShoeMergeForm, {**fields, "changed_by": CHANGED_BY})
    if form is None:
        kept = fields.get("kept_shoe_id", "")
        return await _merge_page(request, shoe_id, kept, errors=errors, status=422)
    await run_in_threadpool(db_merges.merge_shoe, shoe_id, form.kept_shoe_id, **form.note())
    return _back_to(form.kept_shoe_id, "merged")


async def unmerge_shoe(request: Request) -> Response:
    shoe_id = _shoe_id(request)
    await read_form(request)
    await run_in_threadpool(db_merges.unmerge_shoe, shoe_id, CHANGED_BY)
    return _back_to(shoe_id, "unmerged")


async def _merge_page(
    request: Request,
    shoe_id: str,
    kept_id: str,
    *,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    merged, kept = await asyncio.gather(
        run_in_threadpool(db_shoes.get_shoe_by_id, shoe_id),
        run_in_threadpool(db_shoes.get_shoe_by_id, kept_id),
    )
    for wanted, shoe in ((shoe_id, merged), (kept_id, kept)):
        if shoe is None:
            raise await run_in_threadpool(db_shoes.missing_shoe, wanted)
    if shoe_id == kept_id:
        raise ShoeConflict(f"shoe {shoe_id!r} cannot be merged into itself")
    context = {
        "title": f"Merge {merged.name}?",  # type: ignore[union-attr]
        "merged": merged,
        "kept": kept,
        "errors": errors or {},
    }
    return render(request, "shoe_merge.html", context, status=status)


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
    wear, shoes, merges = await asyncio.gather(
        run_in_threadpool(stats.get_shoe_wear, units="mi"),
        run_in_threadpool(db_shoes.get_shoes),
        run_in_threadpool(db_merges.get_merged_shoes),
    )
    by_id = {shoe.id: shoe for shoe in shoes}
    merged_into: dict[str, list[db_merges.MergedShoe]] = {}
    for merge in merges:
        merged_into.setdefault(merge.kept_shoe_id, []).append(merge)
    context = {
        "title": "Shoes",
        "units": units or settings.units,
        "active": [item for item in wear if item.retired_at is None and item.shoe_id in by_id],
        "retired": [item for item in wear if item.retired_at is not None and item.shoe_id in by_id],
        "shoes": by_id,
        "merged_into": merged_into,
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
    Route("/shoes/{shoe_id}/rename", rename_shoe, methods=["POST"]),
    Route("/shoes/{shoe_id}/merge", confirm_merge, methods=["GET"]),
    Route("/shoes/{shoe_id}/merge", merge_shoe, methods=["POST"]),
    Route("/shoes/{shoe_id}/unmerge", unmerge_shoe, methods=["POST"]),
]
