"""Runs entered by hand (fitness/services/manual_runs.py): an original version like any
import, an id from the start, miles or km."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from fitness.db.runs_history import get_run_history
from fitness.db.shoes import create_shoe, delete_shoe_by_id
from fitness.errors import InvalidUpdate, RunExists
from fitness.services.manual_runs import add_manual_run

BERLIN_SUMMER = timezone(timedelta(hours=2))
START = datetime(2025, 5, 6, 7, 30, tzinfo=BERLIN_SUMMER)


def test_a_manual_run_is_stored_with_its_original_version(db: str) -> None:
    create_shoe("Hoka Clifton 9")

    run = add_manual_run(
        START, 5.0, 2700, avg_heart_rate=148, shoe_id="hoka_clifton_9", name="Lunch loop",
        notes="windy", changed_by="me",
    )  # fmt: skip

    assert run.id == "manual_20250506T053000Z"
    assert run.source == "Manual" and run.version == 1
    assert run.datetime_utc == datetime(2025, 5, 6, 5, 30, tzinfo=UTC)
    assert (run.distance, run.duration, run.avg_heart_rate) == (5.0, 2700.0, 148.0)
    assert (run.shoe_name, run.name, run.notes) == ("Hoka Clifton 9", "Lunch loop", "windy")
    [original] = get_run_history(run.id)
    assert (original.change_type, original.changed_by) == ("original", "me")


def test_kilometres_are_converted_to_miles_exactly(db: str) -> None:
    assert add_manual_run(START, 5.86161709056, 1800, units="km").distance == 3.64224


def test_the_same_start_twice_is_refused_not_duplicated(db: str) -> None:
    add_manual_run(START, 5.0, 2700)

    with pytest.raises(RunExists) as refused:
        add_manual_run(START.astimezone(UTC), 6.0, 3000)
    assert refused.value.run_id == "manual_20250506T053000Z"


def test_values_out_of_bounds_are_named_in_their_own_unit(db: str) -> None:
    with pytest.raises(InvalidUpdate) as refused:
        add_manual_run(START, 1700, 0, units="km", avg_heart_rate=300, shoe_id="nope")

    assert refused.value.errors == {
        "distance": "must be a number of km from 0 to 1,609.344",
        "duration": "must be a number of seconds greater than 0 and at most 1,209,600",
        "avg_heart_rate": "must be null or a number of beats per minute from 20 to 250",
    }
    with pytest.raises(InvalidUpdate) as unknown:
        add_manual_run(START, 5, 2700, shoe_id="no_such_shoe")
    # Named as the one run's field, not as an import names a row's (`<id>.shoe_id`).
    assert set(unknown.value.errors) == {"shoe_id"}
    delete_shoe_by_id(create_shoe("Ghost 15").id)
    with pytest.raises(InvalidUpdate) as deleted:
        add_manual_run(START, 5, 2700, shoe_id="ghost_15")
    assert set(deleted.value.errors) == {"shoe_id"}
