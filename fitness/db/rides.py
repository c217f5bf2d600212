"""The `rides` table and its versions in `rides_history`: every ride, soft-deleted, never lost.

Rides are versioned by the same mechanism as runs (fitness.db._versioned, kind `RIDES`):
every edit, deletion and restore is one statement that locks the ride, changes it and
writes its snapshot; versions are gap-free; an edit that changes nothing writes none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Final

import psycopg
from psycopg import Connection, sql

from fitness.db import _versioned as versioned
from fitness.db._rows import model_row
from fitness.db._versioned import Kind
from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.db.runs import cursor_key, start_of_day, zone_named
from fitness.errors import InvalidUpdate, RideNotFound
from fitness.models import ImportResult
from fitness.paging import encode_cursor
from fitness.ride_models import (
    RIDE_DATA_FIELDS,
    RIDE_EDITABLE_FIELDS,
    RIDE_PROTECTED_FIELDS,
    Ride,
    RideHistory,
    RideHistoryEntry,
    RidePage,
    RideVersion,
    ride_errors,
    validate_ride_fields,
)
from fitness.rules import RideSource, RideType

RIDES: Final = Kind(
    noun="ride",
    table="rides",
    history_table="rides_history",
    history_id="ride_id",
    editable=(
        ("distance", "float8"),
        ("duration", "float8"),
        ("avg_heart_rate", "float8"),
        ("avg_power", "float8"),
        ("kilojoules", "float8"),
        ("type", "text"),
        ("indoor", "boolean"),
        ("bike_id", "text"),
        ("datetime_utc", "timestamptz"),
        ("name", "text"),
        ("notes", "text"),
    ),
    snapshot=RIDE_DATA_FIELDS,
    restored=RIDE_EDITABLE_FIELDS,
    recorded=RIDE_EDITABLE_FIELDS,
    protected=RIDE_PROTECTED_FIELDS,
    detail=Ride,
    version=RideVersion,
    entry=RideHistoryEntry,
    history=RideHistory,
    validate=validate_ride_fields,
    not_found=RideNotFound,
    detail_columns=", b.name AS bike_name",
    detail_joins="\nLEFT JOIN bikes AS b ON b.id = r.bike_id",
    gear=("bike_id", "no bike has this id"),
)
assert RIDES.editable_fields == RIDE_EDITABLE_FIELDS

_SELECT_RIDES = """
SELECT r.id, r.datetime_utc, r.type, r.indoor, r.distance, r.duration, r.source,
       r.avg_heart_rate, r.avg_power, r.kilojoules, r.bike_id, b.name AS bike_name, r.name,
       r.notes, r.version, r.last_edited_at, r.last_edited_by, r.deleted_at, r.created_at,
       r.updated_at
FROM rides AS r
LEFT JOIN bikes AS b ON b.id = r.bike_id
"""

# New rides and their `original` versions in one statement; known ids are left alone.
_INSERT_RIDES = """
WITH incoming AS (
    SELECT *
    FROM unnest(%(id)s::text[], %(datetime_utc)s::timestamptz[], %(type)s::text[],
                %(indoor)s::boolean[], %(distance)s::float8[], %(duration)s::float8[],
                %(source)s::text[], %(avg_heart_rate)s::float8[], %(avg_power)s::float8[],
                %(kilojoules)s::float8[], %(bike_id)s::text[], %(name)s::text[],
                %(notes)s::text[])
         AS i (id, datetime_utc, type, indoor, distance, duration, source, avg_heart_rate,
               avg_power, kilojoules, bike_id, name, notes)
),
inserted AS (
    INSERT INTO rides (id, datetime_utc, type, indoor, distance, duration, source,
                       avg_heart_rate, avg_power, kilojoules, bike_id, name, notes)
    SELECT * FROM incoming
    ON CONFLICT (id) DO NOTHING
    RETURNING *
)
INSERT INTO rides_history (ride_id, version_number, change_type, datetime_utc, type, indoor,
                           distance, duration, source, avg_heart_rate, avg_power, kilojoules,
                           bike_id, name, notes, changed_at, changed_by)
SELECT id, 1, 'original', datetime_utc, type, indoor, distance, duration, source,
       avg_heart_rate, avg_power, kilojoules, bike_id, name, notes, created_at, %(changed_by)s
FROM inserted
"""


@retry_on_disconnect
def import_rides(
    rides: Iterable[Ride], *, changed_by: str = "import", conn: Connection | None = None
) -> ImportResult:
    """Insert the rides whose id is new, each with its `original` version, in one statement.

    Rides whose id exists (even soft-deleted or edited) are left exactly as they are, so a
    re-import never undoes an edit. Invalid values are an `InvalidUpdate` naming the ride,
    and a `bike_id` no bike has one on `bike_id`, before anything is written.

    >>> import_rides([ride]).inserted, import_rides([ride]).skipped_existing  # doctest: +SKIP
    (1, 1)
    """
    unique: dict[str, Ride] = {}
    for ride in rides:
        errors = ride_errors(ride)
        if errors:
            raise InvalidUpdate({f"{ride.id}.{name}": problem for name, problem in errors.items()})
        unique.setdefault(ride.id, ride)
    if not unique:
        return ImportResult(inserted=0, skipped_existing=0)
    params: dict[str, object] = {
        name: [getattr(ride, name) for ride in unique.values()]
        for name in ("id", *RIDE_DATA_FIELDS)
    }
    params["changed_by"] = changed_by
    with transaction(conn) as active:
        try:
            inserted = active.execute(_INSERT_RIDES, params).rowcount
        except psycopg.errors.ForeignKeyViolation:
            raise InvalidUpdate({"bike_id": "a ride names a bike id that does not exist"}) from None
    return ImportResult(inserted=inserted, skipped_existing=len(unique) - inserted)


@retry_on_disconnect
def get_existing_ride_ids(*, conn: Connection | None = None) -> set[str]:
    """The ids of all rides, deleted ones included (an import must not resurrect them)."""
    with connection(conn) as active:
        return {row[0] for row in active.execute("SELECT id FROM rides")}


@retry_on_disconnect
def get_ride_by_id(
    ride_id: str, include_deleted: bool = False, *, conn: Connection | None = None
) -> Ride | None:
    """The ride with this id and its bike's name, or None (also for a soft-deleted ride
    unless `include_deleted`)."""
    query = _SELECT_RIDES + "WHERE r.id = %(id)s AND (%(include_deleted)s OR r.deleted_at IS NULL)"
    with connection(conn) as active, active.cursor(row_factory=model_row(Ride)) as cur:
        cur.execute(query, {"id": ride_id, "include_deleted": include_deleted})
        return cur.fetchone()


@retry_on_disconnect
def list_rides(
    *,
    start: date | None = None,
    end: date | None = None,
    include_deleted: bool = False,
    limit: int = 100,
    cursor: str | None = None,
    bike_id: str | None = None,
    type: RideType | None = None,
    source: RideSource | None = None,
    tz: str | None = None,
    conn: Connection | None = None,
) -> RidePage:
    """One page of rides, newest first, with bike names.

    `start`/`end` are days (both included) in the IANA zone `tz` (default UTC); `bike_id`,
    `type` and `source` keep only the rides with that value; deleted rides only with
    `include_deleted`. `cursor` is the `next_cursor` of the page before (`InvalidCursor` if
    it is not one this function made); keyset paging as for runs, stable under inserts.
    """
    zone = zone_named(tz)
    filters: list[sql.Composable] = []
    params: dict[str, object] = {"limit": limit + 1}
    if not include_deleted:
        filters.append(sql.SQL("r.deleted_at IS NULL"))
    if start is not None:
        filters.append(sql.SQL("r.datetime_utc >= %(start)s"))
        params["start"] = start_of_day(start, zone)
    if end is not None:
        filters.append(sql.SQL("r.datetime_utc < %(end)s"))
        params["end"] = start_of_day(end + timedelta(days=1), zone)
    for column, value in (("bike_id", bike_id), ("type", type), ("source", source)):
        if value is not None:
            filters.append(
                sql.SQL("r.{} = {}").format(sql.Identifier(column), sql.Placeholder(column))
            )
            params[column] = value
    if cursor is not None:
        filters.append(sql.SQL("(r.datetime_utc, r.id) < (%(after_at)s, %(after_id)s)"))
        params["after_at"], params["after_id"] = cursor_key(cursor)
    where = sql.SQL("WHERE ") + sql.SQL(" AND ").join(filters) if filters else sql.SQL("")
    query = sql.SQL("{select}{where}\nORDER BY r.datetime_utc DESC, r.id DESC\nLIMIT %(limit)s")
    query = query.format(select=sql.SQL(_SELECT_RIDES), where=where)  # type: ignore[arg-type]
    with connection(conn) as active, active.cursor(row_factory=model_row(Ride)) as cur:
        cur.execute(query, params)
        rows = cur.fetchall()
    page = rows[:limit]
    if len(rows) <= limit:
        return RidePage(page, None)
    return RidePage(page, encode_cursor(page[-1].datetime_utc.isoformat(), page[-1].id))


@retry_on_disconnect
def update_ride_with_history(
    ride_id: str,
    updates: Mapping[str, object],
    changed_by: str,
    change_reason: str | None = None,
    expected_version: int | None = None,
    *,
    conn: Connection | None = None,
) -> Ride:
    """Edit a ride and record the edit as a new version; return the ride as it now is.

    Editable: `distance` (miles), `duration` (s), `avg_heart_rate`, `avg_power` (W),
    `kilojoules`, `type`, `indoor`, `bike_id`, `datetime_utc`, `name`, `notes`; `id` and
    `source` raise `ProtectedField`, other names `UnknownFields`, bad values
    `InvalidUpdate`. No version when nothing changes. `RideNotFound` for a missing or
    deleted ride, `VersionConflict` when `expected_version` is stale.

    >>> update_ride_with_history("strava_2", {"avg_power": 210}, "me").version  # doctest: +SKIP
    2
    """
    return versioned.edit_with_history(
        RIDES, ride_id, updates, changed_by, change_reason, expected_version, conn=conn
    )


@retry_on_disconnect
def delete_ride(
    ride_id: str,
    changed_by: str,
    change_reason: str | None = None,
    expected_version: int | None = None,
    *,
    conn: Connection | None = None,
) -> Ride:
    """Soft-delete a ride as a `deletion` version; return it. Restoring an earlier version
    undeletes it. `RideNotFound` if missing or already deleted; `VersionConflict`."""
    return versioned.soft_delete(
        RIDES, ride_id, changed_by, change_reason, expected_version, conn=conn
    )


@retry_on_disconnect
def restore_ride_version(
    ride_id: str,
    version_number: int,
    changed_by: str,
    change_reason: str | None = None,
    expected_version: int | None = None,
    *,
    conn: Connection | None = None,
) -> Ride:
    """Make version `version_number`'s data current again as a new `restore` version (the
    ride ends up not deleted). `RideNotFound`, `VersionNotFound` or `VersionConflict`."""
    with transaction(conn) as active:
        return versioned.restore_version(
            RIDES, ride_id, version_number, changed_by, change_reason, expected_version, conn=active
        )


@retry_on_disconnect
def get_ride_history(
    ride_id: str,
    *,
    limit: int | None = None,
    before_version: int | None = None,
    conn: Connection | None = None,
) -> list[RideVersion]:
    """Versions of the ride, newest first (older than `before_version` when given);
    empty if the ride does not exist."""
    return versioned.get_history(
        RIDES, ride_id, limit=limit, before_version=before_version, conn=conn
    )


def get_ride_history_page(
    ride_id: str, *, limit: int = 100, cursor: str | None = None, conn: Connection | None = None
) -> RideHistory:
    """A page of the ride's versions, newest first, each with the `changes` it made.

    `RideNotFound` if the ride does not exist; `InvalidCursor` for a cursor this function
    did not make.
    """
    return versioned.get_history_page(RIDES, ride_id, limit=limit, cursor=cursor, conn=conn)


def get_ride_version_entry(
    ride_id: str, version_number: int, *, conn: Connection | None = None
) -> RideHistoryEntry:
    """One version of the ride with the `changes` it made; `VersionNotFound` if none."""
    return versioned.get_version_entry(RIDES, ride_id, version_number, conn=conn)
