"""Statistics of the log, each computed by ONE SQL statement: totals, rolling sums, shoes,
training load and records, over the log as it is or, with `as_of`, as it stood then.

Every statement starts from the same CTE, `counted` (the runs that count: not deleted, not
marked a duplicate of another run), read
from `runs` or, with `as_of`, from each run's newest snapshot in `runs_history` at that
time. Totals, rolling sums and training load take `sport`: with `ride` or `all` the CTE
holds the rides that count (not deleted; from `rides`, or with `as_of` from
`rides_history`) instead of or beside the runs. Local days are the runner's: `tz` (an
IANA zone, default `FITNESS_TIMEZONE`). Distances are miles inside and come out in
`units` (`mi` or `km`, default `FITNESS_UNITS`); durations are seconds; paces are seconds
per mile or kilometre.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any, Final, cast
from zoneinfo import ZoneInfo

import psycopg
from psycopg import Connection
from psycopg.rows import Row, RowFactory, class_row, dict_row, tuple_row

from fitness.config import get_settings
from fitness.db._rows import model_maker, model_row
from fitness.db.connection import connection, retry_on_disconnect
from fitness.errors import InvalidParameters
from fitness.models import ShoeWithWear
from fitness.rules import (
    EARLIEST_STATS_DAY,
    KM_PER_MILE,
    LATEST_DAY,
    MAX_HEART_RATE,
    MAX_ROLLING_WINDOW_DAYS,
    MAX_STATS_RANGE_DAYS,
    MIN_HEART_RATE,
    a_moment_of_the_log,
    is_zone_name,
)
from fitness.stats_models import (
    PERIODS,
    SPORTS,
    UNITS,
    WEEK_STARTS,
    BandRecord,
    Eddington,
    LoadDay,
    LoadWeek,
    Period,
    PeriodRecord,
    PeriodTotal,
    RaceBest,
    RaceProgression,
    Records,
    RollingDay,
    RollingSums,
    RunRecord,
    ShoeMileage,
    ShoeMonth,
    ShoeWear,
    Sport,
    Streak,
    Totals,
    TrainingLoad,
    Units,
    WeekStart,
)

# Bounds on what a caller may ask for (fitness.rules, which the API's queries use too): a
# century of days, windows up to ten years.
EARLIEST_DATE: Final = EARLIEST_STATS_DAY
LATEST_DATE: Final = LATEST_DAY
MAX_RANGE_DAYS: Final = MAX_STATS_RANGE_DAYS
MAX_WINDOW_DAYS: Final = MAX_ROLLING_WINDOW_DAYS

# Fastest pace over distance bands: a run counts for a band when its distance is within
# BAND_TOLERANCE of the band's either way, because GPS measures a certified course 1-3% long
# or short.
DISTANCE_BANDS: Final = (
    ("5 km", 5 / KM_PER_MILE),
    ("10 km", 10 / KM_PER_MILE),
    ("half marathon", 21.0975 / KM_PER_MILE),
    ("marathon", 42.195 / KM_PER_MILE),
)
BAND_TOLERANCE: Final = 0.03

# Shoe wear is projected from the distance of the last 8 weeks.
RECENT_WEAR_DAYS: Final = 56
# A projection further out than this is no projection (and would overflow a date).
MAX_PROJECTION_DAYS: Final = 36_500

# Banister's TRIMP (Morton, Fitz-Clarke & Banister 1990, "Modeling human performance in
# running", J Appl Physiol 69:1171): minutes x HRr x a x e^(b x HRr), with HRr the fraction
# of the heart-rate reserve, (avg - resting) / (max - resting), and a, b fitted to the
# blood-lactate response of men (0.64, 1.92) and of women (0.86, 1.67); FITNESS_TRIMP_SEX
# chooses, default male.
TRIMP_COEFFICIENTS: Final = {"male": (0.64, 1.92), "female": (0.86, 1.67)}
# Chronic and acute training load: exponentially weighted averages of daily TRIMP with the
# time constants of Banister's fitness-fatigue model as used by Coggan's Performance
# Manager, 42 and 7 days: load_t = load_(t-1) x e^(-1/tau) + TRIMP_t x (1 - e^(-1/tau)).
CTL_DAYS: Final = 42
ATL_DAYS: Final = 7
# The closed form of that recurrence is one running sum over spans of up to this many days
# (see _TRAINING_LOAD) ...
ONE_PASS_DAYS: Final = 9_000
# ... and over longer ones, in blocks of this many days, each day with the block before
# it: what that leaves out weighs at most e^-40.
EWMA_BLOCK_DAYS: Final = 40 * CTL_DAYS
TRIMP_FLOOR: Final = 1e-9
# A week whose distance grew by more than this over the week before is flagged.
WEEKLY_GROWTH_LIMIT: Final = 0.10
# Eddington days are compared with this relative slack, so that a day of exactly 10 km
# stored as 6.21371... miles still counts as 10 km.
EDDINGTON_SLACK: Final = 1e-9


# The runs that count toward every statistic, ONE fragment for all of them. `{runs}` is
# `runs` itself or, with as_of, each run's newest snapshot at that time with the time it was
# deleted (a run imported after as_of has no snapshot yet, so it is absent). A run marked a
# duplicate of another counts once, as the run it is a duplicate of. With `sport` `ride` or
# `all`, `{runs}` is the rides (or runs and rides) in the same columns: rides have no
# duplicates, shoes or races, so those are NULL and every ride not deleted counts.
_COUNTED: Final = """
counted AS {materialized} (
    SELECT run.id, run.datetime_utc, run.distance, run.duration, run.avg_heart_rate,
           run.shoe_id, run.race_name, run.race_distance, run.race_time
    FROM {runs} AS run
    WHERE run.deleted_at IS NULL
      AND run.duplicate_of IS NULL
)"""
_RUNS_NOW: Final = "runs"
_RUNS_AS_OF: Final = """(
        SELECT DISTINCT ON (h.run_id)
               h.run_id AS id, h.datetime_utc, h.distance, h.duration, h.avg_heart_rate,
               h.shoe_id, h.duplicate_of, h.race_name, h.race_distance, h.race_time,
               CASE WHEN h.change_type = 'deletion' THEN h.changed_at END AS deleted_at
        FROM runs_history AS h
        WHERE h.changed_at <= %(as_of)s
        ORDER BY h.run_id, h.version_number DESC
    )"""
# The rides in the columns of _RUNS_AS_OF, now and as of a time (from rides_history).
_RIDE_ONLY_COLUMNS: Final = """NULL::text AS shoe_id, NULL::text AS duplicate_of,
               NULL::text AS race_name, NULL::float8 AS race_distance,
               NULL::float8 AS race_time"""
_RIDES_NOW: Final = f"""(
        SELECT r.id, r.datetime_utc, r.distance, r.duration, r.avg_heart_rate,
               {_RIDE_ONLY_COLUMNS}, r.deleted_at
        FROM rides AS r
    )"""
_RIDES_AS_OF: Final = f"""(
        SELECT DISTINCT ON (h.ride_id)
               h.ride_id AS id, h.datetime_utc, h.distance, h.duration, h.avg_heart_rate,
               {_RIDE_ONLY_COLUMNS},
               CASE WHEN h.change_type = 'deletion' THEN h.changed_at END AS deleted_at
        FROM rides_history AS h
        WHERE h.changed_at <= %(as_of)s
        ORDER BY h.ride_id, h.version_number DESC
    )"""
# Runs and rides: neither arm has a WHERE, so PostgreSQL pulls both up into one append of
# the two tables and the conditions on `run` become each table's own (index ranges).
_RUNS_AND_RIDES: Final = """(
        SELECT r.id, r.datetime_utc, r.distance, r.duration, r.avg_heart_rate,
               r.shoe_id, r.duplicate_of, r.race_name, r.race_distance, r.race_time,
               r.deleted_at
        FROM {runs} AS r
        UNION ALL
        SELECT * FROM {rides} AS r
    )"""


def _counted(sport: Sport, *, as_of: bool, materialized: str) -> str:
    """The CTE `counted` for `sport`: the runs (`run`), the rides (`ride`) or both (`all`),
    now or as of %(as_of)s."""
    runs, rides = (_RUNS_AS_OF, _RIDES_AS_OF) if as_of else (_RUNS_NOW, _RIDES_NOW)
    activities = {
        "run": runs,
        "ride": rides,
        "all": _RUNS_AND_RIDES.format(runs=runs, rides=rides),
    }[sport]
    return _COUNTED.format(runs=activities, materialized=materialized)


@dataclass(frozen=True, slots=True)
class _Statement:
    """One statistic's SQL by (sport, as of a time or not): over the current runs and over
    the runs as of a time, and for a statistic taking `sports`, over rides and both too."""

    texts: dict[tuple[Sport, bool], str]

    @classmethod
    def of(
        cls,
        body: str,
        as_of_body: str | None = None,
        *,
        sports: tuple[Sport, ...] = ("run",),
    ) -> _Statement:
        """The statement `body` over `counted`, with `as_of_body` instead over a snapshot
        when what is cheap over `runs` (index ranges and lookups) is not over a snapshot;
        `as_of_body` reads `counted` once. One text for each of `sports`."""
        # `runs` is inlined into each use, so that a range becomes an index scan and a
        # minimum an index lookup; the snapshots are worked out once.
        texts: dict[tuple[Sport, bool], str] = {}
        for sport in sports:
            texts[sport, False] = (
                "WITH " + _counted(sport, as_of=False, materialized="NOT MATERIALIZED") + body
            )
            texts[sport, True] = "WITH " + (
                _counted(sport, as_of=True, materialized="MATERIALIZED") + body
                if as_of_body is None
                # Read once: streamed into its one use rather than stored first.
                else _counted(sport, as_of=True, materialized="NOT MATERIALIZED") + as_of_body
            )
        return cls(texts=texts)


def _local_day(instant: str) -> str:
    """SQL: the runner's local day of the timestamptz `instant`."""
    return f"({instant} AT TIME ZONE %(tz)s)::date"


