"""fitness.db.runs_history: versioned edits and restores that survive concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest

from fitness.db.connection import transaction
from fitness.db.runs import bulk_create_runs, delete_run, get_run_by_id
from fitness.db.runs_history import (
    get_latest_version_number,
    get_run_history,
    get_run_version,
    restore_run_version,
    update_run_with_history,
)
from fitness.db.shoes import create_shoe
from fitness.errors import (
    InvalidUpdate,
    ProtectedField,
    RunNotFound,
    UnknownFields,
    VersionConflict,
    VersionNotFound,
)
from fitness.models import EDITABLE_FIELDS, Run
from tests.factories import RunFactory


@pytest.fixture
def run(db: str, runs: RunFactory) -> Run:
    stored = runs.make(distance=5.0, duration=2400.0, avg_heart_rate=150.0)
    bulk_create_runs([stored])
    return stored


def snapshot_matches_run(run_id: str) -> bool:
    current = get_run_by_id(run_id, include_deleted=True)
    newest = get_run_history(run_id)[0]
    assert current is not None
    return current.version == newest.version_number and all(
        getattr(current, name) == getattr(newest, name) for name in EDITABLE_FIELDS
    )


def test_an_edit_creates_version_two_with_its_metadata(run: Run) -> None:
    edited = update_run_with_history(
        run.id,
        {"distance": 5.2, "avg_heart_rate": 155},
        changed_by="user123",
        change_reason="Corrected GPS accuracy issue",
    )
    assert (edited.version, edited.distance, edited.avg_heart_rate) == (2, 5.2, 155)
    assert edited.last_edited_by == "user123" and edited.last_edited_at is not None
    version = get_run_version(run.id, 2)
    assert version is not None
    assert version.change_type == "edit"
    assert version.changed_by == "user123"
    assert version.change_reason == "Corrected GPS accuracy issue"
    assert version.distance == 5.2
    assert get_run_version(run.id, 1).distance == 5.0  # type: ignore[union-attr]
    assert snapshot_matches_run(run.id)


def test_every_editable_field_can_be_changed(run: Run) -> None:
    create_shoe("Saucony Kinvara 14")
    new_time = datetime(2024, 2, 2, 6, 15, tzinfo=timezone(timedelta(hours=-5)))
    edited = update_run_with_history(
        run.id,
        {
            "distance": 6.0,
            "duration": 3000.5,
            "avg_heart_rate": None,
            "type": "Treadmill Run",
            "shoe_id": "saucony_kinvara_14",
            "datetime_utc": new_time,
        },
        changed_by="me",
    )
    assert edited.datetime_utc == new_time.astimezone(UTC)
    assert (edited.type, edited.shoe_id, edited.shoe_name) == (
        "Treadmill Run",
        "saucony_kinvara_14",
        "Saucony Kinvara 14",
    )
    assert edited.avg_heart_rate is None and edited.duration == 3000.5
    assert snapshot_matches_run(run.id)


def test_an_edit_that_changes_nothing_creates_no_version(run: Run) -> None:
    same = update_run_with_history(run.id, {"distance": 5.0}, changed_by="me")
    assert same.version == 1
    assert update_run_with_history(run.id, {}, changed_by="me").version == 1
    assert len(get_run_history(run.id)) == 1


@pytest.mark.parametrize("field", ["id", "source"])
def test_protected_fields_are_an_error_not_a_silent_no_op(run: Run, field: str) -> None:
    with pytest.raises(ProtectedField) as caught:
        update_run_with_history(run.id, {field: "x", "distance": 1.0}, changed_by="me")
    assert caught.value.fields == [field]
    assert get_run_by_id(run.id).version == 1  # type: ignore[union-attr]


def test_unknown_fields_are_named(run: Run) -> None:
    with pytest.raises(UnknownFields) as caught:
        update_run_with_history(run.id, {"calories": 500, "mood": "great"}, changed_by="me")
    assert caught.value.fields == ["calories", "mood"]


def test_invalid_values_are_reported_per_field_and_nothing_is_written(run: Run) -> None:
    with pytest.raises(InvalidUpdate) as caught:
        update_run_with_history(
            run.id,
            {"distance": -1, "type": "Swim", "datetime_utc": datetime(2024, 1, 1)},
            changed_by="me",
        )
    assert set(caught.value.errors) == {"distance", "type", "datetime_utc"}
    assert len(get_run_history(run.id)) == 1


def test_an_unknown_shoe_is_an_invalid_update(run: Run) -> None:
    with pytest.raises(InvalidUpdate) as caught:
        update_run_with_history(run.id, {"shoe_id": "no_such_shoe"}, changed_by="me")
    assert "shoe_id" in caught.value.errors
    assert get_run_by_id(run.id).version == 1  # type: ignore[union-attr]


def test_editing_a_missing_or_deleted_run_is_not_found(run: Run) -> None:
    with pytest.raises(RunNotFound):
        update_run_with_history("strava_404", {"distance": 1.0}, changed_by="me")
    delete_run(run.id, changed_by="me")
    with pytest.raises(RunNotFound):
        update_run_with_history(run.id, {"distance": 1.0}, changed_by="me")


def test_a_stale_expected_version_is_a_conflict_carrying_the_current_version(run: Run) -> None:
    update_run_with_history(run.id, {"distance": 5.5}, changed_by="a", expected_version=1)
    with pytest.raises(VersionConflict) as caught:
        update_run_with_history(run.id, {"distance": 6.0}, changed_by="b", expected_version=1)
    assert caught.value.current_version == 2
    assert get_run_by_id(run.id).distance == 5.5  # type: ignore[union-attr]


def test_a_failed_edit_leaves_the_callers_transaction_usable(run: Run) -> None:
    with transaction() as conn:
        with pytest.raises(InvalidUpdate):
            update_run_with_history(run.id, {"shoe_id": "nope"}, changed_by="me", conn=conn)
        update_run_with_history(run.id, {"distance": 7.0}, changed_by="me", conn=conn)
    assert get_run_by_id(run.id).distance == 7.0  # type: ignore[union-attr]
    assert [v.version_number for v in get_run_history(run.id)] == [2, 1]


def test_edits_in_a_callers_transaction_roll_back_together(db: str, runs: RunFactory) -> None:
    first, second = runs.many(2)
    bulk_create_runs([first, second])
    with pytest.raises(RuntimeError), transaction() as conn:
        update_run_with_history(first.id, {"distance": 1.0}, changed_by="me", conn=conn)
        update_run_with_history(second.id, {"distance": 2.0}, changed_by="me", conn=conn)
        raise RuntimeError("abort")
    assert get_latest_version_number(first.id) == 1
    assert get_latest_version_number(second.id) == 1


def test_history_is_newest_first_and_versions_are_readable(run: Run) -> None:
    update_run_with_history(run.id, {"distance": 6.0}, changed_by="me")
    update_run_with_history(run.id, {"distance": 7.0}, changed_by="me")
    history = get_run_history(run.id)
    assert [v.version_number for v in history] == [3, 2, 1]
    assert [v.distance for v in history] == [7.0, 6.0, 5.0]
    assert get_latest_version_number(run.id) == 3
    assert get_run_version(run.id, 4) is None
    assert get_run_history("strava_404") == []
    assert get_latest_version_number("strava_404") is None


def test_restore_appends_a_version_with_the_old_data(run: Run) -> None:
    update_run_with_history(run.id, {"distance": 6.0, "avg_heart_rate": None}, changed_by="me")
    restored = restore_run_version(run.id, 1, changed_by="me", change_reason="GPS was right")
    assert restored.version == 3
    assert (restored.distance, restored.avg_heart_rate) == (5.0, 150.0)
    newest = get_run_history(run.id)[0]
    assert (newest.change_type, newest.change_reason) == ("restore", "GPS was right")
    assert [v.version_number for v in get_run_history(run.id)] == [3, 2, 1]
    assert snapshot_matches_run(run.id)


def test_restore_undeletes_a_deleted_run(run: Run) -> None:
    delete_run(run.id, changed_by="me")
    restored = restore_run_version(run.id, 1, changed_by="me")
    assert restored.version == 3 and not restored.is_deleted
    assert get_run_by_id(run.id) is not None
    assert [v.change_type for v in get_run_history(run.id)] == ["restore", "deletion", "original"]


def test_restoring_a_missing_version_or_run_is_not_found(run: Run) -> None:
    with pytest.raises(VersionNotFound):
        restore_run_version(run.id, 9, changed_by="me")
    with pytest.raises(RunNotFound):
        restore_run_version("strava_404", 1, changed_by="me")
    assert len(get_run_history(run.id)) == 1


def test_restore_honours_expected_version(run: Run) -> None:
    update_run_with_history(run.id, {"distance": 6.0}, changed_by="me")
    with pytest.raises(VersionConflict):
        restore_run_version(run.id, 1, changed_by="me", expected_version=1)
    assert restore_run_version(run.id, 1, changed_by="me", expected_version=2).version == 3


def test_snapshots_cannot_be_rewritten(run: Run, raw_conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.RestrictViolation):
        raw_conn.execute("UPDATE runs_history SET distance = 0 WHERE run_id = %s", (run.id,))


def test_eight_threads_editing_one_run_make_gap_free_versions(run: Run) -> None:
    threads, edits_each = 8, 20

    def edit(worker: int) -> list[float]:
        written = []
        for n in range(edits_each):
            distance = worker * 100 + n + 0.5
            update_run_with_history(run.id, {"distance": distance}, changed_by=f"worker-{worker}")
            written.append(distance)
        return written

    with ThreadPoolExecutor(max_workers=threads) as pool:
        written = [d for result in pool.map(edit, range(threads)) for d in result]
    history = get_run_history(run.id)
    assert len(written) == threads * edits_each
    assert sorted(v.version_number for v in history) == list(range(1, threads * edits_each + 2))
    edits = [v for v in history if v.change_type == "edit"]
    assert sorted(v.distance for v in edits) == sorted(written)
    # each worker's edits appear in the order that worker made them
    for worker in range(threads):
        mine = sorted(
            (v for v in edits if v.changed_by == f"worker-{worker}"), key=lambda v: v.version_number
        )
        assert [v.distance for v in mine] == [worker * 100 + n + 0.5 for n in range(edits_each)]
    assert get_run_by_id(run.id).version == threads * edits_each + 1  # type: ignore[union-attr]
    assert snapshot_matches_run(run.id)


def test_concurrent_edits_with_expected_version_let_exactly_one_win(run: Run) -> None:
    barrier = threading.Barrier(8)

    def attempt(worker: int) -> str:
        barrier.wait()
        try:
            update_run_with_history(
                run.id, {"distance": 10.0 + worker}, changed_by="w", expected_version=1
            )
        except VersionConflict:
            return "conflict"
        return "won"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("won") == 1 and outcomes.count("conflict") == 7
    assert [v.version_number for v in get_run_history(run.id)] == [2, 1]


def test_an_edit_of_one_run_does_not_block_edits_of_another(db: str, runs: RunFactory) -> None:
    first, second = runs.many(2)
    bulk_create_runs([first, second])
    finished = threading.Event()
    with transaction() as holding:
        # This transaction holds first's row lock until the block ends.
        update_run_with_history(first.id, {"distance": 1.0}, changed_by="a", conn=holding)

        def edit_second() -> None:
            update_run_with_history(second.id, {"distance": 2.0}, changed_by="b")
            finished.set()

        worker = threading.Thread(target=edit_second)
        worker.start()
        assert finished.wait(timeout=10), "an edit of another run waited for first's lock"
        worker.join()
    assert get_latest_version_number(first.id) == 2
    assert get_latest_version_number(second.id) == 2


def test_name_and_notes_are_edited_and_versioned_like_every_other_field(run: Run) -> None:
    edited = update_run_with_history(
        run.id, {"name": "Long run", "notes": "Windy.\nShoes: Ghost"}, changed_by="me"
    )
    assert (edited.version, edited.name, edited.notes) == (2, "Long run", "Windy.\nShoes: Ghost")
    renamed = update_run_with_history(run.id, {"name": "Long run 🏃"}, changed_by="me")
    assert (renamed.version, renamed.notes) == (3, "Windy.\nShoes: Ghost")
    history = get_run_history(run.id)
    assert [v.changes_since(p) for v, p in zip(history, [*history[1:], None], strict=True)] == [
        {"name": {"from": "Long run", "to": "Long run 🏃"}},
        {
            "name": {"from": None, "to": "Long run"},
            "notes": {"from": None, "to": "Windy.\nShoes: Ghost"},
        },
        {},
    ]
    assert snapshot_matches_run(run.id)


def test_an_edit_that_sets_the_same_name_writes_no_version(run: Run) -> None:
    update_run_with_history(run.id, {"name": "Tempo"}, changed_by="me")
    assert update_run_with_history(run.id, {"name": "Tempo"}, changed_by="me").version == 2


def test_restore_brings_back_name_and_notes(run: Run) -> None:
    update_run_with_history(run.id, {"name": "First", "notes": "kept"}, changed_by="me")
    update_run_with_history(run.id, {"name": None, "notes": None}, changed_by="me")
    restored = restore_run_version(run.id, 2, changed_by="me")
    assert (restored.version, restored.name, restored.notes) == (4, "First", "kept")
    assert snapshot_matches_run(run.id)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "x" * 1001),
        ("notes", "x" * 100_001),
        ("name", 42),
        ("notes", "nul\x00"),
        ("name", "\ud800"),
    ],
)
def test_bad_names_and_notes_are_invalid_updates(run: Run, field: str, value: object) -> None:
    with pytest.raises(InvalidUpdate) as caught:
        update_run_with_history(run.id, {field: value}, changed_by="me")
    assert field in caught.value.errors
    assert get_latest_version_number(run.id) == 1
