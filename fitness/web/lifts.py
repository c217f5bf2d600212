"""The lifts pages: the list beside the lifting statistics (weekly volume over the last
weeks and the best estimated one-rep max of each exercise, fitness.db.lift_stats), and a
lift with its exercises and sets, its history, deleting it and restoring a version
(fitness.db.lifts, fitness.db.lifts_history, served by fitness.web.activities).

A lift's edit form changes its start, end, title and description; a workout's exercises
and sets are edited through the API (`PATCH /lifts/{id}`).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fitness.config import Settings
from fitness.db import lift_stats, lifts_history
from fitness.db import lifts as db_lifts
from fitness.db.stats import local_today
from fitness.lift_models import Lift, LiftVersion
from fitness.shapes.lifts import LiftEdit, LiftListQuery
from fitness.web.activities import Activity, EditForm, activity_routes
from fitness.web.forms import query_values, validate
from fitness.web.rendering import local_input, local_time, render

VOLUME_WEEKS: Final = 12


async def list_lifts(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    values = query_values(request)
    query, errors = validate(LiftListQuery, values)
    today = await run_in_threadpool(local_today)
    since = today - timedelta(weeks=VOLUME_WEEKS)
    volume, maxes = await asyncio.gather(
        run_in_threadpool(lift_stats.get_weekly_volume, since, today, tz=settings.timezone),
        run_in_threadpool(lift_stats.get_one_rep_maxes, tz=settings.timezone),
    )
    page = None
    if query is not None:
        page = await run_in_threadpool(db_lifts.list_lifts, **query.model_dump())
    context = {
        "title": "Lifts",
        "filters": {name: value for name, value in values.items() if name != "cursor"},
        "request_cursor": "cursor" in values,
        "errors": errors,
        "page": page,
        "volume": volume,
        "volume_weeks": VOLUME_WEEKS,
        "maxes": maxes,
    }
    return render(request, "lifts.html", context, status=422 if errors else 200)


def _label(lift: Lift) -> str:
    return lift.title or f"Lift {local_time(lift.datetime_utc, 'UTC')} UTC"


def _form_values(lift: Lift | LiftVersion, zone: str) -> dict[str, str]:
    """The edit form's fields as the lift (or a version of it) has them, times in the
    runner's zone; `change_reason` is always blank."""
    return {
        "datetime_utc": local_input(lift.datetime_utc, zone),
        "end_utc": local_input(lift.end_utc, zone) if lift.end_utc else "",
        "title": lift.title or "",
        "description": lift.description or "",
    }


LIFTS = Activity(
    kind=lifts_history.LIFTS,
    plural="lifts",
    id_parameter="lift_id",
    template="lift.html",
    get=lambda lift_id: db_lifts.get_lift_by_id(lift_id, include_deleted=True),
    history=lifts_history.get_lift_history,
    version=lifts_history.get_lift_version,
    delete=lifts_history.delete_lift,
    restore=lifts_history.restore_lift_version,
    label=_label,
    edit=EditForm(
        fields=("datetime_utc", "end_utc", "title", "description"),
        shape=LiftEdit,
        update=lifts_history.update_lift_with_history,
        values=_form_values,
    ),
)

routes = [Route("/lifts", list_lifts, methods=["GET"]), *activity_routes(LIFTS)]
