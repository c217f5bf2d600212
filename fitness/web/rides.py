"""The rides pages: the list with its filters, and a ride with its history, deleting it and
restoring a version (fitness.db.rides, served by fitness.web.activities).

A ride's page has no edit form: the runs edit form is made for a run's fields and its
conflict view, and a ride is edited through the API (`PATCH /rides/{id}`) for now.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fitness.config import Settings
from fitness.db import rides as db_rides
from fitness.db.bikes import get_bikes
from fitness.ride_models import Ride
from fitness.rules import RIDE_SOURCES, RIDE_TYPES
from fitness.shapes.pages import RidesPageQuery
from fitness.web.activities import Activity, activity_routes
from fitness.web.forms import query_values, validate
from fitness.web.rendering import local_time, render


async def list_rides(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    values = query_values(request)
    query, errors = validate(RidesPageQuery, values)
    bikes = await run_in_threadpool(get_bikes)
    page = None
    if query is not None:
        filters = query.model_dump(exclude={"units", "tz"})
        page = await run_in_threadpool(db_rides.list_rides, **filters, tz=settings.timezone)
    context = {
        "title": "Rides",
        "units": (query.units if query else None) or settings.units,
        "filters": {name: value for name, value in values.items() if name != "cursor"},
        "request_cursor": "cursor" in values,
        "errors": errors,
        "page": page,
        "bikes": bikes,
        "ride_types": RIDE_TYPES,
        "ride_sources": RIDE_SOURCES,
    }
    return render(request, "rides.html", context, status=422 if errors else 200)


def _label(ride: Ride) -> str:
    return ride.name or f"Ride {local_time(ride.datetime_utc, 'UTC')} UTC"


RIDES = Activity(
    kind=db_rides.RIDES,
    plural="rides",
    id_parameter="ride_id",
    template="ride.html",
    get=lambda ride_id: db_rides.get_ride_by_id(ride_id, include_deleted=True),
    history=db_rides.get_ride_history_page,
    version=db_rides.get_ride_version_entry,
    delete=db_rides.delete_ride,
    restore=db_rides.restore_ride_version,
    label=_label,
)

routes = [Route("/rides", list_rides, methods=["GET"]), *activity_routes(RIDES)]
