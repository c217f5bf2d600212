"""The `lifts_history` table: one immutable snapshot per version of every lift, written by
the one versioning mechanism (fitness.db._versioned) that runs and rides use.

A version holds the whole workout (its exercises and sets are one JSONB value), so an edit
of one set is one new version and a restore brings the whole workout back. A change that
arrives from Hevy is an `edit` (or a `deletion`) made by `hevy sync`; `apply_source_changes`
applies it only to lifts that still hold what Hevy last sent, so nothing a user changed here
is ever overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from psycopg import Connection
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from fitness.db import _versioned as versioned
from fitness.db._versioned import Kind
from fitness.db.connection import retry_on_disconnect, transaction
from fitness.db.lifts import LIFT_COLUMNS
from fitness.errors import InvalidUpdate, LiftNotFound
from fitness.lift_models import (
    EXERCISES,
    LIFT_EDITABLE_FIELDS,
    Lift,
    LiftHistory,
    LiftHistoryEntry,
    LiftVersion,
    end_before_start,
    validate_lift_fields,
)


def _refuse_end_before_start(conn: Connection, lift_id: str, updates: Mapping[str, object]) -> None:
    """An edit of the start or the end alone may not put the end before the start; with
    both, `validate_lift_fields` has compared them. The row is locked first (the edit
    takes that lock anyway), so that no other edit moves the other time meanwhile."""
    if ("datetime_utc" in updates) == ("end_utc" in updates):
        return
    row = conn.execute(
        "SELECT datetime_utc, end_utc FROM lifts WHERE id = %s FOR UPDATE", (lift_id,)
    ).fetchone()
    if row is None:
        return  # the edit says the lift is missing
    start = updates.get("datetime_utc", row[0])
    end = updates.get("end_utc", row[1])
    problems = end_before_start(_as_instant(start), _as_instant(end))
    if problems:
        raise InvalidUpdate(problems)


def _as_instant(value: object) -> datetime | None:
    """A time as an edit may give it (a datetime, or ISO 8601 text already validated)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value if isinstance(value, datetime) else None


LIFTS: Final = Kind(
    noun="lift",
    table="lifts",
    history_table="lifts_history",
    history_id="lift_id",
    editable=(
        ("datetime_utc", "timestamptz"),
        ("end_utc", "timestamptz"),
        ("title", "text"),
        ("description", "text"),
        ("exercises", "jsonb"),
    ),
    snapshot=("datetime_utc", "end_utc", "title", "description", "source", "exercises"),
    restored=LIFT_EDITABLE_FIELDS,
    recorded=LIFT_EDITABLE_FIELDS,
    protected=("id", "source"),
    detail=Lift,
    version=LiftVersion,
    entry=LiftHistoryEntry,
    history=LiftHistory,
    validate=validate_lift_fields,
    not_found=LiftNotFound,
    check_in_database=_refuse_end_before_start,
)
assert LIFTS.editable_fields == LIFT_EDITABLE_FIELDS

# What the source last sent of each lift: the newest data version it wrote.
_LAST_FROM_SOURCE = """
SELECT DISTINCT ON (lift_id)
       history_id, lift_id, version_number, change_type, datetime_utc, end_utc, title,
       description, source, exercises, changed_at, changed_by, change_reason
FROM lifts_history
WHERE lift_id = ANY(%(ids)s)
  AND changed_by = %(changed_by)s
  AND change_type IN ('original', 'edit')
ORDER BY lift_id, version_number DESC
"""

# The lifts a batch of source changes touches, locked in id order (two syncs never wait for
# each other in a circle), as they are now.
_LOCK_LIFTS = f"""
SELECT {LIFT_COLUMNS}
FROM lifts
WHERE id = ANY(%s)
ORDER BY id
FOR UPDATE
"""


@dataclass(slots=True)
class SourceChanges:
    """What `apply_source_changes` did: lifts given a new version by the source's change
    (`updated`, `deleted`), lifts it left alone because the user changed them here
    (`kept_edited`), and how many already matched the source (`unchanged`)."""

    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept_edited: list[str] = field(default_factory=list)
    unchanged: int = 0


@retry_on_disconnect
def update_lift_with_history(
    lift_id: str,
    updates: Mapping[str, object],
    changed_by: str,
    change_reason: str | None = None,
    expected_version: int | None = None,
    *,
    conn: Connection | None = None,
) -> Lift:
    """Edit a lift and record the edit as a new version; return the lift as it now is.

    Editable: `datetime_utc, end_utc, title, description, exercises` (the whole list of
    exercises with their sets, as `LiftExercise`s or dicts in their shape; kg, metres,
    seconds). `id`/`source` raise `ProtectedField`, other names `UnknownFields`, bad values
    `InvalidUpdate`, before touching the database. An edit that changes nothing writes no
    version. `LiftNotFound` for a missing or deleted lift, `VersionConflict` when
    `expected_version` is not the current version.

    >>> update_lift_with_history("hevy_b459", {"title": "Push A"}, "me").version  # doctest: +SKIP
    2
    """
    return versioned.edit_with_history(
        LIFTS,
        lift_id,
        _as_stored(updates),
        changed_by,
        change_reason,
        expected_version,
        conn=conn,
    )


