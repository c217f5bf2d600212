"""The race a run was (columns `race_*` of `runs`): set and cleared as new versions.

A race is part of the run's versioned data like its distance: setting, changing or
clearing it writes an `edit` version (its `changes` name the `race_*` fields), and
restoring a version brings that version's race back (fitness.db.runs_history).
"""

from __future__ import annotations

from typing import Final

from psycopg import Connection

from fitness.db._rows import model_row
from fitness.db._versioned import apply_versioned_change, versioned_tail
from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.db.runs import SELECT_RUN_DETAILS
from fitness.db.runs_history import RUNS
from fitness.errors import InvalidUpdate
from fitness.models import Race, RunDetail

# One statement: lock the run, replace its race when it differs, snapshot the new version.
_SET_RACE: Final = """
WITH current AS (
    SELECT r.*
    FROM runs AS r
    WHERE r.id = %(run_id)s
      AND r.deleted_at IS NULL
    FOR UPDATE
),
checks AS (
    SELECT true AS target_found
),
updated AS (
    UPDATE runs AS r
    SET race_name = %(race_name)s::text,
        race_distance = %(race_distance)s::float8,
        race_time = %(race_time)s::float8,
        race_place = %(race_place)s::integer,
        race_field_size = %(race_field_size)s::integer,
        version = r.version + 1,
        last_edited_at = now(),
        last_edited_by = %(changed_by)s
    FROM current AS c
    WHERE r.id = c.id
      AND (%(expected_version)s::integer IS NULL OR c.version = %(expected_version)s::integer)
      AND (r.race_name, r.race_distance, r.race_time, r.race_place, r.race_field_size)
          IS DISTINCT FROM
          (%(race_name)s::text, %(race_distance)s::float8, %(race_time)s::float8,
           %(race_place)s::integer, %(race_field_size)s::integer)
    RETURNING r.*
)
""" + versioned_tail(RUNS).as_string(None)


@retry_on_disconnect
def get_races(*, conn: Connection | None = None) -> list[RunDetail]:
    """The runs that were races, oldest first (not deleted runs, nor duplicates of another).

    >>> [run.race_name for run in get_races()]   # doctest: +SKIP
    ['Parkrun #12', 'Berlin Marathon 2025']
    """
    query = (
        SELECT_RUN_DETAILS
        + """WHERE r.race_name IS NOT NULL
  AND r.deleted_at IS NULL
  AND r.duplicate_of IS NULL
ORDER BY r.datetime_utc, r.id"""
    )
    with connection(conn) as active, active.cursor(row_factory=model_row(RunDetail)) as cur:
        cur.execute(query)
        return cur.fetchall()


@retry_on_disconnect
def set_run_race(
    run_id: str,
    race: Race,
    changed_by: str,
    change_reason: str | None = None,
    expected_version: int | None = None,
    *,
    conn: Connection | None = None,
) -> RunDetail:
    """Record that the run was `race` (replacing any race it had) as a new `edit` version;
    return the run as it now is.

    `race.distance` is in miles, `race.time` in seconds. Values out of bounds (fitness.rules:
    a name of 1 to 200 characters, a distance over 0 and up to 1,000 miles, a time up to 14
    days, a placing from 1 to 1,000,000 and not beyond the field) are an `InvalidUpdate`
    naming each field, before anything is written. The same race again writes no version.
    `RunNotFound` for a missing or deleted run; `VersionConflict` for a stale
    `expected_version`.

    >>> set_run_race("strava_1", Race(name="Parkrun", distance=3.10686, time=1234),
    ...              changed_by="me").race_time   # doctest: +SKIP
    1234.0
    """
    problems = race.problems()
    if problems:
        raise InvalidUpdate(problems)
    values = {
        "race_name": race.name.strip(),
        "race_distance": float(race.distance),
        "race_time": float(race.time),
        "race_place": race.place,
        "race_field_size": race.field_size,
    }
    return _write_race(run_id, values, changed_by, change_reason, expected_version, conn)


@retry_on_disconnect
def clear_run_race(
    run_id: str,
    changed_by: str,
    change_reason: str | None = None,
    expected_version: int | None = None,
    *,
    conn: Connection | None = None,
) -> RunDetail:
    """The run was no race after all: clear its race as a new `edit` version (none if it
    had no race); return the run. Errors as for `set_run_race`."""
    values = dict.fromkeys(
        ("race_name", "race_distance", "race_time", "race_place", "race_field_size")
    )
    return _write_race(run_id, values, changed_by, change_reason, expected_version, conn)


def _write_race(
    run_id: str,
    values: dict[str, object],
    changed_by: str,
    change_reason: str | None,
    expected_version: int | None,
    conn: Connection | None,
) -> RunDetail:
    params = {
        **values,
        "run_id": run_id,
        "changed_by": changed_by,
        "change_reason": change_reason,
        "expected_version": expected_version,
    }
    with transaction(conn) as active:
        return apply_versioned_change(
            RUNS,
            active,
            _SET_RACE,
            params,
            change_type="edit",
            row_id=run_id,
            expected_version=expected_version,
        )
