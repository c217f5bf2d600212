"""Shoes renamed, undeleted, merged and unmerged (fitness/db/shoes.py, shoe_merges.py), and
the rule that a deleted shoe is given to no run."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from fitness.db.integrity import find_problems
from fitness.db.runs import delete_run, get_all_runs, get_run_by_id, import_runs
from fitness.db.runs_history import (
    get_run_history_page,
    restore_run_version,
    update_run_with_history,
)
from fitness.db.shoe_merges import merge_shoe, unmerge_shoe
from fitness.db.shoes import (
    create_missing_shoes,
    create_shoe,
    delete_shoe_by_id,
    get_existing_shoes_by_names,
    get_shoe_by_id,
    get_shoes,
    rename_shoe,
    set_shoe_mileage_limits,
    sync_gear_shoes,
    undelete_shoe,
    update_shoe_by_id,
)
from fitness.errors import (
    InvalidUpdate,
    ShoeConflict,
    ShoeDeleted,
    ShoeExists,
    ShoeNotFound,
)
from fitness.models import ProviderGear
from tests.factories import RunFactory


def test_a_renamed_shoe_keeps_its_id_and_runs_and_is_found_by_its_old_name(
    db: str, runs: RunFactory
) -> None:
    shoe = create_shoe("Nike Pegasus 40")
    import_runs([runs.make(shoe_id=shoe.id)])

    renamed = rename_shoe(shoe.id, "  Peggy ")

    assert (renamed.id, renamed.name, renamed.run_count) == (shoe.id, "Peggy", 1)
    assert renamed.former_names == ["Nike Pegasus 40"]
    assert get_existing_shoes_by_names(["nike pegasus-40", "PEGGY"]) == {
        "nike pegasus-40": shoe.id,
        "PEGGY": shoe.id,
    }
    # An import naming the shoe by its old name gives the run to it, and creates no shoe.
    result = import_runs([runs.make(shoe_name="Nike Pegasus 40")])
    assert result.shoes_created == ()
    assert get_shoe_by_id(shoe.id).run_count == 2  # type: ignore[union-attr]


def test_every_former_name_stays_the_shoes(db: str) -> None:
    shoe = create_shoe("Ghost 15")
    rename_shoe(shoe.id, "Ghosty")
    renamed = rename_shoe(shoe.id, "Old Ghost")
    assert renamed.former_names == ["Ghost 15", "Ghosty"]
    assert create_missing_shoes(["ghost 15", "ghosty"]) == (
        {"ghost 15": shoe.id, "ghosty": shoe.id},
        [],
    )
    with pytest.raises(ShoeExists):
        create_shoe("Ghosty")
    # Back to a former name: it is the current name again, no longer a former one.
    assert rename_shoe(shoe.id, "Ghost 15").former_names == ["Ghosty", "Old Ghost"]


def test_a_rename_to_another_shoes_name_is_a_conflict(db: str) -> None:
    ghost, clifton = create_shoe("Ghost 15"), create_shoe("Clifton 9")
    rename_shoe(clifton.id, "Bondi")
    for taken in ("bondi", "clifton-9"):
        with pytest.raises(ShoeConflict):
            rename_shoe(ghost.id, taken)
    assert get_shoe_by_id(ghost.id).name == "Ghost 15"  # type: ignore[union-attr]
    with pytest.raises(InvalidUpdate):
        rename_shoe(ghost.id, "  ")
    with pytest.raises(ShoeNotFound):
        rename_shoe("no_such_shoe", "Anything")


def test_a_strava_rename_keeps_the_old_name_as_a_former_name(db: str) -> None:
    sync_gear_shoes([ProviderGear(provider="strava", gear_id="g1", name="Pegasus 40")])
    sync_gear_shoes([ProviderGear(provider="strava", gear_id="g1", name="Peggy")])
    assert get_existing_shoes_by_names(["Pegasus 40"]) == {"Pegasus 40": "pegasus_40"}


def test_a_rename_here_is_not_undone_by_the_next_strava_sync(db: str) -> None:
    gear = ProviderGear(provider="strava", gear_id="g1", name="Pegasus 40")
    sync_gear_shoes([gear])
    rename_shoe("pegasus_40", "Peggy")
    assert sync_gear_shoes([gear]).changes == ()
    assert get_shoe_by_id("pegasus_40").name == "Peggy"  # type: ignore[union-attr]


def test_a_deleted_shoe_is_given_to_no_run_until_undeleted(db: str, runs: RunFactory) -> None:
    shoe = create_shoe("Ghost 15")
    run = runs.make()
    import_runs([run])
    delete_shoe_by_id(shoe.id)

    with pytest.raises(ShoeDeleted) as caught:
        update_run_with_history(run.id, {"shoe_id": shoe.id, "distance": 9.0}, changed_by="me")
    assert set(caught.value.errors) == {"shoe_id"}
    named = runs.make(shoe_name="ghost 15")
    with pytest.raises(ShoeDeleted) as caught:
        import_runs([named, runs.make()])
    assert set(caught.value.errors) == {f"{named.id}.shoe_id"}
    with pytest.raises(ShoeDeleted):
        import_runs([runs.make(shoe_id=shoe.id)])
    assert get_run_by_id(run.id).version == 1  # type: ignore[union-attr]
    assert len(get_shoes(include_deleted=True)) == 1

    undeleted = undelete_shoe(shoe.id)
    assert undeleted.deleted_at is None
    assert update_run_with_history(run.id, {"shoe_id": shoe.id}, changed_by="me").version == 2
    assert undelete_shoe(shoe.id) == get_shoe_by_id(shoe.id)
    with pytest.raises(ShoeNotFound):
        undelete_shoe("no_such_shoe")


def test_a_reimport_of_runs_already_stored_in_a_deleted_shoe_changes_nothing(
    db: str, runs: RunFactory
) -> None:
    shoe = create_shoe("Ghost 15")
    run = runs.make(shoe_id=shoe.id)
    import_runs([run])
    delete_shoe_by_id(shoe.id)
    assert import_runs([run]).skipped_existing == 1


def test_restoring_a_version_in_a_shoe_deleted_since_is_refused(db: str, runs: RunFactory) -> None:
    ghost, clifton = create_shoe("Ghost 15"), create_shoe("Clifton 9")
    run = runs.make(shoe_id=ghost.id)
    import_runs([run])
    update_run_with_history(run.id, {"shoe_id": clifton.id}, changed_by="me")
    delete_shoe_by_id(ghost.id)
    with pytest.raises(ShoeDeleted):
        restore_run_version(run.id, 1, changed_by="me")
    assert get_run_by_id(run.id).version == 2  # type: ignore[union-attr]


def test_undeleting_a_run_into_its_deleted_or_merged_shoe_is_refused(
    db: str, runs: RunFactory
) -> None:
    # The run keeps its shoe while deleted; a restore would give it back a shoe that is
    # gone, so that its miles count toward no shoe.
    ghost, twin, kept = create_shoe("Ghost 15"), create_shoe("Peg 40"), create_shoe("Peg")
    in_ghost, in_twin = runs.make(shoe_id=ghost.id), runs.make(shoe_id=twin.id)
    import_runs([in_ghost, in_twin])
    for run in (in_ghost, in_twin):
        delete_run(run.id, changed_by="me")
    delete_shoe_by_id(ghost.id)
    merge_shoe(twin.id, kept.id, changed_by="me")

    for run in (in_ghost, in_twin):
        with pytest.raises(ShoeDeleted):
            restore_run_version(run.id, 1, changed_by="me")
        assert get_run_by_id(run.id) is None

    undelete_shoe(ghost.id)
    unmerge_shoe(twin.id, changed_by="me")
    for run in (in_ghost, in_twin):
        assert restore_run_version(run.id, 1, changed_by="me").deleted_at is None


def test_a_deleted_or_merged_shoe_is_named_as_such_not_as_unknown(db: str) -> None:
    gone, twin, kept = create_shoe("Ghost 15"), create_shoe("Peg 40"), create_shoe("Peg")
    delete_shoe_by_id(gone.id)
    merge_shoe(twin.id, kept.id, changed_by="me")

    for attempt in (
        lambda shoe_id: rename_shoe(shoe_id, "New name"),
        lambda shoe_id: update_shoe_by_id(shoe_id, {"notes": "x"}),
        lambda shoe_id: set_shoe_mileage_limits(shoe_id, warning_mileage=200.0),
        lambda shoe_id: merge_shoe(shoe_id, kept.id, changed_by="me"),
    ):
        with pytest.raises(ShoeNotFound, match="is deleted; undelete it first"):
            attempt(gone.id)
        with pytest.raises(ShoeNotFound, match="was merged into 'peg'; unmerge it first"):
            attempt(twin.id)
    with pytest.raises(ShoeNotFound, match="'no_such_shoe' not found"):
        rename_shoe("no_such_shoe", "New name")


def test_merging_moves_every_run_as_a_merge_version_and_unmerging_restores_everything(
    db: str, runs: RunFactory
) -> None:
    kept = create_shoe("Nike Pegasus 40")
    twin = create_shoe("Pegasus Forty")
    rename_shoe(twin.id, "Peg 40")
    sync_gear_shoes([ProviderGear(provider="strava", gear_id="g9", name="Peg 40")])
    kept_run, moved_a, moved_b, gone = (
        runs.make(shoe_id=kept.id),
        runs.make(shoe_id=twin.id),
        runs.make(shoe_id=twin.id),
        runs.make(shoe_id=twin.id),
    )
    import_runs([kept_run, moved_a, moved_b, gone])
    delete_run(gone.id, changed_by="me")
    before = {shoe.id: shoe for shoe in get_shoes()}

    merge = merge_shoe(twin.id, kept.id, changed_by="me")

    assert merge.run_ids == sorted([moved_a.id, moved_b.id])
    assert (merge.kept.run_count, merge.kept.mileage) == (
        3,
        pytest.approx(kept_run.distance + moved_a.distance + moved_b.distance),
    )
    assert sorted(merge.kept.former_names) == ["Peg 40", "Pegasus Forty"]
    assert get_shoe_by_id(twin.id) is None
    version = get_run_history_page(moved_a.id).versions[0]
    assert (version.change_type, version.changes) == (
        "merge",
        {"shoe_id": {"from": twin.id, "to": kept.id}},
    )
    assert version.change_reason == "shoe Peg 40 merged into Nike Pegasus 40"
    # Imports and the Strava gear find the kept shoe by the merged shoe's names.
    assert get_existing_shoes_by_names(["peg 40", "pegasus forty"]) == {
        "peg 40": kept.id,
        "pegasus forty": kept.id,
    }
    assert sync_gear_shoes(
        [ProviderGear(provider="strava", gear_id="g9", name="Peg 40")]
    ).shoe_ids == {"g9": kept.id}
    assert get_run_by_id(gone.id, include_deleted=True).shoe_id == twin.id  # type: ignore[union-attr]
    with pytest.raises(ShoeConflict, match="unmerge"):
        undelete_shoe(twin.id)

    unmerged = unmerge_shoe(twin.id, changed_by="me")

    assert unmerged.run_ids == merge.run_ids and unmerged.undone
    after = {shoe.id: shoe for shoe in get_shoes()}
    for shoe_id, shoe in before.items():
        assert (after[shoe_id].name, after[shoe_id].run_count, after[shoe_id].mileage) == (
            shoe.name,
            shoe.run_count,
            shoe.mileage,
        )
        assert sorted(after[shoe_id].former_names) == sorted(shoe.former_names)
    assert get_run_by_id(moved_a.id).version == 3  # type: ignore[union-attr]
    assert get_run_history_page(moved_a.id).versions[0].changes == {
        "shoe_id": {"from": kept.id, "to": twin.id}
    }
    assert get_existing_shoes_by_names(["pegasus forty"]) == {"pegasus forty": twin.id}
    assert sync_gear_shoes(
        [ProviderGear(provider="strava", gear_id="g9", name="Peg 40")]
    ).shoe_ids == {"g9": twin.id}
    with pytest.raises(ShoeConflict, match="not merged"):
        unmerge_shoe(twin.id, changed_by="me")


def test_the_kept_shoe_cannot_take_the_merged_shoes_name(db: str) -> None:
    kept, twin = create_shoe("Nike Pegasus 40"), create_shoe("Pegasus Forty")
    merge_shoe(twin.id, kept.id, changed_by="me")
    for name in ("Pegasus Forty", "pegasus forty"):
        with pytest.raises(ShoeConflict):
            rename_shoe(kept.id, name)
    unmerge_shoe(twin.id, changed_by="me")
    assert get_shoe_by_id(twin.id).name == "Pegasus Forty"  # type: ignore[union-attr]


def test_an_unmerge_leaves_a_run_moved_by_hand_since(db: str, runs: RunFactory) -> None:
    kept, twin, other = create_shoe("A Shoe"), create_shoe("B Shoe"), create_shoe("C Shoe")
    run = runs.make(shoe_id=twin.id)
    import_runs([run])
    merge_shoe(twin.id, kept.id, changed_by="me")
    update_run_with_history(run.id, {"shoe_id": other.id}, changed_by="me")
    assert unmerge_shoe(twin.id, changed_by="me").run_ids == []
    assert get_run_by_id(run.id).shoe_id == other.id  # type: ignore[union-attr]


def test_merges_that_cannot_be_done_change_nothing(db: str, runs: RunFactory) -> None:
    kept, twin, gone = create_shoe("A Shoe"), create_shoe("B Shoe"), create_shoe("C Shoe")
    delete_shoe_by_id(gone.id)
    with pytest.raises(ShoeConflict):
        merge_shoe(kept.id, kept.id, changed_by="me")
    with pytest.raises(ShoeNotFound):
        merge_shoe(twin.id, gone.id, changed_by="me")
    with pytest.raises(ShoeNotFound):
        merge_shoe("no_such_shoe", kept.id, changed_by="me")
    with pytest.raises(ShoeNotFound):
        unmerge_shoe("no_such_shoe", changed_by="me")
    merge_shoe(twin.id, kept.id, changed_by="me")
    merge_shoe(kept.id, create_shoe("D Shoe").id, changed_by="me")
    with pytest.raises(ShoeConflict, match="deleted now"):
        unmerge_shoe(twin.id, changed_by="me")
    with pytest.raises(ShoeNotFound):
        merge_shoe(twin.id, kept.id, changed_by="me")


def test_a_merge_racing_edits_that_give_runs_the_merged_shoe_leaves_none_in_it(
    db: str, runs: RunFactory
) -> None:
    """Each edit either lands before the merge (and its run is moved) or after it (and is
    refused as giving a deleted shoe); never a run left in the merged shoe, never a gap."""
    for attempt in range(5):
        kept, twin = create_shoe(f"Kept {attempt}"), create_shoe(f"Twin {attempt}")
        batch = runs.many(4)
        import_runs([*batch[:2], *(replace(run, shoe_id=twin.id) for run in batch[2:])])

        outcomes = _race_edits_with_a_merge([run.id for run in batch[:2]], twin.id, kept.id)

        assert sorted(outcomes) in (["edited", "edited"], ["edited", "refused"], ["refused"] * 2)
        assert [run.id for run in get_all_runs() if run.shoe_id == twin.id] == []
        assert find_problems() == []


def _race_edits_with_a_merge(run_ids: list[str], twin_id: str, kept_id: str) -> list[str]:
    """Edits giving each run the shoe `twin_id`, and its merge into `kept_id`, all at once;
    what became of each edit."""
    start = threading.Barrier(len(run_ids) + 1)
    outcomes: list[str] = []

    def edit(run_id: str) -> None:
        start.wait()
        try:
            update_run_with_history(run_id, {"shoe_id": twin_id}, changed_by="race")
            outcomes.append("edited")
        except ShoeDeleted:
            outcomes.append("refused")

    def merge() -> None:
        start.wait()
        merge_shoe(twin_id, kept_id, changed_by="race")

    threads = [threading.Thread(target=edit, args=(run_id,)) for run_id in run_ids]
    threads.append(threading.Thread(target=merge))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes
