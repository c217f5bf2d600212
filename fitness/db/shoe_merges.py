"""The `shoe_merges` table: two shoe records that are one shoe, merged, and unmerged again.

Merging shoe M into shoe K moves every run of M to K as a new `merge` version of each run,
makes M's names (its name and former names) former names of K, moves M's provider gear to
K and soft-deletes M, in one transaction; the `shoe_merges` row remembers exactly what
moved. Unmerging puts exactly that back (each run that is still in K gets a new `merge`
version in M again), so the log is as it was before the merge, with both changes in each
run's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from psycopg import Connection
from psycopg.rows import class_row
from pydantic import with_config

from fitness.db._versioned import snapshot_of
from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.db.runs_history import RUNS
from fitness.db.shoes import get_shoe_by_id, lock_shoe_names, missing_shoe
from fitness.errors import ShoeConflict, ShoeNotFound
from fitness.ids import shoe_name_key
from fitness.models import SHAPE, Shoe


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class ShoeMerge:
    """What a merge (or its undoing) did: which shoe went into which, and the runs moved."""

    merged_shoe_id: str
    """The shoe merged away (deleted by a merge, back after an unmerge)."""
    kept: Shoe
    """The shoe that stays, as it now is."""
    run_ids: list[str]
    """The runs moved (by the merge into `kept`; by an unmerge, back out of it)."""
    undone: bool
    """True for an unmerge."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MergedShoe:
    """A shoe merged into another and not unmerged: what the kept shoe's page offers to undo."""

    merged_shoe_id: str
    merged_name: str
    kept_shoe_id: str
    run_count: int
    """How many runs the merge moved."""
    merged_at: datetime


@dataclass(frozen=True, slots=True)
class _Locked:
    id: str
    name: str
    is_deleted: bool


# Locks both shoes in id order, so that two merges never wait for each other in a circle.
_LOCK_SHOES: Final = """
SELECT id, name, deleted_at IS NOT NULL AS is_deleted
FROM shoes
WHERE id = ANY(%(ids)s)
ORDER BY id
FOR UPDATE
"""

_MERGE: Final = f"""
WITH moved AS (
    UPDATE runs AS r
    SET shoe_id = %(kept)s,
        version = r.version + 1,
        last_edited_at = now(),
        last_edited_by = %(changed_by)s
    WHERE r.shoe_id = %(merged)s
      AND r.deleted_at IS NULL
    RETURNING r.*
),
snapshot AS (
    {snapshot_of(RUNS, "moved").as_string(None)}
),
names AS (
    UPDATE shoe_names
    SET shoe_id = %(kept)s
    WHERE shoe_id = %(merged)s
    RETURNING name_key
),
own_name AS (
    INSERT INTO shoe_names (name_key, shoe_id, name)
    VALUES (%(own_key)s, %(kept)s, %(own_name)s)
    ON CONFLICT (name_key) DO NOTHING
),
gear AS (
    UPDATE shoe_gear
    SET shoe_id = %(kept)s
    WHERE shoe_id = %(merged)s
    RETURNING gear_id
),
gone AS (
    UPDATE shoes
    SET deleted_at = now()
    WHERE id = %(merged)s
)
INSERT INTO shoe_merges (merged_shoe_id, kept_shoe_id, run_ids, name_keys, gear_ids, merged_by)
SELECT %(merged)s, %(kept)s,
       ARRAY(SELECT id FROM moved ORDER BY id),
       ARRAY(SELECT name_key FROM names ORDER BY name_key),
       ARRAY(SELECT gear_id FROM gear ORDER BY gear_id),
       %(changed_by)s
RETURNING run_ids
"""

# The merge still in force of a shoe, locked.
_ACTIVE_MERGE: Final = """
SELECT id, kept_shoe_id, run_ids, name_keys, gear_ids
FROM shoe_merges
WHERE merged_shoe_id = %s
  AND undone_at IS NULL
FOR UPDATE
"""

_UNMERGE: Final = f"""
WITH moved AS (
    UPDATE runs AS r
    SET shoe_id = %(merged)s,
        version = r.version + 1,
        last_edited_at = now(),
        last_edited_by = %(changed_by)s
    WHERE r.id = ANY(%(run_ids)s)
      AND r.shoe_id = %(kept)s
      AND r.deleted_at IS NULL
    RETURNING r.*
),
snapshot AS (
    {snapshot_of(RUNS, "moved").as_string(None)}
),
names AS (
    UPDATE shoe_names
    SET shoe_id = %(merged)s
    WHERE name_key = ANY(%(name_keys)s)
      AND shoe_id = %(kept)s
),
own_name AS (
    DELETE FROM shoe_names
    WHERE name_key = %(own_key)s
      AND shoe_id = %(kept)s
),
gear AS (
    UPDATE shoe_gear
    SET shoe_id = %(merged)s
    WHERE gear_id = ANY(%(gear_ids)s)
      AND shoe_id = %(kept)s
),
back AS (
    UPDATE shoes
    SET deleted_at = NULL
    WHERE id = %(merged)s
),
undone AS (
    UPDATE shoe_merges
    SET undone_at = now()
    WHERE id = %(merge_id)s
)
SELECT array(SELECT id FROM moved ORDER BY id)
"""


@dataclass(frozen=True, slots=True)
class _Merge:
    id: int
    kept_shoe_id: str
    run_ids: list[str]
    name_keys: list[str]
    gear_ids: list[str]


