"""Tests for fitness/db/integrity.py: each check finds the corruption it is about, and
nothing in a database written only through the library."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import psycopg
import pytest

from fitness.db.integrity import Problem, find_problems
from fitness.db.lifts import import_lifts
from fitness.db.lifts_history import delete_lift, restore_lift_version, update_lift_with_history
from fitness.db.migrations import upgrade_to_head
from fitness.db.rides import (
    delete_ride,
    import_rides,
    restore_ride_version,
    update_ride_with_history,
)
from fitness.db.runs import delete_run, import_runs
from fitness.db.runs_history import restore_run_version, update_run_with_history
from fitness.db.shoes import create_shoe, retire_shoe_by_id
from fitness.db.synced_runs import record_sync
from fitness.models import Run
from tests.factories import RideFactory, RunFactory
from tests.fakes.hevy import recorded_lifts


def edited(run: Run, times: int) -> None:
    for n in range(times):
        update_run_with_history(run.id, {"distance": 10.0 + n}, changed_by="test")


def kinds(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(problem.kind, problem.run_id) for problem in problems]


def test_a_database_written_through_the_library_has_no_problems(db: str, runs: RunFactory):
    shoe = create_shoe("Pegasus 40")
    plain, edited_run, deleted, restored, synced = runs.many(5)
    import_runs([plain, edited_run, deleted, restored, synced])
    edited(edited_run, 3)
    update_run_with_history(edited_run.id, {"shoe_id": shoe.id}, changed_by="test")
    delete_run(deleted.id, changed_by="test")
    edited(restored, 1)
    delete_run(restored.id, changed_by="test")
    restore_run_version(restored.id, 1, changed_by="test")
    edited(synced, 1)
    record_sync(synced.id, 2, "event-1")
    retire_shoe_by_id(shoe.id, date(2024, 6, 1))

    assert find_problems() == []


def test_an_empty_database_has_no_problems(db: str):
    assert find_problems() == []


def test_a_run_without_any_history_is_missing_its_original(
    db: str, runs: RunFactory, raw_conn: psycopg.Connection
):
    run = runs.make()
    import_runs([run])
    raw_conn.execute("DELETE FROM runs_history WHERE run_id = %s", (run.id,))

    assert find_problems() == [Problem("missing_original", run.id, "has no history at all")]


def test_a_run_whose_version_1_is_gone_is_missing_its_original_and_has_a_gap(
    db: str, runs: RunFactory, raw_conn: psycopg.Connection
):
    run = runs.make()
    import_runs([run])
    edited(run, 2)
    raw_conn.execute("DELETE FROM runs_history WHERE run_id = %s AND version_number = 1", (run.id,))

    problems = find_problems()

    assert kinds(problems) == [("missing_original", run.id), ("version_gap", run.id)]
    assert problems[0].message == "has no version 1"
    assert "missing: 1;" in problems[1].message


def test_a_version_1_that_is_not_the_original_is_reported(
    db: str, runs: RunFactory, raw_conn: psycopg.Connection
):
    run = runs.make()
    import_runs([run])
    raw_conn.execute(
        """
        WITH gone AS (
            DELETE FROM runs_history
            WHERE run_id = %s AND version_number = 1
            RETURNING *
        )
        INSERT INTO runs_history (run_id, version_number, change_type, datetime_utc, type,
                                  distance, duration, source, avg_heart_rate, shoe_id)
        SELECT run_id, 1, 'edit', datetime_utc, type, distance, duration, source,
               avg_heart_rate, shoe_id
        FROM gone
        """,
        (run.id,),
    )

    assert find_problems() == [
        Problem("missing_original", run.id, "has version 1 'edit', not 'original'")
    ]


def test_a_gap_in_the_versions_is_reported_with_the_missing_numbers(
    db: str, runs: RunFactory, raw_conn: psycopg.Connection
):
    intact, gapped = runs.many(2)
    import_runs([intact, gapped])
    edited(intact, 4)
    edited(gapped, 4)
    raw_conn.execute(
        "DELETE FROM runs_history WHERE run_id = %s AND version_number IN (2, 4)", (gapped.id,)
    )

    assert find_problems() == [
        Problem(
            "version_gap",
            gapped.id,
            "has versions that are not 1..5 without gaps or duplicates "
            "(missing: 2, 4; duplicated: none)",
        )
    ]


@pytest.fixture
def database_without_version_uniqueness(
    make_database: Callable[[], str],
) -> Iterator[psycopg.Connection]:
    """A database of its own whose history accepts duplicate version numbers."""
    url = make_database()
    upgrade_to_head(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "ALTER TABLE runs_history DROP CONSTRAINT runs_history_run_id_version_number_key"
        )
        yield conn


def test_duplicate_version_numbers_are_reported(
    database_without_version_uniqueness: psycopg.Connection, runs: RunFactory
):
    conn = database_without_version_uniqueness
    run = runs.make()
    import_runs([run], conn=conn)
    update_run_with_history(run.id, {"distance": 7.0}, changed_by="test", conn=conn)
    conn.execute(
        """
        INSERT INTO runs_history (run_id, version_number, change_type, datetime_utc, type,
                                  distance, duration, source, avg_heart_rate, shoe_id)
        SELECT run_id, version_number, change_type, datetime_utc, type, distance, duration,
               source, avg_heart_rate, shoe_id
        FROM runs_history
        WHERE run_id = %s AND version_number = 1
        """,
        (run.id,),
    )

    assert find_problems(conn=conn) == [
        Problem(
            "version_gap",
            run.id,
            "has versions that are not 1..2 without gaps or duplicates "
            "(missing: none; duplicated: 1)",
        )
    ]


def test_a_run_version_that_is_not_the_newest_snapshot_is_reported(
    db: str, runs: RunFactory, raw_conn: psycopg.Connection
):
    run = runs.make()
    import_runs([run])
    edited(run, 1)
    raw_conn.execute("UPDATE runs SET version = 5 WHERE id = %s", (run.id,))

    assert find_problems() == [
        Problem(
            "version_mismatch",
            run.id,
            "is at version 5 (runs.version) but its newest snapshot is version 2",
        )
    ]


def test_a_run_whose_data_differs_from_its_newest_snapshot_is_reported_with_the_fields(
    db: str, runs: RunFactory, raw_conn: psycopg.Connection
):
    shoe = create_shoe("Ghost 15")
    run = runs.make(avg_heart_rate=None)
    import_runs([run])
    edited(run, 1)
    raw_conn.execute(
        "UPDATE runs SET distance = 99, avg_heart_rate = 150, shoe_id = %s WHERE id = %s",
        (shoe.id, run.id),
    )

    assert find_problems() == [
        Problem(
            "data_mismatch",
            run.id,
            "differs from its newest snapshot (version 2) in: distance, avg_heart_rate, shoe_id",
        )
    ]


def test_a_run_deleted_without_a_deletion_version_is_reported(
    db: str, runs: RunFactory, raw_conn: psycopg.Connection
):
    run = runs.make()
    import_runs([run])
    raw_conn.execute("UPDATE runs SET deleted_at = now() WHERE id = %s", (run.id,))

    assert find_problems() == [
        Problem(
            "deletion_mismatch",
            run.id,
            "is deleted but its newest snapshot (version 1) is 'original', not a deletion",
        )
    ]


def test_a_run_undeleted_without_a_restore_version_is_reported(
    db: str, runs: RunFactory, raw_conn: psycopg.Connection
):
    run = runs.make()
    import_runs([run])
    delete_run(run.id, changed_by="test")
    raw_conn.execute("UPDATE runs SET deleted_at = NULL WHERE id = %s", (run.id,))

    assert find_problems() == [
        Problem(
            "deletion_mismatch",
            run.id,
            "is not deleted but its newest snapshot (version 2) is a deletion",
        )
    ]


def test_a_sync_record_of_a_run_that_is_gone_is_reported(
    db: str, runs: RunFactory, raw_conn: psycopg.Connection
):
    # Only a disabled foreign key lets this happen; replica mode skips it for this session.
    raw_conn.execute("SET session_replication_role = replica")
    raw_conn.execute(
        "INSERT INTO synced_runs (run_id, run_version, google_event_id, sync_status) "
        "VALUES ('strava_404', 1, 'event-404', 'synced')"
    )
    raw_conn.execute("RESET session_replication_role")

    assert find_problems() == [
        Problem("orphan_sync", "strava_404", "is gone but still has a synced_runs row")
    ]


def test_a_sync_record_ahead_of_its_run_is_reported(db: str, runs: RunFactory):
    run = runs.make()
    import_runs([run])
    edited(run, 1)
    record_sync(run.id, 3, "event-1")

    assert find_problems() == [
        Problem("sync_ahead", run.id, "is at version 2 but synced_runs says version 3 was synced")
    ]


def test_problems_are_grouped_by_kind_then_ordered_by_run(
    db: str, runs: RunFactory, raw_conn: psycopg.Connection
):
    first, second, third = runs.many(3)
    import_runs([first, second, third])
    raw_conn.execute(
        "UPDATE runs SET distance = distance + 1 WHERE id = ANY(%s)", ([third.id, first.id],)
    )
    record_sync(second.id, 2, "event-2")

    assert kinds(find_problems()) == [
        ("data_mismatch", first.id),
        ("data_mismatch", third.id),
        ("sync_ahead", second.id),
    ]


def test_a_run_whose_name_or_notes_differ_from_its_newest_snapshot_is_reported(
    db: str, runs: RunFactory, raw_conn: psycopg.Connection
):
    run = runs.make(name="Morning Run", notes="easy")
    import_runs([run])
    raw_conn.execute("UPDATE runs SET name = 'Evening Run', notes = NULL WHERE id = %s", (run.id,))

    assert find_problems() == [
        Problem(
            "data_mismatch",
            run.id,
            "differs from its newest snapshot (version 1) in: name, notes",
        )
    ]


def test_a_race_written_without_a_version_is_reported(
    db: str, runs: RunFactory, raw_conn: psycopg.Connection
):
    run = runs.make()
    import_runs([run])
    raw_conn.execute(
        "UPDATE runs SET race_name = 'Parkrun', race_distance = 3.1, race_time = 1200 "
        "WHERE id = %s",
        (run.id,),
    )

    assert find_problems() == [
        Problem(
            "data_mismatch",
            run.id,
            "differs from its newest snapshot (version 1) in: race_name, race_distance, race_time",
        )
    ]


def test_rides_are_checked_by_the_same_versioning_checks(db: str, raw_conn: psycopg.Connection):
    kept, tampered, deleted = RideFactory().many(3)
    import_rides([kept, tampered, deleted])
    update_ride_with_history(kept.id, {"avg_power": 240.0}, "test")
    delete_ride(kept.id, "test")
    restore_ride_version(kept.id, 2, "test")
    update_ride_with_history(tampered.id, {"kilojoules": 700.0}, "test")
    raw_conn.execute(
        "UPDATE rides SET avg_power = 999, indoor = true WHERE id = %s", (tampered.id,)
    )
    raw_conn.execute("UPDATE rides SET deleted_at = now() WHERE id = %s", (deleted.id,))

    assert find_problems() == [
        Problem(
            "data_mismatch",
            tampered.id,
            "differs from its newest snapshot (version 2) in: indoor, avg_power",
            noun="ride",
        ),
        Problem(
            "deletion_mismatch",
            deleted.id,
            "is deleted but its newest snapshot (version 1) is 'original', not a deletion",
            noun="ride",
        ),
    ]


def test_lifts_are_checked_by_the_same_versioning_checks(db: str, raw_conn: psycopg.Connection):
    kept, tampered, _ = recorded_lifts()
    import_lifts(recorded_lifts(), changed_by="hevy sync")
    update_lift_with_history(kept.id, {"title": "Push A"}, "test")
    delete_lift(kept.id, "test")
    restore_lift_version(kept.id, 2, "test")
    assert find_problems() == []
    raw_conn.execute("UPDATE lifts SET exercises = '[]', title = 'x' WHERE id = %s", (tampered.id,))

    assert find_problems() == [
        Problem(
            "data_mismatch",
            tampered.id,
            "differs from its newest snapshot (version 1) in: title, exercises",
            noun="lift",
        ),
    ]
