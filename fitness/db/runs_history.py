"""The `runs_history` table: one immutable snapshot per version of every run.

Edits and restores write the new current row in `runs` and its snapshot here in a single
statement under the run's row lock, so versions are gap-free even under concurrency.
"""

from __future__ import annotations

from collections.abc import Mapping

from psycopg import Connection
from psycopg.rows import class_row

from fitness.db._versioned import VERSIONED_TAIL, apply_versioned_change
from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.errors import (
    InvalidUpdate,
    ProtectedField,
    RunNotFound,
    UnknownFields,
    VersionNotFound,
)
from fitness.models import (
    EDITABLE_FIELDS,
    PROTECTED_FIELDS,
    HistoryEntry,
    RunDetail,
    RunHistory,
    RunVersion,
    validate_run_fields,
)
from fitness.paging import decode_cursor, encode_cursor

_SELECT_VERSIONS = """
SELECT history_id, run_id, version_number, change_type, datetime_utc, type, distance, duration,
       source, avg_heart_rate, shoe_id, name, notes, changed_at, changed_by, change_reason,
       duplicate_of, duplicate_ids
FROM runs_history
"""

# Each editable field is replaced only when its `set_<field>` flag is true, so one prepared
# statement serves every combination of fields. The UPDATE only happens when a value really
# differs: an edit that changes nothing creates no version.
_UPDATE_RUN = (
    """
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
proposed AS (
    SELECT c.id,
           CASE WHEN %(set_datetime_utc)s THEN %(datetime_utc)s::timestamptz
                ELSE c.datetime_utc END AS datetime_utc,
           CASE WHEN %(set_type)s THEN %(type)s::text ELSE c.type END AS type,
           CASE WHEN %(set_distance)s THEN %(distance)s::float8 ELSE c.distance END AS distance,
           CASE WHEN %(set_duration)s THEN %(duration)s::float8 ELSE c.duration END AS duration,
           CASE WHEN %(set_avg_heart_rate)s THEN %(avg_heart_rate)s::float8
                ELSE c.avg_heart_rate END AS avg_heart_rate,
           CASE WHEN %(set_shoe_id)s THEN %(shoe_id)s::text ELSE c.shoe_id END AS shoe_id,
           CASE WHEN %(set_name)s THEN %(name)s::text ELSE c.name END AS name,
           CASE WHEN %(set_notes)s THEN %(notes)s::text ELSE c.notes END AS notes
    FROM current AS c
    WHERE %(expected_version)s::integer IS NULL
       OR c.version = %(expected_version)s::integer
),
updated AS (
    UPDATE runs AS r
    SET datetime_utc = p.datetime_utc,
        type = p.type,
        distance = p.distance,
        duration = p.duration,
        avg_heart_rate = p.avg_heart_rate,
        shoe_id = p.shoe_id,
        name = p.name,
        notes = p.notes,
        version = r.version + 1,
        last_edited_at = now(),
        last_edited_by = %(changed_by)s
    FROM proposed AS p
    WHERE r.id = p.id
      AND (r.datetime_utc, r.type, r.distance, r.duration, r.avg_heart_rate, r.shoe_id,
           r.name, r.notes)
          IS DISTINCT FROM
          (p.datetime_utc, p.type, p.distance, p.duration, p.avg_heart_rate, p.shoe_id,
           p.name, p.notes)
    RETURNING r.*
)
"""
    + VERSIONED_TAIL
)

# Restoring copies the chosen snapshot's data into the run as a new version and clears
# `deleted_at`: restoring a version from before a deletion is how a run is undeleted.
_RESTORE_RUN = (
    """
WITH current AS (
    SELECT r.*
    FROM runs AS r
    WHERE r.id = %(run_id)s
    FOR UPDATE
),
target AS (
    SELECT h.*
    FROM runs_history AS h
    JOIN current AS c ON c.id = h.run_id
    WHERE h.version_number = %(version_number)s
),
checks AS (
    SELECT EXISTS (SELECT 1 FROM target) AS target_found
),
updated AS (
    UPDATE runs AS r
    SET datetime_utc = t.datetime_utc,
        type = t.type,
        distance = t.distance,
        duration = t.duration,
        avg_heart_rate = t.avg_heart_rate,
        shoe_id = t.shoe_id,
        name = t.name,
        notes = t.notes,
        deleted_at = NULL,
        version = r.version + 1,
        last_edited_at = now(),
        last_edited_by = %(changed_by)s
    FROM target AS t, current AS c
    WHERE r.id = t.run_id
      AND (%(expected_version)s::integer IS NULL OR c.version = %(expected_version)s::integer)
    RETURNING r.*
)
"""
    + VERSIONED_TAIL
)


