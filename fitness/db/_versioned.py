"""The machinery shared by the statements that write a new version of a run.

Edit, delete and restore are each one SQL statement (lock, update `runs`, insert the
snapshot) that ends in the same result shape; this module runs such a statement and turns
its result into a `RunDetail` (the run with its shoe name and calendar state, so that a
caller such as the API needs no second query) or the right typed error.
"""

from __future__ import annotations

from typing import Final

import psycopg
from psycopg import Connection
from psycopg.rows import kwargs_row

from fitness.errors import InvalidUpdate, RunNotFound, VersionConflict, VersionNotFound
from fitness.models import ChangeType, RunDetail

RUN_COLUMNS: Final = (
    "id, datetime_utc, type, distance, duration, source, avg_heart_rate, shoe_id, name, notes, "
    "version, last_edited_at, last_edited_by, deleted_at, created_at, updated_at, duplicate_of, "
    "duplicate_ids, race_name, race_distance, race_time, race_place, race_field_size"
)

# The calendar columns of a RunDetail, for the run aliased `r` joined to its synced_runs row
# `sr`: the one place where calendar state is derived (see RunDetail for what each means).
CALENDAR_COLUMNS: Final = """
       CASE
           WHEN sr.id IS NULL THEN 'missing'
           WHEN sr.sync_status = 'failed' THEN 'failed'
           WHEN sr.sync_status = 'synced' AND sr.run_version = r.version THEN 'current'
           WHEN sr.google_event_id IS NULL THEN 'missing'
           ELSE 'stale'
       END AS calendar_state,
       sr.google_event_id, sr.run_version AS synced_version, sr.synced_at,
       sr.error_message AS sync_error"""


def snapshot_of(rows: str) -> str:
    """SQL: insert the snapshot of each new current row of `rows` (a CTE or table name whose
    rows are `runs` rows after a change) into runs_history, as `%(change_type)s` by
    `%(changed_by)s` for `%(change_reason)s`: the one place that lists what a version holds."""
    return f"""INSERT INTO runs_history (run_id, version_number, change_type, datetime_utc, type,
                              distance, duration, source, avg_heart_rate, shoe_id, name, notes,
                              changed_at, changed_by, change_reason, duplicate_of, duplicate_ids,
                              race_name, race_distance, race_time, race_place, race_field_size)
    SELECT u.id, u.version, %(change_type)s, u.datetime_utc, u.type, u.distance,
           u.duration, u.source, u.avg_heart_rate, u.shoe_id, u.name, u.notes, u.last_edited_at,
           %(changed_by)s, %(change_reason)s, u.duplicate_of, u.duplicate_ids,
           u.race_name, u.race_distance, u.race_time, u.race_place, u.race_field_size
    FROM {rows} AS u"""


# Every versioning statement defines the CTEs `current` (the locked row before the change,
# absent if the run does not exist), `checks` (a boolean `target_found`) and, last,
# `updated` (the row after the change, absent if nothing was written), then ends with this
# tail: it writes the new row's snapshot (its `change_type` is a parameter) and reports
# whichever row is now current.
VERSIONED_TAIL: Final = f""",
snapshot AS (
    {snapshot_of("updated")}
)
SELECT true AS changed, true AS target_found, s.name AS shoe_name, r.*,{CALENDAR_COLUMNS}
FROM updated AS r
LEFT JOIN shoes AS s ON s.id = r.shoe_id
LEFT JOIN synced_runs AS sr ON sr.run_id = r.id
UNION ALL
SELECT false, (SELECT target_found FROM checks), s.name, r.*,{CALENDAR_COLUMNS}
FROM current AS r
LEFT JOIN shoes AS s ON s.id = r.shoe_id
LEFT JOIN synced_runs AS sr ON sr.run_id = r.id
WHERE NOT EXISTS (SELECT 1 FROM updated)
"""


def apply_versioned_change(
    conn: Connection,
    query: str,
    params: dict[str, object],
    *,
    change_type: ChangeType,
    run_id: str,
    expected_version: int | None,
    version_number: int | None = None,
) -> RunDetail:
    """Run one versioning statement on `conn` and return the run as it now is.

    `conn` must be inside the caller's `transaction()`, which rolls the statement back if
    anything here raises (a savepoint of our own would only cost two more round trips).
    Raises `RunNotFound`, `VersionNotFound` (restore of a version that does not exist) or
    `VersionConflict` (stale `expected_version`). The snapshot is recorded as `change_type`.
    """
    try:
        with conn.cursor(row_factory=kwargs_row(_outcome)) as cur:
            cur.execute(query, {**params, "change_type": change_type})  # type: ignore[arg-type]
            outcome = cur.fetchone()
    except (psycopg.errors.ForeignKeyViolation, psycopg.errors.ProgramLimitExceeded):
        # ProgramLimitExceeded: a shoe id too long to index, so no shoe can have it (it is
        # the only indexed value an edit writes that the caller chooses).
        raise InvalidUpdate({"shoe_id": "no shoe has this id"}) from None
    except psycopg.errors.CheckViolation as error:
        constraint = error.diag.constraint_name or "a check constraint"
        raise InvalidUpdate({"run": f"the new values violate {constraint}"}) from None
    if outcome is None:
        raise RunNotFound(run_id)
    changed, target_found, run = outcome
    if not target_found:
        raise VersionNotFound(run_id, version_number or 0)
    if not changed and expected_version is not None and run.version != expected_version:
        raise VersionConflict(run_id, expected_version, run.version)
    return run


def _outcome(changed: bool, target_found: bool, **columns: object) -> tuple[bool, bool, RunDetail]:
    return changed, target_found, RunDetail(**columns)  # type: ignore[arg-type]
