"""The `lifts` table: strength workouts (from Hevy), each with its exercises and sets as one
JSONB value, listed newest first; new lifts arrive with their `original` version.

Edits, deletions and restores are versions written by the one versioning mechanism
(fitness.db.lifts_history); this module inserts new lifts and reads them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from psycopg import Connection
from psycopg.rows import class_row

from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.errors import InvalidUpdate
from fitness.lift_models import EXERCISES, Lift, LiftPage
from fitness.paging import decode_cursor, encode_cursor

logger = logging.getLogger(__name__)

LIFT_COLUMNS: Final = """id, datetime_utc, end_utc, title, description, source, exercises,
       version, last_edited_at, last_edited_by, deleted_at, created_at, updated_at"""

# New lifts and their `original` snapshots in one statement: a lift whose id exists (even
# deleted or edited) is left exactly as it is.
_INSERT_LIFTS = """
WITH given AS (
    SELECT *
    FROM unnest(%(ids)s::text[], %(starts)s::timestamptz[], %(ends)s::timestamptz[],
                %(titles)s::text[], %(descriptions)s::text[], %(sources)s::text[],
                %(exercises)s::text[])
         AS g (id, datetime_utc, end_utc, title, description, source, exercises)
),
inserted AS (
    INSERT INTO lifts (id, datetime_utc, end_utc, title, description, source, exercises)
    SELECT id, datetime_utc, end_utc, title, description, source, exercises::jsonb
    FROM given
    ON CONFLICT (id) DO NOTHING
    RETURNING *
)
INSERT INTO lifts_history (lift_id, version_number, change_type, datetime_utc, end_utc, title,
                           description, source, exercises, changed_at, changed_by)
SELECT id, version, 'original', datetime_utc, end_utc, title, description, source, exercises,
       created_at, %(changed_by)s
FROM inserted
RETURNING lift_id
"""

_SELECT_LIFTS = f"""
SELECT {LIFT_COLUMNS}
FROM lifts
"""


@retry_on_disconnect
def import_lifts(
    lifts: Iterable[Lift], *, changed_by: str, conn: Connection | None = None
) -> list[str]:
    """Insert the lifts whose id is new, each with its `original` version (recorded as made
    by `changed_by`); return the ids inserted.

    Lifts already stored (even deleted or edited) are left as they are, so importing again
    changes nothing. `InvalidUpdate` naming the lift for values beyond the rules, before
    anything is written.

    >>> import_lifts([lift], changed_by="hevy sync")   # doctest: +SKIP
    ['hevy_b459cba5-cd6d-463c-abd6-54f8eafcadcb']
    """
    unique = list({lift.id: lift for lift in lifts}.values())
    if not unique:
        return []
    params = {
        "ids": [lift.id for lift in unique],
        "starts": [lift.datetime_utc for lift in unique],
        "ends": [lift.end_utc for lift in unique],
        "titles": [lift.title for lift in unique],
        "descriptions": [lift.description for lift in unique],
        "sources": [lift.source for lift in unique],
        "exercises": [exercises_json(lift.exercises) for lift in unique],
        "changed_by": changed_by,
    }
    with transaction(conn) as active:
        inserted = [row[0] for row in active.execute(_INSERT_LIFTS, params).fetchall()]
    logger.debug(
        "Wrote %s new lifts (%s already stored)", len(inserted), len(unique) - len(inserted)
    )
    return inserted


@retry_on_disconnect
def get_lift_by_id(
    lift_id: str, *, include_deleted: bool = False, conn: Connection | None = None
) -> Lift | None:
    """The lift with this id as it is now, or None (also for a deleted one, unless
    `include_deleted`)."""
    with connection(conn) as active, active.cursor(row_factory=class_row(Lift)) as cur:
        cur.execute(
            _SELECT_LIFTS + "WHERE id = %s AND (%s OR deleted_at IS NULL)",
            (lift_id, include_deleted),
        )
        return cur.fetchone()


@retry_on_disconnect
def list_lifts(
    *,
    include_deleted: bool = False,
    limit: int = 100,
    cursor: str | None = None,
    conn: Connection | None = None,
) -> LiftPage:
    """One page of lifts, newest first (by start, then id).

    `cursor` is the `next_cursor` of the page before (`InvalidCursor` if it is not one this
    function made); the last page's `next_cursor` is None. Deleted lifts only with
    `include_deleted`.
    """
    after: tuple[datetime, str] | None = None
    if cursor is not None:
        start, last_id = decode_cursor(cursor, str, str)
        after = (datetime.fromisoformat(str(start)), str(last_id))
    with connection(conn) as active, active.cursor(row_factory=class_row(Lift)) as cur:
        cur.execute(
            _SELECT_LIFTS
            + """WHERE (%(include_deleted)s OR deleted_at IS NULL)
  AND (%(after_start)s::timestamptz IS NULL
       OR (datetime_utc, id) < (%(after_start)s::timestamptz, %(after_id)s::text))
ORDER BY datetime_utc DESC, id DESC
LIMIT %(limit)s
""",
            {
                "include_deleted": include_deleted,
                "after_start": after[0] if after else None,
                "after_id": after[1] if after else None,
                "limit": limit + 1,
            },
        )
        rows = cur.fetchall()
    page = rows[:limit]
    if len(rows) <= limit:
        return LiftPage(page, None)
    return LiftPage(page, encode_cursor(page[-1].datetime_utc.isoformat(), page[-1].id))


def exercises_json(exercises: object) -> str:
    """Exercises (a list of `LiftExercise` or of dicts in their shape) as the JSON the
    `exercises` column stores; `InvalidUpdate` if they break the rules."""
    try:
        value = EXERCISES.validate_python(exercises)
    except ValueError as error:
        raise InvalidUpdate({"exercises": _first_problem(error)}) from None
    return json.dumps(EXERCISES.dump_python(value, mode="json"))


def _first_problem(error: ValueError) -> str:
    errors = getattr(error, "errors", None)
    if errors is None:
        return str(error)
    first = errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])