def _period_start(day: str) -> str:
    """SQL: the first local day of the %(period)s holding the date `day`.

    Weeks start on %(week_start_isodow)s (1 Monday, 7 Sunday): a day's ISO weekday less
    one is its distance in days from Monday 2000-01-03, modulo 7 (integer arithmetic,
    several times cheaper than `date_part` a row). `date_trunc` gets a `timestamp` so
    that the session's time zone plays no part.
    """
    return f"""CASE %(period)s
            WHEN 'day' THEN {day}
            WHEN 'week' THEN {day} - (({day} - DATE '2000-01-03' - %(week_start_isodow)s + 1)
                                      %% 7 + 7) %% 7
            WHEN 'month' THEN date_trunc('month', {day}::timestamp)::date
            ELSE date_trunc('year', {day}::timestamp)::date
        END"""


def _runs_in_scan(columns: str) -> str:
    """SQL: `columns` (over `c`) of the counted runs between the CTE `scan`'s `from_utc` and
    `to_utc`, in two arms of which only one runs (each is gated on `scan.whole`, worked out
    first). When the range holds every run, a sequential scan of them: the statement is
    planned once for every range (a prepared statement's generic plan), and a range scan
    of the index over the whole table costs a fifth of the statement."""
    return f"""SELECT {columns}
        FROM counted AS c
        WHERE (SELECT s.whole FROM scan AS s)
        UNION ALL
        SELECT {columns}
        FROM counted AS c, scan AS s
        WHERE NOT s.whole
          AND c.datetime_utc >= s.from_utc AND c.datetime_utc < s.to_utc"""


def _scan(from_utc: str, to_utc: str, tables: str = "bounds AS b") -> str:
    """SQL: the CTE `scan` of the UTC instants `from_utc` and `to_utc` (expressions over
    `tables`, which include `bounds AS b`), worked out once rather than for every run;
    `whole` when they hold every counted run. UTC offsets lie within -12 and +14 hours, so
    the runs of local days are within their UTC days widened by one."""
    return f""",
scan AS MATERIALIZED (
    SELECT s.from_utc, s.to_utc,
           s.from_utc <= s.first_run_at AND s.to_utc > s.last_run_at AS whole
    FROM (SELECT {from_utc} AS from_utc, {to_utc} AS to_utc, b.first_run_at, b.last_run_at
          FROM {tables}) AS s
)"""


# The range asked for, or by default from the first counted run to today (or to the last
# run, if it is dated later).
_BOUNDS: Final = f""",
bounds AS (
    SELECT coalesce(%(first_day)s::date, {_local_day("min(c.datetime_utc)")}) AS first_day,
           coalesce(%(last_day)s::date,
                    greatest({_local_day("max(c.datetime_utc)")}, %(today)s::date)) AS last_day,
           {_local_day("min(c.datetime_utc)")} AS first_run_day,
           min(c.datetime_utc) AS first_run_at, max(c.datetime_utc) AS last_run_at
    FROM counted AS c
)"""

_TOTALS_SPAN: Final = f""",
span AS (
    SELECT {_period_start("b.first_day")} AS first_start,
           {_period_start("b.last_day")} AS last_start
    FROM bounds AS b
)"""
_TOTALS_DAYS: Final = f"""
    SELECT {_local_day("c.datetime_utc")} AS day,
           sum(c.distance) AS distance, sum(c.duration) AS duration, count(*) AS runs
    FROM counted AS c"""
# `in_periods` holds each period's sums, one row per period with runs.
_TOTALS_PERIODS: Final = """,
periods AS (
    SELECT p.start::date AS start
    FROM span AS s,
         generate_series(s.first_start::timestamp, s.last_start::timestamp,
                         %(step)s::interval) AS p (start)
)
SELECT p.start,
       coalesce(i.distance, 0) * %(per_mile)s AS distance,
       coalesce(i.duration, 0) AS duration,
       coalesce(i.runs, 0)::int AS runs,
       i.duration / nullif(i.distance * %(per_mile)s, 0) AS pace
FROM periods AS p
LEFT JOIN in_periods AS i ON i.start = p.start
ORDER BY p.start
"""

_TOTALS = _Statement.of(
    _BOUNDS
    + _TOTALS_SPAN
    # The runs of the span's UTC days widened by one (a short span stays an index range
    # scan); the exact test is the join on the local day's period below.
    + _scan(
        "(p.first_start - 1)::timestamp AT TIME ZONE 'UTC'",
        "(p.last_start + %(step)s::interval + interval '1 day') AT TIME ZONE 'UTC'",
        "bounds AS b, span AS p",
    )
    + f""",
in_periods AS (
    -- Summed by period straight from the runs: a day's sums first would be a second
    -- aggregate over every day with runs.
    SELECT {_period_start("r.day")} AS start, sum(r.distance) AS distance,
           sum(r.duration) AS duration, count(*) AS runs
    FROM ({_runs_in_scan(_local_day("c.datetime_utc") + " AS day, c.distance, c.duration")}
    ) AS r
    GROUP BY 1
)"""
    + _TOTALS_PERIODS,
    # A snapshot has no index: its days are summed in one pass, and the bounds taken from
    # them (a local day's order is its instant's) instead of a second pass over its runs;
    # the join with the periods leaves out the days outside them.
    as_of_body=f""",
days AS MATERIALIZED ({_TOTALS_DAYS}
    GROUP BY 1
),
bounds AS (
    SELECT coalesce(%(first_day)s::date, min(d.day)) AS first_day,
           coalesce(%(last_day)s::date, greatest(max(d.day), %(today)s::date)) AS last_day
    FROM days AS d
)"""
    + _TOTALS_SPAN
    + f""",
in_periods AS (
    SELECT {_period_start("d.day")} AS start, sum(d.distance) AS distance,
           sum(d.duration) AS duration, sum(d.runs) AS runs
    FROM days AS d
    GROUP BY 1
)"""
    + _TOTALS_PERIODS,
    sports=SPORTS,
)

