"""The rides and bikes routes: list and read rides; edit, delete, history and restore as for
runs (the routes every versioned kind shares, fitness.api.versioned); bikes with the miles
ridden on them, and their retirement.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import with_config
from starlette.concurrency import run_in_threadpool

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations
from fitness.api.versioned import VersionedKind, declare_versioned_operations
from fitness.db import bikes as db_bikes
from fitness.db import rides as db_rides
from fitness.errors import BikeNotFound, RideNotFound
from fitness.models import SHAPE
from fitness.ride_models import (
    RIDE_EDITABLE_FIELDS,
    Bike,
    Ride,
    RideHistory,
    RideHistoryEntry,
    RidePage,
)
from fitness.shapes.rides import BikeListQuery, BikeRetirement, RideEdit, RideListQuery
from fitness.shapes.runs import IncludeDeleted

api = Operations(tag="rides")


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class BikeList:
    """Bikes ordered by name, each with the miles ridden on it."""

    bikes: list[Bike]


@api.get("/rides", query=RideListQuery, response=RidePage, errors=(400, 422))
async def list_rides(query: RideListQuery) -> RidePage:
    """Rides, newest first, keyset-paginated"""
    return await run_in_threadpool(db_rides.list_rides, **query.model_dump())


@api.get("/rides/{ride_id}", query=IncludeDeleted, response=Ride, etag=True, errors=(404, 422))
async def get_ride(ride_id: str, query: IncludeDeleted) -> Ride:
    """One ride, with its bike's name

    A deleted ride needs `include_deleted=true`."""
    ride = await run_in_threadpool(
        db_rides.get_ride_by_id, ride_id, include_deleted=query.include_deleted
    )
    if ride is None:
        raise RideNotFound(ride_id)
    return ride


declare_versioned_operations(
    api,
    VersionedKind(
        noun="ride",
        gear="bike",
        detail=Ride,
        history=RideHistory,
        entry=RideHistoryEntry,
        edit_body=RideEdit,
        editable=RIDE_EDITABLE_FIELDS,
        update=db_rides.update_ride_with_history,
        delete=db_rides.delete_ride,
        history_page=db_rides.get_ride_history_page,
        version_entry=db_rides.get_ride_version_entry,
        restore=db_rides.restore_ride_version,
    ),
)


@api.get("/bikes", query=BikeListQuery, response=BikeList, errors=(400, 422), tag="bikes")
async def list_bikes(query: BikeListQuery) -> BikeList:
    """Bikes, with the miles and rides on each (from rides not deleted)"""
    return BikeList(await run_in_threadpool(db_bikes.get_bikes, retired=query.retired))


@api.get("/bikes/{bike_id}", response=Bike, errors=(404,), tag="bikes")
async def get_bike(bike_id: str) -> Bike:
    """One bike, with the miles and rides on it"""
    bike = await run_in_threadpool(db_bikes.get_bike_by_id, bike_id)
    if bike is None:
        raise BikeNotFound(bike_id)
    return bike


@api.put(
    "/bikes/{bike_id}/retirement",
    body=BikeRetirement,
    response=Bike,
    errors=(400, 404, 413, 422),
    tag="bikes",
)
async def retire_bike(bike_id: str, body: BikeRetirement) -> Bike:
    """Retire a bike as of a day, or put it back in use (`retired_at`: null)"""
    return await run_in_threadpool(db_bikes.retire_bike, bike_id, body.retired_at)


routes, paths = api.routes(), paths_of(api)
