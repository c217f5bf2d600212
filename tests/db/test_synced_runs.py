"""Tests of fitness/db/synced_runs.py: sync records of calendar events, and the worklist."""

from __future__ import annotations

import psycopg
import pytest

from fitness.db.connection import transaction
from fitness.db.runs import delete_run, get_run_detail_by_id, import_runs
from fitness.db.runs_history import update_run_with_history
from fitness.db.synced_runs import (
    count_runs_with_current_event,
    delete_synced_run,
    get_all_synced_runs,
    get_runs_needing_calendar_sync,
    get_synced_run,
    record_sync,
    record_sync_failure,
)
from tests.factories import RunFactory


def test_a_run_never_synced_has_no_record(db: str, runs: RunFactory) -> None:
    run = runs.make()
    import_runs([run])

    assert get_synced_run(run.id) is None
    assert get_all_synced_runs() == []


def test_record_sync_stores_the_event_and_the_version_it_shows(db: str, runs: RunFactory) -> None:
    run = runs.make()
    import_runs([run])

    record = record_sync(run.id, 1, "event1")

    assert (record.run_id, record.run_version, record.google_event_id) == (run.id, 1, "event1")
    assert (record.sync_status, record.error_message) == ("synced", None)
    assert get_synced_run(run.id) == record


def test_record_sync_replaces_the_one_record_of_a_run(db: str, runs: RunFactory) -> None:
    run = runs.make()
    import_runs([run])
    update_run_with_history(run.id, {"distance": 9.0}, changed_by="test")
    first = record_sync(run.id, 1, "event1")

    second = record_sync(run.id, 2, "event1")

    assert second.id == first.id
    assert second.run_version == 2
    assert get_all_synced_runs() == [second]


def test_a_failed_record_sync_without_event_keeps_the_known_event(
    db: str, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    record_sync(run.id, 1, "event1")

    failed = record_sync(run.id, 1, None, sync_status="failed", error_message="HTTP 503")

    assert (failed.google_event_id, failed.sync_status, failed.error_message) == (
        "event1",
        "failed",
        "HTTP 503",
    )


def test_record_sync_refuses_a_run_that_does_not_exist(db: str) -> None:
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        record_sync("strava_404", 1, "event1")


def test_record_sync_joins_the_callers_transaction(db: str, runs: RunFactory) -> None:
    run = runs.make()
    import_runs([run])

    with pytest.raises(RuntimeError), transaction() as conn:
        record_sync(run.id, 1, "event1", conn=conn)
        assert get_synced_run(run.id, conn=conn) is not None
        raise RuntimeError("abort")

    assert get_synced_run(run.id) is None


def test_get_all_synced_runs_lists_records_by_run_id(db: str, runs: RunFactory) -> None:
    later, earlier = runs.make(id="strava_2"), runs.make(id="strava_1")
    import_runs([later, earlier])
    record_sync(later.id, 1, "event2")
    record_sync(earlier.id, 1, "event1")

    assert [r.run_id for r in get_all_synced_runs()] == ["strava_1", "strava_2"]


def test_delete_synced_run_forgets_the_record_once(db: str, runs: RunFactory) -> None:
    run = runs.make()
    import_runs([run])
    record_sync(run.id, 1, "event1")

    assert delete_synced_run(run.id) is True
    assert get_synced_run(run.id) is None
    assert delete_synced_run(run.id) is False


def test_record_sync_failure_of_a_run_never_synced(db: str, runs: RunFactory) -> None:
    run = runs.make()
    import_runs([run])

    failed = record_sync_failure(run.id, 1, "Google Calendar answered 503")

    assert (failed.run_version, failed.google_event_id, failed.sync_status) == (1, None, "failed")
    assert failed.error_message == "Google Calendar answered 503"
    assert get_run_detail_by_id(run.id).calendar_state == "failed"


def test_record_sync_failure_keeps_the_event_and_the_version_it_shows(
    db: str, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    record_sync(run.id, 1, "event1")
    update_run_with_history(run.id, {"distance": 9.0}, changed_by="test")

    failed = record_sync_failure(run.id, 2, "timed out")

    assert (failed.run_version, failed.google_event_id, failed.sync_status) == (
        1,
        "event1",
        "failed",
    )


def test_runs_needing_calendar_sync_are_the_missing_stale_failed_and_deleted_ones(
    db: str, runs: RunFactory
) -> None:
    unsynced, current, stale, failed, deleted_with_event, deleted_never_synced = runs.many(6)
    import_runs([unsynced, current, stale, failed, deleted_with_event, deleted_never_synced])
    record_sync(current.id, 1, "event-current")
    record_sync(stale.id, 1, "event-stale")
    update_run_with_history(stale.id, {"distance": 9.0}, changed_by="test")
    record_sync_failure(failed.id, 1, "HTTP 500")
    record_sync(deleted_with_event.id, 1, "event-deleted")
    delete_run(deleted_with_event.id, changed_by="test")
    delete_run(deleted_never_synced.id, changed_by="test")

    needing = get_runs_needing_calendar_sync()

    assert [(d.id, d.calendar_state, d.is_deleted) for d in needing] == [
        (unsynced.id, "missing", False),
        (stale.id, "stale", False),
        (failed.id, "failed", False),
        (deleted_with_event.id, "stale", True),
    ]
    assert needing[3].google_event_id == "event-deleted"
    assert count_runs_with_current_event() == 1


def test_runs_needing_calendar_sync_carry_the_shoe_name(db: str, runs: RunFactory) -> None:
    import_runs([runs.make(shoe_name="Nike Pegasus 40")])

    (detail,) = get_runs_needing_calendar_sync()

    assert detail.shoe_name == "Nike Pegasus 40"


def test_nothing_needs_calendar_sync_in_an_empty_database(db: str) -> None:
    assert get_runs_needing_calendar_sync() == []
    assert count_runs_with_current_event() == 0
