"""The `bikes` table: the gear rides are ridden on, found by Strava gear id or by name.

A bike's id comes from its name as a shoe's does (fitness.ids.shoe_id_from_name); its
distance and ride count are computed in SQL from its non-deleted rides, never stored.
Creating or renaming bikes locks the table against other writers for the transaction
(bikes are few and change rarely), so two imports never make two bikes of one.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date

from psycopg import Connection
from psycopg.rows import class_row

from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.errors import BikeNotFound
from fitness.ids import MAX_SHOE_NAME_CHARS, disambiguated_shoe_id, shoe_id_from_name, shoe_name_key
from fitness.models import ProviderGear
from fitness.ride_models import Bike

# Distance summed as numeric: each distance exactly as stored, whatever the order of rides.
_SELECT_BIKES = """
SELECT b.id, b.name, b.strava_gear_id, b.retired_at,
       coalesce(m.distance, 0) AS distance,
       coalesce(m.ride_count, 0) AS ride_count,
       m.last_ridden_at
FROM bikes AS b
LEFT JOIN LATERAL (
    SELECT sum(r.distance::numeric)::float8 AS distance, count(*)::int AS ride_count,
           max(r.datetime_utc) AS last_ridden_at
    FROM rides AS r
    WHERE r.bike_id = b.id
      AND r.deleted_at IS NULL
) AS m ON true
"""


@retry_on_disconnect
def get_bikes(retired: bool | None = None, *, conn: Connection | None = None) -> list[Bike]:
    """Bikes ordered by name, with miles ridden; `retired=True/False` keeps only
    retired/active ones.

    >>> [(bike.name, bike.distance) for bike in get_bikes()]   # doctest: +SKIP
    [('Canyon Endurace', 1234.5)]
    """
    query = (
        _SELECT_BIKES
        + "WHERE %(retired)s::boolean IS NULL OR (b.retired_at IS NOT NULL) = %(retired)s\n"
        + "ORDER BY b.name"
    )
    with connection(conn) as active, active.cursor(row_factory=class_row(Bike)) as cur:
        cur.execute(query, {"retired": retired})
        return cur.fetchall()


@retry_on_disconnect
def get_bike_by_id(bike_id: str, *, conn: Connection | None = None) -> Bike | None:
    """The bike with this id, with miles ridden, or None."""
    with connection(conn) as active, active.cursor(row_factory=class_row(Bike)) as cur:
        cur.execute(_SELECT_BIKES + "WHERE b.id = %s", (bike_id,))
        return cur.fetchone()


@retry_on_disconnect
def retire_bike(bike_id: str, retired_at: date | None, *, conn: Connection | None = None) -> Bike:
    """Retire the bike on `retired_at`, or put it back in use with None; `BikeNotFound`."""
    with transaction(conn) as active:
        found = active.execute(
            "UPDATE bikes SET retired_at = %s WHERE id = %s RETURNING id", (retired_at, bike_id)
        ).fetchone()
        if found is None:
            raise BikeNotFound(bike_id)
        bike = get_bike_by_id(bike_id, conn=active)
    assert bike is not None
    return bike


def bikes_for_gear(
    gears: Sequence[ProviderGear], *, conn: Connection | None = None
) -> dict[str, str]:
    """The bike id of each Strava gear id, creating bikes for gear not seen before.

    A gear id seen before keeps its bike, and a new name at Strava renames it (unless
    another bike has that name). A new gear id adopts the bike with the same name key that
    no gear claims yet (one made from an archive's gear name), else gets a new bike named
    as Strava names it (`<name> (Strava <gear id>)` when the name is taken). Strava's
    `retired` is followed for bikes it creates. Gear without a name (gone at Strava) only
    finds a bike already linked to it.
    """
    if not gears:
        return {}
    with transaction(conn) as active:
        known = _lock_and_load(active)
        ids: dict[str, str] = {}
        for gear in gears:
            linked = next((b for b in known if b.strava_gear_id == gear.gear_id), None)
            if linked is not None:
                ids[gear.gear_id] = linked.id
                if gear.name and gear.name != linked.name and _name_free(known, gear.name):
                    active.execute(
                        "UPDATE bikes SET name = %s WHERE id = %s", (gear.name, linked.id)
                    )
                    known = _lock_and_load(active)
                continue
            if gear.name is None:
                continue
            key = shoe_name_key(gear.name)
            adopted = next(
                (b for b in known if b.strava_gear_id is None and shoe_name_key(b.name) == key),
                None,
            )
            if adopted is not None:
                active.execute(
                    "UPDATE bikes SET strava_gear_id = %s WHERE id = %s",
                    (gear.gear_id, adopted.id),
                )
                ids[gear.gear_id] = adopted.id
            else:
                name = gear.name if _name_free(known, gear.name) else _suffixed(gear)
                ids[gear.gear_id] = _insert(active, known, name, gear.gear_id, gear.retired)
            known = _lock_and_load(active)
    return ids


def bikes_for_names(names: Collection[str], *, conn: Connection | None = None) -> dict[str, str]:
    """The bike id of each bike name (as an archive or a file names it), creating the bikes
    whose name key no bike has; blank or over-long names are left out."""
    wanted = {name: name.strip() for name in names if _usable(name)}
    if not wanted:
        return {}
    with transaction(conn) as active:
        known = _lock_and_load(active)
        ids: dict[str, str] = {}
        for name, clean in wanted.items():
            key = shoe_name_key(clean)
            found = next((b for b in known if shoe_name_key(b.name) == key), None)
            if found is None:
                ids[name] = _insert(active, known, clean, None, None)
                known = _lock_and_load(active)
            else:
                ids[name] = found.id
    return ids


def _lock_and_load(conn: Connection) -> list[Bike]:
    conn.execute("LOCK TABLE bikes IN SHARE ROW EXCLUSIVE MODE")
    with conn.cursor(row_factory=class_row(Bike)) as cur:
        cur.execute("SELECT id, name, strava_gear_id, retired_at FROM bikes ORDER BY id")
        return cur.fetchall()


def _insert(
    conn: Connection, known: list[Bike], name: str, gear_id: str | None, retired: bool | None
) -> str:
    bike_id = shoe_id_from_name(name)
    if any(b.id == bike_id for b in known):
        bike_id = disambiguated_shoe_id(bike_id, shoe_name_key(name))
    conn.execute(
        """
        INSERT INTO bikes (id, name, strava_gear_id, retired_at)
        VALUES (%s, %s, %s, CASE WHEN %s THEN current_date END)
        """,
        (bike_id, name, gear_id, retired is True),
    )
    return bike_id


def _name_free(known: list[Bike], name: str) -> bool:
    key = shoe_name_key(name)
    return not any(shoe_name_key(b.name) == key for b in known)


def _suffixed(gear: ProviderGear) -> str:
    suffix = f" (Strava {gear.gear_id})"
    return (gear.name or "")[: MAX_SHOE_NAME_CHARS - len(suffix)].rstrip() + suffix


def _usable(name: str) -> bool:
    try:
        shoe_id_from_name(name.strip())
    except ValueError:
        return False
    return True
