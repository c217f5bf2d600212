"""The `shoes` table: the shoes runs were run in, with mileage computed from those runs.

Shoe ids are derived from names (`fitness.ids.shoe_id_from_name`), so a name always maps to
the same id; deleting a shoe is soft, and its runs keep pointing at it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import date
from typing import Final

import psycopg
from psycopg import Connection, sql
from psycopg.rows import class_row

from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.errors import InvalidUpdate, ShoeExists, ShoeNotFound, UnknownFields
from fitness.ids import shoe_id_from_name
from fitness.models import Shoe
from fitness.stats_models import ShoeMileageLimits

SHOE_UPDATABLE_FIELDS = ("retired_at", "retirement_notes", "notes")
MAX_SHOE_MILEAGE: Final = 100_000.0

# Mileage and run count come from the non-deleted runs, never from a stored counter that
# could drift.
_SELECT_SHOES = """
SELECT s.id, s.name, s.retired_at, s.notes, s.retirement_notes,
       s.deleted_at, s.created_at, s.updated_at,
       coalesce(m.mileage, 0) AS mileage,
       coalesce(m.run_count, 0) AS run_count
FROM shoes AS s
LEFT JOIN LATERAL (
    SELECT sum(r.distance) AS mileage, count(*)::int AS run_count
    FROM runs AS r
    WHERE r.shoe_id = s.id
      AND r.deleted_at IS NULL
) AS m ON true
"""


@retry_on_disconnect
def get_shoes(
    retired: bool | None = None, include_deleted: bool = False, *, conn: Connection | None = None
) -> list[Shoe]:
    """Shoes ordered by name; `retired=True/False` keeps only retired/active ones.

    >>> [shoe.name for shoe in get_shoes(retired=False)]   # doctest: +SKIP
    ['Brooks Ghost 15']
    """
    query = (
        _SELECT_SHOES
        + """
WHERE (%(include_deleted)s OR s.deleted_at IS NULL)
  AND (%(retired)s::boolean IS NULL OR (s.retired_at IS NOT NULL) = %(retired)s)
ORDER BY s.name
"""
    )
    with connection(conn) as active, active.cursor(row_factory=class_row(Shoe)) as cur:
        cur.execute(query, {"retired": retired, "include_deleted": include_deleted})
        return cur.fetchall()


@retry_on_disconnect
def get_shoe_by_id(
    shoe_id: str, include_deleted: bool = False, *, conn: Connection | None = None
) -> Shoe | None:
    """The shoe with this id, or None (also for a soft-deleted one unless `include_deleted`)."""
    query = _SELECT_SHOES + "WHERE s.id = %(id)s AND (%(include_deleted)s OR s.deleted_at IS NULL)"
    with connection(conn) as active, active.cursor(row_factory=class_row(Shoe)) as cur:
        cur.execute(query, {"id": shoe_id, "include_deleted": include_deleted})
        return cur.fetchone()


@retry_on_disconnect
def create_shoe(name: str, notes: str | None = None, *, conn: Connection | None = None) -> Shoe:
    """Create a shoe named `name`; `ShoeExists` if its id (or name) is taken.

    A name with nothing to make an id from is an `InvalidUpdate` on `name`.
    """
    clean_name = name.strip()
    try:
        shoe_id = shoe_id_from_name(clean_name)
    except ValueError as error:
        raise InvalidUpdate({"name": str(error)}) from None
    with transaction(conn) as active:
        try:
            active.execute(
                "INSERT INTO shoes (id, name, notes) VALUES (%s, %s, %s)",
                (shoe_id, clean_name, notes),
            )
        except psycopg.errors.UniqueViolation:
            raise ShoeExists(shoe_id) from None
        shoe = get_shoe_by_id(shoe_id, conn=active)
    assert shoe is not None
    return shoe


@retry_on_disconnect
def update_shoe_by_id(
    shoe_id: str, updates: Mapping[str, object], *, conn: Connection | None = None
) -> Shoe:
    """Change any of `retired_at` (a date, or None to unretire), `retirement_notes`, `notes`."""
    unknown = set(updates) - set(SHOE_UPDATABLE_FIELDS)
    if unknown:
        raise UnknownFields(unknown)
    retired_at = updates.get("retired_at")
    if retired_at is not None and not isinstance(retired_at, date):
        raise InvalidUpdate({"retired_at": "must be a date (YYYY-MM-DD) or null"})
    for name in ("retirement_notes", "notes"):
        value = updates.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidUpdate({name: "must be a string or null"})
    if not updates:
        shoe = get_shoe_by_id(shoe_id, conn=conn)
        if shoe is None:
            raise ShoeNotFound(shoe_id)
        return shoe
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name))
        for name in SHOE_UPDATABLE_FIELDS
        if name in updates
    )
    query = sql.SQL("UPDATE shoes SET {} WHERE id = %(id)s AND deleted_at IS NULL").format(
        assignments
    )
    with transaction(conn) as active:
        cur = active.execute(query, {**updates, "id": shoe_id})
        if cur.rowcount == 0:
            raise ShoeNotFound(shoe_id)
        shoe = get_shoe_by_id(shoe_id, conn=active)
    assert shoe is not None
    return shoe


def retire_shoe_by_id(
    shoe_id: str,
    retired_at: date,
    retirement_notes: str | None = None,
    *,
    conn: Connection | None = None,
) -> Shoe:
    """Mark a shoe retired as of `retired_at`, with optional notes on why."""
    return update_shoe_by_id(
        shoe_id, {"retired_at": retired_at, "retirement_notes": retirement_notes}, conn=conn
    )


def unretire_shoe_by_id(shoe_id: str, *, conn: Connection | None = None) -> Shoe:
    """Put a retired shoe back in rotation (its retirement notes go with the retirement)."""
    return update_shoe_by_id(shoe_id, {"retired_at": None, "retirement_notes": None}, conn=conn)


@retry_on_disconnect
def delete_shoe_by_id(shoe_id: str, *, conn: Connection | None = None) -> Shoe:
    """Soft-delete a shoe; its runs keep their `shoe_id`. `ShoeNotFound` if already gone."""
    with transaction(conn) as active:
        cur = active.execute(
            "UPDATE shoes SET deleted_at = now() WHERE id = %s AND deleted_at IS NULL", (shoe_id,)
        )
        if cur.rowcount == 0:
            raise ShoeNotFound(shoe_id)
        shoe = get_shoe_by_id(shoe_id, include_deleted=True, conn=active)
    assert shoe is not None
    return shoe


@retry_on_disconnect
def set_shoe_mileage_limits(
    shoe_id: str,
    *,
    starting_mileage: float | None = None,
    warning_mileage: float | None = None,
    maximum_mileage: float | None = None,
    conn: Connection | None = None,
) -> ShoeMileageLimits:
    """Set any of a shoe's starting, warning and maximum mileages (miles); None keeps one.

    New shoes start at 0, warn at 300 and are worn out at 500 miles. Each value must be a
    finite number of miles up to 100,000 (the starting mileage may be 0, the others not),
    and the warning may not exceed the maximum: otherwise `InvalidUpdate` naming the
    field. `ShoeNotFound` for a missing or deleted shoe.

    >>> set_shoe_mileage_limits("hoka_clifton_9", warning_mileage=350).maximum_mileage
    500.0
    """
    values = {
        "starting_mileage": starting_mileage,
        "warning_mileage": warning_mileage,
        "maximum_mileage": maximum_mileage,
    }
    errors = {
        name: message
        for name, value in values.items()
        if value is not None and (message := _mileage_error(value, name == "starting_mileage"))
    }
    if errors:
        raise InvalidUpdate(errors)
    row_factory = class_row(ShoeMileageLimits)
    with transaction(conn) as active, active.cursor(row_factory=row_factory) as cur:
        try:
            cur.execute(
                """
                UPDATE shoes
                SET starting_mileage = coalesce(%(starting_mileage)s, starting_mileage),
                    warning_mileage = coalesce(%(warning_mileage)s, warning_mileage),
                    maximum_mileage = coalesce(%(maximum_mileage)s, maximum_mileage)
                WHERE id = %(id)s
                  AND deleted_at IS NULL
                RETURNING id AS shoe_id, starting_mileage, warning_mileage, maximum_mileage
                """,
                {**values, "id": shoe_id},
            )
        except psycopg.errors.CheckViolation:
            # The only check the values above can still break is warning <= maximum.
            raise InvalidUpdate(
                {"warning_mileage": "must not exceed the maximum mileage"}
            ) from None
        limits = cur.fetchone()
    if limits is None:
        raise ShoeNotFound(shoe_id)
    return limits


@retry_on_disconnect
def get_existing_shoes_by_names(
    names: Collection[str], *, conn: Connection | None = None
) -> dict[str, str]:
    """Map each of `names` that is already a shoe (by name or by its id) to that shoe's id."""
    wanted = _ids_by_name(names)
    if not wanted:
        return {}
    with connection(conn) as active:
        rows = active.execute(
            "SELECT id FROM shoes WHERE id = ANY(%s)", (list(set(wanted.values())),)
        ).fetchall()
    existing = {row[0] for row in rows}
    return {name: shoe_id for name, shoe_id in wanted.items() if shoe_id in existing}