_PERIOD_STEPS: Final = {"day": "1 day", "week": "7 days", "month": "1 month", "year": "1 year"}


@retry_on_disconnect
def get_totals(
    period: Period = "week",
    start: date | None = None,
    end: date | None = None,
    *,
    tz: str | None = None,
    week_start: WeekStart | None = None,
    units: Units | None = None,
    as_of: datetime | None = None,
    sport: Sport = "run",
    conn: Connection | None = None,
) -> Totals:
    """Distance, duration, run count and pace per day, week, month or year.

    `sport` chooses what counts: `run` (the default), `ride` (rides not deleted; with
    `as_of`, each ride's newest version then) or `all` (both); `runs` then counts rides.

    Every period from the one holding `start` to the one holding `end` is present, empty
    ones as zeros (pace None); each `PeriodTotal.start` is the period's first local day, and
    a period counts all of its days even when `start` or `end` fall inside it. Without
    `start`, the first counted run's day; without `end`, today (in `tz`; the day of `as_of`
    with it) or the last run's day if later. An empty log without `start` has no periods.
    Bad parameters raise `InvalidParameters`.

    >>> [(t.start, round(t.distance, 1)) for t in get_totals("month", date(2025, 1, 1),
    ...     date(2025, 2, 28), tz="Europe/Berlin").totals]   # doctest: +SKIP
    [(datetime.date(2025, 1, 1), 84.2), (datetime.date(2025, 2, 1), 0.0)]
    """
    if period not in PERIODS:
        raise InvalidParameters({"period": f"must be one of {', '.join(PERIODS)}"})
    options = _options(tz=tz, units=units, week_start=week_start, as_of=as_of, sport=sport)
    params = options.params(first_day=start, last_day=end)
    params |= {"period": period, "step": _PERIOD_STEPS[period]}
    rows = _fetch(_TOTALS, params, options, conn, model_row(PeriodTotal))
    return Totals(
        period=period,
        sport=options.sport,
        units=options.units,
        tz=options.tz,
        week_start=options.week_start,
        totals=tuple(rows),
    )


_ROLLING = _Statement.of(
    _BOUNDS
    + _scan(
        "(b.first_day - %(window)s)::timestamp AT TIME ZONE 'UTC'",
        "(b.last_day + 2)::timestamp AT TIME ZONE 'UTC'",
    )
    + f""",
days AS (
    -- Every day of the calendar (the window before first_day, then first_day to last_day)
    -- is a zero added to the days of the runs, in the one hash aggregate that sums them:
    -- cheaper than sorting a generated calendar and joining the days to it. A run's day
    -- outside the calendar (the widened UTC range reaches a day beyond it either way) is a
    -- row before the calendar's first or after its last, so it is in no window of a day
    -- shown (the calendar has no gaps) and is not shown itself.
    SELECT a.day, sum(a.distance) AS distance
    FROM (
        {_runs_in_scan(_local_day("c.datetime_utc") + " AS day, c.distance")}
        UNION ALL
        SELECT b.first_day - %(window)s + 1 + s.i, 0
        FROM bounds AS b, generate_series(0, b.last_day - b.first_day + %(window)s - 1) AS s (i)
    ) AS a
    GROUP BY a.day
),
rolled AS (
    -- A window's sum is the running total at its last day less the one the day before its
    -- first: running totals cost PostgreSQL a fifth of a moving frame a row. Both are the
    -- same additions in the same order, so the difference carries only the rounding of
    -- the additions inside the window (a window without runs is exactly 0), which
    -- rounding to a billionth of a mile takes away (0.1 + 0.2 is 0.3).
    SELECT d.day,
           round((sum(d.distance) OVER (ORDER BY d.day ROWS UNBOUNDED PRECEDING)
                  - coalesce(sum(d.distance) OVER (
                        ORDER BY d.day ROWS BETWEEN UNBOUNDED PRECEDING AND %(window)s PRECEDING
                    ), 0))
                 * 1e9::float8) / 1e9::float8 AS distance
    FROM days AS d
)
SELECT r.day AS date, r.distance * %(per_mile)s AS distance
FROM rolled AS r
-- Scalar subqueries: constants for the filter, not a join each row.
WHERE r.day BETWEEN (SELECT b.first_day FROM bounds AS b) AND (SELECT b.last_day FROM bounds AS b)
ORDER BY r.day
""",
    sports=SPORTS,
)


@retry_on_disconnect
def get_rolling_sums(
    window: int = 7,
    start: date | None = None,
    end: date | None = None,
    *,
    tz: str | None = None,
    units: Units | None = None,
    as_of: datetime | None = None,
    sport: Sport = "run",
    conn: Connection | None = None,
) -> RollingSums:
    """For every local day from `start` to `end`, the distance of the `window` days ending
    with it (1 to 3,660 days: 7, 28 and 365 are the usual ones).

    Defaults for `start` and `end` and what `sport` counts (`run`, `ride` or `all`) as in
    `get_totals`; runs before `start` count toward the first days' windows. Bad parameters
    raise `InvalidParameters`.

    >>> get_rolling_sums(7, date(2025, 3, 1), date(2025, 3, 1)).days   # doctest: +SKIP
    (RollingDay(date=datetime.date(2025, 3, 1), distance=31.4),)
    """
    if not isinstance(window, int) or isinstance(window, bool):
        raise InvalidParameters({"window": "must be a whole number of days"})
    if not 1 <= window <= MAX_WINDOW_DAYS:
        raise InvalidParameters({"window": f"must be from 1 to {MAX_WINDOW_DAYS:,} days"})
    options = _options(tz=tz, units=units, as_of=as_of, sport=sport)
    params = options.params(first_day=start, last_day=end)
    params |= {"window": window}
    rows = _fetch(_ROLLING, params, options, conn, model_row(RollingDay))
    return RollingSums(
        window=window,
        sport=options.sport,
        units=options.units,
        tz=options.tz,
        days=tuple(rows),
    )


# The shoes as they stood at %(as_of)s: created by then and not deleted yet (a shoe merged
# away since still holds its runs of then), retired if retired by its day. Shoes keep no
# history: their names, limits and starting mileages are today's.
_SHOE_THEN: Final = """(%(as_of)s::timestamptz IS NULL AND s.deleted_at IS NULL
           OR s.created_at <= %(as_of)s::timestamptz
              AND (s.deleted_at IS NULL OR s.deleted_at > %(as_of)s::timestamptz))"""
_RETIRED_THEN: Final = """CASE WHEN %(as_of)s::timestamptz IS NULL
                 OR s.retired_at <= %(today)s::date THEN s.retired_at END"""

_SHOE_MILEAGE = _Statement.of(
    f""",
used AS (
    SELECT c.shoe_id,
           date_trunc('month', c.datetime_utc AT TIME ZONE %(tz)s)::date AS month,
           sum(c.distance) AS distance, count(*) AS runs,
           min(c.datetime_utc) AS first_at, max(c.datetime_utc) AS last_at
    FROM counted AS c
    WHERE c.shoe_id IS NOT NULL
    GROUP BY 1, 2
),
spans AS (
    SELECT u.shoe_id, min(u.month) AS first_month, max(u.month) AS last_month,
           sum(u.distance) AS distance, sum(u.runs) AS runs,
           min(u.first_at) AS first_at, max(u.last_at) AS last_at
    FROM used AS u
    GROUP BY u.shoe_id
)
SELECT s.id AS shoe_id, s.name, {_RETIRED_THEN} AS retired_at,
       coalesce(sp.distance, 0) * %(per_mile)s AS distance,
       coalesce(sp.runs, 0)::int AS runs,
       {_local_day("sp.first_at")} AS first_used,
       {_local_day("sp.last_at")} AS last_used,
       m.month::date AS month,
       coalesce(u.distance, 0) * %(per_mile)s AS month_distance,
       coalesce(u.runs, 0)::int AS month_runs
FROM shoes AS s
LEFT JOIN spans AS sp ON sp.shoe_id = s.id
LEFT JOIN LATERAL generate_series(sp.first_month::timestamp, sp.last_month::timestamp,
                                  interval '1 month') AS m (month) ON true
LEFT JOIN used AS u ON u.shoe_id = s.id AND u.month = m.month::date
WHERE {_SHOE_THEN}
  AND (%(retired)s::boolean IS NULL OR ({_RETIRED_THEN} IS NOT NULL) = %(retired)s::boolean)
ORDER BY s.name, m.month
"""
)


