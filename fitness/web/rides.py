"""The rides pages: the list with its filters, and a ride with its edit form (If-Match and
the conflict view as for runs), its history, deleting it and restoring a version
(fitness.db.rides, fitness.db.bikes), served by the pages every versioned kind shares
(fitness.web.activities).
"""

from __future__ import annotations

from fitness.db import rides as db_rides
from fitness.db.bikes import get_bikes
from fitness.ride_models import RIDE_EDITABLE_FIELDS, Ride, RideVersion
from fitness.rules import RIDE_SOURCES, RIDE_TYPES
from fitness.shapes.pages import RidesPageQuery
from fitness.shapes.rides import RideEdit
from fitness.web.activities import (
    Activity,
    ActivityList,
    EditForm,
    activity_routes,
    duration_input,
    list_route,
    plain,
)
from fitness.web.rendering import local_input, local_time


def _label(ride: Ride) -> str:
    return ride.name or f"Ride {local_time(ride.datetime_utc, 'UTC')} UTC"


def _form_values(ride: Ride | RideVersion, zone: str) -> dict[str, str]:
    """The edit form's fields as the ride (or a version of it) has them, in the formats a
    person types (`indoor` as `true`/`false`); `change_reason` is always blank."""

    def optional(value: float | None) -> str:
        return "" if value is None else plain(value)

    return {
        "distance": repr(ride.distance),
        "duration": duration_input(ride.duration),
        "avg_heart_rate": optional(ride.avg_heart_rate),
        "avg_power": optional(ride.avg_power),
        "kilojoules": optional(ride.kilojoules),
        "type": ride.type,
        "indoor": "true" if ride.indoor else "false",
        "bike_id": ride.bike_id or "",
        "datetime_utc": local_input(ride.datetime_utc, zone),
        "name": ride.name or "",
        "notes": ride.notes or "",
    }


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
    edit=EditForm(
        fields=RIDE_EDITABLE_FIELDS,
        shape=RideEdit,
        update=db_rides.update_ride_with_history,
        values=_form_values,
    ),
    extra=lambda: {"bikes": get_bikes(), "ride_types": RIDE_TYPES},
)

RIDES_LIST = ActivityList(
    plural="rides",
    title="Rides",
    query=RidesPageQuery,
    page=db_rides.list_rides,
    gear_field="bike_id",
    gear_label="Bike",
    gears=get_bikes,
    types=RIDE_TYPES,
    sources=RIDE_SOURCES,
)

routes = [list_route(RIDES_LIST), *activity_routes(RIDES)]
