"""The /stats routes through the real app on real PostgreSQL: each answer against the same
statistic computed in Python (tests/stats_oracle) from the runs the test made, at time-zone,
week-start, DST, gap, duplicate, deletion and as_of edges; and the errors."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from starlette.testclient import TestClient

from fitness.config import reset_settings
from fitness.db.runs import bulk_create_runs, delete_run
from fitness.db.runs_history import mark_duplicate, update_run_with_history
from fitness.db.shoes import create_shoe, set_shoe_mileage_limits
from fitness.models import Run
from tests import stats_oracle as oracle
from tests.factories import RunFactory

KM = 1.609344
ROUTES = (
    "/stats/totals",
    "/stats/rolling",
    "/stats/training-load",
    "/stats/records",
    "/stats/shoes",
    "/stats/shoe-wear",
)


def local(tz: str, text: str) -> datetime:
    """The UTC instant of the local wall-clock time `text` ("2024-03-10 23:30") in `tz`."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def db_now(conn: psycopg.Connection) -> datetime:
    row = conn.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    return row[0]


def random_runs(factory: RunFactory, count: int, first: datetime, days: int) -> list[Run]:
    """Runs at random instants (any hour, so local days differ from UTC days)."""
    rng = random.Random(14)
    return [
        factory.make(
            datetime_utc=first + timedelta(seconds=rng.randrange(days * 86_400)),
            distance=round(rng.uniform(0.5, 14.0), 2),
            duration=round(rng.uniform(900, 7200), 1),
            avg_heart_rate=None if rng.random() < 0.2 else round(rng.uniform(95, 195), 1),
        )
        for _ in range(count)
    ]


def get(client: TestClient, path: str, **params: object) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def field_errors(client: TestClient, path: str, **params: object) -> set[str]:
    """The parameters a 422 names."""
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {error["field"] for error in response.json()["errors"]}


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set FITNESS_* variables for the library's defaults; the settings are re-read after."""
    yield monkeypatch
    monkeypatch.undo()
    reset_settings()


# --- totals ---------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["day", "week", "month", "year"])
@pytest.mark.parametrize(("tz", "week_start"), [("America/New_York", "sunday"), ("UTC", "monday")])
def test_totals_equal_python_and_follow_the_contract(
    client: TestClient, runs: RunFactory, period: str, tz: str, week_start: str
) -> None:
    made = random_runs(runs, 60, datetime(2024, 1, 1, tzinfo=UTC), 120)
    bulk_create_runs(made)
    first, last = date(2024, 1, 10), date(2024, 4, 20)

    body = get(
        client,
        "/stats/totals",
        period=period,
        start=first,
        end=last,
        tz=tz,
        week_start=week_start,
        units="mi",
    )

    assert (body["period"], body["units"], body["tz"]) == (period, "mi", tz)
    expected = oracle.totals(made, period, first, last, tz, week_start)
    assert [t["start"] for t in body["totals"]] == [t.start.isoformat() for t in expected]
    for mine, theirs in zip(body["totals"], expected, strict=True):
        assert mine["runs"] == theirs.runs
        assert mine["distance"] == pytest.approx(theirs.distance, abs=1e-9)
        assert mine["duration"] == pytest.approx(theirs.duration, abs=1e-6)
        assert mine["pace"] == (pytest.approx(theirs.pace) if theirs.pace else None)


