"""One versioning mechanism for every kind of activity (runs, rides, lifts).

A `Kind` describes a versioned table: its history table, the columns a user edits and the
ones each snapshot records, and the shapes its rows come back as. From it this module
composes (psycopg.sql: identifiers from the descriptor, values always parameters) the
statements that write a new version, each one SQL statement that locks the row, updates
it and inserts its snapshot, so versions are gap-free under any concurrency; and it runs
them: `edit_with_history`, `soft_delete`, `restore_version`, and reads history with
`get_history`, `get_history_page` and `get_version_entry`. A kind's own module
(fitness.db.runs_history, fitness.db.rides) gives these its public names.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Final

import psycopg
from psycopg import Connection, sql
from psycopg.rows import class_row, kwargs_row

from fitness.db.connection import connection, transaction
from fitness.errors import (
    InvalidUpdate,
    NotFound,
    ProtectedField,
    UnknownFields,
    VersionConflict,
    VersionNotFound,
)
from fitness.models import ChangeType
from fitness.paging import decode_cursor, encode_cursor

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


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of versioned activity: where it is stored and what a version records.

    Every table it names has the columns the mechanism needs: the activity table `id`,
    `version`, `last_edited_at`, `last_edited_by`, `deleted_at`; the history table
    `history_id`, `<history_id>` (the activity's id), `version_number`, `change_type`,
    `changed_at`, `changed_by`, `change_reason` and every column of `snapshot`.

    >>> RIDES.noun, RIDES.history_table, RIDES.history_id   # doctest: +SKIP
    ('ride', 'rides_history', 'ride_id')
    """

    noun: str
    """What one row is called in errors: "run", "ride"."""
    table: str
    history_table: str
    history_id: str
    """The history table's column naming the activity (`run_id`); also the statements'
    parameter for it."""
    editable: tuple[tuple[str, str], ...]
    """`(column, PostgreSQL type)` of each field a user may edit, in the order of the API."""
    snapshot: tuple[str, ...]
    """The columns each version copies from the row (the editable ones and more)."""
    restored: tuple[str, ...]
    """The columns a restore copies back from a version."""
    recorded: tuple[str, ...]
    """The fields whose differences a history entry lists as its `changes`."""
    protected: tuple[str, ...]
    """Fields that identify the row: an edit naming one is a `ProtectedField`."""
    detail: type
    """The row as it now is (what every change returns), built from `r.*` and
    `detail_columns`."""
    version: type
    """One snapshot, built from the history table's columns."""
    entry: type
    """A snapshot with `changes`: the version's fields and `changes=`."""
    history: type
    """A page of history: `history(<id>, entries, next_cursor)`."""
    validate: Callable[[dict[str, object]], dict[str, str]]
    """`{field: problem}` for the given values (empty when they may be stored)."""
    not_found: Callable[[str], NotFound]
    detail_columns: str = ""
    """SQL: columns a detail has beyond `r.*`, from `r` and `detail_joins` (", s.name ...")."""
    detail_joins: str = ""
    """SQL: the joins `detail_columns` need (`\\nLEFT JOIN shoes AS s ON s.id = r.shoe_id`)."""
    gear: tuple[str, str] | None = None
    """`(column, problem)`: the column naming gear, and what to say when no gear has it."""
    check_in_database: Callable[[Connection, str, Mapping[str, object]], None] | None = None
    """`(conn, row id, updates)`: what an edit's values must also satisfy in the database
    (runs: the shoe is not deleted; lifts: a new start or end alone keeps the end after the
    start), raising `InvalidUpdate`; run in the edit's own transaction just before it, so
    that it costs no savepoint and holds what it checked until the edit commits."""

    @property
    def editable_fields(self) -> tuple[str, ...]:
        """The names of the editable fields."""
        return tuple(column for column, _ in self.editable)


def check_updates(kind: Kind, updates: Mapping[str, object]) -> None:
    """Refuse an edit before it reaches the database: `ProtectedField` for identifying
    fields, `UnknownFields` for names the kind cannot edit, `InvalidUpdate` for bad values."""
    protected = set(updates) & set(kind.protected)
    if protected:
        raise ProtectedField(protected)
    unknown = set(updates) - set(kind.editable_fields)
    if unknown:
        raise UnknownFields(unknown)
    errors = kind.validate(dict(updates))
    if errors:
        raise InvalidUpdate(errors)


