"""The `shoes` table and `shoe_gear`: the shoes runs were run in, with mileage computed from
those runs, and the provider gear each shoe stands for.

A shoe is found by its name's key (`fitness.ids.shoe_name_key`: case, spacing and
punctuation variants of a name are one shoe) or, for provider gear, by the gear id, so a
rename at the provider renames the shoe. Its id is derived from the name it was created
with and stays through renames; every name it had before is kept in `shoe_names`, so an
import naming it by a former name still finds it. Deleting a shoe is soft, and its runs
keep pointing at it; a deleted shoe cannot be given to a run (`ShoeDeleted`) until it is
undeleted. Merging shoes is fitness.db.shoe_merges.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final

import psycopg
from psycopg import Connection, sql
from psycopg.rows import class_row

from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.db.stats import FORMER_NAMES, get_shoe_with_wear_by_id
from fitness.errors import (
    InvalidUpdate,
    ShoeConflict,
    ShoeDeleted,
    ShoeExists,
    ShoeNotFound,
    UnknownFields,
)
from fitness.ids import disambiguated_shoe_id, shoe_id_from_name, shoe_name_key
from fitness.models import ProviderGear, Shoe, ShoeWithWear
from fitness.rules import MAX_SHOE_MILEAGE
from fitness.stats_models import ShoeMileageLimits

SHOE_UPDATABLE_FIELDS = ("retired_at", "retirement_notes", "notes")
# Creating, renaming or linking shoes takes this transaction-level advisory lock, so two
# imports at once cannot give two shoes one name key (the key is computed in Python, so no
# unique index can hold it).
_SHOE_NAMES_LOCK: Final = 7_734_221_906

# Mileage and run count come from the non-deleted runs that are no duplicate of another,
# never from a stored counter that could drift.
_SELECT_SHOES = f"""
SELECT s.id, s.name, s.retired_at, s.notes, s.retirement_notes,
       s.deleted_at, s.created_at, s.updated_at,
       coalesce(m.mileage, 0) AS mileage,
       coalesce(m.run_count, 0) AS run_count,
       {FORMER_NAMES.format(shoe="s.id")}
FROM shoes AS s
LEFT JOIN LATERAL (
    -- Summed as numeric: each distance exactly as stored, so 79.1 is 79.1, not
    -- 79.10000000000001 (float addition), whatever the order of the runs.
    SELECT sum(r.distance::numeric)::float8 AS mileage, count(*)::int AS run_count
    FROM runs AS r
    WHERE r.shoe_id = s.id
      AND r.deleted_at IS NULL
      AND r.duplicate_of IS NULL
) AS m ON true
"""


@retry_on_disconnect
def get_shoes(
    retired: bool | None = None, include_deleted: bool = False, *, conn: Connection | None = None
) -> list[Shoe]:
    """Shoes ordered by name; `retired=True/False` keeps only retired/active ones.

    >>> [shoe.name for shoe in get_shoes(retired=False)]   # doctest: +SKIP
    ['Brooks Ghost 15']
    """
    query = (
        _SELECT_SHOES
        + """
WHERE (%(include_deleted)s OR s.deleted_at IS NULL)
  AND (%(retired)s::boolean IS NULL OR (s.retired_at IS NOT NULL) = %(retired)s)