def test_a_sunday_evening_run_in_new_york_is_in_that_weeks_total(
    client: TestClient, runs: RunFactory
) -> None:
    # Sunday 2024-03-10 23:30 in New York is Monday 03:30 UTC (and the day DST began).
    bulk_create_runs([runs.make(datetime_utc=local("America/New_York", "2024-03-10 23:30"))])
    week = {"period": "week", "start": "2024-03-04", "end": "2024-03-17"}

    monday_weeks = get(client, "/stats/totals", tz="America/New_York", **week)["totals"]
    sunday_weeks = get(client, "/stats/totals", tz="America/New_York", week_start="sunday", **week)[
        "totals"
    ]
    utc_weeks = get(client, "/stats/totals", tz="UTC", **week)["totals"]

    assert [(t["start"], t["runs"]) for t in monday_weeks] == [
        ("2024-03-04", 1),
        ("2024-03-11", 0),
    ]
    assert [(t["start"], t["runs"]) for t in sunday_weeks] == [
        ("2024-03-03", 0),
        ("2024-03-10", 1),
        ("2024-03-17", 0),
    ]
    assert [(t["start"], t["runs"]) for t in utc_weeks] == [("2024-03-04", 0), ("2024-03-11", 1)]


def test_both_ends_of_a_dst_day_count_on_that_local_day(
    client: TestClient, runs: RunFactory
) -> None:
    # 2024-10-27 in Berlin has 25 hours: 00:10 is 22:10 UTC the day before, 23:50 is 22:50.
    bulk_create_runs(
        [
            runs.make(datetime_utc=local("Europe/Berlin", "2024-10-27 00:10"), distance=3.0),
            runs.make(datetime_utc=local("Europe/Berlin", "2024-10-27 23:50"), distance=4.0),
        ]
    )

    days = get(
        client,
        "/stats/totals",
        period="day",
        start="2024-10-26",
        end="2024-10-28",
        tz="Europe/Berlin",
    )["totals"]

    assert [(t["start"], t["distance"], t["runs"]) for t in days] == [
        ("2024-10-26", 0.0, 0),
        ("2024-10-27", 7.0, 2),
        ("2024-10-28", 0.0, 0),
    ]


def test_empty_months_are_present_as_zeros(client: TestClient, runs: RunFactory) -> None:
    bulk_create_runs(
        [
            runs.make(datetime_utc=datetime(2024, 1, 15, 12, tzinfo=UTC), distance=5.0),
            runs.make(datetime_utc=datetime(2024, 4, 2, 12, tzinfo=UTC), distance=6.0),
        ]
    )

    months = get(
        client, "/stats/totals", period="month", start="2024-01-01", end="2024-04-30", tz="UTC"
    )["totals"]

    assert [(t["start"], t["distance"], t["runs"], t["pace"]) for t in months] == [
        ("2024-01-01", 5.0, 1, pytest.approx(months[0]["duration"] / 5.0)),
        ("2024-02-01", 0.0, 0, None),
        ("2024-03-01", 0.0, 0, None),
        ("2024-04-01", 6.0, 1, pytest.approx(months[3]["duration"] / 6.0)),
    ]


def test_km_distances_are_the_miles_times_1_609344_and_paces_per_km(
    client: TestClient, runs: RunFactory
) -> None:
    bulk_create_runs([runs.make(distance=6.2, duration=3000.0)])
    week = {"period": "year", "start": "2024-01-01", "end": "2024-12-31", "tz": "UTC"}

    (total,) = get(client, "/stats/totals", units="km", **week)["totals"]

    assert total["distance"] == pytest.approx(6.2 * KM)
    assert total["pace"] == pytest.approx(3000.0 / (6.2 * KM))
    assert get(client, "/stats/totals", units="km", **week)["units"] == "km"


def test_deleted_runs_and_duplicates_never_count(client: TestClient, runs: RunFactory) -> None:
    kept, duplicate, deleted = runs.make(distance=5.0), runs.make(distance=5.1), runs.make()
    bulk_create_runs([kept, duplicate, deleted])
    mark_duplicate(duplicate.id, kept.id, changed_by="test")
    delete_run(deleted.id, changed_by="test")
    year = {"start": "2024-01-01", "end": "2024-12-31", "tz": "UTC"}

    (total,) = get(client, "/stats/totals", period="year", **year)["totals"]
    records = get(client, "/stats/records", tz="UTC")

    assert (total["runs"], total["distance"]) == (1, 5.0)
    assert records["longest_run"]["run_id"] == kept.id


def test_as_of_answers_as_the_log_stood_before_and_after_an_edit(
    client: TestClient, raw_conn: psycopg.Connection, runs: RunFactory
) -> None:
    gps_run = runs.make(distance=13.0)
    bulk_create_runs([gps_run])
    before_edit = db_now(raw_conn)
    update_run_with_history(gps_run.id, {"distance": 6.2}, changed_by="me", change_reason="GPS")
    after_edit = db_now(raw_conn)
    year = {"period": "year", "start": "2024-01-01", "end": "2024-12-31", "tz": "UTC"}

    def distance(**params: object) -> float:
        (total,) = get(client, "/stats/totals", **year, **params)["totals"]
        return float(total["distance"])

    # With its offset spelled both ways a query string can carry it.
    assert distance(as_of=before_edit.isoformat()) == 13.0
    assert distance(as_of=before_edit.strftime("%Y-%m-%dT%H:%M:%S.%fZ")) == 13.0
    assert distance(as_of=after_edit.isoformat()) == 6.2
    assert distance() == 6.2
    records = get(client, "/stats/records", as_of=before_edit.isoformat())
    assert records["longest_run"]["distance"] == 13.0


def test_defaults_come_from_the_settings(
    client: TestClient, runs: RunFactory, settings_env: pytest.MonkeyPatch
) -> None:
    bulk_create_runs([runs.make(datetime_utc=local("Asia/Tokyo", "2024-06-02 06:00"))])
    settings_env.setenv("FITNESS_TIMEZONE", "Asia/Tokyo")
    settings_env.setenv("FITNESS_UNITS", "km")
    settings_env.setenv("FITNESS_WEEK_START", "sunday")
    reset_settings()

    body = get(client, "/stats/totals", start="2024-06-02", end="2024-06-02")

    assert (body["period"], body["tz"], body["units"], body["week_start"]) == (
        "week",
        "Asia/Tokyo",
        "km",
        "sunday",
    )
    assert [(t["start"], t["runs"]) for t in body["totals"]] == [("2024-06-02", 1)]
    assert get(client, "/stats/shoes")["units"] == "km"


# --- rolling, training load, records, shoes -------------------------------------------------


def test_rolling_sums_equal_python(client: TestClient, runs: RunFactory) -> None:
    made = random_runs(runs, 40, datetime(2024, 1, 1, tzinfo=UTC), 60)
    bulk_create_runs(made)
    first, last = date(2024, 1, 20), date(2024, 2, 29)

    body = get(
        client, "/stats/rolling", window=28, start=first, end=last, tz="Europe/Berlin", units="km"
    )

    assert (body["window"], body["units"], body["tz"]) == (28, "km", "Europe/Berlin")
    expected = oracle.rolling(made, 28, first, last, "Europe/Berlin", per_mile=KM)
    assert [d["date"] for d in body["days"]] == [day.isoformat() for day, _ in expected]
    for mine, (_, theirs) in zip(body["days"], expected, strict=True):
        assert mine["distance"] == pytest.approx(theirs, abs=1e-9)


def test_training_load_equals_the_recurrences_day_by_day(
    client: TestClient, runs: RunFactory
) -> None:
    made = random_runs(runs, 50, datetime(2024, 1, 1, tzinfo=UTC), 90)
    bulk_create_runs(made)
    first, last = date(2024, 2, 1), date(2024, 3, 31)

    body = get(
        client,
        "/stats/training-load",
        start=first,
        end=last,
        tz="Europe/Berlin",
        resting_hr=55,
        max_hr=185,
    )

    assert (body["resting_hr"], body["max_hr"]) == (55.0, 185.0)
    expected = oracle.training_load(made, first, last, "Europe/Berlin", 55.0, 185.0)
    assert [d["date"] for d in body["days"]] == [load.date.isoformat() for load in expected]
    for mine, theirs in zip(body["days"], expected, strict=True):
        assert mine["trimp"] == pytest.approx(theirs.trimp, rel=1e-9, abs=1e-9)
        assert mine["ctl"] == pytest.approx(theirs.ctl, rel=1e-9, abs=1e-9)
        assert mine["atl"] == pytest.approx(theirs.atl, rel=1e-9, abs=1e-9)
        assert mine["tsb"] == pytest.approx(theirs.ctl - theirs.atl, rel=1e-9, abs=1e-9)
        assert mine["runs_without_heart_rate"] == theirs.runs_without_heart_rate
    weeks = oracle.weekly_distances(made, first, last, "Europe/Berlin")
    assert [(w["start"], w["is_big_increase"]) for w in body["weeks"]] == [
        (start.isoformat(), previous > 0 and distance > previous * 1.1)
        for start, distance, previous in weeks
    ]


def test_records_equal_python(client: TestClient, runs: RunFactory) -> None:
    made = random_runs(runs, 80, datetime(2024, 1, 1, tzinfo=UTC), 100)
    made.append(runs.make(datetime_utc=datetime(2024, 2, 3, 8, tzinfo=UTC), distance=26.3))
    bulk_create_runs(made)

    body = get(client, "/stats/records", tz="Europe/Berlin")

    longest = max(made, key=lambda run: run.distance)
    assert body["longest_run"]["run_id"] == longest.id
    assert body["longest_run"]["distance"] == longest.distance
    days = oracle.daily_distance(made, "Europe/Berlin")
    assert body["eddington"] == {
        "mi": oracle.eddington(days.values()),
        "km": oracle.eddington(distance * KM for distance in days.values()),
    }
    assert body["longest_streak"]["days"] == oracle.longest_streak(days)


def test_shoe_mileage_per_month_and_wear(
    client: TestClient, runs: RunFactory, raw_conn: psycopg.Connection
) -> None:
    create_shoe("Hoka Clifton 9")
    set_shoe_mileage_limits("hoka_clifton_9", starting_mileage=20.0)
    now = db_now(raw_conn)
    made = [
        runs.make(datetime_utc=datetime(2024, 1, 10, 12, tzinfo=UTC), distance=5.0),
        runs.make(datetime_utc=datetime(2024, 3, 10, 12, tzinfo=UTC), distance=7.0),
        runs.make(datetime_utc=now - timedelta(days=3), distance=28.0),
    ]
    bulk_create_runs([_in_shoe(run) for run in made])

    mileage = get(client, "/stats/shoes", tz="UTC")
    wear = get(client, "/stats/shoe-wear", tz="UTC", units="km")

    (shoe,) = mileage["shoes"]
    assert (shoe["shoe_id"], shoe["distance"], shoe["runs"]) == ("hoka_clifton_9", 40.0, 3)
    assert shoe["first_used"] == "2024-01-10"
    by_month = oracle.shoe_mileage([_in_shoe(run) for run in made], "hoka_clifton_9")
    months = {m["month"]: m["distance"] for m in shoe["months"]}
    assert months["2024-02-01"] == 0.0
    assert {m: d for m, d in months.items() if d} == {
        month.isoformat(): distance for month, distance in by_month.items()
    }
    (worn,) = wear["shoes"]
    assert wear["units"] == "km"
    assert worn["used"] == pytest.approx(60.0 * KM)
    assert worn["left"] == pytest.approx(440.0 * KM)
    # 28 miles in 8 weeks is half a mile a day: 240 miles to the warning, 440 to the maximum.
    today = now.date()
    assert worn["projected_warning_date"] == (today + timedelta(days=480)).isoformat()
    assert worn["projected_maximum_date"] == (today + timedelta(days=880)).isoformat()
    assert (worn["is_past_warning"], worn["is_past_maximum"]) == (False, False)