def edit_with_history(
    kind: Kind,
    row_id: str,
    updates: Mapping[str, object],
    changed_by: str,
    change_reason: str | None,
    expected_version: int | None,
    *,
    conn: Connection | None,
) -> Any:
    """Edit the row and record an `edit` version; return it as `kind.detail`.

    Checks `updates` first (`check_updates`). An edit that changes nothing writes no
    version and returns the row unchanged. `kind.not_found` for a missing or deleted row,
    `VersionConflict` when `expected_version` is not the current version.
    """
    check_updates(kind, updates)
    params: dict[str, object] = {
        kind.history_id: row_id,
        "changed_by": changed_by,
        "change_reason": change_reason,
        "expected_version": expected_version,
    }
    for name in kind.editable_fields:
        params[f"set_{name}"] = name in updates
        params[name] = updates.get(name)
    with transaction(conn) as active:
        if kind.check_in_database is not None:
            kind.check_in_database(active, row_id, updates)
        return apply_versioned_change(
            kind,
            active,
            edit_statement(kind),
            params,
            change_type="edit",
            row_id=row_id,
            expected_version=expected_version,
        )


def soft_delete(
    kind: Kind,
    row_id: str,
    changed_by: str,
    change_reason: str | None,
    expected_version: int | None,
    *,
    conn: Connection | None,
) -> Any:
    """Soft-delete the row as a `deletion` version; return it as `kind.detail`.

    `kind.not_found` if it does not exist or is already deleted; `VersionConflict` if
    `expected_version` is stale.
    """
    params = {
        kind.history_id: row_id,
        "changed_by": changed_by,
        "change_reason": change_reason,
        "expected_version": expected_version,
    }
    with transaction(conn) as active:
        return apply_versioned_change(
            kind,
            active,
            delete_statement(kind),
            params,
            change_type="deletion",
            row_id=row_id,
            expected_version=expected_version,
        )


def restore_version(
    kind: Kind,
    row_id: str,
    version_number: int,
    changed_by: str,
    change_reason: str | None,
    expected_version: int | None,
    *,
    conn: Connection,
) -> Any:
    """Copy version `version_number`'s `kind.restored` columns back as a `restore` version,
    undeleting the row; return it as `kind.detail`.

    `conn` is the caller's transaction (runs lock their duplicate links around this).
    `kind.not_found`, `VersionNotFound` or `VersionConflict`.
    """
    params = {
        kind.history_id: row_id,
        "version_number": version_number,
        "changed_by": changed_by,
        "change_reason": change_reason,
        "expected_version": expected_version,
    }
    return apply_versioned_change(
        kind,
        conn,
        restore_statement(kind),
        params,
        change_type="restore",
        row_id=row_id,
        expected_version=expected_version,
        version_number=version_number,
    )


def get_history(
    kind: Kind,
    row_id: str,
    *,
    limit: int | None = None,
    before_version: int | None = None,
    conn: Connection | None = None,
) -> list[Any]:
    """Versions of the row (`kind.version`), newest first; empty if it does not exist.

    `limit` versions at most, all older than `before_version` when given (versions are
    gap-free, so the next page starts below the last one returned).
    """
    query = sql.SQL(
        """{select}WHERE {id} = %(row_id)s
  AND (%(before)s::bigint IS NULL OR version_number < %(before)s::bigint)
ORDER BY version_number DESC
LIMIT %(limit)s"""
    ).format(select=_select_versions(kind), id=sql.Identifier(kind.history_id))
    params = {"row_id": row_id, "before": before_version, "limit": limit}
    with connection(conn) as active, active.cursor(row_factory=class_row(kind.version)) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def get_history_page(
    kind: Kind,
    row_id: str,
    *,
    limit: int = 100,
    cursor: str | None = None,
    conn: Connection | None = None,
) -> Any:
    """A page (`kind.history`) of the row's versions, newest first, each with its `changes`.

    `cursor` is the `next_cursor` of the page before (`InvalidCursor` if it is not one this
    function made). `kind.not_found` if the row does not exist (deleted rows have history).
    """
    before = None if cursor is None else decode_cursor(cursor, int)[0]
    # One version more than the page: it says whether there is a next page, and it is what
    # the page's oldest version changed.
    versions = get_history(kind, row_id, limit=limit + 1, before_version=before, conn=conn)  # type: ignore[arg-type]
    if not versions and get_latest_version_number(kind, row_id, conn=conn) is None:
        raise kind.not_found(row_id)
    entries = [
        history_entry(kind, version, versions[index + 1] if index + 1 < len(versions) else None)
        for index, version in enumerate(versions[:limit])
    ]
    next_cursor = encode_cursor(entries[-1].version_number) if len(versions) > limit else None
    return kind.history(row_id, entries, next_cursor)


