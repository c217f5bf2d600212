"""Tests for fitness/db/backup.py: a backup restores every row into an empty database, a
restore never overwrites data unasked, and a failed restore changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from alembic import command
from psycopg import sql

from fitness.db.api_keys import save_api_key
from fitness.db.backup import (
    BackupError,
    DatabaseNotEmpty,
    backup_database,
    find_existing_contents,
    libpq_environment,
    restore_database,
)
from fitness.db.bikes import bikes_for_gear
from fitness.db.catalog import find_schema_drift
from fitness.db.duplicates import dismiss_duplicate_pair
from fitness.db.exercise_templates import save_exercise_templates
from fitness.db.ingest_tokens import insert_ingest_token
from fitness.db.lifts import import_lifts
from fitness.db.lifts_history import update_lift_with_history
from fitness.db.migrations import alembic_config, head_revision, upgrade_to_head
from fitness.db.oauth_credentials import upsert_credentials
from fitness.db.oauth_states import create_state
from fitness.db.races import set_run_race
from fitness.db.rides import import_rides, update_ride_with_history
from fitness.db.runs import delete_run, import_runs
from fitness.db.runs_history import (
    get_run_history,
    mark_duplicate,
    restore_run_version,
    update_run_with_history,
)
from fitness.db.shoe_merges import merge_shoe
from fitness.db.shoes import create_shoe, rename_shoe, retire_shoe_by_id, sync_gear_shoes
from fitness.db.sync_metadata import set_last_synced_at
from fitness.db.synced_runs import record_sync
from fitness.importers.hevy import template_from_json
from fitness.models import ProviderGear, Race
from tests.factories import RideFactory, RunFactory
from tests.fakes.hevy import recorded_lifts, recorded_templates

Snapshot = dict[str, list[tuple[object, ...]]]


def populate_every_table(runs: RunFactory) -> None:
    """Data in every table: versioned runs (edits, a deletion, a restore, a duplicate), shoes
    (one retired, one a Strava gear's), calendar sync records, sync markers, OAuth
    credentials, a consent state, an ingest token and a dismissed duplicate pair."""
    daily = create_shoe("Pegasus 40", notes="daily trainer")
    old = create_shoe("Ghost 15")
    retire_shoe_by_id(old.id, date(2024, 3, 1), retirement_notes="worn out")
    edited, deleted, restored, plain = runs.many(4)
    import_runs([edited, deleted, restored, plain, runs.make(shoe_name="Ghost 15")])
    update_run_with_history(edited.id, {"distance": 10.5}, changed_by="test", change_reason="GPS")
    update_run_with_history(edited.id, {"shoe_id": daily.id}, changed_by="test")
    delete_run(deleted.id, changed_by="test", change_reason="duplicate")
    update_run_with_history(restored.id, {"avg_heart_rate": None}, changed_by="test")
    delete_run(restored.id, changed_by="test")
    restore_run_version(restored.id, 1, changed_by="test", change_reason="oops")
    record_sync(edited.id, 3, "event-edited")
    record_sync(plain.id, 1, None, sync_status="failed", error_message="quota exceeded")
    set_last_synced_at("strava", datetime(2024, 5, 1, 12, 30, tzinfo=UTC))
    upsert_credentials(
        "strava", "client-1", "secret-1", "refresh-1", "access-1", datetime(2030, 1, 1, tzinfo=UTC)
    )
    sync_gear_shoes([ProviderGear(provider="strava", gear_id="g1", name="Pegasus 40")])
    create_state(
        "0" * 64,
        provider="google",
        flow="browser",
        binding_hash="1" * 64,
        code_verifier="verifier-1",
        redirect_uri="http://127.0.0.1:8000/oauth/google/callback",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    twin, other = runs.make(source="Manual"), runs.make(source="Apple Health")
    import_runs([twin, other])
    mark_duplicate(twin.id, plain.id, changed_by="test")
    dismiss_duplicate_pair(other.id, plain.id)
    insert_ingest_token("iphone", bytes(32))
    rename_shoe(daily.id, "Peggy")
    twin_shoe = create_shoe("Pegasus Forty")
    import_runs([runs.make(shoe_id=twin_shoe.id)])
    merge_shoe(twin_shoe.id, daily.id, changed_by="test")
    set_run_race(edited.id, Race(name="Parkrun", distance=3.1, time=1500, place=3), "test")
    bike = bikes_for_gear([ProviderGear(provider="strava", gear_id="b1", name="Tarmac")])["b1"]
    (ride,) = RideFactory().many(1, bike_id=bike)
    import_rides([ride])
    update_ride_with_history(ride.id, {"avg_power": 250.0}, "test")
    lifts = recorded_lifts()
    save_exercise_templates([template_from_json(t) for t in recorded_templates()])
    import_lifts(lifts, changed_by="hevy sync")
    update_lift_with_history(lifts[0].id, {"title": "Push A"}, "test")
    save_api_key("hevy", "hevy-key-1")


def every_row(url: str) -> Snapshot:
    """Every row of every table in the public schema, and every sequence's position."""
    with psycopg.connect(url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        snapshot: Snapshot = {
            table: conn.execute(
                sql.SQL("SELECT * FROM {} ORDER BY 1").format(sql.Identifier(table))
            ).fetchall()
            for table in tables
        }
        snapshot["(sequences)"] = conn.execute(
            "SELECT sequencename, last_value FROM pg_sequences "
            "WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
    return snapshot


def test_restore_into_an_empty_database_reproduces_every_row(
    db: str, runs: RunFactory, make_database: Callable[[], str], tmp_path: Path
):
    populate_every_table(runs)
    backup = tmp_path / "fitness.dump"
    empty = make_database()

    backup_database(backup)
    restored = restore_database(backup, url=empty)

    original, copy = every_row(db), every_row(empty)
    assert restored.revision == restored.backup_revision == head_revision()
    assert set(original) == {
        "alembic_version",
        "runs",
        "runs_history",
        "rides",
        "rides_history",
        "bikes",
        "shoes",
        "shoe_gear",
        "shoe_names",
        "shoe_merges",
        "synced_runs",
        "sync_metadata",
        "oauth_credentials",
        "oauth_states",
        "ingest_tokens",
        "dismissed_duplicates",
        "lifts",
        "lifts_history",
        "exercise_templates",
        "api_keys",
        "(sequences)",
    }
    assert all(original[table] for table in original), "every table has rows"
    assert copy == original


def test_a_restored_database_keeps_versioning_runs(
    db: str, runs: RunFactory, make_database: Callable[[], str], tmp_path: Path
):
    run = runs.make()
    import_runs([run])
    update_run_with_history(run.id, {"distance": 8.0}, changed_by="test")
    backup = tmp_path / "fitness.dump"
    backup_database(backup)
    copy = make_database()
    restore_database(backup, url=copy)

    with psycopg.connect(copy) as conn:
        update_run_with_history(run.id, {"distance": 9.0}, changed_by="test", conn=conn)
        history = get_run_history(run.id, conn=conn)

    assert [version.version_number for version in history] == [3, 2, 1]


def test_the_backup_file_is_private_to_its_owner(db: str, tmp_path: Path):
    backup = tmp_path / "fitness.dump"
    backup_database(backup)

    assert backup.stat().st_mode & 0o077 == 0


def test_restore_into_a_database_with_data_needs_force(
    db: str, runs: RunFactory, make_database: Callable[[], str], tmp_path: Path
):
    import_runs([runs.make()])
    backup = tmp_path / "fitness.dump"
    backup_database(backup)
    target = make_database()
    upgrade_to_head(target)
    other = runs.make()
    with psycopg.connect(target) as conn:
        import_runs([other], conn=conn)
        create_shoe("Kept shoe", conn=conn)
    before = every_row(target)

    with pytest.raises(DatabaseNotEmpty, match=r"rows in runs, runs_history, shoes.*--force"):
        restore_database(backup, url=target)
    assert every_row(target) == before

    restore_database(backup, url=target, force=True)
    assert every_row(target) == every_row(db)


def test_a_freshly_migrated_database_counts_as_empty(
    db: str, runs: RunFactory, make_database: Callable[[], str], tmp_path: Path
):
    import_runs([runs.make()])
    backup = tmp_path / "fitness.dump"
    backup_database(backup)
    target = make_database()
    upgrade_to_head(target)

    restore_database(backup, url=target)

    assert every_row(target) == every_row(db)


def test_restore_over_tables_fitness_does_not_know_needs_force(
    db: str, make_database: Callable[[], str], tmp_path: Path
):
    backup = tmp_path / "fitness.dump"
    backup_database(backup)
    target = make_database()
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA accounts")
        conn.execute("CREATE TABLE accounts.invoices (id int)")
        assert find_existing_contents(conn=conn) == [
            "table accounts.invoices is not part of fitness"
        ]

    with pytest.raises(DatabaseNotEmpty, match="table accounts.invoices is not part of fitness"):
        restore_database(backup, url=target)


def test_a_failed_restore_changes_nothing(
    db: str, runs: RunFactory, make_database: Callable[[], str], tmp_path: Path
):
    import_runs(runs.many(2))
    backup = tmp_path / "fitness.dump"
    backup_database(backup)
    target = make_database()
    upgrade_to_head(target)
    with psycopg.connect(target, autocommit=True) as conn:
        import_runs([runs.make()], conn=conn)
        # A view on runs makes the restore's DROP TABLE runs fail halfway through.
        conn.execute("CREATE VIEW long_runs AS SELECT id FROM runs WHERE distance > 20")
    before = every_row(target)

    with pytest.raises(BackupError, match="the restore failed and changed nothing: .*runs"):
        restore_database(backup, url=target, force=True)

    assert every_row(target) == before


def test_restoring_a_missing_file_is_a_clear_error(
    db: str, make_database: Callable[[], str], tmp_path: Path
):
    with pytest.raises(BackupError, match="no backup file at .*missing.dump"):
        restore_database(tmp_path / "missing.dump", url=make_database())


@pytest.mark.parametrize(
    "content",
    [b"", b"not a backup at all\n", b"PGDMP\x01\x10\x00\x04\x08\x01\x01"],
    ids=["empty", "text", "truncated-header"],
)
def test_restoring_a_corrupt_file_is_a_clear_error(
    db: str, make_database: Callable[[], str], tmp_path: Path, content: bytes
):
    corrupt = tmp_path / "corrupt.dump"
    corrupt.write_bytes(content)

    with pytest.raises(BackupError, match="corrupt.dump is not a backup pg_restore can read: "):
        restore_database(corrupt, url=make_database())


def test_restoring_a_truncated_backup_is_a_clear_error(
    db: str, runs: RunFactory, make_database: Callable[[], str], tmp_path: Path
):
    import_runs(runs.many(3))
    backup = tmp_path / "fitness.dump"
    backup_database(backup)
    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    target = make_database()

    with pytest.raises(BackupError, match="truncated.dump is not a backup pg_restore can read"):
        restore_database(truncated, url=target)
    assert every_row(target) == {"(sequences)": []}


def test_restoring_a_backup_of_another_database_is_refused(
    make_database: Callable[[], str], tmp_path: Path
):
    other = make_database()
    with psycopg.connect(other, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (id int)")
    backup = tmp_path / "other.dump"
    backup_database(backup, url=other)

    with pytest.raises(BackupError, match="other.dump is not a fitness backup"):
        restore_database(backup, url=make_database())


def test_a_backup_into_a_missing_directory_is_a_clear_error(db: str, tmp_path: Path):
    with pytest.raises(BackupError, match="directory .*nowhere does not exist"):
        backup_database(tmp_path / "nowhere" / "fitness.dump")


def test_a_failed_backup_leaves_an_earlier_backup_untouched(db: str, tmp_path: Path):
    backup = tmp_path / "fitness.dump"
    backup.write_bytes(b"the earlier backup")

    with pytest.raises(BackupError, match="pg_dump failed: "):
        backup_database(backup, url="postgresql://postgres@127.0.0.1:1/nothing", force=True)

    assert backup.read_bytes() == b"the earlier backup"
    assert [path.name for path in tmp_path.iterdir()] == ["fitness.dump"]


def test_connection_parameters_become_libpq_environment_variables():
    url = "postgresql://runner:s3cret@db.example.com:6543/fitness?sslmode=require&keepalives=1"

    assert libpq_environment(url) == {
        "PGUSER": "runner",
        "PGPASSWORD": "s3cret",
        "PGHOST": "db.example.com",
        "PGPORT": "6543",
        "PGDATABASE": "fitness",
        "PGSSLMODE": "require",
    }


def insert_legacy_run(url: str, run_id: str, distance: float) -> None:
    """A run stored before the bounds of migration 0002 existed (no library path can
    store one now), with its original version."""
    with psycopg.connect(url) as conn:
        conn.execute(
            """
            WITH run AS (
                INSERT INTO runs (id, datetime_utc, type, distance, duration, source)
                VALUES (%(id)s, '2020-05-01 07:00+00', 'Outdoor Run', %(distance)s, 3600,
                        'Strava')
                RETURNING *
            )
            INSERT INTO runs_history (run_id, version_number, change_type, datetime_utc, type,
                                      distance, duration, source)
            SELECT id, 1, 'original', datetime_utc, type, distance, duration, source FROM run
            """,
            {"id": run_id, "distance": distance},
        )


def unvalidated_constraints(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [
            row[0]
            for row in conn.execute(
                "SELECT conname FROM pg_constraint WHERE NOT convalidated "
                "AND connamespace = 'public'::regnamespace ORDER BY 1"
            )
        ]


def test_a_backup_at_an_older_revision_is_loaded_there_then_migrated_to_head(
    make_database: Callable[[], str], tmp_path: Path
):
    source = make_database()
    command.upgrade(alembic_config(source), "0001")
    # The library writes today's schema; runs of revision 0001 are written as it stored them.
    for number, distance in enumerate((5.0, 10.0, 5000.0), start=1):
        insert_legacy_run(source, f"strava_{number}", distance=distance)
    backup = tmp_path / "old.dump"
    backup_database(backup, url=source)
    target = make_database()

    restored = restore_database(backup, url=target)

    assert (restored.backup_revision, restored.revision) == ("0001", head_revision())
    # The same as migrating the backed-up database itself.
    upgrade_to_head(source)
    assert every_row(target) == every_row(source)
    # The run that breaks a later bound is kept; the bound holds for new rows only.
    assert unvalidated_constraints(target) == ["runs_distance_check", "runs_history_distance_check"]
    with psycopg.connect(target) as conn:
        assert find_schema_drift(conn=conn) == []


def test_rows_kept_under_a_not_valid_bound_round_trip(
    runs: RunFactory, make_database: Callable[[], str], tmp_path: Path
):
    source = make_database()
    command.upgrade(alembic_config(source), "0001")
    insert_legacy_run(source, "strava_1", distance=5000.0)
    upgrade_to_head(source)
    with psycopg.connect(source) as conn:
        import_runs(runs.many(2), conn=conn)
    assert unvalidated_constraints(source) == ["runs_distance_check", "runs_history_distance_check"]
    backup = tmp_path / "legacy.dump"
    backup_database(backup, url=source)
    target = make_database()

    restore_database(backup, url=target)

    assert every_row(target) == every_row(source)
    assert unvalidated_constraints(target) == ["runs_distance_check", "runs_history_distance_check"]
    with psycopg.connect(target) as conn:
        assert find_schema_drift(conn=conn) == []
