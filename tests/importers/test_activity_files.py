"""fitness.importers.activity_files: FIT, GPX and TCX files (gzipped too) read into runs."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from fitness.importers import activity_files
from fitness.importers.activity_files import (
    ActivityFileError,
    activity_file_run_id,
    read_activity_file,
    ride_from_file_activity,
    run_from_file_activity,
)
from tests.activity_files import START, fit_file, gpx_file, gz, tcx_file


def read(data: bytes) -> list[activity_files.FileActivity]:
    return read_activity_file(io.BytesIO(data))


def run_of(data: bytes) -> object:
    [activity] = read(data)
    return run_from_file_activity(activity)


def test_a_fit_run_gives_distance_timer_time_heart_rate_and_its_start() -> None:
    run = run_of(fit_file(seconds=2734, metres=8046.72, paused=120, heart_rate=151))
    assert run.id == "file_20240304T060102Z"
    assert run.source == "Activity File" and run.type == "Outdoor Run"
    assert run.datetime_utc == START
    assert run.distance == 5.0
    # The timer time: the two minutes the watch was paused are not running.
    assert run.duration == 2734
    assert run.avg_heart_rate == 151


@pytest.mark.parametrize("sub_sport", ["treadmill", "indoor_running", "virtual_activity"])
def test_a_fit_treadmill_run_is_a_treadmill_run(sub_sport: str) -> None:
    run = run_of(fit_file(sub_sport=sub_sport))
    assert run.type == "Treadmill Run"


def test_a_fit_run_without_any_gps_position_was_run_indoors() -> None:
    assert run_of(fit_file(positions=False)).type == "Treadmill Run"
    assert run_of(fit_file(sub_sport="trail")).type == "Outdoor Run"


def test_a_fit_ride_is_a_ride_with_its_power_and_work_not_a_run() -> None:
    [activity] = read(fit_file(sport="cycling", seconds=3600, metres=32186.88, power=210))
    assert not activity.is_run and activity.is_ride and activity.sport == "cycling"
    with pytest.raises(ValueError, match="cycling activity, not a run"):
        run_from_file_activity(activity)
    ride = ride_from_file_activity(activity)
    # 32,186.88 m is 20 miles; 210 W for 3,600 s is 756,000 J.
    assert (ride.id, ride.type, ride.indoor) == ("file_20240304T060102Z", "Road Ride", False)
    assert (ride.distance, ride.duration, ride.avg_power, ride.kilojoules) == (20.0, 3600, 210, 756)
    assert ride.avg_heart_rate == 150


@pytest.mark.parametrize(
    ("sport", "sub_sport", "ride_type", "indoor"),
    [
        ("cycling", "road", "Road Ride", False),
        ("cycling", "gravel_cycling", "Gravel Ride", False),
        ("cycling", "mountain", "Mountain Bike Ride", False),
        ("cycling", "indoor_cycling", "Road Ride", True),
        ("cycling", "virtual_activity", "Virtual Ride", True),
        ("e_biking", "generic", "E-Bike Ride", False),
    ],
)
def test_the_fit_sub_sport_gives_the_ride_type(
    sport: str, sub_sport: str, ride_type: str, indoor: bool
) -> None:
    [activity] = read(fit_file(sport=sport, sub_sport=sub_sport))
    ride = ride_from_file_activity(activity)
    assert (ride.type, ride.indoor, ride.avg_power, ride.kilojoules) == (
        ride_type,
        indoor,
        None,
        None,
    )


def test_a_multisport_fit_file_has_one_activity_per_session() -> None:
    activities = read(fit_file(sessions=2, seconds=600))
    assert len(activities) == 2
    assert activities[1].start > activities[0].start
    ids = {run_from_file_activity(activity).id for activity in activities}
    assert len(ids) == 2


def test_a_fit_file_cut_before_its_summary_is_read_from_its_records() -> None:
    [activity] = read(fit_file(with_session=False, seconds=1200, metres=3000))
    assert activity.start == START and activity.distance_metres == pytest.approx(3000)
    assert activity.elapsed_seconds == 1200 and activity.avg_heart_rate == pytest.approx(150, abs=1)


def test_a_fit_file_without_heart_rate_gives_a_run_without_one() -> None:
    assert run_of(fit_file(heart_rate=None)).avg_heart_rate is None


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[:-40], "truncated FIT file"),
        (lambda data: data[:-2] + bytes([data[-2] ^ 0xFF, data[-1]]), "checksum"),
        (lambda data: data[:14] + b"\xff" * 40 + data[54:], "FIT file"),
    ],
)
def test_a_damaged_fit_file_is_an_error_saying_so(damage: object, message: str) -> None:
    with pytest.raises(ActivityFileError, match=message):
        read(damage(fit_file()))  # type: ignore[operator]


def test_a_gpx_run_as_strava_writes_it() -> None:
    run = run_of(gpx_file(seconds=1800, metres=5000, heart_rate=152))
    assert run.id == "file_20240304T060102Z" and run.type == "Outdoor Run"
    assert run.distance == pytest.approx(3.1069, abs=0.01)
    assert run.duration == 1800 and run.avg_heart_rate == 152
    assert run.name == "Morning Run"


def test_a_gpx_without_heart_rate_gives_a_run_without_one() -> None:
    assert run_of(gpx_file(heart_rate=None)).avg_heart_rate is None


@pytest.mark.parametrize(
    ("kind", "is_run", "run_type"),
    [
        ("running", True, "Outdoor Run"),
        ("9", True, "Outdoor Run"),  # Strava's older GPX exports
        ("trail_running", True, "Outdoor Run"),
        ("treadmill_running", True, "Treadmill Run"),
        ("VirtualRun", True, "Treadmill Run"),
        (None, True, "Outdoor Run"),  # no type: taken for a run, it is what was imported
        ("cycling", False, None),
        ("1", False, None),
        ("indoor_cycling", False, None),
        ("swimming", False, None),
    ],
)
def test_the_gpx_type_says_whether_it_is_a_run(
    kind: str | None, is_run: bool, run_type: str | None
) -> None:
    [activity] = read(gpx_file(kind=kind))
    assert activity.is_run is is_run
    assert activity.is_ride is (kind in ("cycling", "1", "indoor_cycling"))
    if is_run:
        assert run_from_file_activity(activity).type == run_type


def test_a_gpx_without_times_is_an_error() -> None:
    data = gpx_file().replace(b"<time>", b"<!--").replace(b"</time>", b"-->")
    with pytest.raises(ActivityFileError, match="without any timed track point"):
        read(data)


def test_a_tcx_run_uses_its_laps_timer_time_and_distance() -> None:
    run = run_of(tcx_file(seconds=2400, metres=6437.376, heart_rate=145))
    assert run.id == "file_20240304T060102Z"
    assert (run.distance, run.duration, run.avg_heart_rate) == (4.0, 2400, 145)
    assert run.type == "Outdoor Run"


def test_a_tcx_run_without_positions_was_run_indoors_and_biking_is_no_run() -> None:
    assert run_of(tcx_file(positions=False)).type == "Treadmill Run"
    [ride] = read(tcx_file(sport="Biking"))
    assert not ride.is_run and ride.is_ride


def test_a_tcx_ride_takes_its_power_from_the_trackpoints() -> None:
    [activity] = read(tcx_file(sport="Biking", seconds=3600, metres=30000, watts=180))
    ride = ride_from_file_activity(activity)
    assert (ride.type, ride.avg_power, ride.kilojoules) == ("Road Ride", 180, None)


def test_the_same_activity_in_every_format_and_compression_has_one_id() -> None:
    exports = [
        fit_file(),
        gz(fit_file()),
        gpx_file(),
        gz(gpx_file()),
        tcx_file(),
        gz(tcx_file()),
        fit_file(serial=1),  # the same run from another device's recording
    ]
    assert {run_of(data).id for data in exports} == {activity_file_run_id(START)}


def test_ids_are_to_the_second_in_utc() -> None:
    assert activity_file_run_id(datetime(2024, 3, 4, 7, 1, 2, 999, tzinfo=UTC)) == (
        "file_20240304T070102Z"
    )
    later = run_of(fit_file(datetime(2024, 3, 4, 6, 1, 3, tzinfo=UTC)))
    assert later.id == "file_20240304T060103Z"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"Activity ID,Activity Date\n", "not a FIT, GPX or TCX file"),
        (b"\x1f\x8b\x08\x00garbage", "not a readable gzip file"),
        (b"<gpx><trk><trkseg><trkpt lat=", "not a readable GPX file"),
        (b"<?xml version='1.0'?><TrainingCenterDatabase/>", "not a readable TCX activity"),
    ],
)
def test_files_that_are_not_activities_are_errors_saying_why(data: bytes, message: str) -> None:
    with pytest.raises(ActivityFileError, match=message):
        read(data)


def test_a_file_larger_than_the_limit_is_refused_before_it_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(activity_files, "MAX_ACTIVITY_FILE_BYTES", 10_000)
    with pytest.raises(ActivityFileError, match="larger than"):
        read(gpx_file())
    # A gzip bomb: small compressed, over the limit once decompressed.
    with pytest.raises(ActivityFileError, match="larger than"):
        read(gz(b"\0" * 50_000))


def test_an_implausible_heart_rate_is_dropped_and_the_run_kept() -> None:
    run = run_of(fit_file(heart_rate=255))
    assert run.avg_heart_rate is None and run.distance > 0