@retry_on_disconnect
def get_shoe_mileage(
    retired: bool | None = None,
    *,
    tz: str | None = None,
    units: Units | None = None,
    as_of: datetime | None = None,
    conn: Connection | None = None,
) -> list[ShoeMileage]:
    """Each shoe's distance, runs, first and last day of use, and distance per local month
    (every month from its first use to its last, gaps as zeros), ordered by name.

    `retired=True/False` keeps only retired/active shoes; deleted shoes are left out. With
    `as_of`, the shoes of then: created by then and not yet deleted or merged away, retired
    if retired by its day (shoes keep no history: names, limits and starting mileages are
    today's). Bad parameters raise `InvalidParameters`.

    >>> [(s.name, s.runs) for s in get_shoe_mileage(retired=False)]   # doctest: +SKIP
    [('Hoka Clifton 9', 112)]
    """
    options = _options(tz=tz, units=units, as_of=as_of)
    params = options.params() | {"retired": retired}
    rows = _fetch(_SHOE_MILEAGE, params, options, conn)
    shoes: list[ShoeMileage] = []
    for _, group in groupby(rows, key=lambda row: row["shoe_id"]):
        months = list(group)
        first = months[0]
        shoes.append(
            ShoeMileage(
                shoe_id=first["shoe_id"],
                name=first["name"],
                retired_at=first["retired_at"],
                distance=first["distance"],
                runs=first["runs"],
                first_used=first["first_used"],
                last_used=first["last_used"],
                months=tuple(
                    ShoeMonth(
                        month=row["month"], distance=row["month_distance"], runs=row["month_runs"]
                    )
                    for row in months
                    if row["month"] is not None
                ),
            )
        )
    return shoes


# A shoe's former names (fitness.db.shoes.rename_shoe), oldest first, for the shoe whose id
# is the column `{shoe}`: part of every shoe the API answers.
FORMER_NAMES: Final = """ARRAY(
           SELECT n.name
           FROM shoe_names AS n
           WHERE n.shoe_id = {shoe}
           ORDER BY n.created_at, n.name
       ) AS former_names"""

# Shoe wear, written once and selected two ways: as `ShoeWear` (the statistic, in any unit)
# and as `ShoeWithWear` (the shoes API: the shoe's own columns too, in miles).
_SHOE_WEAR_BODY: Final = f""",
worn AS (
    -- Rounded to a billionth of a mile, so float addition's noise goes (0.1 added 791
    -- times is 79.10000000000001): a numeric sum would do it too, at 5x the cost per run.
    SELECT c.shoe_id, round(sum(c.distance)::numeric, 9)::float8 AS distance,
           count(*) AS runs,
           coalesce(sum(c.distance) FILTER (WHERE c.datetime_utc > %(recent_since)s), 0)
               AS recent
    FROM counted AS c
    WHERE c.shoe_id IS NOT NULL
      AND (%(shoe_id)s::text IS NULL OR c.shoe_id = %(shoe_id)s::text)
    GROUP BY c.shoe_id
),
wear AS (
    SELECT s.id AS shoe_id, s.name, {_RETIRED_THEN} AS retired_at, s.notes,
           s.retirement_notes, s.deleted_at,
           s.created_at, s.updated_at, s.starting_mileage, s.warning_mileage,
           s.maximum_mileage,
           coalesce(w.distance, 0) AS run_distance,
           coalesce(w.runs, 0)::int AS runs,
           s.starting_mileage + coalesce(w.distance, 0) AS used,
           coalesce(w.recent, 0) AS recent
    FROM shoes AS s
    LEFT JOIN worn AS w ON w.shoe_id = s.id
    WHERE {_SHOE_THEN}
      AND (%(shoe_id)s::text IS NULL OR s.id = %(shoe_id)s::text)
      AND (%(retired)s::boolean IS NULL OR ({_RETIRED_THEN} IS NOT NULL) = %(retired)s::boolean)
),
to_go AS (
    SELECT w.*,
           -- Days until each threshold at the recent rate: only for a shoe in use, with
           -- recent use and the threshold still ahead.
           CASE WHEN w.retired_at IS NULL AND w.recent > 0 AND w.used < w.warning_mileage
                THEN ceil((w.warning_mileage - w.used) / (w.recent / %(recent_days)s))
           END AS warning_in_days,
           CASE WHEN w.retired_at IS NULL AND w.recent > 0 AND w.used < w.maximum_mileage
                THEN ceil((w.maximum_mileage - w.used) / (w.recent / %(recent_days)s))
           END AS maximum_in_days
    FROM wear AS w
),
projected AS (
    SELECT t.*,
           CASE WHEN t.warning_in_days <= %(max_projection_days)s
                THEN %(today)s::date + t.warning_in_days::int END AS projected_warning_date,
           CASE WHEN t.maximum_in_days <= %(max_projection_days)s
                THEN %(today)s::date + t.maximum_in_days::int END AS projected_maximum_date
    FROM to_go AS t
)
SELECT {{columns}}
FROM projected AS p
ORDER BY p.name
"""

_SHOE_WEAR = _Statement.of(
    _SHOE_WEAR_BODY.format(
        columns="""p.shoe_id, p.name, p.retired_at,
       p.starting_mileage * %(per_mile)s AS starting_mileage,
       p.warning_mileage * %(per_mile)s AS warning_mileage,
       p.maximum_mileage * %(per_mile)s AS maximum_mileage,
       p.run_distance * %(per_mile)s AS run_distance,
       p.runs,
       p.used * %(per_mile)s AS used,
       (p.maximum_mileage - p.used) * %(per_mile)s AS "left",
       p.recent * %(per_mile)s AS recent_distance,
       %(today)s::date AS today,
       p.projected_warning_date, p.projected_maximum_date"""
    )
)

_SHOES_WITH_WEAR = _Statement.of(
    _SHOE_WEAR_BODY.format(
        columns="""p.shoe_id AS id, p.name, p.retired_at, p.notes, p.retirement_notes,
       p.deleted_at, p.created_at, p.updated_at,
       p.run_distance AS mileage, p.runs AS run_count,
       p.starting_mileage, p.warning_mileage, p.maximum_mileage,
       p.used AS miles_used, p.maximum_mileage - p.used AS miles_left,
       p.recent AS recent_miles,
       p.projected_warning_date, p.projected_maximum_date,
       """
        + FORMER_NAMES.format(shoe="p.shoe_id")
    )
)


@retry_on_disconnect
def get_shoe_wear(
    retired: bool | None = None,
    *,
    tz: str | None = None,
    units: Units | None = None,
    as_of: datetime | None = None,
    conn: Connection | None = None,
) -> list[ShoeWear]:
    """Each shoe's miles used (starting mileage + its runs), miles left before its maximum,
    and the projected days of reaching its warning and maximum mileages, by name.

    The projection divides the distance still to go by the shoe's rate over the last 8
    weeks (the 56 days up to now, or up to `as_of`) and counts from today in `tz`. It is
    None for a retired shoe, a shoe without runs in those weeks, a threshold already
    passed, or one more than a century away. Thresholds are the shoe's own (see
    `fitness.db.shoes.set_shoe_mileage_limits`); `retired` and `as_of` filter shoes as in
    `get_shoe_mileage`. Bad parameters raise `InvalidParameters`.

    >>> [(w.name, w.projected_maximum_date) for w in get_shoe_wear()]   # doctest: +SKIP
    [('Hoka Clifton 9', datetime.date(2026, 3, 14))]
    """
    options = _options(tz=tz, units=units, as_of=as_of)
    params = _wear_params(options, retired=retired, shoe_id=None)
    return _fetch(_SHOE_WEAR, params, options, conn, model_row(ShoeWear))