@retry_on_disconnect
def bulk_create_shoes_by_names(
    names: Collection[str], *, conn: Connection | None = None
) -> dict[str, str]:
    """Make sure a shoe exists for each name and map every name to its shoe id.

    Names that normalise to the same id ("Brooks Ghost 15", "brooks-ghost-15") are one shoe,
    named by the alphabetically first of them unless it already exists. One statement,
    whatever the number of names. A name with no letters or digits is an `InvalidUpdate`.
    """
    return create_missing_shoes(names, conn=conn)[0]


def create_missing_shoes(
    names: Collection[str], *, conn: Connection | None = None
) -> tuple[dict[str, str], list[str]]:
    """Like `bulk_create_shoes_by_names`, also returning the names of the shoes created."""
    wanted = _ids_by_name(names)
    if not wanted:
        return {}, []
    first_name_by_id: dict[str, str] = {}
    for name, shoe_id in wanted.items():
        first_name_by_id.setdefault(shoe_id, name.strip())
    with transaction(conn) as active:
        rows = active.execute(
            """
            INSERT INTO shoes (id, name)
            SELECT id, name
            FROM unnest(%s::text[], %s::text[]) AS incoming (id, name)
            ON CONFLICT DO NOTHING
            RETURNING name
            """,
            (list(first_name_by_id), list(first_name_by_id.values())),
        ).fetchall()
    return wanted, sorted(row[0] for row in rows)


def _mileage_error(value: object, may_be_zero: bool) -> str | None:
    lowest = "0" if may_be_zero else "more than 0"
    message = f"must be a number of miles from {lowest} to {MAX_SHOE_MILEAGE:,.0f}"
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return message
    if value < 0 or (value == 0 and not may_be_zero) or value > MAX_SHOE_MILEAGE:
        return message
    return None


def _ids_by_name(names: Collection[str]) -> dict[str, str]:
    ids: dict[str, str] = {}
    for name in sorted(names):
        try:
            ids[name] = shoe_id_from_name(name.strip())
        except ValueError as error:
            raise InvalidUpdate({"shoe_name": str(error)}) from None
    return ids
