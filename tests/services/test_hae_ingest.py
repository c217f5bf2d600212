"""A Health Auto Export push stored (fitness/services/hae_ingest.py): idempotent, never
overwriting an edit, all or nothing."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import psycopg
import pytest

from fitness.db.rides import get_ride_by_id
from fitness.db.runs import get_all_runs, get_run_by_id
from fitness.db.runs_history import get_run_history, update_run_with_history
from fitness.errors import InvalidUpdate
from fitness.services.hae_ingest import ingest_hae
from tests.importers.test_hae import V2, payload, workout

OUTDOOR = "hae_8f3c2a1e-6b7d-4e21-9a4b-2d5e8c7f1a03"


def push(path=V2):
    with path.open("rb") as body:
        return ingest_hae(body)


def test_a_push_stores_its_runs_and_a_second_push_adds_nothing(db: str) -> None:
    first = push()
    again = push()

    assert (first.inserted, first.skipped_existing, first.skipped_other) == (3, 0, 2)
    assert (again.inserted, again.skipped_existing, again.skipped_other) == (0, 3, 2)
    assert (first.rides_inserted, again.rides_inserted, again.rides_skipped_existing) == (1, 0, 1)
    ride = get_ride_by_id("hae_5d2c7a90-8e4b-4f1a-a6c3-2b9e1f7d4c58")
    assert ride is not None and (ride.source, ride.indoor, ride.distance) == (
        "Apple Health",
        True,
        12.5,
    )
    assert ride.datetime_utc == datetime(2025, 5, 10, 11, 0, tzinfo=UTC)
    runs = get_all_runs()
    assert len(runs) == 3 and {run.source for run in runs} == {"Apple Health"}
    [original] = get_run_history(OUTDOOR)
    assert (original.change_type, original.changed_by) == ("original", "health auto export")


def test_a_later_push_never_undoes_an_edit(db: str) -> None:
    push()
    update_run_with_history(OUTDOOR, {"distance": 6.3, "notes": "GPS cut a corner"}, "me")

    push()

    run = get_run_by_id(OUTDOOR)
    assert run is not None and (run.distance, run.notes, run.version) == (
        6.3,
        "GPS cut a corner",
        2,
    )


def test_a_push_with_one_bad_run_stores_nothing(db: str, raw_conn: psycopg.Connection) -> None:
    body = payload(workout(), workout(id="0b6e4f1d-3c2a-4d8e-b9f0-7a1c5e2d9b44", start="soon"))

    with pytest.raises(InvalidUpdate, match=r"data.workouts\[1\].start"):
        ingest_hae(io.BytesIO(json.dumps(body).encode()))

    assert raw_conn.execute("SELECT count(*) FROM runs_history").fetchone() == (0,)