@retry_on_disconnect
def get_shoes_with_wear(
    retired: bool | None = None,
    *,
    tz: str | None = None,
    conn: Connection | None = None,
) -> list[ShoeWithWear]:
    """The shoes (not deleted) by name, each with its mileage, limits and wear, in miles:
    what `GET /shoes` answers.

    The same statement as `get_shoe_wear` (so the two never disagree): `mileage` is the
    runs' distance, `miles_used` adds the starting mileage, `miles_left` is what remains
    before the maximum (below zero once past it), `recent_miles` the last 8 weeks', and the
    projected dates are as `get_shoe_wear`'s, counted from today in `tz` (default
    FITNESS_TIMEZONE). `retired=True/False` keeps only retired/active shoes.

    >>> [(s.id, s.miles_left) for s in get_shoes_with_wear(retired=False)]   # doctest: +SKIP
    [('hoka_clifton_9', 212.4)]
    """
    options = _options(tz=tz, units="mi", as_of=None)
    params = _wear_params(options, retired=retired, shoe_id=None)
    return _fetch(_SHOES_WITH_WEAR, params, options, conn, class_row(ShoeWithWear))


@retry_on_disconnect
def get_shoe_with_wear_by_id(
    shoe_id: str, *, tz: str | None = None, conn: Connection | None = None
) -> ShoeWithWear | None:
    """The shoe `shoe_id` as `get_shoes_with_wear` shows it, or None if there is no such
    shoe or it is deleted."""
    options = _options(tz=tz, units="mi", as_of=None)
    params = _wear_params(options, retired=None, shoe_id=shoe_id)
    rows = _fetch(_SHOES_WITH_WEAR, params, options, conn, class_row(ShoeWithWear))
    return rows[0] if rows else None


def _wear_params(
    options: _Options, *, retired: bool | None, shoe_id: str | None
) -> dict[str, object]:
    return options.params() | {
        "retired": retired,
        "shoe_id": shoe_id,
        "recent_since": options.moment - timedelta(days=RECENT_WEAR_DAYS),
        "recent_days": float(RECENT_WEAR_DAYS),
        "max_projection_days": MAX_PROJECTION_DAYS,
    }


# Daily TRIMP, then CTL and ATL. The recurrence load_t = d x load_(t-1) + (1 - d) x x_t
# (d = e^(-1/tau), load 0 before the first run) has the closed form
#     load_t = (1 - d) x sum over days i <= t of x_i x e^(-(t - i)/tau),
# which a running sum computes in one window pass once each x_i is weighed relative to a
# fixed day m: load_t = (1 - d) x e^((m - t)/tau) x [sum of x_i e^((i - m)/tau), i <= t].
# A double holds e^(+-709) at most, so that works while the span is at most
# ONE_PASS_DAYS (m its middle day: e^(4,500/7) and a day's TRIMP stay far within range).
# A longer span (the log from 1970, or a range asked from 1900) is cut into blocks of B
# days, and day i of block k = i / B is weighed relative to the block's last day
# e_k = kB + B - 1:
#     load_t = (1 - d) x (e^((e_k - t)/tau) x [sum of x_i e^((i - e_k)/tau) in k up to t]
#                         + e^(-(t - e_(k-1))/tau) x [the same sum over all of block k - 1]).
# The first sum runs within the block (PARTITION BY), the second over the block before
# (GROUPS 1 PRECEDING): one sort, two window passes. What came before block k - 1 is left
# out: it weighs less than e^(-B/tau), and B = 40 x CTL_DAYS puts that below a double's
# precision. Only one of the two runs (each is gated on the span, worked out first).
# PostgreSQL raises an error where a float product underflows instead of rounding it to
# zero, so a day's TRIMP below TRIMP_FLOOR counts as none.
_TRAINING_LOAD = _Statement.of(
    _BOUNDS
    + f""",
origin AS (
    -- The loads start from zero on the first run's day (or on first_day, if earlier). Runs
    -- are read up to the UTC day after last_day's (offsets lie within -12 and +14 hours).
    SELECT o.day, o.first_day, o.last_day, o.to_utc, o.last_day - o.day AS span
    FROM (SELECT least(b.first_run_day, b.first_day) AS day, b.first_day, b.last_day,
                 (b.last_day + 2)::timestamp AT TIME ZONE 'UTC' AS to_utc
          FROM bounds AS b) AS o
),
days AS MATERIALIZED (
    SELECT a.day - o.day AS i, a.day, a.trimp, a.distance, a.runs_without_heart_rate,
           CASE WHEN a.trimp >= %(trimp_floor)s THEN a.trimp ELSE 0 END AS x
    FROM (
        SELECT x.day,
               coalesce(sum(x.duration / 60 * x.hrr * %(trimp_a)s * exp(%(trimp_b)s * x.hrr)),
                        0) AS trimp,
               sum(x.distance) AS distance,
               count(*) FILTER (WHERE x.counted AND x.avg_heart_rate IS NULL)::int
                   AS runs_without_heart_rate
        FROM (
            -- The fraction of the heart-rate reserve, 0 at or below resting, 1 at or above
            -- maximum; none for a run without a heart rate (least and greatest skip NULLs,
            -- so it is tested first), or shorter than a second.
            SELECT {_local_day("c.datetime_utc")} AS day, c.duration, c.distance,
                   c.avg_heart_rate, true AS counted,
                   CASE WHEN c.avg_heart_rate IS NOT NULL AND c.duration >= 1 THEN
                       greatest(0, least(1, (c.avg_heart_rate - %(resting_hr)s)
                                            / (%(max_hr)s - %(resting_hr)s)))
                   END AS hrr
            FROM counted AS c
            -- A scalar subquery, so that the scan tests a constant, not a join each row.
            WHERE c.datetime_utc < (SELECT o.to_utc FROM origin AS o)
            UNION ALL
            -- Every day of the calendar, as a day without runs.
            SELECT o.day + s.i, 0, 0, NULL, false, NULL
            FROM origin AS o, generate_series(0, o.last_day - o.day) AS s (i)
        ) AS x
        GROUP BY x.day
    ) AS a, origin AS o
    WHERE a.day <= o.last_day
),
one_pass AS (
    SELECT d.day, d.trimp, d.runs_without_heart_rate, m.i - d.i AS to_middle,
           sum(d.x * exp((d.i - m.i) / %(ctl_days)s)) OVER running AS chronic,
           sum(d.x * exp((d.i - m.i) / %(atl_days)s)) OVER running AS acute
    -- m: the span's middle day (its i), and no row at all for a longer span.
    FROM (SELECT o.span / 2 AS i FROM origin AS o WHERE o.span <= %(one_pass_days)s) AS m,
         days AS d
    WINDOW running AS (ORDER BY d.i ROWS UNBOUNDED PRECEDING)
),
weighed AS (
    SELECT d.day, d.trimp, d.runs_without_heart_rate, d.i / %(block)s AS block, f.from_end,
           d.x * exp(f.from_end / %(ctl_days)s) AS chronic,
           d.x * exp(f.from_end / %(atl_days)s) AS acute
    FROM (SELECT o.span FROM origin AS o WHERE o.span > %(one_pass_days)s) AS m,
         days AS d,
         LATERAL (SELECT d.i %% %(block)s - %(block)s + 1 AS from_end) AS f
),
in_blocks AS (
    SELECT w.day, w.trimp, w.runs_without_heart_rate, w.from_end,
           sum(w.chronic) OVER in_block AS chronic, sum(w.acute) OVER in_block AS acute,
           coalesce(sum(w.chronic) OVER block_before, 0) AS chronic_before,
           coalesce(sum(w.acute) OVER block_before, 0) AS acute_before
    FROM weighed AS w
    WINDOW in_block AS (PARTITION BY w.block ORDER BY w.from_end),
           block_before AS (ORDER BY w.block GROUPS BETWEEN 1 PRECEDING AND 1 PRECEDING)
),
loads AS (
    -- e^((m - t)/tau) x the sum as e^(ln sum + (m - t)/tau): after years without a run
    -- the product falls below a double's least (e^-745), where PostgreSQL raises an
    -- error; a load under e^-700 is 0.
    SELECT p.day, p.trimp, p.runs_without_heart_rate,
           %(ctl_gain)s * CASE WHEN e.chronic > -700 THEN exp(e.chronic) ELSE 0 END AS ctl,
           %(atl_gain)s * CASE WHEN e.acute > -700 THEN exp(e.acute) ELSE 0 END AS atl
    FROM one_pass AS p,
         LATERAL (SELECT CASE WHEN p.chronic > 0
                              THEN ln(p.chronic) + p.to_middle / %(ctl_days)s
                              ELSE -1000 END AS chronic,
                         CASE WHEN p.acute > 0
                              THEN ln(p.acute) + p.to_middle / %(atl_days)s
                              ELSE -1000 END AS acute) AS e
    UNION ALL
    -- Day t is -from_end days before its block's end, and from_end + B days after the
    -- previous block's.
    SELECT s.day, s.trimp, s.runs_without_heart_rate,
           %(ctl_gain)s
           * (exp(-s.from_end / %(ctl_days)s) * s.chronic
              + exp(-(s.from_end + %(block)s) / %(ctl_days)s) * s.chronic_before),
           %(atl_gain)s
           * (exp(-s.from_end / %(atl_days)s) * s.acute
              + exp(-(s.from_end + %(block)s) / %(atl_days)s) * s.acute_before)
    FROM in_blocks AS s
),
weeks AS (
    SELECT {_period_start("d.day")} AS start, sum(d.distance) AS distance
    FROM days AS d
    GROUP BY 1
),
week_growth AS (
    SELECT w.start, w.distance,
           coalesce(lag(w.distance) OVER (ORDER BY w.start), 0) AS previous_distance
    FROM weeks AS w
)
SELECT false AS is_week, l.day AS date, l.trimp, l.ctl, l.atl, l.runs_without_heart_rate,
       NULL::float8 AS distance, NULL::float8 AS previous_distance
FROM loads AS l
-- A scalar subquery: a constant for the filter, not a join each row.
WHERE l.day >= (SELECT o.first_day FROM origin AS o)
UNION ALL
SELECT true, g.start, NULL, NULL, NULL, NULL,
       g.distance * %(per_mile)s, g.previous_distance * %(per_mile)s
FROM week_growth AS g, origin AS o
WHERE g.start >= {_period_start("o.first_day")}
ORDER BY 1, 2
""",
    sports=SPORTS,
)