@retry_on_disconnect
def update_run_with_history(
    run_id: str,
    updates: Mapping[str, object],
    changed_by: str,
    change_reason: str | None = None,
    expected_version: int | None = None,
    *,
    conn: Connection | None = None,
) -> RunDetail:
    """Edit a run and record the edit as a new version; return the run as it now is.

    The run comes back as a `RunDetail` (a `Run` with its calendar state), read in the same
    statement as the edit.

    >>> update_run_with_history("strava_1234567890", {"distance": 5.2},   # doctest: +SKIP
    ...     changed_by="user123", change_reason="Corrected GPS").version
    2

    Only `distance, duration, avg_heart_rate, type, shoe_id, datetime_utc, name, notes` are
    editable (`name` and `notes`: text or None, at most 1,000 and 100,000 characters):
    `id`/`source` raise `ProtectedField`, other names `UnknownFields`, bad values
    `InvalidUpdate` (all before touching the database). An edit that changes nothing
    returns the run unchanged and writes no version. `RunNotFound` for a missing or
    deleted run, `VersionConflict` when `expected_version` is not the current version.
    """
    _check_updates(updates)
    params: dict[str, object] = {
        "run_id": run_id,
        "changed_by": changed_by,
        "change_reason": change_reason,
        "expected_version": expected_version,
    }
    for name in EDITABLE_FIELDS:
        params[f"set_{name}"] = name in updates
        params[name] = updates.get(name)
    with transaction(conn) as active:
        return apply_versioned_change(
            active,
            _UPDATE_RUN,
            params,
            change_type="edit",
            run_id=run_id,
            expected_version=expected_version,
        )


@retry_on_disconnect
def restore_run_version(
    run_id: str,
    version_number: int,
    changed_by: str,
    change_reason: str | None = None,
    expected_version: int | None = None,
    *,
    conn: Connection | None = None,
) -> RunDetail:
    """Make version `version_number`'s data current again, as a new `restore` version.

    The run ends up not deleted, whatever it was. History is never rewritten: the restored
    state is appended. `VersionNotFound` if the run has no such version.
    """
    params = {
        "run_id": run_id,
        "version_number": version_number,
        "changed_by": changed_by,
        "change_reason": change_reason,
        "expected_version": expected_version,
    }
    with transaction(conn) as active:
        return apply_versioned_change(
            active,
            _RESTORE_RUN,
            params,
            change_type="restore",
            run_id=run_id,
            expected_version=expected_version,
            version_number=version_number,
        )


@retry_on_disconnect
def get_run_history(
    run_id: str,
    *,
    limit: int | None = None,
    before_version: int | None = None,
    conn: Connection | None = None,
) -> list[RunVersion]:
    """Versions of the run, newest first; empty if the run does not exist.

    `limit` versions at most, all older than `before_version` when given (a page of a long
    history: versions are gap-free, so the next page starts below the last one returned).
    """
    query = (
        _SELECT_VERSIONS
        + """WHERE run_id = %(run_id)s
  AND (%(before)s::bigint IS NULL OR version_number < %(before)s::bigint)
ORDER BY version_number DESC
LIMIT %(limit)s"""
    )
    params = {"run_id": run_id, "before": before_version, "limit": limit}
    with connection(conn) as active, active.cursor(row_factory=class_row(RunVersion)) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def get_run_history_page(
    run_id: str, *, limit: int = 100, cursor: str | None = None, conn: Connection | None = None
) -> RunHistory:
    """A page of the run's versions, newest first, each with the `changes` it made.

    `cursor` is the `next_cursor` of the page before (`InvalidCursor` if it is not one this
    function made). `RunNotFound` if the run does not exist (deleted runs have history).

    >>> [v.changes for v in get_run_history_page("mmf_1", limit=1).versions]  # doctest: +SKIP
    [{'distance': {'from': 4.35, 'to': 4.5}}]
    """
    before = None if cursor is None else decode_cursor(cursor, int)[0]
    # One version more than the page: it says whether there is a next page, and it is what
    # the page's oldest version changed.
    versions = get_run_history(run_id, limit=limit + 1, before_version=before, conn=conn)  # type: ignore[arg-type]
    if not versions and get_latest_version_number(run_id, conn=conn) is None:
        raise RunNotFound(run_id)
    entries = [
        HistoryEntry.of(version, versions[index + 1] if index + 1 < len(versions) else None)
        for index, version in enumerate(versions[:limit])
    ]
    more = len(versions) > limit
    return RunHistory(run_id, entries, encode_cursor(entries[-1].version_number) if more else None)


def get_run_version_entry(
    run_id: str, version_number: int, *, conn: Connection | None = None
) -> HistoryEntry:
    """One version of the run with the `changes` it made; `VersionNotFound` if there is none."""
    versions = get_run_history(run_id, limit=2, before_version=version_number + 1, conn=conn)
    if not versions or versions[0].version_number != version_number:
        raise VersionNotFound(run_id, version_number)
    return HistoryEntry.of(versions[0], versions[1] if len(versions) > 1 else None)


@retry_on_disconnect
def get_run_version(
    run_id: str, version_number: int, *, conn: Connection | None = None
) -> RunVersion | None:
    """The snapshot of one version of the run, or None if there is no such version."""
    query = _SELECT_VERSIONS + "WHERE run_id = %s AND version_number = %s"
    with connection(conn) as active, active.cursor(row_factory=class_row(RunVersion)) as cur:
        cur.execute(query, (run_id, version_number))
        return cur.fetchone()


@retry_on_disconnect
def get_latest_version_number(run_id: str, *, conn: Connection | None = None) -> int | None:
    """The newest version number of the run (equal to `runs.version`), or None if unknown."""
    with connection(conn) as active:
        row = active.execute(
            "SELECT max(version_number) FROM runs_history WHERE run_id = %s", (run_id,)
        ).fetchone()
    return row[0] if row else None


def _check_updates(updates: Mapping[str, object]) -> None:
    protected = set(updates) & set(PROTECTED_FIELDS)
    if protected:
        raise ProtectedField(protected)
    unknown = set(updates) - set(EDITABLE_FIELDS)
    if unknown:
        raise UnknownFields(unknown)
    errors = validate_run_fields(dict(updates))
    if errors:
        raise InvalidUpdate(errors)
