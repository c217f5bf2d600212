"""`?sport=run|ride|all` on /stats/totals, /stats/rolling and /stats/training-load through the
real app (issue 16): each answer against tests/stats_oracle over the runs and rides the test
made, in km and as_of; training load counts rides by default; a bad sport is a 422."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from starlette.testclient import TestClient

from fitness.db.rides import delete_ride, import_rides
from fitness.db.runs import bulk_create_runs
from tests import stats_oracle as oracle
from tests.api.test_stats import db_now, field_errors, get
from tests.factories import RideFactory, RunFactory

KM = 1.609344


@pytest.fixture
def log(db: str, runs: RunFactory) -> tuple[list, list]:
    rides = RideFactory(start=datetime(2024, 1, 1, 18, tzinfo=UTC))
    made_runs = [runs.make(distance=3.0 + k, duration=1800.0 + 60 * k) for k in range(10)]
    made_rides = [rides.make(distance=20.0 + k, duration=3600.0) for k in range(10)]
    made_rides[3] = rides.make(
        datetime_utc=made_rides[3].datetime_utc, distance=40.0, avg_heart_rate=None
    )
    bulk_create_runs(made_runs)
    import_rides(made_rides)
    return made_runs, made_rides


@pytest.mark.parametrize("sport", ["run", "ride", "all"])
def test_totals_and_rolling_take_sport(
    client: TestClient, log: tuple[list, list], sport: str
) -> None:
    made_runs, made_rides = log
    counted = {"run": made_runs, "ride": made_rides, "all": [*made_runs, *made_rides]}[sport]
    first, last = date(2024, 1, 1), date(2024, 1, 14)

    totals = get(
        client, "/stats/totals", period="week", start="2024-01-01", end="2024-01-14",
        units="km", sport=sport,
    )  # fmt: skip
    rolling = get(
        client, "/stats/rolling", window=3, start="2024-01-01", end="2024-01-14", sport=sport
    )

    assert (totals["sport"], rolling["sport"]) == (sport, sport)
    expected = oracle.totals(counted, "week", first, last, per_mile=KM)
    assert [(t["start"], t["runs"]) for t in totals["totals"]] == [
        (e.start.isoformat(), e.runs) for e in expected
    ]
    for mine, theirs in zip(totals["totals"], expected, strict=True):
        assert mine["distance"] == pytest.approx(theirs.distance, abs=1e-9)
    sums = oracle.rolling(counted, 3, first, last)
    assert [d["distance"] for d in rolling["days"]] == [
        pytest.approx(distance, abs=1e-9) for _, distance in sums
    ]


def test_totals_and_rolling_count_runs_without_sport(
    client: TestClient, log: tuple[list, list]
) -> None:
    totals = get(client, "/stats/totals", period="year", start="2024-01-01", end="2024-12-31")
    assert (totals["sport"], totals["totals"][0]["runs"]) == ("run", 10)
    assert totals["totals"][0]["distance"] == pytest.approx(sum(3.0 + k for k in range(10)))


def test_training_load_counts_rides_unless_asked_not_to(
    client: TestClient, log: tuple[list, list]
) -> None:
    made_runs, made_rides = log
    first, last = date(2024, 1, 1), date(2024, 1, 20)
    params = {"start": "2024-01-01", "end": "2024-01-20"}

    default = get(client, "/stats/training-load", **params)
    runs_only = get(client, "/stats/training-load", **params, sport="run")

    assert (default["sport"], runs_only["sport"]) == ("all", "run")
    for answer, counted in ((default, [*made_runs, *made_rides]), (runs_only, made_runs)):
        expected = oracle.training_load(counted, first, last)
        assert [(d["date"], d["runs_without_heart_rate"]) for d in answer["days"]] == [
            (e.date.isoformat(), e.runs_without_heart_rate) for e in expected
        ]
        for mine, theirs in zip(answer["days"], expected, strict=True):
            assert mine["trimp"] == pytest.approx(theirs.trimp, rel=1e-9)
            assert mine["ctl"] == pytest.approx(theirs.ctl, rel=1e-9)
    # The ride without a heart rate (the fourth, on Jan 4) is counted, not loaded.
    assert default["days"][3]["runs_without_heart_rate"] == 1


def test_as_of_over_rides(
    client: TestClient, raw_conn: psycopg.Connection, log: tuple[list, list]
) -> None:
    _, made_rides = log
    before = db_now(raw_conn)
    delete_ride(made_rides[0].id, changed_by="me")
    year = {"period": "year", "start": "2024-01-01", "end": "2024-12-31", "sport": "ride"}

    then = get(client, "/stats/totals", **year, as_of=before.isoformat())
    now = get(client, "/stats/totals", **year)
    earlier = get(client, "/stats/totals", **year, as_of=(before - timedelta(hours=1)).isoformat())

    whole = sum(ride.distance for ride in made_rides)
    assert then["totals"][0]["distance"] == pytest.approx(whole)
    assert now["totals"][0]["distance"] == pytest.approx(whole - made_rides[0].distance)
    assert (earlier["totals"][0]["runs"], now["totals"][0]["runs"]) == (0, 9)


@pytest.mark.parametrize("path", ["/stats/totals", "/stats/rolling", "/stats/training-load"])
@pytest.mark.parametrize("sport", ["swim", "RUN", ""])
def test_an_unknown_sport_is_a_422(client: TestClient, db: str, path: str, sport: str) -> None:
    assert field_errors(client, path, sport=sport) == {"sport"}


@pytest.mark.parametrize("path", ["/stats/records", "/stats/shoes", "/stats/shoe-wear"])
def test_statistics_of_runs_only_refuse_sport(client: TestClient, db: str, path: str) -> None:
    response = client.get(path, params={"sport": "ride"})
    assert response.status_code == 400, response.text
