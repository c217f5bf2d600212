"""fitness.db._rows: model_row builds the same dataclasses as class_row, in UTC, only faster."""

from __future__ import annotations

from datetime import UTC

import psycopg
import pytest
from psycopg.rows import class_row

from fitness.db._rows import model_row
from fitness.db.runs import bulk_create_runs, get_all_run_details
from fitness.db.runs_history import update_run_with_history
from fitness.models import Run, RunDetail
from tests.factories import RunFactory

SELECT_RUN = """
SELECT id, datetime_utc, type, distance, duration, source, avg_heart_rate, shoe_id,
       NULL::text AS shoe_name, version, last_edited_at, last_edited_by, deleted_at,
       created_at, updated_at
FROM runs
ORDER BY id
"""


@pytest.fixture
def stored_runs(db: str, runs: RunFactory) -> list[Run]:
    created = runs.many(3)
    bulk_create_runs(created)
    update_run_with_history(created[0].id, {"distance": 9.5}, changed_by="me")
    return created


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/New_York"])
def test_model_row_builds_what_class_row_builds_in_any_session_time_zone(
    db: str, stored_runs: list[Run], zone: str
) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("SELECT set_config('TimeZone', %s, false)", (zone,))
        fast = conn.cursor(row_factory=model_row(Run)).execute(SELECT_RUN).fetchall()
        usual = conn.cursor(row_factory=class_row(Run)).execute(SELECT_RUN).fetchall()
    assert fast == usual
    assert [run.id for run in fast] == sorted(run.id for run in stored_runs)
    assert fast[0].version == 2 and fast[0].distance == 9.5


def test_model_row_hands_out_utc_datetimes_from_a_session_in_another_zone(
    db: str, stored_runs: list[Run]
) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'Asia/Kolkata'")
        rows = conn.cursor(row_factory=model_row(Run)).execute(SELECT_RUN).fetchall()
    datetimes = [
        value
        for run in rows
        for value in (run.datetime_utc, run.created_at, run.updated_at, run.last_edited_at)
        if value is not None
    ]
    assert datetimes and all(value.tzinfo is UTC for value in datetimes)
    assert {run.datetime_utc for run in rows} == {run.datetime_utc for run in stored_runs}


def test_the_library_reads_run_details_equal_to_class_row(
    db: str, stored_runs: list[Run], raw_conn: psycopg.Connection
) -> None:
    details = get_all_run_details()
    query = """
        SELECT r.*, NULL::text AS shoe_name, 'missing' AS calendar_state,
               NULL::text AS google_event_id, NULL::integer AS synced_version,
               NULL::timestamptz AS synced_at, NULL::text AS sync_error
        FROM runs AS r
        ORDER BY r.datetime_utc, r.id
    """
    expected = raw_conn.cursor(row_factory=class_row(RunDetail)).execute(query).fetchall()
    assert details == expected


def test_fields_without_a_column_get_their_defaults(db: str, stored_runs: list[Run]) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        cur = conn.cursor(row_factory=model_row(RunDetail))
        row = cur.execute(
            "SELECT id, datetime_utc, type, distance, duration, source FROM runs LIMIT 1"
        ).fetchone()
    assert row is not None
    assert (row.version, row.shoe_name, row.calendar_state, row.synced_at) == (
        1,
        None,
        "missing",
        None,
    )


def test_a_column_that_is_no_field_is_an_error(db: str, stored_runs: list[Run]) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        cur = conn.cursor(row_factory=model_row(Run))
        with pytest.raises(TypeError, match="no field for the columns \\['surprise'\\]"):
            cur.execute("SELECT id, 1 AS surprise FROM runs").fetchall()


def test_a_missing_column_without_default_is_an_error(db: str, stored_runs: list[Run]) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        cur = conn.cursor(row_factory=model_row(Run))
        with pytest.raises(TypeError, match="no column and no default"):
            cur.execute("SELECT id FROM runs").fetchall()


def test_a_naive_timestamp_is_refused_as_the_model_refuses_it(
    db: str, stored_runs: list[Run]
) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        cur = conn.cursor(row_factory=model_row(Run))
        query = SELECT_RUN.replace("datetime_utc,", "datetime_utc::timestamp AS datetime_utc,", 1)
        with pytest.raises(ValueError, match="must be timezone-aware"):
            cur.execute(query).fetchall()