def get_version_entry(
    kind: Kind, row_id: str, version_number: int, *, conn: Connection | None = None
) -> Any:
    """One version (`kind.entry`) with the `changes` it made; `VersionNotFound` if none."""
    versions = get_history(kind, row_id, limit=2, before_version=version_number + 1, conn=conn)
    if not versions or versions[0].version_number != version_number:
        raise VersionNotFound(row_id, version_number, noun=kind.noun)
    return history_entry(kind, versions[0], versions[1] if len(versions) > 1 else None)


def get_version(
    kind: Kind, row_id: str, version_number: int, *, conn: Connection | None = None
) -> Any | None:
    """The snapshot (`kind.version`) of one version of the row, or None."""
    query = sql.SQL("{select}WHERE {id} = %s AND version_number = %s").format(
        select=_select_versions(kind), id=sql.Identifier(kind.history_id)
    )
    with connection(conn) as active, active.cursor(row_factory=class_row(kind.version)) as cur:
        cur.execute(query, (row_id, version_number))
        return cur.fetchone()


def get_latest_version_number(
    kind: Kind, row_id: str, *, conn: Connection | None = None
) -> int | None:
    """The newest version number of the row (equal to its `version`), or None if unknown."""
    query = sql.SQL("SELECT max(version_number) FROM {history} WHERE {id} = %s").format(
        history=sql.Identifier(kind.history_table), id=sql.Identifier(kind.history_id)
    )
    with connection(conn) as active:
        row = active.execute(query, (row_id,)).fetchone()
    return row[0] if row else None


def history_entry(kind: Kind, version: Any, previous: Any | None) -> Any:
    """`version` as a `kind.entry`: its fields, and each `kind.recorded` field that differs
    from `previous` as `{"from", "to"}` (none for the first version or a deletion)."""
    values = {field.name: getattr(version, field.name) for field in fields(kind.version)}
    changes = (
        {}
        if previous is None
        else {
            name: {"from": getattr(previous, name), "to": getattr(version, name)}
            for name in kind.recorded
            if getattr(previous, name) != getattr(version, name)
        }
    )
    return kind.entry(**values, changes=changes)


def apply_versioned_change(
    kind: Kind,
    conn: Connection,
    query: str,
    params: dict[str, object],
    *,
    change_type: ChangeType,
    row_id: str,
    expected_version: int | None,
    version_number: int | None = None,
) -> Any:
    """Run one versioning statement on `conn` and return the row as it now is.

    `query` defines the CTEs `current` (the locked row before the change, absent if the row
    does not exist), `checks` (a boolean `target_found`) and, last, `updated` (the row after
    the change, absent if nothing was written), then ends with `versioned_tail(kind)`.
    `conn` must be inside the caller's `transaction()`, which rolls the statement back if
    anything here raises (a savepoint of our own would only cost two more round trips).
    Raises `kind.not_found`, `VersionNotFound` (restore of a version that does not exist) or
    `VersionConflict` (stale `expected_version`). The snapshot is recorded as `change_type`.
    """
    try:
        with conn.cursor(row_factory=kwargs_row(_outcome_of(kind.detail))) as cur:
            cur.execute(query, {**params, "change_type": change_type})  # type: ignore[arg-type]
            outcome = cur.fetchone()
    except (psycopg.errors.ForeignKeyViolation, psycopg.errors.ProgramLimitExceeded):
        # ProgramLimitExceeded: a gear id too long to index, so no gear can have it (it is
        # the only indexed value an edit writes that the caller chooses).
        column, problem = kind.gear or ("id", "refers to nothing stored")
        raise InvalidUpdate({column: problem}) from None
    except psycopg.errors.CheckViolation as error:
        constraint = error.diag.constraint_name or "a check constraint"
        raise InvalidUpdate({kind.noun: f"the new values violate {constraint}"}) from None
    if outcome is None:
        raise kind.not_found(row_id)
    changed, target_found, row = outcome
    if not target_found:
        raise VersionNotFound(row_id, version_number or 0, noun=kind.noun)
    if not changed and expected_version is not None and row.version != expected_version:
        raise VersionConflict(row_id, expected_version, row.version, noun=kind.noun)
    return row