@retry_on_disconnect
def delete_lift(
    lift_id: str,
    changed_by: str,
    change_reason: str | None = None,
    expected_version: int | None = None,
    *,
    conn: Connection | None = None,
) -> Lift:
    """Soft-delete a lift as a `deletion` version; return the deleted lift.

    Restoring an earlier version undeletes it. `LiftNotFound` if it does not exist or is
    already deleted; `VersionConflict` if `expected_version` is stale.
    """
    return versioned.soft_delete(
        LIFTS, lift_id, changed_by, change_reason, expected_version, conn=conn
    )


@retry_on_disconnect
def restore_lift_version(
    lift_id: str,
    version_number: int,
    changed_by: str,
    change_reason: str | None = None,
    expected_version: int | None = None,
    *,
    conn: Connection | None = None,
) -> Lift:
    """Make version `version_number`'s workout current again, as a new `restore` version
    (the lift ends up not deleted). `LiftNotFound`, `VersionNotFound`, `VersionConflict`."""
    with transaction(conn) as active:
        return versioned.restore_version(
            LIFTS,
            lift_id,
            version_number,
            changed_by,
            change_reason,
            expected_version,
            conn=active,
        )


@retry_on_disconnect
def get_lift_history(
    lift_id: str,
    *,
    limit: int = 100,
    cursor: str | None = None,
    conn: Connection | None = None,
) -> LiftHistory:
    """A page of the lift's versions, newest first, each with the fields it changed.

    `LiftNotFound` if the lift does not exist (a deleted lift has its history);
    `InvalidCursor` for a cursor this function did not make.
    """
    return versioned.get_history_page(LIFTS, lift_id, limit=limit, cursor=cursor, conn=conn)  # type: ignore[no-any-return]


@retry_on_disconnect
def get_lift_version(
    lift_id: str, version_number: int, *, conn: Connection | None = None
) -> LiftHistoryEntry:
    """One version of a lift with what it changed; `VersionNotFound` if there is none."""
    return versioned.get_version_entry(LIFTS, lift_id, version_number, conn=conn)  # type: ignore[no-any-return]


def apply_source_changes(
    changed: Sequence[Lift],
    deleted_ids: Sequence[str],
    *,
    changed_by: str,
    change_reason: str,
    conn: Connection,
) -> SourceChanges:
    """Give stored lifts the source's new versions of them, in the caller's transaction.

    Each lift in `changed` (as the source now has it) becomes an `edit` version, and each
    id in `deleted_ids` a `deletion` version, both recorded as made by `changed_by`, but
    only where the lift follows the source: it is not deleted and its data equal what the
    source last sent (the newest version `changed_by` wrote). A lift the user changed here
    (edited, or deleted) is left as it is and listed in `kept_edited`; restoring the
    source's last version makes it follow the source again. Lifts not stored are ignored
    (the caller inserts new ones), and changes that change nothing count as `unchanged`.
    """
    ids = sorted({lift.id for lift in changed} | set(deleted_ids))
    with conn.cursor(row_factory=class_row(Lift)) as cur:
        locked = {lift.id: lift for lift in cur.execute(_LOCK_LIFTS, (ids,)).fetchall()}
    with conn.cursor(row_factory=class_row(LiftVersion)) as cur:
        cur.execute(_LAST_FROM_SOURCE, {"ids": ids, "changed_by": changed_by})
        sent = {version.lift_id: version for version in cur.fetchall()}

    def follows_source(stored: Lift) -> bool:
        last = sent.get(stored.id)
        return not stored.is_deleted and last is not None and _same_data(stored, last)

    result = SourceChanges()
    for lift in changed:
        stored = locked.get(lift.id)
        if stored is None:
            continue
        if _same_data(stored, lift):
            result.unchanged += 1
        elif not follows_source(stored):
            result.kept_edited.append(lift.id)
        else:
            data = {name: getattr(lift, name) for name in LIFT_EDITABLE_FIELDS}
            update_lift_with_history(lift.id, data, changed_by, change_reason, conn=conn)
            result.updated.append(lift.id)
    for lift_id in deleted_ids:
        stored = locked.get(lift_id)
        if stored is None:
            continue
        if stored.is_deleted:
            result.unchanged += 1
        elif not follows_source(stored):
            result.kept_edited.append(lift_id)
        else:
            delete_lift(lift_id, changed_by, change_reason, conn=conn)
            result.deleted.append(lift_id)
    return result


def _same_data(one: Lift | LiftVersion, other: Lift | LiftVersion) -> bool:
    return all(getattr(one, name) == getattr(other, name) for name in LIFT_EDITABLE_FIELDS)


def _as_stored(updates: Mapping[str, object]) -> dict[str, object]:
    # Exercises travel to the database as one JSONB value; validated first, so that a bad
    # set is an InvalidUpdate naming where it is.
    if "exercises" not in updates:
        return dict(updates)
    problems = validate_lift_fields({"exercises": updates["exercises"]})
    if problems:
        return dict(updates)  # the mechanism's check raises InvalidUpdate with these
    value = EXERCISES.dump_python(EXERCISES.validate_python(updates["exercises"]), mode="json")
    return {**updates, "exercises": Jsonb(value)}
