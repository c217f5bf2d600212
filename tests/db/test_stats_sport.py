"""fitness.db.stats with `sport` (issue 16): totals, rolling sums and training load over runs,
rides or both, each against tests/stats_oracle computed from the runs and rides the test
made; rides deleted, edited and restored, as they stood at `as_of`; records keep to runs."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from fitness.db import stats
from fitness.db.rides import delete_ride, import_rides, restore_ride_version
from fitness.db.rides import update_ride_with_history as update_ride
from fitness.db.runs import bulk_create_runs
from fitness.errors import InvalidParameters
from fitness.models import Run
from fitness.ride_models import Ride
from tests import stats_oracle as oracle
from tests.db.test_stats import assert_load_equal, assert_totals_equal, db_now, random_runs
from tests.factories import RideFactory, RunFactory

KM = 1.609344


@pytest.fixture
def rides() -> RideFactory:
    return RideFactory()


def random_rides(
    factory: RideFactory, count: int, first: datetime, days: int, seed: int
) -> list[Ride]:
    """Rides at random instants, longer than runs, a fifth without a heart rate."""
    rng = random.Random(seed)
    return [
        factory.make(
            datetime_utc=first + timedelta(seconds=rng.randrange(days * 86_400)),
            distance=round(rng.uniform(5.0, 80.0), 2),
            duration=round(rng.uniform(1800, 18_000), 1),
            avg_heart_rate=None if rng.random() < 0.2 else round(rng.uniform(95, 185), 1),
        )
        for _ in range(count)
    ]


def a_log(
    runs: RunFactory, rides: RideFactory, seed: int, first: datetime, days: int
) -> tuple[list[Run], list[Ride]]:
    made_runs = random_runs(runs, 120, first, days, seed=seed)
    made_rides = random_rides(rides, 80, first, days, seed=seed + 1)
    bulk_create_runs(made_runs)
    import_rides(made_rides)
    return made_runs, made_rides


@pytest.mark.parametrize("sport", ["run", "ride", "all"])
@pytest.mark.parametrize("tz", ["UTC", "Pacific/Kiritimati"])
def test_totals_count_the_runs_rides_or_both_that_sport_names(
    db: str, runs: RunFactory, rides: RideFactory, sport: str, tz: str
) -> None:
    made_runs, made_rides = a_log(runs, rides, 5, datetime(2024, 1, 1, tzinfo=UTC), 200)
    counted = {"run": made_runs, "ride": made_rides, "all": [*made_runs, *made_rides]}[sport]
    first, last = date(2024, 1, 1), date(2024, 7, 31)

    got = stats.get_totals("week", first, last, tz=tz, sport=sport)  # type: ignore[arg-type]

    assert (got.sport, got.tz) == (sport, tz)
    assert_totals_equal(got, oracle.totals(counted, "week", first, last, tz))


def test_totals_default_to_runs_only(db: str, runs: RunFactory, rides: RideFactory) -> None:
    made_runs, _ = a_log(runs, rides, 6, datetime(2024, 1, 1, tzinfo=UTC), 60)
    first, last = date(2024, 1, 1), date(2024, 3, 31)
    got = stats.get_totals("month", first, last)
    assert got.sport == "run"
    assert_totals_equal(got, oracle.totals(made_runs, "month", first, last))


def test_ride_totals_in_km(db: str, runs: RunFactory, rides: RideFactory) -> None:
    _, made_rides = a_log(runs, rides, 7, datetime(2024, 1, 1, tzinfo=UTC), 90)
    first, last = date(2024, 1, 1), date(2024, 3, 31)
    got = stats.get_totals("month", first, last, units="km", sport="ride")
    assert got.units == "km"
    assert_totals_equal(got, oracle.totals(made_rides, "month", first, last, per_mile=KM))


@pytest.mark.parametrize("sport", ["run", "ride", "all"])
def test_rolling_sums_count_what_sport_names(
    db: str, runs: RunFactory, rides: RideFactory, sport: str
) -> None:
    made_runs, made_rides = a_log(runs, rides, 8, datetime(2023, 12, 1, tzinfo=UTC), 150)
    counted = {"run": made_runs, "ride": made_rides, "all": [*made_runs, *made_rides]}[sport]
    first, last = date(2024, 1, 1), date(2024, 4, 30)

    got = stats.get_rolling_sums(28, first, last, tz="Europe/Berlin", units="km", sport=sport)  # type: ignore[arg-type]

    assert (got.sport, got.units) == (sport, "km")
    expected = oracle.rolling(counted, 28, first, last, "Europe/Berlin", per_mile=KM)
    assert [d.date for d in got.days] == [day for day, _ in expected]
    for mine, (_, theirs) in zip(got.days, expected, strict=True):
        assert mine.distance == pytest.approx(theirs, abs=1e-9)


def test_training_load_counts_rides_by_default_from_their_heart_rate(
    db: str, runs: RunFactory, rides: RideFactory
) -> None:
    made_runs, made_rides = a_log(runs, rides, 9, datetime(2023, 6, 1, tzinfo=UTC), 400)
    first, last = date(2024, 1, 1), date(2024, 6, 30)

    both = stats.get_training_load(first, last, tz="America/New_York")
    only_runs = stats.get_training_load(first, last, tz="America/New_York", sport="run")
    only_rides = stats.get_training_load(first, last, tz="America/New_York", sport="ride")

    assert (both.sport, only_runs.sport, only_rides.sport) == ("all", "run", "ride")
    tz = "America/New_York"
    assert_load_equal(both, oracle.training_load([*made_runs, *made_rides], first, last, tz))
    assert_load_equal(only_runs, oracle.training_load(made_runs, first, last, tz))
    assert_load_equal(only_rides, oracle.training_load(made_rides, first, last, tz))
    weeks = oracle.weekly_distances([*made_runs, *made_rides], first, last, tz)
    assert [(w.start, w.distance, w.previous_distance) for w in both.weeks] == [
        (start, pytest.approx(distance, abs=1e-9), pytest.approx(previous, abs=1e-9))
        for start, distance, previous in weeks
    ]


def test_a_ride_without_heart_rate_adds_no_trimp_and_is_counted(
    db: str, runs: RunFactory, rides: RideFactory
) -> None:
    day = datetime(2024, 3, 1, 7, tzinfo=UTC)
    bulk_create_runs([runs.make(datetime_utc=day, duration=1800, avg_heart_rate=None)])
    import_rides(
        [
            rides.make(datetime_utc=day + timedelta(hours=3), duration=7200, avg_heart_rate=None),
            rides.make(datetime_utc=day + timedelta(days=1), duration=3600, avg_heart_rate=125.0),
        ]
    )
    days = stats.get_training_load(date(2024, 3, 1), date(2024, 3, 2)).days
    assert (days[0].trimp, days[0].runs_without_heart_rate) == (0.0, 2)
    # 60 minutes at half the reserve (125 between 60 and 190): 60 x 0.5 x 0.64 x e^0.96,
    # exactly as a run's.
    assert days[1].trimp == pytest.approx(60 * 0.5 * 0.64 * math.exp(0.96))


def test_deleted_rides_never_count_and_restored_ones_do_again(db: str, rides: RideFactory) -> None:
    kept, deleted = rides.make(distance=30.0), rides.make(distance=50.0)
    import_rides([kept, deleted])
    delete_ride(deleted.id, changed_by="me")
    year = date(2024, 1, 1), date(2024, 12, 31)

    def total(sport: str) -> float:
        return stats.get_totals("year", *year, sport=sport).totals[0].distance  # type: ignore[arg-type]

    assert (total("ride"), total("all"), total("run")) == (30.0, 30.0, 0.0)
    restore_ride_version(deleted.id, 1, changed_by="me")
    assert total("ride") == 80.0


def test_as_of_takes_each_ride_as_it_stood_then(
    db: str, raw_conn: psycopg.Connection, runs: RunFactory, rides: RideFactory
) -> None:
    ride, other = rides.make(distance=40.0), rides.make(distance=20.0)
    run = runs.make(distance=5.0, datetime_utc=datetime(2024, 3, 2, 7, tzinfo=UTC))
    import_rides([ride, other])
    bulk_create_runs([run])
    before_edit = db_now(raw_conn)
    update_ride(ride.id, {"distance": 25.0}, changed_by="me", change_reason="GPS")
    after_edit = db_now(raw_conn)
    delete_ride(other.id, changed_by="me")
    after_delete = db_now(raw_conn)
    import_rides([rides.make(distance=10.0)])

    def total(as_of: datetime | None, sport: str = "ride") -> float:
        year = date(2024, 1, 1), date(2024, 12, 31)
        return stats.get_totals("year", *year, as_of=as_of, sport=sport).totals[0].distance  # type: ignore[arg-type]

    assert total(before_edit) == pytest.approx(60.0)
    assert total(after_edit) == pytest.approx(45.0)
    assert total(after_delete) == pytest.approx(25.0)
    assert total(None) == pytest.approx(35.0)
    assert total(after_delete, "all") == pytest.approx(30.0)
    assert total(before_edit - timedelta(hours=1), "all") == 0.0
    rolling = stats.get_rolling_sums(1, date(2024, 3, 1), date(2024, 3, 2), as_of=after_edit)
    assert [d.distance for d in rolling.days] == [0.0, 5.0]
    rolled = stats.get_rolling_sums(
        1, date(2024, 3, 1), date(2024, 3, 2), as_of=after_edit, sport="all"
    )
    assert [d.distance for d in rolled.days] == [pytest.approx(25.0), pytest.approx(25.0)]
    load = stats.get_training_load(date(2024, 3, 1), date(2024, 3, 2), as_of=after_edit)
    assert [d.trimp > 0 for d in load.days] == [True, True]


def test_records_stay_running_records(db: str, runs: RunFactory, rides: RideFactory) -> None:
    run = runs.make(distance=6.0)
    bulk_create_runs([run])
    import_rides([rides.make(distance=60.0)])
    records = stats.get_records()
    assert records.longest_run is not None
    assert records.longest_run.run_id == run.id
    assert records.eddington.mi == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda: stats.get_totals("week", sport="swim"),  # type: ignore[arg-type]
        lambda: stats.get_rolling_sums(7, sport="bike"),  # type: ignore[arg-type]
        lambda: stats.get_training_load(sport=""),  # type: ignore[arg-type]
    ],
)
def test_an_unknown_sport_is_named(db: str, call: object) -> None:
    with pytest.raises(InvalidParameters) as raised:
        call()  # type: ignore[operator]
    assert set(raised.value.errors) == {"sport"}