def _in_shoe(run: Run) -> Run:
    return replace(run, shoe_id="hoka_clifton_9")


# --- errors and the document ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/stats/totals", {"period": "fortnight"}, "period"),
        ("/stats/totals", {"tz": "Mars/Olympus"}, "tz"),
        ("/stats/totals", {"tz": "x" * 65}, "tz"),
        ("/stats/totals", {"week_start": "friday"}, "week_start"),
        ("/stats/totals", {"units": "furlongs"}, "units"),
        ("/stats/totals", {"start": "2024-02-30"}, "start"),
        ("/stats/totals", {"start": "1066-10-14"}, "start"),
        ("/stats/totals", {"end": "20240101"}, "end"),
        ("/stats/totals", {"start": "2024-02-01", "end": "2024-01-01"}, "end"),
        ("/stats/totals", {"start": "1900-01-01", "end": "2199-12-31"}, "end"),
        ("/stats/totals", {"as_of": "2024-01-01T00:00:00"}, "as_of"),
        ("/stats/totals", {"as_of": "yesterday"}, "as_of"),
        ("/stats/totals", {"as_of": "7705-06-04T20:52:25Z"}, "as_of"),
        ("/stats/totals", {"as_of": "2200-01-01T00:00:00Z"}, "as_of"),
        ("/stats/totals", {"as_of": "0001-01-01T00:00:00Z"}, "as_of"),
        ("/stats/rolling", {"window": "0"}, "window"),
        ("/stats/rolling", {"window": "3661"}, "window"),
        ("/stats/rolling", {"window": "seven"}, "window"),
        ("/stats/training-load", {"resting_hr": "10"}, "resting_hr"),
        ("/stats/training-load", {"resting_hr": "190", "max_hr": "60"}, "heart_rate"),
        ("/stats/records", {"tz": "Not/AZone"}, "tz"),
        ("/stats/shoes", {"retired": "sometimes"}, "retired"),
        ("/stats/shoe-wear", {"units": "miles"}, "units"),
    ],
)
def test_bad_parameters_are_a_422_naming_them(
    client: TestClient, path: str, params: dict[str, str], field: str
) -> None:
    assert field in field_errors(client, path, **params)


@pytest.mark.parametrize("path", ROUTES)
def test_unknown_parameters_are_a_400_naming_them(client: TestClient, path: str) -> None:
    response = client.get(path, params={"colour": "red"})

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["fields"] == ["colour"]


@pytest.mark.parametrize("path", ROUTES)
def test_an_empty_log_answers_every_route(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_the_widest_ranges_allowed_answer(client: TestClient, runs: RunFactory) -> None:
    run = runs.make()
    bulk_create_runs([run])

    days = get(client, "/stats/totals", period="day", start="2100-01-01", end="2199-12-31")
    loads = get(client, "/stats/training-load", end="2199-12-31")

    assert len(days["totals"]) == 36_524
    assert loads["days"][0]["date"] == "2024-01-01"
    assert loads["days"][-1]["date"] == "2199-12-31"
    latest = get(client, "/stats/records", as_of="2199-12-31T23:59:59Z")
    assert (latest["longest_run"]["run_id"], latest["current_streak"]["days"]) == (run.id, 0)


def test_the_document_lists_every_stats_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    for path in ROUTES:
        assert "get" in paths[path], path
    parameters = {p["name"] for p in paths["/stats/totals"]["get"]["parameters"]}
    assert parameters == {
        "period",
        "start",
        "end",
        "tz",
        "week_start",
        "units",
        "as_of",
        "sport",
    }
    rolling = {p["name"] for p in paths["/stats/rolling"]["get"]["parameters"]}
    load = {p["name"]: p for p in paths["/stats/training-load"]["get"]["parameters"]}
    assert "sport" in rolling
    assert load["sport"]["schema"]["default"] == "all"
