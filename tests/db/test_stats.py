"""fitness.db.stats: every statistic against the same one computed in Python (tests/stats_oracle)
from the runs the test made, at time-zone, week-start, DST, gap, deletion and as_of edges."""

from __future__ import annotations

import math
import random
from dataclasses import fields, is_dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from fitness.db import stats
from fitness.db.runs import bulk_create_runs, delete_run
from fitness.db.runs_history import restore_run_version, update_run_with_history
from fitness.db.shoe_merges import merge_shoe
from fitness.db.shoes import create_shoe, delete_shoe_by_id, retire_shoe_by_id
from fitness.errors import InvalidParameters
from fitness.models import Run
from tests import stats_oracle as oracle
from tests.factories import RunFactory

KM = 1.609344


def local(tz: str, text: str) -> datetime:
    """The UTC instant of the local wall-clock time `text` ("2024-03-10 23:30") in `tz`."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def db_now(conn: psycopg.Connection) -> datetime:
    row = conn.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    return row[0]


def random_runs(
    factory: RunFactory, count: int, first: datetime, days: int, seed: int
) -> list[Run]:
    """Runs at random instants (any hour, so local days differ from UTC days)."""
    rng = random.Random(seed)
    return [
        factory.make(
            datetime_utc=first + timedelta(seconds=rng.randrange(days * 86_400)),
            distance=round(rng.uniform(0.5, 14.0), 2),
            duration=round(rng.uniform(900, 7200), 1),
            avg_heart_rate=None if rng.random() < 0.2 else round(rng.uniform(95, 195), 1),
        )
        for _ in range(count)
    ]


def assert_totals_equal(got: stats.Totals, expected: list[oracle.Total]) -> None:
    assert [t.start for t in got.totals] == [t.start for t in expected]
    for mine, theirs in zip(got.totals, expected, strict=True):
        assert mine.runs == theirs.runs, mine.start
        assert mine.distance == pytest.approx(theirs.distance, abs=1e-9), mine.start
        assert mine.duration == pytest.approx(theirs.duration, abs=1e-6), mine.start
        if theirs.pace is None:
            assert mine.pace is None
        else:
            assert mine.pace == pytest.approx(theirs.pace, rel=1e-12)


def assert_close(got: object, expected: object) -> None:
    """Equal, floats to 1e-9 (sums in another order differ in the last bits)."""
    if is_dataclass(got) and is_dataclass(expected):
        assert type(got) is type(expected)
        for field in fields(got):
            assert_close(getattr(got, field.name), getattr(expected, field.name))
    elif isinstance(got, tuple | list) and isinstance(expected, tuple | list):
        assert len(got) == len(expected)
        for mine, theirs in zip(got, expected, strict=True):
            assert_close(mine, theirs)
    elif isinstance(got, float) and isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)
    else:
        assert got == expected


# --- totals ---------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["day", "week", "month", "year"])
@pytest.mark.parametrize("week_start", ["monday", "sunday"])
@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Europe/Berlin", "Pacific/Kiritimati"])
def test_totals_equal_python_for_every_period_zone_and_week_start(
    db: str, runs: RunFactory, period: str, week_start: str, tz: str
) -> None:
    made = random_runs(runs, 150, datetime(2023, 11, 20, tzinfo=UTC), 500, seed=len(tz))
    bulk_create_runs(made)
    first, last = date(2023, 12, 1), date(2025, 2, 10)
    got = stats.get_totals(period, first, last, tz=tz, week_start=week_start)  # type: ignore[arg-type]
    assert (got.period, got.tz, got.week_start, got.units) == (period, tz, week_start, "mi")
    assert_totals_equal(got, oracle.totals(made, period, first, last, tz, week_start))


def test_a_run_late_on_sunday_evening_in_new_york_is_in_that_week_not_the_next(
    db: str, runs: RunFactory
) -> None:
    # Sunday 2024-03-17 23:30 in New York is Monday 03:30 UTC.
    late = runs.make(datetime_utc=local("America/New_York", "2024-03-17 23:30"), distance=5.0)
    bulk_create_runs([late])
    monday_weeks = stats.get_totals(
        "week", date(2024, 3, 11), date(2024, 3, 18), tz="America/New_York"
    ).totals
    assert [(t.start, t.distance) for t in monday_weeks] == [
        (date(2024, 3, 11), 5.0),
        (date(2024, 3, 18), 0.0),
    ]
    sunday_weeks = stats.get_totals(
        "week", date(2024, 3, 11), date(2024, 3, 18), tz="America/New_York", week_start="sunday"
    ).totals
    assert [(t.start, t.distance) for t in sunday_weeks] == [
        (date(2024, 3, 10), 0.0),
        (date(2024, 3, 17), 5.0),
    ]
    in_utc = stats.get_totals("week", date(2024, 3, 11), date(2024, 3, 18), tz="UTC").totals
    assert [(t.start, t.distance) for t in in_utc] == [
        (date(2024, 3, 11), 0.0),
        (date(2024, 3, 18), 5.0),
    ]


@pytest.mark.parametrize(
    ("tz", "dst_day"),
    [
        ("America/New_York", date(2024, 3, 10)),  # 23-hour day
        ("America/New_York", date(2024, 11, 3)),  # 25-hour day
        ("Europe/Berlin", date(2024, 3, 31)),
        ("Europe/Berlin", date(2024, 10, 27)),
    ],
)
def test_runs_just_inside_a_dst_day_count_on_that_day(
    db: str, runs: RunFactory, tz: str, dst_day: date
) -> None:
    before, after = dst_day - timedelta(days=1), dst_day + timedelta(days=1)
    made = [
        runs.make(datetime_utc=local(tz, f"{before} 23:50"), distance=1.0),
        runs.make(datetime_utc=local(tz, f"{dst_day} 00:10"), distance=2.0),
        runs.make(datetime_utc=local(tz, f"{dst_day} 23:50"), distance=4.0),
        runs.make(datetime_utc=local(tz, f"{after} 00:10"), distance=8.0),
    ]
    bulk_create_runs(made)
    days = stats.get_totals("day", before, after, tz=tz).totals
    assert [(t.start, t.distance, t.runs) for t in days] == [
        (before, 1.0, 1),
        (dst_day, 6.0, 2),
        (after, 8.0, 1),
    ]
    rolling = stats.get_rolling_sums(2, dst_day, after, tz=tz).days
    assert [(d.date, d.distance) for d in rolling] == [(dst_day, 7.0), (after, 14.0)]


def test_every_period_in_the_range_is_present_and_empty_ones_are_zero(
    db: str, runs: RunFactory
) -> None:
    bulk_create_runs(
        [
            runs.make(datetime_utc=datetime(2024, 1, 15, 7, tzinfo=UTC), distance=3.0),
            runs.make(datetime_utc=datetime(2024, 4, 15, 7, tzinfo=UTC), distance=4.0),
        ]
    )
    months = stats.get_totals("month", date(2023, 12, 1), date(2024, 5, 31)).totals
    assert [(t.start, t.distance, t.runs, t.pace) for t in months] == [
        (date(2023, 12, 1), 0.0, 0, None),
        (date(2024, 1, 1), 3.0, 1, months[1].pace),
        (date(2024, 2, 1), 0.0, 0, None),
        (date(2024, 3, 1), 0.0, 0, None),
        (date(2024, 4, 1), 4.0, 1, months[4].pace),
        (date(2024, 5, 1), 0.0, 0, None),
    ]
    assert months[1].pace is not None and months[4].pace is not None


def test_a_range_starting_mid_week_counts_the_whole_first_and_last_week(
    db: str, runs: RunFactory
) -> None:
    monday, sunday = datetime(2024, 5, 6, 7, tzinfo=UTC), datetime(2024, 5, 19, 7, tzinfo=UTC)
    bulk_create_runs([runs.make(datetime_utc=monday, distance=2.0), runs.make(datetime_utc=sunday)])
    weeks = stats.get_totals("week", date(2024, 5, 8), date(2024, 5, 14)).totals
    assert [(t.start, t.runs) for t in weeks] == [(date(2024, 5, 6), 1), (date(2024, 5, 13), 1)]
    assert weeks[0].distance == 2.0


def test_without_a_range_totals_run_from_the_first_run_to_today(db: str, runs: RunFactory) -> None:
    first = datetime.now(UTC) - timedelta(days=40)
    made = [runs.make(datetime_utc=first), runs.make(datetime_utc=first + timedelta(days=3))]
    bulk_create_runs(made)
    days = stats.get_totals("day").totals
    today = datetime.now(UTC).date()
    assert days[0].start == first.date()
    assert days[-1].start in (today, today + timedelta(days=1))  # the test may cross midnight
    assert sum(t.runs for t in days) == 2


def test_an_empty_log_has_no_periods_without_a_start(db: str) -> None:
    assert stats.get_totals("week").totals == ()
    assert len(stats.get_totals("week", date(2024, 1, 1), date(2024, 1, 31)).totals) == 5


def test_deleted_runs_never_count_and_restored_ones_do_again(db: str, runs: RunFactory) -> None:
    kept, deleted = runs.make(distance=3.0), runs.make(distance=5.0)
    bulk_create_runs([kept, deleted])
    delete_run(deleted.id, changed_by="me")
    year = date(2024, 1, 1), date(2024, 12, 31)
    assert stats.get_totals("year", *year).totals[0].distance == 3.0
    assert stats.get_records().longest_run.run_id == kept.id  # type: ignore[union-attr]
    restore_run_version(deleted.id, 1, changed_by="me")
    assert stats.get_totals("year", *year).totals[0].distance == 8.0


def test_totals_in_km_are_the_miles_times_1_609344(db: str, runs: RunFactory) -> None:
    made = random_runs(runs, 40, datetime(2024, 1, 1, tzinfo=UTC), 60, seed=3)
    bulk_create_runs(made)
    miles = stats.get_totals("week", date(2024, 1, 1), date(2024, 3, 1), units="mi").totals
    km = stats.get_totals("week", date(2024, 1, 1), date(2024, 3, 1), units="km")
    assert km.units == "km"
    for in_miles, in_km in zip(miles, km.totals, strict=True):
        assert in_km.distance == pytest.approx(in_miles.distance * KM, rel=1e-12)
        assert in_km.duration == pytest.approx(in_miles.duration, rel=1e-12)
        if in_miles.pace is not None:
            assert in_km.pace == pytest.approx(in_miles.pace / KM, rel=1e-12)


def test_settings_give_the_default_zone_units_and_week_start(
    db: str, runs: RunFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fitness.config import reset_settings

    bulk_create_runs([runs.make(datetime_utc=local("Asia/Tokyo", "2024-06-02 06:00"))])
    monkeypatch.setenv("FITNESS_TIMEZONE", "Asia/Tokyo")
    monkeypatch.setenv("FITNESS_UNITS", "km")
    monkeypatch.setenv("FITNESS_WEEK_START", "sunday")
    reset_settings()
    try:
        got = stats.get_totals("week", date(2024, 6, 2), date(2024, 6, 2))
    finally:
        monkeypatch.undo()
        reset_settings()
    assert (got.tz, got.units, got.week_start) == ("Asia/Tokyo", "km", "sunday")
    assert got.totals[0].start == date(2024, 6, 2)  # a Sunday, and Saturday 21:00 UTC
    assert got.totals[0].runs == 1


# --- as_of --------------------------------------------------------------------------------


def test_as_of_answers_as_the_log_stood_before_and_after_an_edit(
    db: str, raw_conn: psycopg.Connection, runs: RunFactory
) -> None:
    gps_run, other = runs.make(distance=13.0), runs.make(distance=2.0)
    bulk_create_runs([gps_run, other])
    before_edit = db_now(raw_conn)
    update_run_with_history(gps_run.id, {"distance": 6.2}, changed_by="me", change_reason="GPS")
    after_edit = db_now(raw_conn)
    delete_run(other.id, changed_by="me")
    after_delete = db_now(raw_conn)
    late = runs.make(distance=1.0)
    bulk_create_runs([late])

    def year_total(as_of: datetime | None) -> float:
        return (
            stats.get_totals("year", date(2024, 1, 1), date(2024, 12, 31), as_of=as_of)
            .totals[0]
            .distance
        )

    assert year_total(before_edit) == pytest.approx(15.0)
    assert year_total(after_edit) == pytest.approx(8.2)
    assert year_total(after_delete) == pytest.approx(6.2)
    assert year_total(None) == pytest.approx(7.2)
    assert stats.get_records(as_of=before_edit).longest_run.distance == 13.0  # type: ignore[union-attr]
    before_import = before_edit - timedelta(hours=1)
    assert year_total(before_import) == 0.0
    assert stats.get_records(as_of=before_import).longest_run is None


def test_as_of_counts_a_run_deleted_later_and_drops_one_restored_later(
    db: str, raw_conn: psycopg.Connection, runs: RunFactory
) -> None:
    run = runs.make(distance=4.0)
    bulk_create_runs([run])
    delete_run(run.id, changed_by="me")
    while_deleted = db_now(raw_conn)
    restore_run_version(run.id, 1, changed_by="me")
    days = (date(2024, 1, 1), date(2024, 1, 1))
    assert stats.get_totals("day", *days, as_of=while_deleted).totals[0].runs == 0
    assert stats.get_totals("day", *days).totals[0].runs == 1
    assert stats.get_rolling_sums(1, *days, as_of=while_deleted).days[0].distance == 0.0


def test_every_statistic_takes_as_of(
    db: str, raw_conn: psycopg.Connection, runs: RunFactory
) -> None:
    create_shoe("Hoka Clifton 9")
    made = random_runs(runs, 30, datetime(2024, 1, 1, tzinfo=UTC), 40, seed=9)
    made = [replace(run, shoe_id="hoka_clifton_9") for run in made]
    bulk_create_runs(made)
    moment = db_now(raw_conn)
    for run in made[:10]:
        update_run_with_history(run.id, {"distance": 0.1}, changed_by="me")
    then = {
        "totals": stats.get_totals("week", date(2024, 1, 1), date(2024, 2, 15), as_of=moment),
        "rolling": stats.get_rolling_sums(7, date(2024, 1, 1), date(2024, 2, 15), as_of=moment),
        "load": stats.get_training_load(date(2024, 1, 1), date(2024, 2, 15), as_of=moment),
        "records": stats.get_records(as_of=moment),
        "shoes": stats.get_shoe_mileage(as_of=moment),
        "wear": stats.get_shoe_wear(as_of=moment),
    }
    # Every edit is after `moment`, so the log as of then equals a log that never had them.
    raw_conn.execute("TRUNCATE runs, runs_history CASCADE")
    bulk_create_runs(made)
    now = {
        "totals": stats.get_totals("week", date(2024, 1, 1), date(2024, 2, 15)),
        "rolling": stats.get_rolling_sums(7, date(2024, 1, 1), date(2024, 2, 15)),
        "load": stats.get_training_load(date(2024, 1, 1), date(2024, 2, 15)),
        "records": stats.get_records(),
        "shoes": stats.get_shoe_mileage(),
        "wear": stats.get_shoe_wear(),
    }
    for name in ("totals", "rolling", "load", "shoes"):
        assert_close(then[name], now[name])
    assert_close(then["records"].longest_run, now["records"].longest_run)  # type: ignore[union-attr]
    assert then["records"].eddington == now["records"].eddington  # type: ignore[union-attr]
    wear_then, wear_now = then["wear"][0], now["wear"][0]  # type: ignore[index]
    assert (wear_then.used, wear_then.runs) == (wear_now.used, wear_now.runs)


# --- rolling sums -------------------------------------------------------------------------


@pytest.mark.parametrize("window", [1, 7, 28, 365])
def test_rolling_sums_equal_python_and_count_runs_before_the_start(
    db: str, runs: RunFactory, window: int
) -> None:
    made = random_runs(runs, 200, datetime(2023, 1, 1, tzinfo=UTC), 700, seed=window)
    bulk_create_runs(made)
    first, last = date(2024, 1, 1), date(2024, 12, 31)
    got = stats.get_rolling_sums(window, first, last, tz="Europe/Berlin", units="km")
    assert (got.window, got.units, got.tz) == (window, "km", "Europe/Berlin")
    expected = oracle.rolling(made, window, first, last, "Europe/Berlin", per_mile=KM)
    assert [d.date for d in got.days] == [day for day, _ in expected]
    for mine, (_, theirs) in zip(got.days, expected, strict=True):
        assert mine.distance == pytest.approx(theirs, abs=1e-9)


def test_a_rolling_window_over_a_gap_falls_to_exactly_zero(db: str, runs: RunFactory) -> None:
    bulk_create_runs([runs.make(datetime_utc=datetime(2024, 1, 1, 7, tzinfo=UTC), distance=0.1)])
    days = stats.get_rolling_sums(3, date(2024, 1, 1), date(2024, 1, 5)).days
    assert [d.distance for d in days] == [0.1, 0.1, 0.1, 0.0, 0.0]


# --- shoes --------------------------------------------------------------------------------


def test_shoes_as_of_a_time_are_the_shoes_of_then(
    db: str, raw_conn: psycopg.Connection, runs: RunFactory
) -> None:
    # Merged, deleted or retired after `moment`: as of then, each still holds its runs.
    kept, twin, gone = create_shoe("Peg"), create_shoe("Peg 40"), create_shoe("Ghost 15")
    bulk_create_runs(
        [
            runs.make(shoe_id=kept.id, distance=4.0),
            runs.make(shoe_id=twin.id, distance=6.0),
            runs.make(shoe_id=gone.id, distance=5.0),
        ]
    )
    moment = db_now(raw_conn)
    merge_shoe(twin.id, kept.id, changed_by="me")
    delete_shoe_by_id(gone.id)
    retire_shoe_by_id(kept.id, retired_at=date.today() + timedelta(days=2))

    then = {shoe.shoe_id: shoe for shoe in stats.get_shoe_mileage(as_of=moment)}
    assert {shoe_id: shoe.distance for shoe_id, shoe in then.items()} == {
        kept.id: 4.0,
        twin.id: 6.0,
        gone.id: 5.0,
    }
    wear = {shoe.shoe_id: shoe for shoe in stats.get_shoe_wear(as_of=moment)}
    assert {shoe_id: shoe.used for shoe_id, shoe in wear.items()} == {
        kept.id: 4.0,
        twin.id: 6.0,
        gone.id: 5.0,
    }
    assert wear[kept.id].retired_at is None
    assert len(stats.get_shoe_wear(retired=False, as_of=moment)) == 3
    # Now: the merged and the deleted shoe are gone, their runs moved or left out.
    assert {shoe.shoe_id: shoe.distance for shoe in stats.get_shoe_mileage()} == {kept.id: 10.0}


def test_shoe_mileage_per_month_fills_gaps_and_leaves_out_deleted_runs_and_shoes(
    db: str, runs: RunFactory
) -> None:
    for name in ("Hoka Clifton 9", "Brooks Ghost 15", "Nike Pegasus 40", "Old Shoe"):
        create_shoe(name)
    tz = "America/Los_Angeles"
    made = [
        # 2024-01-31 20:00 in Los Angeles is February in UTC: it is January's.
        runs.make(
            shoe_id="hoka_clifton_9", datetime_utc=local(tz, "2024-01-31 20:00"), distance=5.0
        ),
        runs.make(
            shoe_id="hoka_clifton_9", datetime_utc=local(tz, "2024-04-02 07:00"), distance=6.0
        ),
        runs.make(
            shoe_id="hoka_clifton_9", datetime_utc=local(tz, "2024-04-03 07:00"), distance=9.0
        ),
        runs.make(
            shoe_id="brooks_ghost_15", datetime_utc=local(tz, "2024-02-10 07:00"), distance=3.0
        ),
        runs.make(shoe_id="old_shoe", datetime_utc=local(tz, "2024-02-10 07:00"), distance=3.0),
        runs.make(shoe_id=None, distance=4.0),
    ]
    bulk_create_runs(made)
    delete_run(made[2].id, changed_by="me")
    delete_shoe_by_id("old_shoe")
    retire_shoe_by_id("brooks_ghost_15", date(2024, 3, 1))
    shoes = {shoe.shoe_id: shoe for shoe in stats.get_shoe_mileage(tz=tz)}
    assert list(shoes) == ["brooks_ghost_15", "hoka_clifton_9", "nike_pegasus_40"]
    hoka = shoes["hoka_clifton_9"]
    assert (hoka.distance, hoka.runs, hoka.first_used, hoka.last_used) == (
        11.0,
        2,
        date(2024, 1, 31),
        date(2024, 4, 2),
    )
    expected = oracle.shoe_mileage([r for r in made if r.id != made[2].id], "hoka_clifton_9", tz)
    assert [(m.month, m.distance) for m in hoka.months] == [
        (date(2024, 1, 1), expected[date(2024, 1, 1)]),
        (date(2024, 2, 1), 0.0),
        (date(2024, 3, 1), 0.0),
        (date(2024, 4, 1), expected[date(2024, 4, 1)]),
    ]
    unused = shoes["nike_pegasus_40"]
    assert (unused.distance, unused.runs, unused.first_used, unused.months) == (0.0, 0, None, ())
    assert [s.shoe_id for s in stats.get_shoe_mileage(retired=True)] == ["brooks_ghost_15"]
    in_km = {s.shoe_id: s for s in stats.get_shoe_mileage(tz=tz, units="km")}
    assert in_km["hoka_clifton_9"].distance == pytest.approx(11.0 * KM)


def test_shoe_wear_projects_each_threshold_from_the_last_eight_weeks(
    db: str, runs: RunFactory
) -> None:
    from fitness.db.shoes import set_shoe_mileage_limits

    for name in ("Daily Trainer", "Worn Out", "Retired Pair", "Idle Pair"):
        create_shoe(name)
    set_shoe_mileage_limits("daily_trainer", starting_mileage=100.0)
    now = datetime.now(UTC)
    made = [
        runs.make(shoe_id="daily_trainer", datetime_utc=now - timedelta(days=d), distance=5.0)
        for d in (1, 10, 20, 30, 50, 60, 100)
    ] + [
        runs.make(shoe_id="worn_out", datetime_utc=now - timedelta(days=2), distance=420.0),
        runs.make(shoe_id="retired_pair", datetime_utc=now - timedelta(days=3), distance=10.0),
        runs.make(shoe_id="idle_pair", datetime_utc=now - timedelta(days=70), distance=10.0),
    ]
    bulk_create_runs(made)
    retire_shoe_by_id("retired_pair", now.date())
    wear = {w.shoe_id: w for w in stats.get_shoe_wear()}

    daily = wear["daily_trainer"]
    recent = oracle.recent_distance(made, "daily_trainer", now)
    assert recent == 25.0  # five runs in the last 56 days
    assert (daily.run_distance, daily.used, daily.left, daily.recent_distance) == (
        35.0,
        135.0,
        365.0,
        recent,
    )
    assert (daily.starting_mileage, daily.warning_mileage, daily.maximum_mileage) == (100, 300, 500)
    per_day = recent / 56
    assert daily.projected_warning_date == daily.today + timedelta(days=math.ceil(165 / per_day))
    assert daily.projected_maximum_date == daily.today + timedelta(days=math.ceil(365 / per_day))

    worn = wear["worn_out"]
    assert worn.is_past_warning and not worn.is_past_maximum
    assert worn.projected_warning_date is None
    assert worn.projected_maximum_date == worn.today + timedelta(days=math.ceil(80 / (420 / 56)))
    assert wear["retired_pair"].projected_maximum_date is None
    idle = wear["idle_pair"]
    assert (idle.recent_distance, idle.projected_warning_date) == (0.0, None)

    in_km = {w.shoe_id: w for w in stats.get_shoe_wear(units="km")}["daily_trainer"]
    assert in_km.used == pytest.approx(135.0 * KM)
    assert in_km.maximum_mileage == pytest.approx(500 * KM)
    assert in_km.projected_maximum_date == daily.projected_maximum_date


# --- training load ------------------------------------------------------------------------


def assert_load_equal(got: stats.TrainingLoad, expected: list[oracle.Load]) -> None:
    assert [d.date for d in got.days] == [d.date for d in expected]
    for mine, theirs in zip(got.days, expected, strict=True):
        assert mine.trimp == pytest.approx(theirs.trimp, rel=1e-9, abs=1e-9), mine.date
        assert mine.ctl == pytest.approx(theirs.ctl, rel=1e-9, abs=1e-9), mine.date
        assert mine.atl == pytest.approx(theirs.atl, rel=1e-9, abs=1e-9), mine.date
        assert mine.runs_without_heart_rate == theirs.runs_without_heart_rate
        assert mine.tsb == pytest.approx(theirs.ctl - theirs.atl, abs=1e-9)


def test_training_load_equals_the_recurrences_computed_day_by_day(
    db: str, runs: RunFactory
) -> None:
    made = random_runs(runs, 300, datetime(2022, 6, 1, tzinfo=UTC), 900, seed=42)
    bulk_create_runs(made)
    first, last = date(2023, 1, 1), date(2024, 12, 31)
    got = stats.get_training_load(first, last, tz="America/New_York", resting_hr=55, max_hr=185)
    assert (got.resting_hr, got.max_hr) == (55.0, 185.0)
    assert_load_equal(got, oracle.training_load(made, first, last, "America/New_York", 55, 185))


def test_training_load_over_decades_stays_exact(db: str, runs: RunFactory) -> None:
    # Spans of up to ONE_PASS_DAYS are one running sum; longer ones are worked out in
    # EWMA blocks, each day with its own block and the block before. The two meet here:
    # runs in 1975-76 and 1997-99, a gap of twenty years between them.
    made = random_runs(runs, 60, datetime(1975, 1, 1, tzinfo=UTC), 500, seed=1) + random_runs(
        runs, 200, datetime(1997, 6, 1, tzinfo=UTC), 900, seed=2
    )
    bulk_create_runs(made)
    # The span runs from the first run's day.
    one_pass_end = min(run.datetime_utc for run in made).date() + timedelta(
        days=stats.ONE_PASS_DAYS
    )
    # The later runs cross a block's end: a day's load takes in the block before.
    blocks = {
        (day - date(1975, 1, 1)).days // stats.EWMA_BLOCK_DAYS
        for day in (date(1997, 6, 1), date(1999, 11, 1))
    }
    assert len(blocks) == 2
    for first, last in (
        (date(1997, 5, 1), one_pass_end - timedelta(days=1)),  # one pass
        (date(1997, 5, 1), one_pass_end + timedelta(days=2)),  # in blocks
        (date(1999, 1, 1), date(1999, 12, 31)),
        (date(1975, 1, 1), date(1975, 12, 31)),
    ):
        expected = oracle.training_load(made, first, last)
        assert_load_equal(stats.get_training_load(first, last), expected)
    # A range asked from 1900 weighs a span of over a century: zeros until 1975.
    century = stats.get_training_load(date(1900, 1, 1), date(1976, 12, 31))
    assert_load_equal(century, oracle.training_load(made, date(1900, 1, 1), date(1976, 12, 31)))
    assert {d.ctl for d in century.days if d.date < date(1975, 1, 1)} == {0.0}


def test_runs_without_heart_rate_add_no_trimp_and_are_counted(db: str, runs: RunFactory) -> None:
    day = datetime(2024, 3, 1, 7, tzinfo=UTC)
    bulk_create_runs(
        [
            runs.make(datetime_utc=day, duration=3600, avg_heart_rate=None, distance=6.0),
            runs.make(datetime_utc=day + timedelta(hours=8), duration=1800, avg_heart_rate=None),
            runs.make(datetime_utc=day + timedelta(days=1), duration=3600, avg_heart_rate=125.0),
            # At or below resting: no load; above maximum: counted as maximum.
            runs.make(datetime_utc=day + timedelta(days=2), duration=3600, avg_heart_rate=50.0),
            runs.make(datetime_utc=day + timedelta(days=3), duration=600, avg_heart_rate=230.0),
        ]
    )
    days = stats.get_training_load(date(2024, 3, 1), date(2024, 3, 4)).days
    assert [(d.trimp, d.runs_without_heart_rate) for d in days[:1]] == [(0.0, 2)]
    assert days[0].ctl == days[0].atl == 0.0
    assert days[0].acute_chronic_ratio is None
    # 60 minutes at half the reserve (125 between 60 and 190): 60 x 0.5 x 0.64 x e^0.96.
    assert days[1].trimp == pytest.approx(60 * 0.5 * 0.64 * math.exp(0.96))
    assert days[2].trimp == 0.0
    assert days[3].trimp == pytest.approx(10 * 1.0 * 0.64 * math.exp(1.92))
    assert days[1].acute_chronic_ratio == pytest.approx(days[1].atl / days[1].ctl)


def test_weeks_growing_more_than_ten_percent_are_flagged(db: str, runs: RunFactory) -> None:
    def week(monday: date, miles: float) -> Run:
        return runs.make(
            datetime_utc=datetime.combine(monday, datetime.min.time(), UTC), distance=miles
        )

    mondays = [date(2024, 1, 1) + timedelta(weeks=k) for k in range(6)]
    bulk_create_runs(
        [
            week(mondays[0], 10.0),
            week(mondays[1], 11.5),  # +15%: flagged
            week(mondays[2], 12.0),  # +4.3%
            # mondays[3]: nothing
            week(mondays[4], 5.0),  # after an empty week: no growth figure
            week(mondays[5], 5.5),  # exactly +10%: not more than 10%
        ]
    )
    weeks = stats.get_training_load(mondays[0], mondays[5] + timedelta(days=6)).weeks
    assert [(w.start, w.distance, w.previous_distance, w.is_big_increase) for w in weeks] == [
        (mondays[0], 10.0, 0.0, False),
        (mondays[1], 11.5, 10.0, True),
        (mondays[2], 12.0, 11.5, False),
        (mondays[3], 0.0, 12.0, False),
        (mondays[4], 5.0, 0.0, False),
        (mondays[5], 5.5, 5.0, False),
    ]
    assert weeks[1].growth == pytest.approx(0.15)
    assert weeks[4].growth is None


# --- records ------------------------------------------------------------------------------


def test_records_equal_python(db: str, runs: RunFactory) -> None:
    made = random_runs(runs, 250, datetime(2023, 1, 1, tzinfo=UTC), 400, seed=5)
    bulk_create_runs(made)
    tz = "Australia/Sydney"
    records = stats.get_records(tz=tz)
    days = oracle.daily_distance(made, tz)
    longest = max(made, key=lambda run: run.distance)
    assert records.longest_run is not None
    assert (records.longest_run.run_id, records.longest_run.distance) == (
        longest.id,
        longest.distance,
    )
    assert records.eddington.mi == oracle.eddington(days.values())
    assert records.eddington.km == oracle.eddington(d * KM for d in days.values())
    assert records.longest_streak.days == oracle.longest_streak(days)
    weeks = oracle.totals(made, "week", min(days), max(days), tz)
    best_week = max(weeks, key=lambda t: t.distance)
    assert records.longest_week is not None
    assert (records.longest_week.start, records.longest_week.runs) == (
        best_week.start,
        best_week.runs,
    )
    assert records.longest_week.distance == pytest.approx(best_week.distance)
    months = oracle.totals(made, "month", min(days), max(days), tz)
    best_month = max(months, key=lambda t: t.distance)
    assert records.longest_month is not None
    assert records.longest_month.start == best_month.start
    assert [band.band for band in records.fastest] == [
        name for name, miles in stats.DISTANCE_BANDS if oracle.fastest_pace(made, miles)
    ]
    for band in records.fastest:
        best = oracle.fastest_pace(made, band.band_distance)
        assert best is not None
        assert band.run.run_id == best.id
        assert band.run.pace == pytest.approx(best.duration / best.distance)


def test_fastest_pace_takes_runs_within_three_percent_of_the_distance(
    db: str, runs: RunFactory
) -> None:
    five_k = 5 / KM
    bulk_create_runs(
        [
            runs.make(id="strava_1", distance=five_k * 1.02, duration=1500.0),
            runs.make(id="strava_2", distance=five_k * 0.98, duration=1560.0),
            runs.make(id="strava_3", distance=five_k * 0.96, duration=900.0),  # too short
            runs.make(id="strava_4", distance=five_k * 1.05, duration=900.0),  # too long
            runs.make(id="strava_5", distance=26.3, duration=3.5 * 3600),
        ]
    )
    records = stats.get_records(units="km")
    assert [(b.band, b.run.run_id) for b in records.fastest] == [
        ("5 km", "strava_1"),
        ("marathon", "strava_5"),
    ]
    five = records.fastest[0]
    assert five.band_distance == pytest.approx(5.0)
    assert five.run.pace == pytest.approx(1500.0 / (five_k * 1.02 * KM))  # seconds per km


def test_streaks_in_local_days(db: str, runs: RunFactory) -> None:
    tz = "America/New_York"
    today = datetime.now(ZoneInfo(tz)).date()

    def on(day: date, clock: str = "12:00") -> Run:
        return runs.make(datetime_utc=local(tz, f"{day} {clock}"))

    days_ago = [today - timedelta(days=k) for k in range(12)]
    bulk_create_runs(
        [
            # A streak of 5 days that ended yesterday (and none today yet): still current.
            *(on(days_ago[k]) for k in range(1, 6)),
            on(days_ago[1], "06:00"),  # two runs in a day are one day
            # 7 days, longest, ended long ago; 23:30 local is the next day in UTC.
            *(on(date(2020, 1, k), "23:30") for k in range(1, 8)),
        ]
    )
    records = stats.get_records(tz=tz)
    assert records.current_streak == stats.Streak(
        days=5, first_day=days_ago[5], last_day=days_ago[1]
    )
    assert records.longest_streak == stats.Streak(
        days=7, first_day=date(2020, 1, 1), last_day=date(2020, 1, 7)
    )
    # Two days later, with no run since, the streak is over.
    assert (
        stats.get_records(tz=tz, as_of=datetime.now(UTC) + timedelta(days=2)).current_streak.days
        == 0
    )


def test_eddington_counts_days_not_runs_and_both_units(db: str, runs: RunFactory) -> None:
    day = datetime(2024, 1, 1, 7, tzinfo=UTC)
    ten_km = 10 / KM  # 6.2137... miles: a 10 km day must count as 10 km
    distances = [ten_km] * 10 + [3.0, 3.0]
    made = [
        runs.make(datetime_utc=day + timedelta(days=k), distance=d) for k, d in enumerate(distances)
    ]
    made.append(
        runs.make(datetime_utc=day + timedelta(days=10, hours=5), distance=4.0)
    )  # day 10: 7 mi
    bulk_create_runs(made)
    eddington = stats.get_records().eddington
    day_miles = oracle.daily_distance(made).values()
    assert eddington.mi == oracle.eddington(day_miles) == 6
    assert eddington.km == oracle.eddington(d * KM for d in day_miles) == 10


def test_an_empty_log_has_no_records(db: str) -> None:
    records = stats.get_records()
    assert (records.longest_run, records.fastest, records.longest_week) == (None, (), None)
    assert records.current_streak.days == records.longest_streak.days == 0
    assert records.eddington == stats.Eddington(mi=0, km=0)


def test_records_in_km(db: str, runs: RunFactory) -> None:
    bulk_create_runs([runs.make(distance=10.0, duration=4800.0)])
    run = stats.get_records(units="km").longest_run
    assert run is not None
    assert (run.distance, run.pace) == (pytest.approx(10 * KM), pytest.approx(480 / KM))
    week = stats.get_records(units="km").longest_week
    assert week is not None and week.distance == pytest.approx(10 * KM)


# --- parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda: stats.get_totals("fortnight"), "period"),  # type: ignore[arg-type]
        (lambda: stats.get_totals(tz="Mars/Olympus_Mons"), "tz"),
        (lambda: stats.get_totals(tz="../../etc/passwd"), "tz"),
        # Zone files that name no place (the machine's own zone differs between machines).
        (lambda: stats.get_totals(tz="localtime"), "tz"),
        (lambda: stats.get_totals(tz="posixrules"), "tz"),
        (lambda: stats.get_totals(tz="Factory"), "tz"),
        (lambda: stats.get_totals(tz="x" * 500), "tz"),
        (lambda: stats.get_totals(units="furlongs"), "units"),  # type: ignore[arg-type]
        (lambda: stats.get_totals(week_start="friday"), "week_start"),  # type: ignore[arg-type]
        (lambda: stats.get_totals(start=date(2024, 2, 1), end=date(2024, 1, 1)), "end"),
        (lambda: stats.get_totals("day", date(1900, 1, 1), date(2199, 1, 1)), "end"),
        (lambda: stats.get_totals(start=date(1066, 10, 14)), "start"),
        (lambda: stats.get_totals(start=datetime(2024, 1, 1, tzinfo=UTC)), "start"),
        (lambda: stats.get_records(as_of=datetime(2024, 1, 1)), "as_of"),
        (lambda: stats.get_rolling_sums(0), "window"),
        (lambda: stats.get_rolling_sums(100_000), "window"),
        (lambda: stats.get_rolling_sums(7.5), "window"),  # type: ignore[arg-type]
        (lambda: stats.get_training_load(resting_hr=190, max_hr=60), "heart_rate"),
        (lambda: stats.get_training_load(max_hr=math.nan), "heart_rate"),
    ],
)
def test_bad_parameters_are_named(db: str, call: object, parameter: str) -> None:
    with pytest.raises(InvalidParameters) as caught:
        call()  # type: ignore[operator]
    assert parameter in caught.value.errors
    assert str(caught.value).startswith("invalid parameters: ")