ORDER BY s.name
"""
    )
    with connection(conn) as active, active.cursor(row_factory=class_row(Shoe)) as cur:
        cur.execute(query, {"retired": retired, "include_deleted": include_deleted})
        return cur.fetchall()


@retry_on_disconnect
def get_shoe_by_id(
    shoe_id: str, include_deleted: bool = False, *, conn: Connection | None = None
) -> Shoe | None:
    """The shoe with this id, or None (also for a soft-deleted one unless `include_deleted`)."""
    query = _SELECT_SHOES + "WHERE s.id = %(id)s AND (%(include_deleted)s OR s.deleted_at IS NULL)"
    with connection(conn) as active, active.cursor(row_factory=class_row(Shoe)) as cur:
        cur.execute(query, {"id": shoe_id, "include_deleted": include_deleted})
        return cur.fetchone()


@retry_on_disconnect
def create_shoe(name: str, notes: str | None = None, *, conn: Connection | None = None) -> Shoe:
    """Create a shoe named `name`; `ShoeExists` (with that shoe's id) if a shoe has a name
    with the same key ("brooks-ghost 15" when "Brooks Ghost 15" exists).

    The id is `shoe_id_from_name(name)`, or that id with a digest of the name's key when a
    differently named shoe already has it. An empty or over-long name is an `InvalidUpdate`
    on `name`.
    """
    clean_name = name.strip()
    try:
        shoe_id_from_name(clean_name)
    except ValueError as error:
        raise InvalidUpdate({"name": str(error)}) from None
    with transaction(conn) as active:
        _lock_shoe_names(active)
        known = _ShoeNames.load(active)
        existing = known.by_key.get(shoe_name_key(clean_name))
        if existing is not None:
            raise ShoeExists(existing)
        shoe_id = known.free_id(clean_name)
        active.execute(
            "INSERT INTO shoes (id, name, notes) VALUES (%s, %s, %s)", (shoe_id, clean_name, notes)
        )
        shoe = get_shoe_by_id(shoe_id, conn=active)
    assert shoe is not None
    return shoe


@retry_on_disconnect
def update_shoe_by_id(
    shoe_id: str, updates: Mapping[str, object], *, conn: Connection | None = None
) -> Shoe:
    """Change any of `retired_at` (a date, or None to unretire), `retirement_notes`, `notes`.

    A change of `retired_at` is the user's: from then on, retirement on a provider (Strava
    gear) no longer changes this shoe's.
    """
    unknown = set(updates) - set(SHOE_UPDATABLE_FIELDS)
    if unknown:
        raise UnknownFields(unknown)
    retired_at = updates.get("retired_at")
    if retired_at is not None and not isinstance(retired_at, date):
        raise InvalidUpdate({"retired_at": "must be a date (YYYY-MM-DD) or null"})
    for name in ("retirement_notes", "notes"):
        value = updates.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidUpdate({name: "must be a string or null"})
    if not updates:
        shoe = get_shoe_by_id(shoe_id, conn=conn)
        if shoe is None:
            raise missing_shoe(shoe_id, conn=conn)
        return shoe
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name))
        for name in SHOE_UPDATABLE_FIELDS
        if name in updates
    )
    if "retired_at" in updates:
        # Recorded so that a provider's retirement (Strava gear) never overrides the user's.
        assignments = sql.SQL(", ").join([assignments, sql.SQL("retirement_set_by = 'user'")])
    query = sql.SQL("UPDATE shoes SET {} WHERE id = %(id)s AND deleted_at IS NULL").format(
        assignments
    )
    with transaction(conn) as active:
        cur = active.execute(query, {**updates, "id": shoe_id})
        if cur.rowcount == 0:
            raise missing_shoe(shoe_id, conn=active)
        shoe = get_shoe_by_id(shoe_id, conn=active)
    assert shoe is not None
    return shoe


def retire_shoe_by_id(
    shoe_id: str,
    retired_at: date,
    retirement_notes: str | None = None,
    *,
    conn: Connection | None = None,
) -> Shoe:
    """Mark a shoe retired as of `retired_at`, with optional notes on why."""
    return update_shoe_by_id(
        shoe_id, {"retired_at": retired_at, "retirement_notes": retirement_notes}, conn=conn
    )


def unretire_shoe_by_id(shoe_id: str, *, conn: Connection | None = None) -> Shoe:
    """Put a retired shoe back in rotation (its retirement notes go with the retirement)."""
    return update_shoe_by_id(shoe_id, {"retired_at": None, "retirement_notes": None}, conn=conn)


@retry_on_disconnect
def delete_shoe_by_id(shoe_id: str, *, conn: Connection | None = None) -> Shoe:
    """Soft-delete a shoe; its runs keep their `shoe_id`. `ShoeNotFound` if already gone."""
    with transaction(conn) as active:
        cur = active.execute(
            "UPDATE shoes SET deleted_at = now() WHERE id = %s AND deleted_at IS NULL", (shoe_id,)
        )
        if cur.rowcount == 0:
            raise ShoeNotFound(shoe_id)
        shoe = get_shoe_by_id(shoe_id, include_deleted=True, conn=active)
    assert shoe is not None
    return shoe


@retry_on_disconnect
def rename_shoe(shoe_id: str, name: str, *, conn: Connection | None = None) -> Shoe:
    """Give a shoe a new name; its id, runs and mileage stay, and the old name becomes one
    of its `former_names`, so imports naming the shoe by it keep finding this shoe.

    `ShoeNotFound` for a missing or deleted shoe; `ShoeConflict` when another shoe has (or
    had) a name with the same key; an empty or over-long name is an `InvalidUpdate` on
    `name`. Renaming to the current name changes nothing.

    >>> rename_shoe("nike_pegasus_40", "Peggy").former_names   # doctest: +SKIP
    ['Nike Pegasus 40']
    """
    clean_name = name.strip()
    try:
        shoe_id_from_name(clean_name)
    except ValueError as error:
        raise InvalidUpdate({"name": str(error)}) from None
    with transaction(conn) as active:
        _lock_shoe_names(active)
        shoe = get_shoe_by_id(shoe_id, conn=active)
        if shoe is None:
            raise missing_shoe(shoe_id, conn=active)
        if clean_name == shoe.name:
            return shoe
        known = _ShoeNames.load(active)
        key = shoe_name_key(clean_name)
        owner = known.by_key.get(key, shoe_id)
        # A deleted shoe keeps its name too (a merged one gets it back when unmerged).
        owner = next(
            (other for other, name in known.names.items() if shoe_name_key(name) == key),
            owner,
        )
        if owner != shoe_id:
            raise ShoeConflict(
                f"shoe {owner!r} has or had a name like {clean_name!r}; merge the two shoes "
                "instead if they are one"
            )
        _remember_name(active, shoe_id, shoe.name, clean_name)
        active.execute("UPDATE shoes SET name = %s WHERE id = %s", (clean_name, shoe_id))
        renamed = get_shoe_by_id(shoe_id, conn=active)
    assert renamed is not None
    return renamed


@retry_on_disconnect
def undelete_shoe(shoe_id: str, *, conn: Connection | None = None) -> Shoe:
    """Bring a soft-deleted shoe back (runs can be given to it again); return it.

    A shoe that is not deleted comes back unchanged. `ShoeNotFound` if there is no such
    shoe; `ShoeConflict` for a shoe merged into another: undo the merge instead
    (`fitness.db.shoe_merges.unmerge_shoe`), which also gives it its runs back.
    """
    with transaction(conn) as active:
        row = active.execute(
            """
            SELECT s.deleted_at IS NOT NULL AS is_deleted, m.kept_shoe_id
            FROM shoes AS s
            LEFT JOIN shoe_merges AS m ON m.merged_shoe_id = s.id AND m.undone_at IS NULL
            WHERE s.id = %s
            FOR UPDATE OF s
            """,
            (shoe_id,),
        ).fetchone()
        if row is None:
            raise ShoeNotFound(shoe_id)
        is_deleted, kept_shoe_id = row
        if kept_shoe_id is not None:
            raise ShoeConflict(
                f"shoe {shoe_id!r} was merged into {kept_shoe_id!r}; unmerge it instead"
            )
        if is_deleted:
            active.execute("UPDATE shoes SET deleted_at = NULL WHERE id = %s", (shoe_id,))
        shoe = get_shoe_by_id(shoe_id, conn=active)
    assert shoe is not None
    return shoe


def missing_shoe(shoe_id: str, *, conn: Connection | None = None) -> ShoeNotFound:
    """The `ShoeNotFound` for `shoe_id` when no shoe by it can be used: for one that exists,
    saying it was merged into another (unmerge it first) or deleted (undelete it first)."""
    with connection(conn) as active:
        row = active.execute(
            """
            SELECT s.deleted_at IS NOT NULL,
                   (SELECT m.kept_shoe_id
                    FROM shoe_merges AS m
                    WHERE m.merged_shoe_id = s.id AND m.undone_at IS NULL)
            FROM shoes AS s
            WHERE s.id = %s
            """,
            (shoe_id,),
        ).fetchone()
    if row is None or not row[0]:
        return ShoeNotFound(shoe_id)
    if row[1] is not None:
        return ShoeNotFound(shoe_id, f"was merged into {row[1]!r}; unmerge it first")
    return ShoeNotFound(shoe_id, "is deleted; undelete it first")


def refuse_deleted_shoe(conn: Connection, shoe_id: str) -> None:
    """`ShoeDeleted` if the shoe `shoe_id` is deleted; else hold it (FOR SHARE) until the
    caller's transaction ends, so that it cannot be deleted or merged away meanwhile.

    For a writer about to give a run this shoe; an unknown id passes (the foreign key
    refuses it in the write itself).
    """
    refuse_deleted_shoes(conn, {shoe_id})


def refuse_deleted_shoes(conn: Connection, shoe_ids: Collection[str]) -> None:
    """`refuse_deleted_shoe` for several shoes at once (one query): the first deleted one,
    by id, is named in the `ShoeDeleted`."""
    if not shoe_ids:
        return
    row = conn.execute(
        """
        SELECT min(id) FILTER (WHERE deleted_at IS NOT NULL)
        FROM (
            SELECT id, deleted_at
            FROM shoes
            WHERE id = ANY(%s)
            ORDER BY id
            FOR SHARE
        ) AS held
        """,
        (sorted(shoe_ids),),
    ).fetchone()
    if row is not None and row[0] is not None:
        raise ShoeDeleted(row[0])


@retry_on_disconnect
def set_shoe_mileage_limits(
    shoe_id: str,
    *,
    starting_mileage: float | None = None,
    warning_mileage: float | None = None,
    maximum_mileage: float | None = None,
    conn: Connection | None = None,
) -> ShoeMileageLimits:
    """Set any of a shoe's starting, warning and maximum mileages (miles); None keeps one.

    New shoes start at 0, warn at 300 and are worn out at 500 miles. Each value must be a
    finite number of miles up to 100,000 (the starting mileage may be 0, the others not),
    and the warning may not exceed the maximum: otherwise `InvalidUpdate` naming the
    field. `ShoeNotFound` for a missing or deleted shoe.

    >>> set_shoe_mileage_limits("hoka_clifton_9", warning_mileage=350).maximum_mileage
    500.0
    """
    values = {
        "starting_mileage": starting_mileage,
        "warning_mileage": warning_mileage,
        "maximum_mileage": maximum_mileage,
    }
    errors = {
        name: message
        for name, value in values.items()
        if value is not None and (message := _mileage_error(value, name == "starting_mileage"))
    }
    if errors:
        raise InvalidUpdate(errors)
    row_factory = class_row(ShoeMileageLimits)
    with transaction(conn) as active, active.cursor(row_factory=row_factory) as cur:
        try:
            cur.execute(
                """
                UPDATE shoes
                SET starting_mileage = coalesce(%(starting_mileage)s, starting_mileage),
                    warning_mileage = coalesce(%(warning_mileage)s, warning_mileage),
                    maximum_mileage = coalesce(%(maximum_mileage)s, maximum_mileage)
                WHERE id = %(id)s
                  AND deleted_at IS NULL
                RETURNING id AS shoe_id, starting_mileage, warning_mileage, maximum_mileage
                """,
                {**values, "id": shoe_id},
            )
        except psycopg.errors.CheckViolation:
            # The only check the values above can still break is warning <= maximum.
            raise InvalidUpdate(
                {"warning_mileage": "must not exceed the maximum mileage"}
            ) from None
        limits = cur.fetchone()
    if limits is None:
        raise missing_shoe(shoe_id, conn=conn)
    return limits


SHOE_LIMIT_FIELDS = ("starting_mileage", "warning_mileage", "maximum_mileage")


@retry_on_disconnect
def update_shoe_and_limits(
    shoe_id: str, changes: Mapping[str, object], *, conn: Connection | None = None
) -> ShoeWithWear:
    """Apply `changes` to a shoe in one transaction, all or nothing, and return it with its
    wear (`fitness.db.stats.get_shoe_with_wear_by_id`): what `PATCH /shoes/{id}` does.

    `changes` holds any of `update_shoe_by_id`'s fields (`retired_at`, `retirement_notes`,
    `notes`) and `set_shoe_mileage_limits`'s (`starting_mileage`, `warning_mileage`,
    `maximum_mileage`, in miles), checked by those functions' rules: `InvalidUpdate` naming
    the field, `UnknownFields` for any other name, `ShoeNotFound` for a missing or deleted
    shoe.

    >>> update_shoe_and_limits("hoka_clifton_9", {"warning_mileage": 350}).miles_left
    ...   # doctest: +SKIP
    412.5
    """
    unknown = set(changes) - set(SHOE_UPDATABLE_FIELDS) - set(SHOE_LIMIT_FIELDS)
    if unknown:
        raise UnknownFields(unknown)
    updates = {name: value for name, value in changes.items() if name in SHOE_UPDATABLE_FIELDS}
    limits = {name: value for name, value in changes.items() if name in SHOE_LIMIT_FIELDS}
    with transaction(conn) as active:
        if updates or not limits:
            update_shoe_by_id(shoe_id, updates, conn=active)
        if limits:
            set_shoe_mileage_limits(shoe_id, **limits, conn=active)  # type: ignore[arg-type]
        shoe = get_shoe_with_wear_by_id(shoe_id, conn=active)
    if shoe is None:
        raise missing_shoe(shoe_id, conn=conn)
    return shoe


@retry_on_disconnect
def get_existing_shoes_by_names(
    names: Collection[str], *, conn: Connection | None = None
) -> dict[str, str]:
    """Map each of `names` that is already a shoe (a name with the same key) to its id."""
    wanted = _keys_by_name(names)
    if not wanted:
        return {}
    with connection(conn) as active:
        known = _ShoeNames.load(active)
    return {name: known.by_key[key] for name, key in wanted.items() if key in known.by_key}


@retry_on_disconnect
def bulk_create_shoes_by_names(
    names: Collection[str], *, conn: Connection | None = None
) -> dict[str, str]:
    """Make sure a shoe exists for each name and map every name to its shoe id.

    Names with the same key ("Brooks Ghost 15", "brooks-ghost-15") are one shoe, named by
    the alphabetically first of them unless it already exists. An empty or over-long name
    is an `InvalidUpdate`.
    """
    return create_missing_shoes(names, conn=conn)[0]


def create_missing_shoes(
    names: Collection[str], *, conn: Connection | None = None
) -> tuple[dict[str, str], list[str]]:
    """Like `bulk_create_shoes_by_names`, also returning the names of the shoes created.

    Shoes already there cost one query and no lock; new ones are created under the shoe
    names lock, in one statement whatever their number.
    """
    wanted = _keys_by_name(names)
    if not wanted:
        return {}, []
    with transaction(conn) as active:
        known = _ShoeNames.load(active)
        if any(key not in known.by_key for key in wanted.values()):
            _lock_shoe_names(active)
            known = _ShoeNames.load(active)
        new: dict[str, tuple[str, str]] = {}
        for name, key in wanted.items():
            if key not in known.by_key and key not in new:
                shoe_id = known.free_id(name, taken={shoe_id for shoe_id, _ in new.values()})
                new[key] = (shoe_id, name.strip())
        if new:
            active.execute(
                """
                INSERT INTO shoes (id, name)
                SELECT id, name
                FROM unnest(%s::text[], %s::text[]) AS incoming (id, name)
                """,
                ([shoe_id for shoe_id, _ in new.values()], [n for _, n in new.values()]),
            )
    ids = {**known.by_key, **{key: shoe_id for key, (shoe_id, _) in new.items()}}
    return {name: ids[key] for name, key in wanted.items()}, sorted(n for _, n in new.values())


@dataclass(frozen=True, slots=True)
class GearShoes:
    """What `sync_gear_shoes` did: each gear id's shoe, the shoes it created, and every
    rename, retirement and unretirement it applied, worded for people."""

    shoe_ids: dict[str, str]
    created: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()


@retry_on_disconnect
def sync_gear_shoes(gears: Sequence[ProviderGear], *, conn: Connection | None = None) -> GearShoes:
    """Find or create the shoe each provider gear stands for, and bring it up to date.

    A gear id seen before keeps its shoe: a new name at the provider renames the shoe (its
    id and mileage stay), unless it is a name the shoe had before (renamed here, or a shoe
    merged into it): the user's choice stands. A new gear id adopts the shoe whose name has
    the same key, unless another gear of the provider already has it; otherwise it gets a
    new shoe. So two gears with one name are two shoes, the second named `<name> (Strava
    <gear id>)` (and so when a rename would give a shoe a name another shoe has).
    Retirement follows the provider's (`retired` true or false) unless the user retired or
    unretired the shoe here. Gear without a name (gone at the provider) is only looked up.

    >>> sync_gear_shoes([ProviderGear(provider="strava", gear_id="g1", name="Peggy")])
    GearShoes(shoe_ids={'g1': 'nike_pegasus_40'}, created=(),
              changes=('Nike Pegasus 40 renamed to Peggy (renamed on Strava)',))  # doctest: +SKIP
    """
    if not gears:
        return GearShoes(shoe_ids={})
    with transaction(conn) as active:
        _lock_shoe_names(active)
        known = _ShoeNames.load(active)
        linked = {
            (provider, gear_id): shoe_id
            for provider, gear_id, shoe_id in active.execute(
                "SELECT provider, gear_id, shoe_id FROM shoe_gear"
            ).fetchall()
        }
        shoe_ids: dict[str, str] = {}
        created: list[str] = []
        changes: list[str] = []
        for gear in sorted(gears, key=lambda g: g.gear_id):
            taken = {
                shoe_id for (provider, _), shoe_id in linked.items() if provider == gear.provider
            }
            shoe_id = linked.get((gear.provider, gear.gear_id))
            if shoe_id is None:
                if gear.name is None:
                    continue
                shoe_id, name = _shoe_for_new_gear(known, gear, taken)
                if shoe_id not in known.names:
                    active.execute("INSERT INTO shoes (id, name) VALUES (%s, %s)", (shoe_id, name))
                    known.add(shoe_id, name)
                    created.append(name)
                active.execute(
                    "INSERT INTO shoe_gear (provider, gear_id, shoe_id) VALUES (%s, %s, %s)",
                    (gear.provider, gear.gear_id, shoe_id),
                )
                linked[(gear.provider, gear.gear_id)] = shoe_id
            if (
                gear.name is not None
                and known.names[shoe_id] != gear.name
                and known.former.get(shoe_name_key(gear.name)) != shoe_id
            ):
                old_name = known.names[shoe_id]
                new_name = _gear_shoe_name(known, gear, shoe_id)
                if new_name != old_name:
                    _remember_name(active, shoe_id, old_name, new_name)
                    active.execute("UPDATE shoes SET name = %s WHERE id = %s", (new_name, shoe_id))
                    known.rename(shoe_id, new_name)
                    changes.append(
                        f"{old_name} renamed to {new_name} (renamed on {_label(gear.provider)})"
                    )
            shoe_ids[gear.gear_id] = shoe_id
            if gear.retired is not None:
                changes.extend(_follow_retirement(active, shoe_id, gear))
    return GearShoes(shoe_ids=shoe_ids, created=tuple(sorted(created)), changes=tuple(changes))


@dataclass
class _ShoeNames:
    """Every shoe's name, and the shoe each name key finds: a shoe's current name first,
    then former names (`shoe_names`: a renamed shoe, a shoe merged into another), then the
    names of deleted shoes. Every one of these names stays taken."""

    names: dict[str, str]
    by_key: dict[str, str]
    # The shoe each former name (key) belongs to.
    former: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, conn: Connection) -> _ShoeNames:
        shoes = conn.execute(
            "SELECT id, name, deleted_at IS NOT NULL FROM shoes ORDER BY created_at, id"
        ).fetchall()
        former = conn.execute(
            "SELECT shoe_id, name FROM shoe_names ORDER BY created_at, name_key"
        ).fetchall()
        known = cls(names={shoe_id: name for shoe_id, name, _ in shoes}, by_key={})
        ordered = (
            [(shoe_id, name) for shoe_id, name, is_deleted in shoes if not is_deleted]
            + former
            + [(shoe_id, name) for shoe_id, name, is_deleted in shoes if is_deleted]
        )
        for shoe_id, name in ordered:
            known.by_key.setdefault(shoe_name_key(name), shoe_id)
        known.former = {shoe_name_key(name): shoe_id for shoe_id, name in former}
        return known

    def add(self, shoe_id: str, name: str) -> None:
        self.names[shoe_id] = name
        self.by_key.setdefault(shoe_name_key(name), shoe_id)

    def rename(self, shoe_id: str, name: str) -> None:
        # The old name's key keeps finding the shoe: it is now one of its former names.
        self.former[shoe_name_key(self.names[shoe_id])] = shoe_id
        self.former.pop(shoe_name_key(name), None)
        self.add(shoe_id, name)

    def free_id(self, name: str, taken: Collection[str] = ()) -> str:
        """The id a new shoe named `name` gets: its derived id, unless another shoe has it."""
        shoe_id = shoe_id_from_name(name.strip())
        if shoe_id in self.names or shoe_id in taken:
            shoe_id = disambiguated_shoe_id(shoe_id, shoe_name_key(name))
        if shoe_id in self.names or shoe_id in taken:
            raise ShoeExists(shoe_id)
        return shoe_id


def _shoe_for_new_gear(known: _ShoeNames, gear: ProviderGear, taken: set[str]) -> tuple[str, str]:
    """(shoe id, name) for a gear id seen for the first time: an existing shoe to adopt, or
    the id and name of a new one."""
    assert gear.name is not None
    for name in (gear.name, _suffixed(gear)):
        existing = known.by_key.get(shoe_name_key(name))
        if existing is None:
            return known.free_id(name), name
        if existing not in taken:
            return existing, known.names[existing]
    raise ShoeExists(known.by_key[shoe_name_key(_suffixed(gear))])


def _gear_shoe_name(known: _ShoeNames, gear: ProviderGear, shoe_id: str) -> str:
    """The name the gear's shoe should have: the gear's, unless another shoe has that key."""
    assert gear.name is not None
    for name in (gear.name, _suffixed(gear)):
        if known.by_key.get(shoe_name_key(name), shoe_id) == shoe_id:
            return name
    return known.names[shoe_id]


def _suffixed(gear: ProviderGear) -> str:
    return f"{gear.name} ({_label(gear.provider)} {gear.gear_id})"


def _label(provider: str) -> str:
    return provider.capitalize()


def _follow_retirement(conn: Connection, shoe_id: str, gear: ProviderGear) -> list[str]:
    """Retire or unretire the shoe as the provider has the gear, unless the user decided."""
    label = _label(gear.provider)
    row = conn.execute(
        """
        UPDATE shoes
        SET retired_at = CASE WHEN %(retired)s THEN current_date END,
            retirement_notes = CASE WHEN %(retired)s THEN %(notes)s END,
            retirement_set_by = %(provider)s
        WHERE id = %(id)s
          AND (retirement_set_by IS NULL OR retirement_set_by = %(provider)s)
          AND (retired_at IS NOT NULL) <> %(retired)s
        RETURNING name
        """,
        {
            "id": shoe_id,
            "retired": gear.retired,
            "provider": gear.provider,
            "notes": f"Retired on {label}",
        },
    ).fetchone()
    if row is None:
        return []
    action = "retired" if gear.retired else "unretired"
    return [f"{row[0]} {action} ({action} on {label})"]


def _remember_name(conn: Connection, shoe_id: str, old_name: str, new_name: str) -> None:
    """Keep `old_name` as a former name of the shoe being renamed to `new_name` (under the
    shoe names lock); a former name with the new name's key goes, since it is current."""
    old_key, new_key = shoe_name_key(old_name), shoe_name_key(new_name)
    conn.execute("DELETE FROM shoe_names WHERE name_key = %s AND shoe_id = %s", (new_key, shoe_id))
    if old_key != new_key:
        conn.execute(
            """
            INSERT INTO shoe_names (name_key, shoe_id, name)
            VALUES (%s, %s, %s)
            ON CONFLICT (name_key) DO UPDATE SET name = EXCLUDED.name
            WHERE shoe_names.shoe_id = EXCLUDED.shoe_id
            """,
            (old_key, shoe_id, old_name),
        )


def lock_shoe_names(conn: Connection) -> None:
    """Take the shoe names lock for the caller's transaction (fitness.db.shoe_merges moves
    names between shoes under it)."""
    _lock_shoe_names(conn)


def _lock_shoe_names(conn: Connection) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SHOE_NAMES_LOCK,))


def _keys_by_name(names: Collection[str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for name in sorted(names):
        try:
            shoe_id_from_name(name.strip())
        except ValueError as error:
            raise InvalidUpdate({"shoe_name": str(error)}) from None
        keys[name] = shoe_name_key(name)
    return keys


def _mileage_error(value: object, may_be_zero: bool) -> str | None:
    lowest = "0" if may_be_zero else "more than 0"
    message = f"must be a number of miles from {lowest} to {MAX_SHOE_MILEAGE:,.0f}"
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return message
    if value < 0 or (value == 0 and not may_be_zero) or value > MAX_SHOE_MILEAGE:
        return message
    return None