_make_load_day = model_maker(LoadDay, ("date", "trimp", "ctl", "atl", "runs_without_heart_rate"))
_make_load_week = model_maker(
    LoadWeek, ("start", "distance", "previous_distance", "growth", "is_big_increase")
)


@retry_on_disconnect
def get_training_load(
    start: date | None = None,
    end: date | None = None,
    *,
    tz: str | None = None,
    week_start: WeekStart | None = None,
    units: Units | None = None,
    resting_hr: float | None = None,
    max_hr: float | None = None,
    as_of: datetime | None = None,
    sport: Sport = "all",
    conn: Connection | None = None,
) -> TrainingLoad:
    """TRIMP, CTL, ATL, TSB and the acute:chronic ratio for every local day from `start` to
    `end`, and each week's distance against the week before (flagged above +10%).

    TRIMP is Banister's, from each run's minutes and average heart rate between
    `resting_hr` and `max_hr` (default FITNESS_RESTING_HR, FITNESS_MAX_HR); a run without a
    heart rate adds no TRIMP (the day's `runs_without_heart_rate` counts it, so an
    understated load shows) but its distance counts in the weeks. CTL and ATL are 42- and
    7-day exponentially weighted averages starting from 0 on the first run's day, so days
    before `start` count. Week growth is None after an empty week, and never flagged then.
    Defaults for `start` and `end` as in `get_totals`. Bad parameters raise
    `InvalidParameters`.

    `sport` defaults to `all`: TRIMP is heart-rate based, so a ride counts exactly as a
    run does (its minutes and average heart rate, the same coefficients), a ride without
    a heart rate adds nothing and is counted in `runs_without_heart_rate`, and its
    distance counts in the weeks. `run` or `ride` keeps to one (`run` for running
    mileage's 10% rule).

    >>> load = get_training_load(date(2025, 1, 1), date(2025, 1, 31))   # doctest: +SKIP
    >>> round(load.days[-1].tsb, 1)
    -4.2
    """
    options = _options(tz=tz, units=units, week_start=week_start, as_of=as_of, sport=sport)
    settings = get_settings()
    resting = settings.resting_hr if resting_hr is None else resting_hr
    maximum = settings.max_hr if max_hr is None else max_hr
    if not all(_is_number(value) for value in (resting, maximum)) or not (
        MIN_HEART_RATE <= resting < maximum <= MAX_HEART_RATE
    ):
        raise InvalidParameters(
            {
                "heart_rate": f"resting and maximum must satisfy {MIN_HEART_RATE} <= resting "
                f"< maximum <= {MAX_HEART_RATE}"
            }
        )
    trimp_a, trimp_b = TRIMP_COEFFICIENTS[settings.trimp_sex]
    params = options.params(first_day=start, last_day=end) | {
        "period": "week",
        "resting_hr": float(resting),
        "max_hr": float(maximum),
        "trimp_a": trimp_a,
        "trimp_b": trimp_b,
        "ctl_days": float(CTL_DAYS),
        "atl_days": float(ATL_DAYS),
        "ctl_gain": 1 - math.exp(-1 / CTL_DAYS),
        "atl_gain": 1 - math.exp(-1 / ATL_DAYS),
        "one_pass_days": ONE_PASS_DAYS,
        "block": EWMA_BLOCK_DAYS,
        "trimp_floor": TRIMP_FLOOR,
    }
    rows = _fetch(_TRAINING_LOAD, params, options, conn, tuple_row)
    # The days come first (is_week false sorts first), their columns as LoadDay's.
    n_days = bisect_left(rows, (True,))
    days = [_make_load_day(row[1:6]) for row in rows[:n_days]]
    weeks = [
        _make_load_week(
            (
                start,
                distance,
                previous,
                distance / previous - 1 if previous > 0 else None,
                previous > 0 and distance > previous * (1 + WEEKLY_GROWTH_LIMIT),
            )
        )
        for _, start, *_, distance, previous in rows[n_days:]
    ]
    return TrainingLoad(
        sport=options.sport,
        units=options.units,
        tz=options.tz,
        week_start=options.week_start,
        resting_hr=float(resting),
        max_hr=float(maximum),
        days=tuple(days),
        weeks=tuple(weeks),
    )


# The records' distance bands in SQL: per band k (from 1), the day's fastest pace among
# its runs within the band (`pace_k`), and the band's fastest day (`targets`). A band's
# edges are the parameters band_k_low and band_k_high (worked out in Python, the same
# float products as miles x (1 -+ BAND_TOLERANCE) in SQL).
_BAND_PACES: Final = ",\n           ".join(
    f"min(c.duration / c.distance) FILTER (WHERE c.distance BETWEEN %(band_{k}_low)s::float8 "
    f"AND %(band_{k}_high)s::float8) AS pace_{k}"
    for k in range(1, len(DISTANCE_BANDS) + 1)
)
_BAND_TARGETS: Final = "".join(
    f"""UNION ALL
    (SELECT {k}, d.day, d.pace_{k}
     FROM days AS d
     WHERE d.pace_{k} IS NOT NULL
     ORDER BY d.pace_{k}, d.day
     LIMIT 1)
    """
    for k in range(1, len(DISTANCE_BANDS) + 1)
)

