"""fitness.db.lifts_history: lifts are versioned by the same mechanism as runs (edit,
delete, restore, history with changes, If-Match), and changes from Hevy never overwrite
what the user did here."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import psycopg
import pytest

from fitness.db.connection import transaction
from fitness.db.lifts import get_lift_by_id, import_lifts
from fitness.db.lifts_history import (
    apply_source_changes,
    delete_lift,
    get_lift_history,
    restore_lift_version,
    update_lift_with_history,
)
from fitness.errors import (
    InvalidUpdate,
    LiftNotFound,
    ProtectedField,
    UnknownFields,
    VersionConflict,
    VersionNotFound,
)
from fitness.lift_models import EXERCISES, Lift
from tests.fakes.hevy import recorded_lifts

SYNC = "hevy sync"


@pytest.fixture
def push(db: str) -> Lift:
    lift = recorded_lifts()[0]
    import_lifts([lift], changed_by=SYNC)
    return lift


def heavier(lift: Lift, kg: float) -> list[dict[str, object]]:
    """The lift's exercises (as JSON carries them) with the first set at `kg`."""
    exercises = EXERCISES.dump_python(lift.exercises, mode="json")
    exercises[0]["sets"][0]["weight_kg"] = kg
    return exercises  # type: ignore[no-any-return]


def test_an_edit_of_one_set_is_one_version_holding_the_whole_workout(push: Lift) -> None:
    edited = update_lift_with_history(
        push.id, {"exercises": heavier(push, 45.0)}, "me", "typo in the warm-up"
    )
    assert edited.version == 2
    assert edited.exercises[0].sets[0].weight_kg == 45.0
    assert edited.exercises[1] == push.exercises[1]
    latest, original = get_lift_history(push.id).versions
    assert (latest.change_type, latest.changed_by, latest.change_reason) == (
        "edit",
        "me",
        "typo in the warm-up",
    )
    assert list(latest.changes) == ["exercises"]
    assert latest.changes["exercises"]["from"] == push.exercises  # type: ignore[typeddict-item]
    assert original.change_type == "original" and original.changes == {}


def test_an_edit_that_changes_nothing_writes_no_version(push: Lift) -> None:
    same = update_lift_with_history(push.id, {"title": push.title}, "me")
    assert same.version == 1
    assert len(get_lift_history(push.id).versions) == 1


def test_edits_are_checked_before_the_database(push: Lift) -> None:
    with pytest.raises(ProtectedField):
        update_lift_with_history(push.id, {"source": "Strava"}, "me")
    with pytest.raises(UnknownFields):
        update_lift_with_history(push.id, {"distance": 5}, "me")
    with pytest.raises(InvalidUpdate, match="exercises"):
        update_lift_with_history(push.id, {"exercises": heavier(push, -1.0)}, "me")
    with pytest.raises(LiftNotFound):
        update_lift_with_history("hevy_nope", {"title": "x"}, "me")
    with pytest.raises(VersionConflict):
        update_lift_with_history(push.id, {"title": "x"}, "me", expected_version=7)
    assert get_lift_by_id(push.id).version == 1  # type: ignore[union-attr]


def test_a_lift_never_ends_before_it_starts_whichever_time_is_edited(push: Lift) -> None:
    assert push.end_utc is not None
    before_start = push.datetime_utc - timedelta(minutes=1)
    with pytest.raises(InvalidUpdate, match="end_utc: must not be before the start"):
        update_lift_with_history(push.id, {"end_utc": before_start}, "me")
    with pytest.raises(InvalidUpdate, match="end_utc"):
        update_lift_with_history(push.id, {"datetime_utc": push.end_utc + timedelta(hours=1)}, "me")
    with pytest.raises(InvalidUpdate, match="end_utc"):
        update_lift_with_history(
            push.id, {"datetime_utc": push.datetime_utc, "end_utc": before_start}, "me"
        )
    assert get_lift_by_id(push.id).version == 1  # type: ignore[union-attr]
    # Moving both, or clearing the end, is fine; so is an end equal to the start.
    later = push.datetime_utc + timedelta(days=1)
    moved = update_lift_with_history(push.id, {"datetime_utc": later, "end_utc": later}, "me")
    assert (moved.datetime_utc, moved.end_utc, moved.version) == (later, later, 2)
    cleared = update_lift_with_history(push.id, {"end_utc": None}, "me")
    assert cleared.end_utc is None
    assert update_lift_with_history(push.id, {"datetime_utc": push.datetime_utc}, "me").version == 4


