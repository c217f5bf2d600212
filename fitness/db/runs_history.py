"""The `runs_history` table: one immutable snapshot per version of every run.

Edits and restores write the new current row in `runs` and its snapshot here in a single
statement under the run's row lock, so versions are gap-free even under concurrency.

One run per real run: marking run X a duplicate of run K writes a `duplicate` version of X
(`duplicate_of` = K: X is hidden from lists and totals) and a `merge` version of K (its
`duplicate_ids`, the runs it now stands for, gain X), in one transaction. Restoring a
version of X from before the marking undoes it, and records a `merge` version of K again.
The rules, kept by every function here and checked by `fitness db check`: a run is a
duplicate of at most one run, never of itself, never of a duplicate, and a run that stands
for others is no duplicate; `duplicate_ids` are exactly the runs whose `duplicate_of` names
the run. Functions that change a link lock every run it touches in id order, so they never
deadlock with each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from psycopg import Connection
from psycopg.rows import class_row

from fitness.db import _versioned as versioned
from fitness.db._versioned import CALENDAR_COLUMNS, Kind, apply_versioned_change, versioned_tail
from fitness.db.connection import retry_on_disconnect, transaction
from fitness.db.shoes import refuse_deleted_shoe
from fitness.errors import DuplicateConflict, RunNotFound
from fitness.models import (
    EDITABLE_FIELDS,
    PROTECTED_FIELDS,
    RACE_FIELDS,
    RECORDED_FIELDS,
    HistoryEntry,
    RunDetail,
    RunHistory,
    RunVersion,
    validate_run_fields,
)


def _refuse_deleted_shoe(conn: Connection, run_id: str, updates: Mapping[str, object]) -> None:
    """An edit may not give a run a deleted shoe (`ShoeDeleted`)."""
    shoe_id = updates.get("shoe_id")
    if isinstance(shoe_id, str):
        refuse_deleted_shoe(conn, shoe_id)


# Runs as the versioning mechanism sees them. A version also records the duplicate links
# and the race (set and cleared by fitness.db.races, never by an edit); a restore brings
# back `duplicate_of` and the race but never `duplicate_ids`, which follows the other runs
# (see `_LINK_RUN`).
RUNS: Final = Kind(
    noun="run",
    table="runs",
    history_table="runs_history",
    history_id="run_id",
    editable=(
        ("distance", "float8"),
        ("duration", "float8"),
        ("avg_heart_rate", "float8"),
        ("type", "text"),
        ("shoe_id", "text"),
        ("datetime_utc", "timestamptz"),
        ("name", "text"),
        ("notes", "text"),
    ),
    snapshot=(
        "datetime_utc",
        "type",
        "distance",
        "duration",
        "source",
        "avg_heart_rate",
        "shoe_id",
        "name",
        "notes",
        "duplicate_of",
        "duplicate_ids",
        *RACE_FIELDS,
    ),  # fmt: skip
    restored=(*EDITABLE_FIELDS, "duplicate_of", *RACE_FIELDS),
    recorded=RECORDED_FIELDS,
    protected=PROTECTED_FIELDS,
    detail=RunDetail,
    version=RunVersion,
    entry=HistoryEntry,
    history=RunHistory,
    validate=validate_run_fields,
    not_found=RunNotFound,
    detail_columns=f", s.name AS shoe_name,{CALENDAR_COLUMNS}",
    detail_joins="""
LEFT JOIN shoes AS s ON s.id = r.shoe_id
LEFT JOIN synced_runs AS sr ON sr.run_id = r.id""",
    gear=("shoe_id", "no shoe has this id"),
    check_in_database=_refuse_deleted_shoe,
)
assert RUNS.editable_fields == EDITABLE_FIELDS

# A new version of a run whose duplicate link changes: `duplicate_of` when `set_duplicate_of`,
# and `duplicate_ids` worked out again from the runs that name it. No version when neither
# changes. The caller holds the locks of every run whose `duplicate_of` could name this one.
_LINK_RUN = """
WITH current AS (
    SELECT r.*
    FROM runs AS r
    WHERE r.id = %(run_id)s
    FOR UPDATE
),
checks AS (
    SELECT true AS target_found
),
proposed AS (
    SELECT c.id,
           CASE WHEN %(set_duplicate_of)s THEN %(duplicate_of)s::text
                ELSE c.duplicate_of END AS duplicate_of,
           ARRAY(
               SELECT d.id
               FROM runs AS d
               WHERE d.duplicate_of = c.id
               ORDER BY d.id
           ) AS duplicate_ids
    FROM current AS c
    WHERE %(expected_version)s::integer IS NULL
       OR c.version = %(expected_version)s::integer
),
updated AS (
    UPDATE runs AS r
    SET duplicate_of = p.duplicate_of,
        duplicate_ids = p.duplicate_ids,
        version = r.version + 1,
        last_edited_at = now(),
        last_edited_by = %(changed_by)s
    FROM proposed AS p
    WHERE r.id = p.id
      AND (r.duplicate_of, r.duplicate_ids) IS DISTINCT FROM (p.duplicate_of, p.duplicate_ids)
    RETURNING r.*
)""" + versioned_tail(RUNS).as_string(None)

# Locks the given runs in id order (so two callers never wait for each other in a circle)
# and reads what the link rules need.
_LOCK_RUNS = """
SELECT id, duplicate_of, duplicate_ids, deleted_at IS NOT NULL AS is_deleted
FROM runs
WHERE id = ANY(%(ids)s)
ORDER BY id
FOR UPDATE
"""

# The duplicate link and the shoe of a run now and in one of its versions.
_LINKS = """
SELECT r.duplicate_of AS now, h.duplicate_of AS then, h.run_id IS NOT NULL AS version_found,
       CASE WHEN r.deleted_at IS NULL THEN r.shoe_id END AS shoe_now, h.shoe_id AS shoe_then
FROM runs AS r
LEFT JOIN runs_history AS h ON h.run_id = r.id AND h.version_number = %(version_number)s
WHERE r.id = %(run_id)s
"""
# How often a restore re-reads a link that a concurrent marking changed under it.
_LINK_ATTEMPTS = 3


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
    `InvalidUpdate` (all before touching the database), a deleted shoe `ShoeDeleted` (an
    `InvalidUpdate` on `shoe_id`). An edit that changes nothing returns the run unchanged
    and writes no version. `RunNotFound` for a missing or deleted run, `VersionConflict`
    when `expected_version` is not the current version.
    """
    return versioned.edit_with_history(
        RUNS, run_id, updates, changed_by, change_reason, expected_version, conn=conn
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

    The version's `duplicate_of` comes back too: restoring a version from before the run
    was marked a duplicate undoes the marking, and the run it was a duplicate of gets a
    `merge` version that no longer lists it. `DuplicateConflict` when the restored link
    would break the rules (the other run is deleted now, or a duplicate itself). The race
    comes back too. `ShoeDeleted` when the version's shoe is deleted and the restore gives
    it the run (a shoe other than the live run's now, or any shoe of a deleted run):
    undelete it first (or, for a merged shoe, undo the merge).
    """
    params = {
        "run_id": run_id,
        "version_number": version_number,
        "changed_by": changed_by,
        "change_reason": change_reason,
        "expected_version": expected_version,
    }
    now = then = None
    with transaction(conn) as active:
        for _ in range(_LINK_ATTEMPTS):
            links = active.execute(_LINKS, params).fetchone()
            if links is None or not links[2]:
                break  # the statement below says which is missing
            now, then = links[0], links[1]
            runs = _lock_runs(active, {run_id, now, then} - {None})
            if run_id in runs and runs[run_id].duplicate_of == now:
                break
        else:
            raise DuplicateConflict(f"run {run_id!r} is being marked a duplicate; try again")
        if links is not None and links[2] and now != then:
            _check_restored_link(runs, run_id, now, then)
        if links is not None and links[2] and links[4] is not None and links[4] != links[3]:
            refuse_deleted_shoe(active, links[4])
        restored = versioned.restore_version(
            RUNS,
            run_id,
            version_number,
            changed_by,
            change_reason,
            expected_version,
            conn=active,
        )
        if restored.duplicate_of != now:
            for kept_id in (now, then):
                if kept_id is not None:
                    _record_duplicates(active, kept_id, changed_by, change_reason)
        return restored


@retry_on_disconnect
def mark_duplicate(
    run_id: str,
    kept_id: str,
    changed_by: str,
    change_reason: str | None = None,
    expected_version: int | None = None,
    *,
    conn: Connection | None = None,
) -> RunDetail:
    """Mark run `run_id` a duplicate of run `kept_id` (the same real run, from another
    source); return the duplicate as it now is.

    Nothing is deleted: the duplicate gets a `duplicate` version (`duplicate_of` =
    `kept_id`) and is hidden from lists, totals, shoe mileage and the calendar; the kept run
    gets a `merge` version whose `duplicate_ids` (the sources it stands for) list it. Undo
    it by restoring the duplicate's version from before the marking.

    `RunNotFound` if either run is missing or deleted; `VersionConflict` when
    `expected_version` (of the duplicate) is stale; `DuplicateConflict` when the marking
    would break the rules: a run is never its own duplicate, the duplicate is not one
    already and stands for no other run, and the kept run is no duplicate.

    >>> mark_duplicate("mmf_8613133165", "strava_1234567890", "me").duplicate_of  # doctest: +SKIP
    'strava_1234567890'
    """
    with transaction(conn) as active:
        runs = _lock_runs(active, {run_id, kept_id})
        for wanted in (run_id, kept_id):
            if wanted not in runs or runs[wanted].is_deleted:
                raise RunNotFound(wanted)
        duplicate = runs[run_id]
        if duplicate.duplicate_of is not None:
            raise DuplicateConflict(
                f"run {run_id!r} is already a duplicate of {duplicate.duplicate_of!r}; restore "
                "its version from before that marking first"
            )
        _check_link(runs, run_id, kept_id)
        marked = apply_versioned_change(
            RUNS,
            active,
            _LINK_RUN,
            {
                "run_id": run_id,
                "set_duplicate_of": True,
                "duplicate_of": kept_id,
                "changed_by": changed_by,
                "change_reason": change_reason,
                "expected_version": expected_version,
            },
            change_type="duplicate",
            row_id=run_id,
            expected_version=expected_version,
        )
        _record_duplicates(active, kept_id, changed_by, change_reason)
        return marked


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
    return versioned.get_history(
        RUNS, run_id, limit=limit, before_version=before_version, conn=conn
    )


def get_run_history_page(
    run_id: str, *, limit: int = 100, cursor: str | None = None, conn: Connection | None = None
) -> RunHistory:
    """A page of the run's versions, newest first, each with the `changes` it made.

    `cursor` is the `next_cursor` of the page before (`InvalidCursor` if it is not one this
    function made). `RunNotFound` if the run does not exist (deleted runs have history).

    >>> [v.changes for v in get_run_history_page("mmf_1", limit=1).versions]  # doctest: +SKIP
    [{'distance': {'from': 4.35, 'to': 4.5}}]
    """
    return versioned.get_history_page(RUNS, run_id, limit=limit, cursor=cursor, conn=conn)


def get_run_version_entry(
    run_id: str, version_number: int, *, conn: Connection | None = None
) -> HistoryEntry:
    """One version of the run with the `changes` it made; `VersionNotFound` if there is none."""
    return versioned.get_version_entry(RUNS, run_id, version_number, conn=conn)


@retry_on_disconnect
def get_run_version(
    run_id: str, version_number: int, *, conn: Connection | None = None
) -> RunVersion | None:
    """The snapshot of one version of the run, or None if there is no such version."""
    return versioned.get_version(RUNS, run_id, version_number, conn=conn)


@retry_on_disconnect
def get_latest_version_number(run_id: str, *, conn: Connection | None = None) -> int | None:
    """The newest version number of the run (equal to `runs.version`), or None if unknown."""
    return versioned.get_latest_version_number(RUNS, run_id, conn=conn)


@dataclass(frozen=True, slots=True)
class _Locked:
    id: str
    duplicate_of: str | None
    duplicate_ids: list[str]
    is_deleted: bool


def _lock_runs(conn: Connection, ids: set[str]) -> dict[str, _Locked]:
    with conn.cursor(row_factory=class_row(_Locked)) as cur:
        cur.execute(_LOCK_RUNS, {"ids": sorted(ids)})
        return {run.id: run for run in cur.fetchall()}


def _check_link(runs: dict[str, _Locked], run_id: str, kept_id: str) -> None:
    """`DuplicateConflict` unless run `run_id` may be a duplicate of run `kept_id`."""
    if run_id == kept_id:
        raise DuplicateConflict(f"run {run_id!r} cannot be a duplicate of itself")
    kept = runs.get(kept_id)
    if kept is None or kept.is_deleted:
        raise DuplicateConflict(f"run {kept_id!r} is deleted; restore it first")
    if kept.duplicate_of == run_id:
        raise DuplicateConflict(
            f"run {kept_id!r} is a duplicate of {run_id!r}; to keep {kept_id!r} instead, "
            f"undo that marking first (restore {kept_id!r}'s version from before it)"
        )
    if kept.duplicate_of is not None:
        raise DuplicateConflict(
            f"run {kept_id!r} is itself a duplicate of {kept.duplicate_of!r}; mark "
            f"{run_id!r} a duplicate of {kept.duplicate_of!r} instead"
        )
    if runs[run_id].duplicate_ids:
        raise DuplicateConflict(
            f"runs {', '.join(runs[run_id].duplicate_ids)} are duplicates of {run_id!r}, so it "
            "cannot be a duplicate itself; undo those markings first"
        )


def _check_restored_link(
    runs: dict[str, _Locked], run_id: str, now: str | None, then: str | None
) -> None:
    if now is not None and runs[now].is_deleted:
        raise DuplicateConflict(
            f"run {run_id!r} is a duplicate of {now!r}, which is deleted; restore {now!r} first"
        )
    if then is not None:
        _check_link(runs, run_id, then)


def _record_duplicates(
    conn: Connection, kept_id: str, changed_by: str, change_reason: str | None
) -> None:
    """A `merge` version of run `kept_id` if the runs naming it as their original changed."""
    apply_versioned_change(
        RUNS,
        conn,
        _LINK_RUN,
        {
            "run_id": kept_id,
            "set_duplicate_of": False,
            "duplicate_of": None,
            "changed_by": changed_by,
            "change_reason": change_reason,
            "expected_version": None,
        },
        change_type="merge",
        row_id=kept_id,
        expected_version=None,
    )