_RECORDS = _Statement.of(
    f""",
days AS MATERIALIZED (
    -- ONE pass over the runs: each local day's distance and runs, and what finds the runs
    -- that hold a record without sorting or storing every run: the day's longest run and
    -- its fastest pace in each distance band. Each band is a FILTER with the band's edges
    -- as plain parameters (a comparison a row; computing them from the band's miles, or
    -- a join to the bands, cost more than all the rest of this pass).
    SELECT {_local_day("c.datetime_utc")} AS day, sum(c.distance) AS distance,
           count(*) AS runs, max(c.distance) AS longest,
           {_BAND_PACES}
    FROM counted AS c
    GROUP BY 1
),
targets AS (
    -- Each record's day: the longest run's (ties to the earliest day) and each band's
    -- fastest (by pace, then earliest day), with the distance or pace that it was.
    (SELECT 0 AS position, d.day, d.longest AS value
     FROM days AS d
     ORDER BY d.longest DESC, d.day
     LIMIT 1)
    {_BAND_TARGETS}
),
winners AS (
    -- The run holding each record: on that local day, the one with that distance or,
    -- in the band, that pace; ties to the smallest id. An index range over the day's UTC
    -- days widened by one (offsets lie within -12 and +14 hours), a lookup per record.
    SELECT t.position, r.id, t.day, r.distance, r.duration
    FROM targets AS t
    CROSS JOIN LATERAL (
        SELECT c.id, c.distance, c.duration
        FROM counted AS c
        WHERE c.datetime_utc >= (t.day - 1)::timestamp AT TIME ZONE 'UTC'
          AND c.datetime_utc < (t.day + 2)::timestamp AT TIME ZONE 'UTC'
          AND {_local_day("c.datetime_utc")} = t.day
          AND CASE WHEN t.position = 0 THEN c.distance = t.value
                   ELSE c.distance BETWEEN (%(band_lows)s::float8[])[t.position]
                                       AND (%(band_highs)s::float8[])[t.position]
                        AND c.duration / c.distance = t.value
              END
        ORDER BY c.id
        LIMIT 1
    ) AS r
),
longest_run AS (
    SELECT w.id, w.day, w.distance, w.duration FROM winners AS w WHERE w.position = 0
),
fastest_list AS (
    SELECT array_agg((%(band_names)s::text[])[w.position] ORDER BY w.position) AS bands,
           array_agg((%(band_miles)s::float8[])[w.position] ORDER BY w.position) AS band_miles,
           array_agg(w.id ORDER BY w.position) AS run_ids,
           array_agg(w.day ORDER BY w.position) AS run_days,
           array_agg(w.distance ORDER BY w.position) AS distances,
           array_agg(w.duration ORDER BY w.position) AS durations
    FROM winners AS w
    WHERE w.position > 0
),
longest_week AS (
    SELECT {_period_start("d.day")} AS start, sum(d.distance) AS distance, sum(d.runs) AS runs
    FROM days AS d
    GROUP BY 1
    ORDER BY 2 DESC, 1
    LIMIT 1
),
longest_month AS (
    SELECT date_trunc('month', d.day::timestamp)::date AS start, sum(d.distance) AS distance,
           sum(d.runs) AS runs
    FROM days AS d
    GROUP BY 1
    ORDER BY 2 DESC, 1
    LIMIT 1
),
streaks AS (
    -- Consecutive days: day minus its rank is the same for every day of one streak.
    SELECT min(s.day) AS first_day, max(s.day) AS last_day, count(*) AS days
    FROM (SELECT d.day, d.day - row_number() OVER (ORDER BY d.day)::int AS streak
          FROM days AS d) AS s
    GROUP BY s.streak
),
longest_streak AS (
    SELECT s.* FROM streaks AS s ORDER BY s.days DESC, s.last_day DESC LIMIT 1
),
current_streak AS (
    -- Alive when it reaches today or yesterday (today's run may be still to come); runs
    -- dated after today do not extend it.
    SELECT s.first_day, least(s.last_day, %(today)s::date) AS last_day,
           least(s.last_day, %(today)s::date) - s.first_day + 1 AS days
    FROM streaks AS s
    WHERE s.first_day <= %(today)s::date
      AND s.last_day >= %(today)s::date - 1
),
eddington AS (
    -- Days by distance, longest first: E is the number of days whose rank is at most
    -- their distance (true for ranks 1..E, false after).
    SELECT count(*) FILTER (WHERE r.distance * (1 + %(slack)s) >= r.rank) AS mi,
           count(*) FILTER (WHERE r.distance * %(km_per_mile)s * (1 + %(slack)s) >= r.rank)
               AS km
    FROM (SELECT d.distance, row_number() OVER (ORDER BY d.distance DESC) AS rank
          FROM days AS d) AS r
),
races AS (
    -- Races over one official distance (to 0.01 mile) in start order, each with the best
    -- time of the races before it. The distance shown is the first race's own, not the
    -- rounded one (5 km is 3.11 mi rounded, and 3.11 mi is 5.01 km).
    SELECT round(c.race_distance::numeric, 2) AS official, c.id, c.datetime_utc,
           {_local_day("c.datetime_utc")} AS day, c.race_name, c.race_time,
           first_value(c.race_distance) OVER in_order AS official_distance,
           min(c.race_time) OVER (
               in_order ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
           ) AS best_before
    FROM counted AS c
    WHERE c.race_name IS NOT NULL
    WINDOW in_order AS (PARTITION BY round(c.race_distance::numeric, 2)
                        ORDER BY c.datetime_utc, c.id)
),
race_bests AS (
    SELECT array_agg(r.official_distance ORDER BY r.official, r.datetime_utc, r.id)
               AS race_officials,
           array_agg(r.id ORDER BY r.official, r.datetime_utc, r.id) AS race_run_ids,
           array_agg(r.day ORDER BY r.official, r.datetime_utc, r.id) AS race_days,
           array_agg(r.race_name ORDER BY r.official, r.datetime_utc, r.id) AS race_names,
           array_agg(r.race_time ORDER BY r.official, r.datetime_utc, r.id) AS race_times
    FROM races AS r
    WHERE r.best_before IS NULL
       OR r.race_time < r.best_before
)
SELECT lr.id AS longest_run_id, lr.day AS longest_run_day,
       lr.distance AS longest_run_distance, lr.duration AS longest_run_duration,
       fl.bands, fl.band_miles, fl.run_ids, fl.run_days, fl.distances, fl.durations,
       lw.start AS week_start, lw.distance AS week_distance, lw.runs::int AS week_runs,
       lm.start AS month_start, lm.distance AS month_distance, lm.runs::int AS month_runs,
       coalesce(cs.days, 0)::int AS current_days, cs.first_day AS current_first,
       cs.last_day AS current_last,
       coalesce(ls.days, 0)::int AS longest_days, ls.first_day AS longest_first,
       ls.last_day AS longest_last,
       e.mi::int AS eddington_mi, e.km::int AS eddington_km,
       rb.race_officials, rb.race_run_ids, rb.race_days, rb.race_names, rb.race_times
FROM eddington AS e
CROSS JOIN fastest_list AS fl
CROSS JOIN race_bests AS rb
LEFT JOIN longest_run AS lr ON true
LEFT JOIN longest_week AS lw ON true
LEFT JOIN longest_month AS lm ON true
LEFT JOIN current_streak AS cs ON true
LEFT JOIN longest_streak AS ls ON true
"""
)


