"""Integrity checks of the versioned data (runs, rides): the SQL behind `fitness db check`.

Each check is one set-based query that returns the problems it finds, already worded; an
intact database returns no rows from any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from psycopg import Connection, sql
from psycopg.rows import class_row

from fitness.db._versioned import Kind
from fitness.db.connection import retry_on_disconnect, transaction
from fitness.db.lifts_history import LIFTS
from fitness.db.rides import RIDES
from fitness.db.runs_history import RUNS

ProblemKind = Literal[
    "missing_original",
    "version_gap",
    "version_mismatch",
    "data_mismatch",
    "deletion_mismatch",
    "orphan_sync",
    "sync_ahead",
    "duplicate_chain",
    "duplicates_mismatch",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one run (or ride: `noun`); `message` completes the sentence
    "<noun> <run_id> ..."."""

    kind: ProblemKind
    run_id: str
    message: str
    noun: str = "run"


# The checks of every versioned kind (runs, rides, lifts), composed from its `Kind` as the
# versioning statements are (fitness.db._versioned): identifiers from the descriptor only.
# Version 1 of every row is the `original` snapshot written by its import.
_MISSING_ORIGINAL: Final = """
SELECT 'missing_original' AS kind, {noun} AS noun,
       r.id AS run_id,
       CASE
           WHEN NOT EXISTS (SELECT 1 FROM {history} AS h1 WHERE h1.{hid} = r.id)
               THEN 'has no history at all'
           WHEN h.{hid} IS NULL
               THEN 'has no version 1'
           ELSE format('has version 1 %L, not ''original''', h.change_type)
       END AS message
FROM {table} AS r
LEFT JOIN {history} AS h ON h.{hid} = r.id AND h.version_number = 1
WHERE h.{hid} IS NULL
   OR h.change_type <> 'original'
ORDER BY r.id
"""

# Version numbers are at least 1 (a check constraint), so they are exactly 1..n when their
# count, their distinct count and their maximum agree.
_VERSION_GAP: Final = """
WITH counts AS (
    SELECT {hid} AS row_id,
           max(version_number) AS newest
    FROM {history}
    GROUP BY {hid}
    HAVING count(*) <> max(version_number)
        OR count(*) <> count(DISTINCT version_number)
)
SELECT 'version_gap' AS kind, {noun} AS noun,
       c.row_id AS run_id,
       format(
           'has versions that are not 1..%s without gaps or duplicates '
           '(missing: %s; duplicated: %s)',
           c.newest,
           coalesce(nullif(array_to_string(ARRAY(
               SELECT n
               FROM generate_series(1, c.newest) AS n
               WHERE NOT EXISTS (
                   SELECT 1
                   FROM {history} AS h
                   WHERE h.{hid} = c.row_id
                     AND h.version_number = n
               )
               LIMIT 20
           ), ', '), ''), 'none'),
           coalesce(nullif(array_to_string(ARRAY(
               SELECT h.version_number
               FROM {history} AS h
               WHERE h.{hid} = c.row_id
               GROUP BY h.version_number
               HAVING count(*) > 1
               ORDER BY h.version_number
               LIMIT 20
           ), ', '), ''), 'none')
       ) AS message
FROM counts AS c
ORDER BY c.row_id
"""

_VERSION_MISMATCH: Final = """
WITH newest AS (
    SELECT {hid} AS row_id,
           max(version_number) AS version_number
    FROM {history}
    GROUP BY {hid}
)
SELECT 'version_mismatch' AS kind, {noun} AS noun,
       r.id AS run_id,
       format('is at version %s ({table_name}.version) but its newest snapshot is version %s',
              r.version, n.version_number) AS message
FROM {table} AS r
JOIN newest AS n ON n.row_id = r.id
WHERE r.version <> n.version_number
ORDER BY r.id
"""

# The row equals its newest snapshot in every column a snapshot records.
_DATA_MISMATCH: Final = """
WITH newest AS (
    SELECT DISTINCT ON ({hid}) *
    FROM {history}
    ORDER BY {hid}, version_number DESC
)
SELECT 'data_mismatch' AS kind, {noun} AS noun,
       r.id AS run_id,
       format('differs from its newest snapshot (version %s) in: %s',
              n.version_number,
              array_to_string(ARRAY[{differing}], ', ')) AS message
FROM {table} AS r
JOIN newest AS n ON n.{hid} = r.id
WHERE ({row_columns}) IS DISTINCT FROM ({snapshot_columns})
ORDER BY r.id
"""

