"""Health Auto Export payloads (fitness/importers/hae.py): both of the app's workout formats,
the shapes of heart rate and distance it writes, and what a malformed push is told."""

from __future__ import annotations

import io
import json
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fitness.errors import InvalidUpdate, MalformedPayload
from fitness.importers.hae import is_run, read_workouts

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "hae"
V2 = FIXTURES / "workouts-v2.json"
V1 = FIXTURES / "workouts-v1.json"


def read(payload: object) -> object:
    return read_workouts(io.BytesIO(json.dumps(payload).encode()))


def workout(**fields: object) -> dict[str, object]:
    return {
        "id": "8F3C2A1E-6B7D-4E21-9A4B-2D5E8C7F1A03",
        "name": "Outdoor Run",
        "start": "2025-05-06 07:31:12 +0200",
        "end": "2025-05-06 08:22:40 +0200",
        "duration": 3088,
        "distance": {"qty": 5, "units": "km"},
        **fields,
    }


def payload(*workouts: dict[str, object]) -> dict[str, object]:
    return {"data": {"workouts": list(workouts)}}


def test_a_version_2_push_gives_its_runs_and_counts_the_other_workouts() -> None:
    with V2.open("rb") as body:
        workouts = read_workouts(body)

    assert workouts.others == 2  # strength training and a walk
    outdoor, indoor, series_only = workouts.runs
    assert outdoor.id == "hae_8f3c2a1e-6b7d-4e21-9a4b-2d5e8c7f1a03"  # the UUID, lower case
    assert outdoor.source == "Apple Health"
    assert outdoor.datetime_utc == datetime(2025, 5, 6, 5, 31, 12, tzinfo=UTC)
    assert outdoor.type == "Outdoor Run"
    assert outdoor.distance == pytest.approx(10.02 / 1.609344, abs=1e-12)
    assert outdoor.duration == 3088.4
    assert outdoor.avg_heart_rate == 151.4  # the summary, not the truncated series
    assert indoor.type == "Treadmill Run"
    assert indoor.datetime_utc == datetime(2025, 5, 8, 22, 5, tzinfo=UTC)
    assert (indoor.distance, indoor.avg_heart_rate) == (4.0, 143.0)
    # No distance and no summary: the distance series and the heart-rate series.
    assert series_only.distance == 2.75
    assert series_only.avg_heart_rate == 140.0


def test_a_version_1_push_without_ids_or_durations_gives_stable_runs() -> None:
    with V1.open("rb") as body:
        first = read_workouts(body)
    with V1.open("rb") as body:
        again = read_workouts(body)

    assert first.others == 0
    (ride,) = first.rides  # "Outdoor Cycling", 28.4 km from 17:30 to 18:30 -0700
    assert ride.id.startswith("hae_") and ride.id == again.rides[0].id
    assert (ride.type, ride.indoor, ride.duration) == ("Road Ride", False, 3600.0)
    assert ride.distance == pytest.approx(28.4 / 1.609344, abs=1e-12)
    assert ride.avg_heart_rate == 128.0
    road, treadmill = first.runs
    assert [run.id for run in first.runs] == [run.id for run in again.runs]
    assert road.id.startswith("hae_") and road.id != treadmill.id
    assert road.duration == 6228.0  # from start to end
    assert road.distance == pytest.approx(21.3 / 1.609344, abs=1e-12)
    assert road.avg_heart_rate == 158.0
    assert treadmill.type == "Treadmill Run"
    assert treadmill.distance == pytest.approx(5000 / 1609.344, abs=1e-12)
    assert treadmill.avg_heart_rate == 145.0  # the mean of the `qty` series


@pytest.mark.parametrize(
    ("name", "running"),
    [
        ("Outdoor Run", True),
        ("Indoor Run", True),
        ("Running", True),
        ("Trail Run", True),
        ("Outdoor Walk", False),
        ("Wheelchair Run Pace", False),
        ("Hiking", False),
        ("Traditional Strength Training", False),
    ],
)
def test_which_workouts_are_runs(name: str, running: bool) -> None:
    assert is_run(name) is running