@retry_on_disconnect
def get_records(
    *,
    tz: str | None = None,
    week_start: WeekStart | None = None,
    units: Units | None = None,
    as_of: datetime | None = None,
    conn: Connection | None = None,
) -> Records:
    """The log's records: longest run; fastest average pace at 5 km, 10 km, half marathon
    and marathon (runs within 3% of the distance, `BAND_TOLERANCE`); the longest week and
    month; the current and longest streak of local days with a run; the Eddington number
    in miles and in kilometres (always both, whatever `units`); and from the runs' races,
    the personal-best progression per official distance (to 0.01 mile): the first race at
    each distance, then every race whose chip time beat all earlier ones, by start time.

    The current streak is alive when its last day is today or yesterday (in `tz`, as of
    `as_of`). Ties go to the earliest (runs, weeks, months) or the most recent (streaks).
    Bad parameters raise `InvalidParameters`.

    >>> get_records().eddington   # doctest: +SKIP
    Eddington(mi=42, km=61)
    """
    options = _options(tz=tz, units=units, week_start=week_start, as_of=as_of)
    lows = [miles * (1 - BAND_TOLERANCE) for _, miles in DISTANCE_BANDS]
    highs = [miles * (1 + BAND_TOLERANCE) for _, miles in DISTANCE_BANDS]
    params = options.params() | {
        "period": "week",
        **{f"band_{k}_low": low for k, low in enumerate(lows, 1)},
        **{f"band_{k}_high": high for k, high in enumerate(highs, 1)},
        "band_names": [name for name, _ in DISTANCE_BANDS],
        "band_miles": [miles for _, miles in DISTANCE_BANDS],
        "band_lows": lows,
        "band_highs": highs,
        "slack": EDDINGTON_SLACK,
        "km_per_mile": KM_PER_MILE,
    }
    (row,) = _fetch(_RECORDS, params, options, conn)
    per_mile = params["per_mile"]
    assert isinstance(per_mile, float)

    def run_record(run_id: str, day: date, distance: float, duration: float) -> RunRecord:
        return RunRecord(
            run_id=run_id,
            date=day,
            distance=distance * per_mile,
            duration=duration,
            pace=duration / (distance * per_mile) if distance > 0 else None,
        )

    def period_record(start: date | None, distance: float, runs: int) -> PeriodRecord | None:
        if start is None:
            return None
        return PeriodRecord(start=start, distance=distance * per_mile, runs=runs)

    fastest = tuple(
        BandRecord(band=band, band_distance=miles * per_mile, run=run_record(*run))
        for band, miles, *run in zip(
            row["bands"] or (),
            row["band_miles"] or (),
            row["run_ids"] or (),
            row["run_days"] or (),
            row["distances"] or (),
            row["durations"] or (),
            strict=True,
        )
    )
    longest_run = None
    if row["longest_run_id"] is not None:
        longest_run = run_record(
            row["longest_run_id"],
            row["longest_run_day"],
            row["longest_run_distance"],
            row["longest_run_duration"],
        )
    return Records(
        units=options.units,
        tz=options.tz,
        week_start=options.week_start,
        longest_run=longest_run,
        fastest=fastest,
        longest_week=period_record(row["week_start"], row["week_distance"], row["week_runs"]),
        longest_month=period_record(row["month_start"], row["month_distance"], row["month_runs"]),
        current_streak=Streak(
            days=row["current_days"],
            first_day=row["current_first"],
            last_day=row["current_last"],
        ),
        longest_streak=Streak(
            days=row["longest_days"],
            first_day=row["longest_first"],
            last_day=row["longest_last"],
        ),
        eddington=Eddington(mi=row["eddington_mi"], km=row["eddington_km"]),
        race_progression=_race_progression(row, per_mile),
    )


def _race_progression(row: dict[str, Any], per_mile: float) -> tuple[RaceProgression, ...]:
    """The records row's race bests (ordered by official distance, then start) grouped into
    one progression per official distance, in the answer's units."""
    grouped: dict[float, list[RaceBest]] = {}
    for official, run_id, day, name, time in zip(
        row["race_officials"] or (),
        row["race_run_ids"] or (),
        row["race_days"] or (),
        row["race_names"] or (),
        row["race_times"] or (),
        strict=True,
    ):
        best = RaceBest(run_id=run_id, date=day, race_name=name, time=time)
        grouped.setdefault(official, []).append(best)
    return tuple(
        RaceProgression(distance=official * per_mile, bests=tuple(bests))
        for official, bests in grouped.items()
    )


def local_today(tz: str | None = None, as_of: datetime | None = None) -> date:
    """The runner's today: the local day in `tz` (default FITNESS_TIMEZONE) of `as_of`, or of
    now. Bad parameters raise `InvalidParameters`."""
    return _options(tz=tz, units=None, as_of=as_of).today


@dataclass(frozen=True, slots=True)
class _Options:
    """The parameters every statistic shares, checked and with their defaults filled in."""

    tz: str
    units: Units
    week_start: WeekStart
    as_of: datetime | None
    sport: Sport
    # The moment the statistic describes: as_of, or now.
    moment: datetime

    @property
    def today(self) -> date:
        return self.moment.astimezone(ZoneInfo(self.tz)).date()

    def params(
        self, *, first_day: date | None = None, last_day: date | None = None
    ) -> dict[str, object]:
        """The statement parameters, with a checked date range."""
        errors: dict[str, str] = {}
        for name, value in (("start", first_day), ("end", last_day)):
            if value is None:
                continue
            if not isinstance(value, date) or isinstance(value, datetime):
                errors[name] = "must be a date (YYYY-MM-DD)"
            elif not EARLIEST_DATE <= value <= LATEST_DATE:
                errors[name] = f"must be from {EARLIEST_DATE} to {LATEST_DATE}"
        if errors:
            raise InvalidParameters(errors)
        if first_day is not None and last_day is not None:
            if last_day < first_day:
                raise InvalidParameters({"end": "must not be before start"})
            if (last_day - first_day).days >= MAX_RANGE_DAYS:
                raise InvalidParameters({"end": f"at most {MAX_RANGE_DAYS:,} days after start"})
        return {
            "tz": self.tz,
            "per_mile": KM_PER_MILE if self.units == "km" else 1.0,
            "week_start_isodow": 1 if self.week_start == "monday" else 7,
            "as_of": self.as_of,
            "today": self.today,
            "first_day": first_day,
            "last_day": last_day,
        }


def _options(
    *,
    tz: str | None,
    units: str | None,
    as_of: datetime | None,
    week_start: str | None = None,
    sport: str = "run",
) -> _Options:
    settings = get_settings()
    errors: dict[str, str] = {}
    zone = settings.timezone if tz is None else tz
    if not is_zone_name(zone):
        errors["tz"] = "must be an IANA time zone such as Europe/Berlin or UTC"
    unit = settings.units if units is None else units
    if unit not in UNITS:
        errors["units"] = f"must be one of {', '.join(UNITS)}"
    first_weekday = settings.week_start if week_start is None else week_start
    if first_weekday not in WEEK_STARTS:
        errors["week_start"] = f"must be one of {', '.join(WEEK_STARTS)}"
    if as_of is not None and (
        not isinstance(as_of, datetime) or as_of.tzinfo is None or as_of.utcoffset() is None
    ):
        errors["as_of"] = "must be a timezone-aware date-time (e.g. 2025-05-06T07:00:00Z)"
    elif as_of is not None:
        try:
            a_moment_of_the_log(as_of)
        except ValueError as error:
            errors["as_of"] = str(error)
    if sport not in SPORTS:
        errors["sport"] = f"must be one of {', '.join(SPORTS)}"
    if errors:
        raise InvalidParameters(errors)
    return _Options(
        tz=zone,
        units=cast(Units, unit),
        week_start=cast(WeekStart, first_weekday),
        as_of=as_of,
        sport=cast(Sport, sport),
        moment=as_of if as_of is not None else datetime.now(UTC),
    )


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _fetch(
    statement: _Statement,
    params: dict[str, object],
    options: _Options,
    conn: Connection | None,
    row_factory: RowFactory[Row] = dict_row,  # type: ignore[assignment]
) -> list[Row]:
    query = statement.texts[options.sport, options.as_of is not None]
    with connection(conn) as active, active.cursor(row_factory=row_factory) as cur:
        try:
            cur.execute(query, params)
        except psycopg.errors.InvalidParameterValue:
            # Python's zone database knew the name and PostgreSQL's does not.
            raise InvalidParameters(
                {"tz": f"{options.tz!r} is not a time zone this database knows"}
            ) from None
        return cur.fetchall()