# A row is soft-deleted exactly when its newest snapshot records the deletion.
_DELETION_MISMATCH: Final = """
WITH newest AS (
    SELECT DISTINCT ON ({hid}) {hid} AS row_id, version_number, change_type
    FROM {history}
    ORDER BY {hid}, version_number DESC
)
SELECT 'deletion_mismatch' AS kind, {noun} AS noun,
       r.id AS run_id,
       CASE
           WHEN r.deleted_at IS NULL
               THEN format('is not deleted but its newest snapshot (version %s) is a deletion',
                           n.version_number)
           ELSE format('is deleted but its newest snapshot (version %s) is %L, not a deletion',
                       n.version_number, n.change_type)
       END AS message
FROM {table} AS r
JOIN newest AS n ON n.row_id = r.id
WHERE (r.deleted_at IS NOT NULL) <> (n.change_type = 'deletion')
ORDER BY r.id
"""
_VERSIONING_CHECKS: Final = (
    _MISSING_ORIGINAL,
    _VERSION_GAP,
    _VERSION_MISMATCH,
    _DATA_MISMATCH,
    _DELETION_MISMATCH,
)
# Every versioned kind, checked in this order within each check.
_KINDS: Final = (RUNS, RIDES, LIFTS)


def _versioning_check(template: str, kind: Kind) -> sql.Composed:
    columns = [sql.Identifier(column) for column in kind.snapshot]
    return sql.SQL(template).format(  # type: ignore[arg-type]
        noun=sql.Literal(kind.noun),
        table=sql.Identifier(kind.table),
        table_name=sql.SQL(kind.table),  # type: ignore[arg-type]
        history=sql.Identifier(kind.history_table),
        hid=sql.Identifier(kind.history_id),
        differing=sql.SQL(",\n").join(
            sql.SQL("CASE WHEN r.{c} IS DISTINCT FROM n.{c} THEN {name} END").format(
                c=column, name=sql.Literal(name)
            )
            for column, name in zip(columns, kind.snapshot, strict=True)
        ),
        row_columns=sql.SQL(", ").join(sql.SQL("r.{}").format(c) for c in columns),
        snapshot_columns=sql.SQL(", ").join(sql.SQL("n.{}").format(c) for c in columns),
    )


_ORPHAN_SYNC: Final = """
SELECT 'orphan_sync' AS kind,
       s.run_id,
       'is gone but still has a synced_runs row' AS message
FROM synced_runs AS s
WHERE NOT EXISTS (SELECT 1 FROM runs AS r WHERE r.id = s.run_id)
ORDER BY s.run_id
"""

_SYNC_AHEAD: Final = """
SELECT 'sync_ahead' AS kind,
       s.run_id,
       format('is at version %s but synced_runs says version %s was synced',
              r.version, s.run_version) AS message
FROM synced_runs AS s
JOIN runs AS r ON r.id = s.run_id
WHERE s.run_version > r.version
ORDER BY s.run_id
"""

# One run per real run: a duplicate's original is no duplicate itself (no chains).
_DUPLICATE_CHAIN: Final = """
SELECT 'duplicate_chain' AS kind,
       r.id AS run_id,
       format('is a duplicate of %s, which is itself a duplicate of %s',
              k.id, k.duplicate_of) AS message
FROM runs AS r
JOIN runs AS k ON k.id = r.duplicate_of
WHERE k.duplicate_of IS NOT NULL
ORDER BY r.id
"""

# A run's `duplicate_ids` are exactly the runs whose `duplicate_of` names it.
_DUPLICATES_MISMATCH: Final = """
WITH named AS (
    SELECT r.id,
           r.duplicate_ids,
           ARRAY(
               SELECT d.id
               FROM runs AS d
               WHERE d.duplicate_of = r.id
               ORDER BY d.id
           ) AS actual
    FROM runs AS r
)
SELECT 'duplicates_mismatch' AS kind,
       n.id AS run_id,
       format('lists duplicates {%s} but the runs marked duplicates of it are {%s}',
              array_to_string(n.duplicate_ids, ', '), array_to_string(n.actual, ', ')) AS message
FROM named AS n
WHERE n.duplicate_ids IS DISTINCT FROM n.actual
ORDER BY n.id
"""

_CHECKS: Final = (
    *(_versioning_check(check, kind) for check in _VERSIONING_CHECKS for kind in _KINDS),
    _ORPHAN_SYNC,
    _SYNC_AHEAD,
    _DUPLICATE_CHAIN,
    _DUPLICATES_MISMATCH,
)


@retry_on_disconnect
def find_problems(*, conn: Connection | None = None) -> list[Problem]:
    """Every integrity problem in the database, grouped by kind, then by run id.

    Without `conn` the checks share one read-only snapshot, so a concurrent edit cannot
    show up as a false problem.

    >>> find_problems()   # doctest: +SKIP
    []
    """
    problems: list[Problem] = []
    with transaction(conn) as active:
        if conn is None:
            active.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for query in _CHECKS:
            with active.cursor(row_factory=class_row(Problem)) as cur:
                cur.execute(query)
                problems.extend(cur.fetchall())
    return problems