@functools.cache
def snapshot_of(kind: Kind, rows: str) -> sql.Composed:
    """SQL: insert the snapshot of each row of `rows` (a CTE whose rows are `kind.table` rows
    after a change) into the history table, as `%(change_type)s` by `%(changed_by)s` for
    `%(change_reason)s`: the one place that lists what a version holds."""
    snapshot = [sql.Identifier(column) for column in kind.snapshot]
    return sql.SQL(
        """INSERT INTO {history} ({history_id}, version_number, change_type, {columns},
                           changed_at, changed_by, change_reason)
    SELECT u.id, u.version, %(change_type)s, {values},
           u.last_edited_at, %(changed_by)s, %(change_reason)s
    FROM {rows} AS u"""
    ).format(
        history=sql.Identifier(kind.history_table),
        history_id=sql.Identifier(kind.history_id),
        columns=sql.SQL(", ").join(snapshot),
        values=sql.SQL(", ").join(sql.SQL("u.{}").format(column) for column in snapshot),
        rows=sql.Identifier(rows),
    )


@functools.cache
def versioned_tail(kind: Kind) -> sql.Composed:
    """The end of every versioning statement: it writes the new row's snapshot (its
    `change_type` a parameter) and reports whichever row is now current, as a detail."""
    return sql.SQL(
        """,
snapshot AS (
    {snapshot}
)
SELECT true AS changed, true AS target_found, r.*{detail_columns}
FROM updated AS r{detail_joins}
UNION ALL
SELECT false, (SELECT target_found FROM checks), r.*{detail_columns}
FROM current AS r{detail_joins}
WHERE NOT EXISTS (SELECT 1 FROM updated)
"""
    ).format(
        snapshot=snapshot_of(kind, "updated"),
        detail_columns=sql.SQL(kind.detail_columns),  # type: ignore[arg-type]
        detail_joins=sql.SQL(kind.detail_joins),  # type: ignore[arg-type]
    )


@functools.cache
def edit_statement(kind: Kind) -> str:
    """The edit: each editable field is replaced only when its `set_<field>` flag is true, so
    one prepared statement serves every combination of fields. The UPDATE only happens when
    a value really differs: an edit that changes nothing creates no version."""
    columns = [sql.Identifier(column) for column in kind.editable_fields]
    proposals = [
        sql.SQL("CASE WHEN {flag} THEN {value}::{type} ELSE c.{column} END AS {column}").format(
            flag=sql.Placeholder(f"set_{column}"),
            value=sql.Placeholder(column),
            type=sql.SQL(type_),  # type: ignore[arg-type]
            column=sql.Identifier(column),
        )
        for column, type_ in kind.editable
    ]
    query = sql.SQL(
        """
WITH current AS (
    SELECT r.*
    FROM {table} AS r
    WHERE r.id = {row_id}
      AND r.deleted_at IS NULL
    FOR UPDATE
),
checks AS (
    SELECT true AS target_found
),
proposed AS (
    SELECT c.id,
           {proposals}
    FROM current AS c
    WHERE %(expected_version)s::integer IS NULL
       OR c.version = %(expected_version)s::integer
),
updated AS (
    UPDATE {table} AS r
    SET {assignments},
        version = r.version + 1,
        last_edited_at = now(),
        last_edited_by = %(changed_by)s
    FROM proposed AS p
    WHERE r.id = p.id
      AND ({now}) IS DISTINCT FROM ({proposed})
    RETURNING r.*
)"""
    ).format(
        table=sql.Identifier(kind.table),
        row_id=sql.Placeholder(kind.history_id),
        proposals=sql.SQL(",\n           ").join(proposals),
        assignments=sql.SQL(",\n        ").join(
            sql.SQL("{column} = p.{column}").format(column=column) for column in columns
        ),
        now=sql.SQL(", ").join(sql.SQL("r.{}").format(column) for column in columns),
        proposed=sql.SQL(", ").join(sql.SQL("p.{}").format(column) for column in columns),
    )
    return (query + versioned_tail(kind)).as_string(None)


