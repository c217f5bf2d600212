"""fitness.importers.strava: recorded-shape Strava activities turned into runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fitness.importers.strava import gear_name, is_run, run_from_activity, run_type
from tests.fakes.strava import recorded_activities, recorded_gear


def by_name(name: str) -> dict[str, object]:
    [activity] = [a for a in recorded_activities() if a["name"] == name]
    return activity


def test_a_recorded_run_becomes_a_run_in_miles_and_seconds() -> None:
    run = run_from_activity(by_name("Morning Run"))
    assert run.id == "strava_13100000001"
    assert run.source == "Strava"
    assert run.type == "Outdoor Run"
    assert run.datetime_utc == datetime(2025, 1, 2, 12, 2, 31, tzinfo=UTC)
    assert run.distance == pytest.approx(8046.7 / 1609.344, abs=1e-4)
    assert run.duration == 2412
    assert run.avg_heart_rate == 151.3
    assert (run.name, run.notes, run.shoe_id) == ("Morning Run", None, None)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Morning Run", "Outdoor Run"),
        ("Sunday Trail Run", "Outdoor Run"),
        ("Treadmill intervals", "Treadmill Run"),
        ("Zwift Run", "Treadmill Run"),
    ],
)
def test_trainer_and_virtual_runs_are_treadmill_runs(name: str, expected: str) -> None:
    assert run_type(by_name(name)) == expected


def test_only_run_types_are_runs() -> None:
    runs = {a["name"] for a in recorded_activities() if is_run(a)}
    assert runs == {
        "Morning Run",
        "Treadmill intervals",
        "Sunday Trail Run",
        "Zwift Run",
        "Recovery Run",
        "Tempo Tuesday",
    }


@pytest.mark.parametrize(
    ("type_", "sport_type", "expected"),
    [
        ("Run", None, True),
        ("Workout", "TrailRun", True),
        ("Run", "TrailRun", True),
        ("Ride", "MountainBikeRide", False),
        ("Walk", "Walk", False),
        (None, None, False),
    ],
)
def test_either_type_or_sport_type_can_make_a_run(
    type_: str | None, sport_type: str | None, expected: bool
) -> None:
    assert is_run({"type": type_, "sport_type": sport_type}) is expected


def test_a_non_run_is_refused() -> None:
    with pytest.raises(ValueError, match="Ride"):
        run_from_activity(by_name("Lunch Ride"))


def test_missing_heart_rate_is_unknown() -> None:
    assert run_from_activity(by_name("Recovery Run")).avg_heart_rate is None


def test_an_implausible_heart_rate_is_dropped_but_the_run_kept() -> None:
    activity = by_name("Morning Run") | {"average_heartrate": 0.0}
    assert run_from_activity(activity).avg_heart_rate is None


def test_elapsed_time_stands_in_for_a_missing_moving_time() -> None:
    activity = by_name("Morning Run") | {"moving_time": 0}
    assert run_from_activity(activity).duration == 2503


@pytest.mark.parametrize(
    "change",
    [
        {"id": None},
        {"start_date": None},
        {"start_date": "yesterday"},
        {"distance": None},
        {"moving_time": 0, "elapsed_time": 0},
    ],
)
def test_a_malformed_activity_is_a_value_error(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        run_from_activity(by_name("Morning Run") | change)


def test_gear_name_prefers_name_then_nickname_then_brand_and_model() -> None:
    assert gear_name(recorded_gear()["g11111111"]) == "Nike Pegasus 40"
    assert gear_name({"name": "", "nickname": "Old faithful"}) == "Old faithful"
    assert gear_name({"brand_name": "Hoka", "model_name": "Clifton 9"}) == "Hoka Clifton 9"
    assert gear_name({}) is None