def test_delete_and_restore_are_versions_and_restore_brings_the_workout_back(
    push: Lift,
) -> None:
    update_lift_with_history(push.id, {"exercises": []}, "me")
    deleted = delete_lift(push.id, "me", expected_version=2)
    assert deleted.deleted_at is not None and deleted.version == 3
    assert get_lift_by_id(push.id) is None
    restored = restore_lift_version(push.id, 1, "me")
    assert restored.deleted_at is None
    assert restored.exercises == push.exercises
    assert [v.change_type for v in get_lift_history(push.id).versions] == [
        "restore",
        "deletion",
        "edit",
        "original",
    ]
    with pytest.raises(VersionNotFound, match="lift"):
        restore_lift_version(push.id, 9, "me")


def test_history_snapshots_are_immutable(push: Lift, raw_conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.RestrictViolation):
        raw_conn.execute("UPDATE lifts_history SET title = 'x'")


def test_a_change_from_hevy_is_a_new_version_of_a_lift_the_sync_wrote(push: Lift) -> None:
    with transaction() as conn:
        outcome = apply_source_changes(
            [replace(push, title="Push A")], [], changed_by=SYNC, change_reason="Hevy", conn=conn
        )
    assert outcome.updated == [push.id] and outcome.kept_edited == []
    with transaction() as conn:
        again = apply_source_changes(
            [replace(push, title="Push A")], [], changed_by=SYNC, change_reason="Hevy", conn=conn
        )
    assert (again.updated, again.unchanged) == ([], 1)
    assert get_lift_by_id(push.id).version == 2  # type: ignore[union-attr]


def test_a_change_from_hevy_never_overwrites_a_users_edit(push: Lift) -> None:
    update_lift_with_history(push.id, {"title": "My title"}, "me")
    with transaction() as conn:
        outcome = apply_source_changes(
            [replace(push, title="Hevy's title")],
            [push.id],
            changed_by=SYNC,
            change_reason="Hevy",
            conn=conn,
        )
    assert outcome.kept_edited == [push.id, push.id]
    lift = get_lift_by_id(push.id)
    assert lift is not None and lift.title == "My title" and lift.version == 2


def test_a_deletion_in_hevy_is_a_deletion_version_once(push: Lift) -> None:
    for _ in range(2):
        with transaction() as conn:
            apply_source_changes([], [push.id], changed_by=SYNC, change_reason="Hevy", conn=conn)
    versions = get_lift_history(push.id).versions
    assert [(v.change_type, v.changed_by) for v in versions] == [
        ("deletion", SYNC),
        ("original", SYNC),
    ]
    assert get_lift_by_id(push.id, include_deleted=True) is not None


def test_restoring_what_hevy_last_sent_makes_the_lift_follow_hevy_again(push: Lift) -> None:
    update_lift_with_history(push.id, {"title": "Mine"}, "me")
    restore_lift_version(push.id, 1, "me")
    with transaction() as conn:
        outcome = apply_source_changes(
            [replace(push, title="Push A")], [], changed_by=SYNC, change_reason="Hevy", conn=conn
        )
    assert (outcome.updated, outcome.kept_edited) == ([push.id], [])
    assert get_lift_by_id(push.id).title == "Push A"  # type: ignore[union-attr]


def test_a_lift_deleted_here_is_not_brought_back_by_a_change_in_hevy(push: Lift) -> None:
    delete_lift(push.id, "me")
    with transaction() as conn:
        outcome = apply_source_changes(
            [replace(push, title="Push A")],
            [push.id],
            changed_by=SYNC,
            change_reason="Hevy",
            conn=conn,
        )
    assert (outcome.kept_edited, outcome.unchanged) == ([push.id], 1)
    assert get_lift_by_id(push.id) is None
