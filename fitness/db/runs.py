"""The `runs` table: every run as it is now, imported in batches, soft-deleted, never lost.

Each run's versions live in `runs_history` (see fitness.db.runs_history); the functions
here that write a run write its snapshot in the same statement.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final
from zoneinfo import ZoneInfo

import psycopg
from psycopg import Connection, sql

from fitness.db import _versioned as versioned
from fitness.db._rows import model_row
from fitness.db._versioned import CALENDAR_COLUMNS
from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.db.runs_history import RUNS
from fitness.db.shoes import create_missing_shoes
from fitness.errors import InvalidCursor, InvalidParameters, InvalidUpdate, RunExists, ShoeDeleted
from fitness.models import ImportResult, Run, RunDetail, RunPage, RunSource, RunType, run_errors
from fitness.paging import decode_cursor, encode_cursor
from fitness.rules import KM_PER_MILE, DistanceUnit, as_utc, is_zone_name, storable_text

logger = logging.getLogger(__name__)

IMPORT_BATCH_SIZE: Final = 50_000

_SELECT_RUNS = """
SELECT r.id, r.datetime_utc, r.type, r.distance, r.duration, r.source, r.avg_heart_rate,
       r.shoe_id, s.name AS shoe_name, r.name, r.notes, r.version, r.last_edited_at,
       r.last_edited_by, r.deleted_at, r.created_at, r.updated_at, r.duplicate_of,
       r.duplicate_ids, r.race_name, r.race_distance, r.race_time, r.race_place,
       r.race_field_size
FROM runs AS r
LEFT JOIN shoes AS s ON s.id = r.shoe_id
"""

_SELECT_RUN_DETAILS = f"""
SELECT r.id, r.datetime_utc, r.type, r.distance, r.duration, r.source, r.avg_heart_rate,
       r.shoe_id, s.name AS shoe_name, r.name, r.notes, r.version, r.last_edited_at,
       r.last_edited_by, r.deleted_at, r.created_at, r.updated_at, r.duplicate_of,
       r.duplicate_ids, r.race_name, r.race_distance, r.race_time, r.race_place,
       r.race_field_size,{CALENDAR_COLUMNS}
FROM runs AS r
LEFT JOIN shoes AS s ON s.id = r.shoe_id
LEFT JOIN synced_runs AS sr ON sr.run_id = r.id
"""

# For other modules that read runs as RunDetail (fitness.db.races).
SELECT_RUN_DETAILS: Final = _SELECT_RUN_DETAILS

_NOT_DELETED = sql.SQL("r.deleted_at IS NULL")
_NOT_DUPLICATE = sql.SQL("r.duplicate_of IS NULL")
_BEFORE_KEY = sql.SQL("(r.datetime_utc, r.id) < (%(after_at)s, %(after_id)s)")
_AFTER_KEY = sql.SQL("(r.datetime_utc, r.id) > (%(after_at)s, %(after_id)s)")


@retry_on_disconnect
def get_all_runs(
    include_deleted: bool = False,
    *,
    include_duplicates: bool = False,
    conn: Connection | None = None,
) -> list[Run]:
    """Every run, oldest first (soft-deleted ones only with `include_deleted=True`, runs
    marked duplicates of another only with `include_duplicates=True`)."""
    query = (
        _SELECT_RUNS
        + """WHERE (%(include_deleted)s OR r.deleted_at IS NULL)
  AND (%(include_duplicates)s OR r.duplicate_of IS NULL)
ORDER BY r.datetime_utc, r.id"""
    )
    params = {"include_deleted": include_deleted, "include_duplicates": include_duplicates}
    with connection(conn) as active, active.cursor(row_factory=model_row(Run)) as cur:
        cur.execute(query, params)
        return cur.fetchall()


@retry_on_disconnect
def get_run_by_id(
    run_id: str, include_deleted: bool = False, *, conn: Connection | None = None
) -> Run | None:
    """The run with this id, or None (also for a soft-deleted run unless `include_deleted`).

    >>> get_run_by_id("strava_1234567890").distance   # doctest: +SKIP
    5.2
    """
    query = _SELECT_RUNS + "WHERE r.id = %(id)s AND (%(include_deleted)s OR r.deleted_at IS NULL)"
    with connection(conn) as active, active.cursor(row_factory=model_row(Run)) as cur:
        cur.execute(query, {"id": run_id, "include_deleted": include_deleted})
        return cur.fetchone()


@retry_on_disconnect
def get_existing_run_ids(*, conn: Connection | None = None) -> set[str]:
    """The ids of all runs, deleted ones included (an import must not resurrect them)."""
    with connection(conn) as active:
        return {row[0] for row in active.execute("SELECT id FROM runs")}


@retry_on_disconnect
def import_runs(
    runs: Iterable[Run],
    *,
    changed_by: str = "import",
    batch_size: int = IMPORT_BATCH_SIZE,
    conn: Connection | None = None,
) -> ImportResult:
    """Insert the runs whose id is new, each with its `original` version, in one transaction.

    Runs whose id exists (even soft-deleted or edited) are left exactly as they are, so
    re-importing a source never undoes a user's edit. Runs that name a shoe by `shoe_name`
    only get that shoe, created if missing (a former name of a shoe finds that shoe). Invalid
    values are an `InvalidUpdate` naming the run, and a run given a deleted shoe is a
    `ShoeDeleted`, before anything is written. Each `batch_size` runs cost three round trips: a
    binary COPY into a temporary table, the INSERT that moves them into place, and the
    TRUNCATE that empties the table for the next batch.
    """
    unique = _unique_by_id(runs)
    _check_importable(unique)
    with transaction(conn) as active:
        names = {run.shoe_name for run in unique if run.shoe_id is None and run.shoe_name}
        shoe_ids, shoes_created = create_missing_shoes(names, conn=active)
        inserted = 0
        if unique:
            active.execute(_CREATE_STAGING)
        for start in range(0, len(unique), batch_size):
            batch = unique[start : start + batch_size]
            inserted += _insert_batch(active, batch, shoe_ids, changed_by)
    # DEBUG, and not "imported": the caller's transaction (a dry run, say) may still roll back.
    logger.debug(
        "Wrote %s new runs (%s already stored) in this transaction",
        inserted,
        len(unique) - inserted,
    )
    return ImportResult(
        inserted=inserted,
        skipped_existing=len(unique) - inserted,
        shoes_created=tuple(shoes_created),
    )


def create_run(run: Run, *, changed_by: str, conn: Connection | None = None) -> RunDetail:
    """Insert one new run with its `original` version (`changed_by` recorded on it) and
    return it as `get_run_detail_by_id` shows it.

    `RunExists` if a run (even a deleted one) has its id; `InvalidUpdate` for values out of
    bounds or a `shoe_id` no shoe has, before anything is written.
    """
    try:
        with transaction(conn) as active:
            if import_runs([run], changed_by=changed_by, conn=active).inserted == 0:
                raise RunExists(run.id)
            detail = get_run_detail_by_id(run.id, conn=active)
    except InvalidUpdate as error:
        # An import names each field after its run (`<id>.shoe_id`); one run, its fields.
        prefix = f"{run.id}."
        raise InvalidUpdate(
            {field.removeprefix(prefix): text for field, text in error.errors.items()}
        ) from None
    assert detail is not None
    return detail


def bulk_create_runs(runs: Iterable[Run], *, conn: Connection | None = None) -> int:
    """Insert only the runs whose id is new (with their `original` versions); return how many.

    >>> bulk_create_runs([run_a, run_b])   # doctest: +SKIP
    2
    >>> bulk_create_runs([run_a, run_b])   # a re-import changes nothing  # doctest: +SKIP
    0
    """
    return import_runs(runs, conn=conn).inserted


def get_run_details_in_date_range(
    start: date,
    end: date,
    include_deleted: bool = False,
    *,
    conn: Connection | None = None,
) -> list[RunDetail]:
    """Runs from the start of `start` to the end of `end` (UTC days, both included).

    Oldest first, with shoe names and calendar state.
    """
    return get_run_details_page(
        start=start, end=end, include_deleted=include_deleted, newest_first=False, conn=conn
    )


def get_all_run_details(
    include_deleted: bool = False,
    *,
    include_duplicates: bool = False,
    conn: Connection | None = None,
) -> list[RunDetail]:
    """Every run with its shoe's name and calendar state, oldest first."""
    return get_run_details_page(
        include_deleted=include_deleted,
        include_duplicates=include_duplicates,
        newest_first=False,
        conn=conn,
    )


@retry_on_disconnect
def get_run_detail_by_id(
    run_id: str, include_deleted: bool = False, *, conn: Connection | None = None
) -> RunDetail | None:
    """One run with its shoe's name and calendar state, or None."""
    query = (
        _SELECT_RUN_DETAILS
        + "WHERE r.id = %(id)s AND (%(include_deleted)s OR r.deleted_at IS NULL)"
    )
    with connection(conn) as active, active.cursor(row_factory=model_row(RunDetail)) as cur:
        cur.execute(query, {"id": run_id, "include_deleted": include_deleted})
        return cur.fetchone()


def list_run_details(
    *,
    start: date | None = None,
    end: date | None = None,
    include_deleted: bool = False,
    include_duplicates: bool = False,
    limit: int = 100,
    cursor: str | None = None,
    shoe_id: str | None = None,
    type: RunType | None = None,
    source: RunSource | None = None,
    tz: str | None = None,
    units: DistanceUnit = "mi",
    conn: Connection | None = None,
) -> RunPage:
    """One page of runs, newest first, with shoe names and calendar state.

    Runs marked duplicates of another are left out unless `include_duplicates`, deleted
    ones unless `include_deleted`. `start`/`end` are days (both included) in the IANA zone
    `tz` (default UTC); `shoe_id`, `type` and `source` keep only the runs with that value.
    `cursor` is the `next_cursor` of the page before (opaque; `InvalidCursor` if it is not
    one this function made); the last page's `next_cursor` is None. Stable under inserts: a
    run never shows twice or goes missing. An unknown zone is an `InvalidParameters`.
    `units="km"` gives every distance in kilometres (miles x 1.609344; the page's `units`
    says which), whatever FITNESS_UNITS, so existing clients keep their miles.

    >>> list_run_details(limit=2).next_cursor   # doctest: +SKIP
    'WyIyMDI1LTA1LTA2VDA3OjAwOjAwKzAwOjAwIiwic3RyYXZhXzEiXQ'
    """
    if units not in ("mi", "km"):
        raise InvalidParameters({"units": "must be mi or km"})
    after = None if cursor is None else cursor_key(cursor)
    # One row more than asked for says whether there is a next page.
    rows = get_run_details_page(
        start=start,
        end=end,
        include_deleted=include_deleted,
        include_duplicates=include_duplicates,
        newest_first=True,
        limit=limit + 1,
        after=after,
        shoe_id=shoe_id,
        type=type,
        source=source,
        tz=tz,
        conn=conn,
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(page[-1].datetime_utc.isoformat(), page[-1].id)
    if units == "km":
        page = [replace(run, distance=run.distance * KM_PER_MILE) for run in page]
    return RunPage(page, next_cursor, units)


@retry_on_disconnect
def get_run_details_page(
    *,
    start: date | None = None,
    end: date | None = None,
    include_deleted: bool = False,
    include_duplicates: bool = False,
    newest_first: bool = True,
    limit: int | None = None,
    after: tuple[datetime, str] | None = None,
    shoe_id: str | None = None,
    type: RunType | None = None,
    source: RunSource | None = None,
    tz: str | None = None,
    conn: Connection | None = None,
) -> list[RunDetail]:
    """Run details filtered by date range (days in `tz`, default UTC), shoe, type and
    source, in `(datetime_utc, id)` order.

    `after` is the `(datetime_utc, id)` of the last row of the previous page (keyset
    pagination: stable under inserts, and each page costs the same). The date range and
    the page's start are ranges on the `(datetime_utc, id)` index, so the query stays an
    index scan; shoe, type and source filter the rows it reads.
    """
    zone = zone_named(tz)
    filters: list[sql.Composable] = []
    params: dict[str, object] = {}
    if not include_deleted:
        filters.append(_NOT_DELETED)
    if not include_duplicates:
        filters.append(_NOT_DUPLICATE)
    if start is not None:
        filters.append(sql.SQL("r.datetime_utc >= %(start)s"))
        params["start"] = start_of_day(start, zone)
    if end is not None:
        filters.append(sql.SQL("r.datetime_utc < %(end)s"))
        params["end"] = start_of_day(end + timedelta(days=1), zone)
    for column, value in (("shoe_id", shoe_id), ("type", type), ("source", source)):
        if value is not None:
            filters.append(sql.SQL("r.{} = %({})s").format(sql.Identifier(column), sql.SQL(column)))
            params[column] = value
    if after is not None:
        filters.append(_BEFORE_KEY if newest_first else _AFTER_KEY)
        params["after_at"], params["after_id"] = after
    where = sql.SQL("WHERE ") + sql.SQL(" AND ").join(filters) if filters else sql.SQL("")
    direction = sql.SQL("DESC" if newest_first else "ASC")
    query = sql.SQL("{select}{where}\nORDER BY r.datetime_utc {dir}, r.id {dir}").format(
        select=sql.SQL(_SELECT_RUN_DETAILS), where=where, dir=direction
    )
    if limit is not None:
        query += sql.SQL("\nLIMIT %(limit)s")
        params["limit"] = limit
    with connection(conn) as active, active.cursor(row_factory=model_row(RunDetail)) as cur:
        cur.execute(query, params)
        return cur.fetchall()


@retry_on_disconnect
def delete_run(
    run_id: str,
    changed_by: str,
    change_reason: str | None = None,
    expected_version: int | None = None,
    *,
    conn: Connection | None = None,
) -> RunDetail:
    """Soft-delete a run, recording a `deletion` version; return the deleted run.

    Nothing is erased: restoring an earlier version (`restore_run_version`) undeletes it.
    `RunNotFound` if it does not exist or is already deleted; `VersionConflict` if
    `expected_version` is stale.
    """
    return versioned.soft_delete(
        RUNS, run_id, changed_by, change_reason, expected_version, conn=conn
    )


def _unique_by_id(runs: Iterable[Run]) -> list[Run]:
    unique: dict[str, Run] = {}
    for run in runs:
        if not isinstance(run, Run):
            raise TypeError(f"import_runs takes Run objects, not {type(run).__name__}")
        unique.setdefault(run.id, run)
    return list(unique.values())


def _check_importable(runs: Sequence[Run]) -> None:
    for run in runs:
        errors = run_errors(run)
        if not run.id:
            errors["id"] = "must not be empty"
        if errors:
            raise InvalidUpdate({f"{run.id}.{name}": message for name, message in errors.items()})


# Batches reach the server by binary COPY into a temporary table (psycopg dumps a list
# parameter in Python, which made `unnest` arrays cost more than the whole COPY); the insert
# then consumes the table, so one transaction can import batch after batch.
_CREATE_STAGING = """
CREATE TEMPORARY TABLE IF NOT EXISTS import_staging (
    id             text,
    datetime_utc   timestamptz,
    type           text,
    distance       double precision,
    duration       double precision,
    source         text,
    avg_heart_rate double precision,
    shoe_id        text,
    name           text,
    notes          text
) ON COMMIT DROP
"""
_STAGING_TYPES = (
    "text", "timestamptz", "text", "float8", "float8", "text", "float8", "text", "text", "text",
)  # fmt: skip
_COPY_STAGING = "COPY pg_temp.import_staging FROM STDIN (FORMAT BINARY)"

_INSERT_BATCH = """
WITH inserted AS (
    INSERT INTO runs (id, datetime_utc, type, distance, duration, source, avg_heart_rate, shoe_id,
                      name, notes)
    SELECT id, datetime_utc, type, distance, duration, source, avg_heart_rate, shoe_id,
           name, notes
    FROM pg_temp.import_staging
    ON CONFLICT (id) DO NOTHING
    RETURNING id, datetime_utc, type, distance, duration, source, avg_heart_rate, shoe_id,
              name, notes, created_at
)
INSERT INTO runs_history (run_id, version_number, change_type, datetime_utc, type, distance,
                          duration, source, avg_heart_rate, shoe_id, name, notes, changed_at,
                          changed_by)
SELECT id, 1, 'original', datetime_utc, type, distance,
       duration, source, avg_heart_rate, shoe_id, name, notes, created_at, %(changed_by)s
FROM inserted
"""


# The shoes the batch's new runs are given are held until the import commits (so none is
# deleted or merged away meanwhile); a deleted one refuses the import. Runs already stored
# are skipped anyway, so their shoes do not matter.
_DELETED_SHOES_OF_NEW_RUNS = """
WITH held AS (
    SELECT s.id, s.deleted_at
    FROM shoes AS s
    WHERE s.id IN (
        SELECT st.shoe_id
        FROM pg_temp.import_staging AS st
        WHERE NOT EXISTS (SELECT 1 FROM runs AS r WHERE r.id = st.id)
    )
    ORDER BY s.id
    FOR SHARE
)
SELECT h.id, min(st.id)
FROM held AS h
JOIN pg_temp.import_staging AS st ON st.shoe_id = h.id
WHERE h.deleted_at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM runs AS r WHERE r.id = st.id)
GROUP BY h.id
ORDER BY h.id
LIMIT 1
"""


def _insert_batch(
    conn: Connection, batch: Sequence[Run], shoe_ids: dict[str, str], changed_by: str
) -> int:
    with conn.cursor() as cur, cur.copy(_COPY_STAGING) as copy:
        copy.set_types(_STAGING_TYPES)
        for run in batch:
            copy.write_row(
                (
                    run.id,
                    run.datetime_utc,
                    run.type,
                    float(run.distance),
                    float(run.duration),
                    run.source,
                    None if run.avg_heart_rate is None else float(run.avg_heart_rate),
                    run.shoe_id or (shoe_ids.get(run.shoe_name) if run.shoe_name else None),
                    run.name,
                    run.notes,
                )
            )
    deleted = conn.execute(_DELETED_SHOES_OF_NEW_RUNS).fetchone()
    if deleted is not None:
        raise ShoeDeleted(deleted[0], field=f"{deleted[1]}.shoe_id")
    try:
        cur = conn.execute(_INSERT_BATCH, {"changed_by": changed_by})
    except psycopg.errors.ForeignKeyViolation:
        raise InvalidUpdate({"shoe_id": "a run names a shoe id that does not exist"}) from None
    inserted = cur.rowcount
    # Cheaper than emptying the table with DELETE ... RETURNING in the INSERT (measured).
    conn.execute("TRUNCATE pg_temp.import_staging")
    return inserted


def cursor_key(cursor: str) -> tuple[datetime, str]:
    """The `(datetime_utc, id)` a newest-first page cursor names; `InvalidCursor` if it is
    not one a list of runs or rides made."""
    moment, run_id = decode_cursor(cursor, str, str)
    try:
        return as_utc(datetime.fromisoformat(moment)), storable_text(run_id)  # type: ignore[arg-type]
    except (ValueError, OverflowError):
        raise InvalidCursor() from None


def zone_named(name: str | None) -> tzinfo:
    """The IANA zone `name` (UTC for None); `InvalidParameters` naming `tz` if unknown."""
    if name is None:
        return UTC
    if is_zone_name(name):
        return ZoneInfo(name)
    raise InvalidParameters({"tz": "must be an IANA time zone such as Europe/Berlin or UTC"})


def start_of_day(day: date, zone: tzinfo = UTC) -> datetime:
    """The first instant of `day` in `zone`, in UTC (a day starting in a DST gap starts at
    the gap's end)."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