@pytest.mark.parametrize(
    ("units", "miles"),
    [
        ("mi", 3.1),
        ("km", 3.1 / 1.609344),
        ("m", 3.1 / 1609.344),
        ("yd", 3.1 / 1760),
        ("KM", 3.1 / 1.609344),
    ],
)
def test_every_distance_unit_the_app_writes_becomes_miles(units: str, miles: float) -> None:
    [run] = read(payload(workout(distance={"qty": 3.1, "units": units}))).runs
    assert run.distance == pytest.approx(miles, rel=1e-12)


def test_an_implausible_heart_rate_is_dropped_and_the_run_kept() -> None:
    [run] = read(payload(workout(avgHeartRate={"qty": 300, "units": "bpm"}))).runs
    assert run.avg_heart_rate is None


def test_an_indoor_run_without_distance_is_kept_at_zero_miles() -> None:
    fields = workout(name="Indoor Run")
    del fields["distance"]
    [run] = read(payload(fields)).runs
    assert (run.distance, run.type) == (0.0, "Treadmill Run")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'{"data": {"workouts": []}} trailing',
        b'{"data": [1]}',
        b'{"data": {"metrics": []}}',
        b'{"data": {"workouts": {}}}',
        b'{"data": {"workouts": [1]}}',
        b'{"data": {"workouts": [',
        b"\xff\xfe",
    ],
)
def test_a_body_that_is_not_a_push_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        read_workouts(io.BytesIO(body))


def test_every_bad_field_of_every_running_or_cycling_workout_is_named_by_its_place() -> None:
    with pytest.raises(InvalidUpdate) as refused:
        read(
            payload(
                workout(start="2025-05-06 07:31:12"),  # no offset
                {"name": "Cycling", "start": "whenever"},  # a ride: read like a run
                workout(distance={"qty": 5, "units": "furlongs"}, id="not-a-uuid"),
                workout(duration="long", avgHeartRate={"qty": "fast"}),
                workout(duration=0),
                workout(distance={"qty": 1200, "units": "mi"}),
                {"start": "2025-05-06 07:31:12 +0200"},
            )
        )

    assert refused.value.errors == {
        "data.workouts[0].start": "must be a date-time with its offset, such as "
        "2024-02-06 07:00:00 -0800",
        "data.workouts[1].start": "must be a date-time with its offset, such as "
        "2024-02-06 07:00:00 -0800",
        "data.workouts[2].distance.units": "must be one of mi, km, m, yd, ft",
        "data.workouts[2].id": "must be the workout's UUID",
        "data.workouts[3].duration": "must be a number of seconds",
        "data.workouts[3].avgHeartRate.qty": "must be a number of beats per minute",
        "data.workouts[4].duration": "must be a number of seconds greater than 0 and at most "
        "1,209,600",
        "data.workouts[5].distance": "must be a number of miles from 0 to 1,000",
        "data.workouts[6].name": "must be the workout's type, such as Outdoor Run",
    }


def test_a_key_that_looks_like_a_path_is_not_a_workout() -> None:
    body = {"data": {"workouts.item": workout(), "workouts": []}, "data.workouts": [workout()]}
    assert read(body).runs == ()


def test_routes_and_metric_series_are_skipped_as_they_stream_past() -> None:
    def peak_memory(route_points: int) -> int:
        point = {
            "latitude": 52.5163, "longitude": 13.3777, "altitude": 34.2, "course": 91.5,
            "horizontalAccuracy": 3.6, "timestamp": "2025-05-06 07:31:13 +0200", "speed": 3.21,
        }  # fmt: skip
        source = io.BytesIO(json.dumps(payload(workout(route=[point] * route_points))).encode())
        tracemalloc.start()
        try:
            [run] = read_workouts(source).runs
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert run.distance == pytest.approx(5 / 1.609344)
        return peak

    small, large = peak_memory(10_000), peak_memory(40_000)  # 1.6 MB and 6.5 MB of JSON

    assert large < 2_000_000
    assert large <= small * 1.1, (small, large)
