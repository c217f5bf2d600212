"""The value classes: what a caller can and cannot construct."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from fitness.models import Run, validate_run_fields


def make_run(**overrides: object) -> Run:
    values: dict[str, object] = {
        "id": "strava_1",
        "datetime_utc": datetime(2025, 5, 6, 7, 30, tzinfo=UTC),
        "type": "Outdoor Run",
        "distance": 5.0,
        "duration": 2400,
        "source": "Strava",
    }
    return Run(**(values | overrides))  # type: ignore[arg-type]


def test_a_run_needs_only_its_data_fields_and_defaults_the_rest() -> None:
    run = make_run()
    assert run.version == 1
    assert run.avg_heart_rate is None and run.shoe_id is None and run.shoe_name is None
    assert run.deleted_at is None and not run.is_deleted


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_run(datetime_utc=datetime(2025, 5, 6, 7, 30))


def test_an_aware_datetime_is_converted_to_utc() -> None:
    paris_summer = timezone(timedelta(hours=2))
    run = make_run(datetime_utc=datetime(2025, 5, 6, 9, 30, tzinfo=paris_summer))
    assert run.datetime_utc == datetime(2025, 5, 6, 7, 30, tzinfo=UTC)
    assert run.datetime_utc.utcoffset() == timedelta(0)


def test_runs_are_immutable() -> None:
    run = make_run()
    with pytest.raises(AttributeError):
        run.distance = 6.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("distance", -0.1),
        ("distance", float("nan")),
        ("distance", float("inf")),
        ("distance", "5"),
        ("distance", True),
        ("duration", 0),
        ("duration", -10),
        ("avg_heart_rate", 19),
        ("avg_heart_rate", 251),
        ("avg_heart_rate", "150"),
        ("type", "Bike Ride"),
        ("source", "Garmin"),
        ("shoe_id", ""),
        ("shoe_id", 12),
        ("datetime_utc", "2025-05-06T07:00:00Z"),
        ("datetime_utc", datetime(2025, 5, 6, 7)),
    ],
)
def test_invalid_field_values_are_reported_by_field(field: str, value: object) -> None:
    errors = validate_run_fields({field: value})
    assert set(errors) == {field}


def test_valid_values_have_no_errors() -> None:
    assert (
        validate_run_fields(
            {
                "distance": 0,
                "duration": 1,
                "avg_heart_rate": None,
                "type": "Treadmill Run",
                "source": "MapMyFitness",
                "shoe_id": None,
                "datetime_utc": datetime(2025, 1, 1, tzinfo=UTC),
            }
        )
        == {}
    )