@functools.cache
def delete_statement(kind: Kind) -> str:
    """The soft delete: `deleted_at` set, a new version, no data changed."""
    query = sql.SQL(
        """
WITH current AS (
    SELECT r.*
    FROM {table} AS r
    WHERE r.id = {row_id}
      AND r.deleted_at IS NULL
    FOR UPDATE
),
checks AS (
    SELECT true AS target_found
),
updated AS (
    UPDATE {table} AS r
    SET deleted_at = now(),
        version = r.version + 1,
        last_edited_at = now(),
        last_edited_by = %(changed_by)s
    FROM current AS c
    WHERE r.id = c.id
      AND (%(expected_version)s::integer IS NULL OR c.version = %(expected_version)s::integer)
    RETURNING r.*
)"""
    ).format(table=sql.Identifier(kind.table), row_id=sql.Placeholder(kind.history_id))
    return (query + versioned_tail(kind)).as_string(None)


@functools.cache
def restore_statement(kind: Kind) -> str:
    """The restore: the chosen snapshot's `kind.restored` columns copied into the row as a
    new version, and `deleted_at` cleared (restoring is how a row is undeleted)."""
    query = sql.SQL(
        """
WITH current AS (
    SELECT r.*
    FROM {table} AS r
    WHERE r.id = {row_id}
    FOR UPDATE
),
target AS (
    SELECT h.*
    FROM {history} AS h
    JOIN current AS c ON c.id = h.{history_id}
    WHERE h.version_number = %(version_number)s
),
checks AS (
    SELECT EXISTS (SELECT 1 FROM target) AS target_found
),
updated AS (
    UPDATE {table} AS r
    SET {assignments},
        deleted_at = NULL,
        version = r.version + 1,
        last_edited_at = now(),
        last_edited_by = %(changed_by)s
    FROM target AS t, current AS c
    WHERE r.id = t.{history_id}
      AND (%(expected_version)s::integer IS NULL OR c.version = %(expected_version)s::integer)
    RETURNING r.*
)"""
    ).format(
        table=sql.Identifier(kind.table),
        history=sql.Identifier(kind.history_table),
        history_id=sql.Identifier(kind.history_id),
        row_id=sql.Placeholder(kind.history_id),
        assignments=sql.SQL(",\n        ").join(
            sql.SQL("{column} = t.{column}").format(column=sql.Identifier(column))
            for column in kind.restored
        ),
    )
    return (query + versioned_tail(kind)).as_string(None)


def _select_versions(kind: Kind) -> sql.Composed:
    columns = ("history_id", kind.history_id, "version_number", "change_type", *kind.snapshot)
    return sql.SQL(
        "SELECT {columns}, changed_at, changed_by, change_reason\nFROM {history}\n"
    ).format(
        columns=sql.SQL(", ").join(sql.Identifier(column) for column in columns),
        history=sql.Identifier(kind.history_table),
    )


@functools.cache
def _outcome_of(detail: type) -> Callable[..., tuple[bool, bool, Any]]:
    def outcome(changed: bool, target_found: bool, **columns: object) -> tuple[bool, bool, Any]:
        return changed, target_found, detail(**columns)

    return outcome