@retry_on_disconnect
def get_merged_shoes(*, conn: Connection | None = None) -> list[MergedShoe]:
    """The merges in force (not undone), oldest first: each can be undone by `unmerge_shoe`."""
    query = """
    SELECT m.merged_shoe_id, s.name AS merged_name, m.kept_shoe_id,
           cardinality(m.run_ids) AS run_count, m.merged_at
    FROM shoe_merges AS m
    JOIN shoes AS s ON s.id = m.merged_shoe_id
    WHERE m.undone_at IS NULL
    ORDER BY m.merged_at, m.id
    """
    with connection(conn) as active, active.cursor(row_factory=class_row(MergedShoe)) as cur:
        cur.execute(query)
        return cur.fetchall()


@retry_on_disconnect
def merge_shoe(
    shoe_id: str,
    kept_id: str,
    changed_by: str,
    change_reason: str | None = None,
    *,
    conn: Connection | None = None,
) -> ShoeMerge:
    """Merge shoe `shoe_id` into shoe `kept_id`: they were one shoe recorded twice.

    Every run of `shoe_id` that is not deleted (duplicates too) moves to `kept_id` as a new
    `merge` version (`change_reason` defaults to "shoe <name> merged into <name>"); the
    names `shoe_id` has had become former names of `kept_id`, so imports naming it find
    `kept_id`; its Strava gear follows; `shoe_id` is soft-deleted. Undo it with
    `unmerge_shoe(shoe_id)`. A deleted run keeps its shoe (a version written after a
    deletion would read as an undeletion in `as_of` statistics), so restoring it to a
    version in `shoe_id` is refused until the merge is undone. `ShoeNotFound` if either shoe
    is missing or deleted;
    `ShoeConflict` for a shoe merged into itself.

    >>> merge_shoe("pegasus_40", "nike_pegasus_40", "me").run_ids   # doctest: +SKIP
    ['strava_1', 'strava_2']
    """
    if shoe_id == kept_id:
        raise ShoeConflict(f"shoe {shoe_id!r} cannot be merged into itself")
    with transaction(conn) as active:
        lock_shoe_names(active)
        shoes = _lock_shoes(active, {shoe_id, kept_id})
        for wanted in (shoe_id, kept_id):
            if wanted not in shoes or shoes[wanted].is_deleted:
                raise missing_shoe(wanted, conn=active)
        merged, kept = shoes[shoe_id], shoes[kept_id]
        reason = change_reason or f"shoe {merged.name} merged into {kept.name}"
        row = active.execute(
            _MERGE,
            {
                "merged": shoe_id,
                "kept": kept_id,
                "own_key": shoe_name_key(merged.name),
                "own_name": merged.name,
                "change_type": "merge",
                "changed_by": changed_by,
                "change_reason": reason,
            },
        ).fetchone()
        assert row is not None
        shoe = get_shoe_by_id(kept_id, conn=active)
    assert shoe is not None
    return ShoeMerge(merged_shoe_id=shoe_id, kept=shoe, run_ids=list(row[0]), undone=False)


@retry_on_disconnect
def unmerge_shoe(
    shoe_id: str,
    changed_by: str,
    change_reason: str | None = None,
    *,
    conn: Connection | None = None,
) -> ShoeMerge:
    """Undo the merge of shoe `shoe_id` into another: the shoe is back (not deleted), with
    its names and gear, and each run the merge moved that is still in the kept shoe moves
    back as a new `merge` version (a run since given another shoe by hand, or deleted,
    stays as it is).

    `ShoeNotFound` if there is no such shoe; `ShoeConflict` if it is not merged into
    another, or the kept shoe is itself merged away or deleted now (undo that first).
    """
    with transaction(conn) as active:
        lock_shoe_names(active)
        with active.cursor(row_factory=class_row(_Merge)) as cur:
            merge = cur.execute(_ACTIVE_MERGE, (shoe_id,)).fetchone()
        if merge is None:
            if get_shoe_by_id(shoe_id, include_deleted=True, conn=active) is None:
                raise ShoeNotFound(shoe_id)
            raise ShoeConflict(f"shoe {shoe_id!r} is not merged into another shoe")
        kept_id = merge.kept_shoe_id
        shoes = _lock_shoes(active, {shoe_id, kept_id})
        if shoes[kept_id].is_deleted:
            raise ShoeConflict(
                f"shoe {kept_id!r}, which {shoe_id!r} was merged into, is deleted now; "
                f"undelete or unmerge {kept_id!r} first"
            )
        merged_name = shoes[shoe_id].name
        reason = change_reason or f"shoe {merged_name} unmerged from {shoes[kept_id].name}"
        row = active.execute(
            _UNMERGE,
            {
                "merged": shoe_id,
                "kept": kept_id,
                "merge_id": merge.id,
                "run_ids": merge.run_ids,
                "name_keys": merge.name_keys,
                "gear_ids": merge.gear_ids,
                "own_key": shoe_name_key(merged_name),
                "change_type": "merge",
                "changed_by": changed_by,
                "change_reason": reason,
            },
        ).fetchone()
        assert row is not None
        shoe = get_shoe_by_id(kept_id, conn=active)
    assert shoe is not None
    return ShoeMerge(merged_shoe_id=shoe_id, kept=shoe, run_ids=list(row[0]), undone=True)


def _lock_shoes(conn: Connection, ids: set[str]) -> dict[str, _Locked]:
    with conn.cursor(row_factory=class_row(_Locked)) as cur:
        cur.execute(_LOCK_SHOES, {"ids": sorted(ids)})
        return {shoe.id: shoe for shoe in cur.fetchall()}
