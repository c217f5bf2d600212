"""The statistics workloads: each statistic of fitness.db.stats over the whole dataset.

Each is measured against three things, side by side in the same run: PostgreSQL running
the bare aggregate at the statistic's heart (the GROUP BY on local days, weeks or shoes,
with no zero-filling, windows or Python) fetched as tuples, which is the judged ratio; the
library's own statement, as captured, run bare through psycopg and fetched as tuples (what
the library adds in Python: parameters, the pool, building the answer), reported; and the
same statistic computed in Python over fetched rows (`get_all_runs` + tests/stats_oracle,
the upstream project's approach), reported.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from fitness.db import stats
from fitness.db.connection import get_pool
from fitness.db.runs import get_all_runs
from fitness.models import Run
from tests import stats_oracle as oracle
from tests.bench.measure import capture_queries, time_once
from tests.bench.report import Check, Result, Target
from tests.bench.workloads import Bench, _connection_like_ours, _profiled

TZ = "Europe/Berlin"
TOTALS_LIMIT_MS = 50.0
PYTHON_REPEATS = 3
# psycopg prepares a statement on its fifth run on a connection (prepare_threshold).
PREPARE_THRESHOLD = 5

_DAY = f"(datetime_utc AT TIME ZONE '{TZ}')::date"
_NOT_DELETED = "FROM runs WHERE deleted_at IS NULL"

# The bare aggregates: what PostgreSQL does at the heart of each statistic.
_BARE_WEEKS = f"""
SELECT date_trunc('week', datetime_utc AT TIME ZONE '{TZ}')::date AS week,
       sum(distance), sum(duration), count(*)
{_NOT_DELETED}
GROUP BY 1
"""
_BARE_DAYS = f"SELECT {_DAY} AS day, sum(distance) {_NOT_DELETED} GROUP BY 1"
_BARE_SHOE_MONTHS = f"""
SELECT shoe_id, date_trunc('month', datetime_utc AT TIME ZONE '{TZ}')::date AS month,
       sum(distance), count(*), min(datetime_utc), max(datetime_utc)
{_NOT_DELETED} AND shoe_id IS NOT NULL
GROUP BY 1, 2
"""
_BARE_SHOES = f"""
SELECT shoe_id, sum(distance), count(*),
       sum(distance) FILTER (WHERE datetime_utc > now() - interval '56 days')
{_NOT_DELETED} AND shoe_id IS NOT NULL
GROUP BY 1
"""
_BARE_TRIMP = f"""
SELECT {_DAY} AS day,
       sum(duration / 60 * r.hrr * 0.64 * exp(1.92 * r.hrr)), sum(distance),
       count(*) FILTER (WHERE avg_heart_rate IS NULL)
FROM runs
CROSS JOIN LATERAL (SELECT greatest(0, least(1, (avg_heart_rate - 60) / 130.0)) AS hrr) AS r
WHERE deleted_at IS NULL
GROUP BY 1
"""
_BARE_WEEKS_AS_OF = f"""
SELECT date_trunc('week', datetime_utc AT TIME ZONE '{TZ}')::date AS week,
       sum(distance), sum(duration), count(*)
FROM (
    SELECT DISTINCT ON (run_id) datetime_utc, distance, duration, change_type
    FROM runs_history
    WHERE changed_at <= %(as_of)s
    ORDER BY run_id, version_number DESC
) AS snapshot
WHERE change_type <> 'deletion'
GROUP BY 1
"""


@dataclass(frozen=True, slots=True)
class _Statistic:
    name: str
    workload: str
    ours: Callable[..., object]
    bare: str
    python: Callable[[list[Run]], object]
    bare_params: dict[str, object] | None = None


def stats_workloads(bench: Bench) -> list[Result]:
    """Every statistic over the whole dataset, against its bare aggregate and Python."""
    first = min(run.datetime_utc for run in bench.dataset.runs).astimezone(UTC).date()
    today = stats.local_today(TZ)
    as_of = datetime.now(UTC)
    years = bench.sizes.years
    statistics = [
        _Statistic(
            "totals",
            f"stats: totals per week, {years} years (get_totals)",
            lambda **kw: stats.get_totals("week", tz=TZ, **kw),
            _BARE_WEEKS,
            lambda runs: oracle.totals(runs, "week", first, today, TZ),
        ),
        _Statistic(
            "totals_as_of",
            f"stats: totals per week, {years} years, as_of (from runs_history)",
            lambda **kw: stats.get_totals("week", tz=TZ, as_of=as_of, **kw),
            _BARE_WEEKS_AS_OF,
            lambda runs: oracle.totals(runs, "week", first, today, TZ),
            {"as_of": as_of},
        ),
        _Statistic(
            "rolling",
            f"stats: 28-day rolling sums, every day of {years} years (get_rolling_sums)",
            lambda **kw: stats.get_rolling_sums(28, first, today, tz=TZ, **kw),
            _BARE_DAYS,
            lambda runs: oracle.rolling(runs, 28, first, today, TZ),
        ),
        _Statistic(
            "shoe_mileage",
            "stats: shoe mileage per month (get_shoe_mileage)",
            lambda **kw: stats.get_shoe_mileage(tz=TZ, **kw),
            _BARE_SHOE_MONTHS,
            lambda runs: _python_shoe_months(runs),
        ),
        _Statistic(
            "shoe_wear",
            "stats: shoe wear and projections (get_shoe_wear)",
            lambda **kw: stats.get_shoe_wear(tz=TZ, **kw),
            _BARE_SHOES,
            lambda runs: _python_shoe_wear(runs),
        ),
        _Statistic(
            "training_load",
            f"stats: training load, every day of {years} years (get_training_load)",
            lambda **kw: stats.get_training_load(first, today, tz=TZ, **kw),
            _BARE_TRIMP,
            lambda runs: oracle.training_load(runs, first, today, TZ),
        ),
        _Statistic(
            "records",
            "stats: records (get_records)",
            lambda **kw: stats.get_records(tz=TZ, **kw),
            _BARE_DAYS,
            lambda runs: _python_records(runs, today),
        ),
    ]
    return [_measure(bench, statistic) for statistic in statistics]


def _measure(bench: Bench, statistic: _Statistic) -> Result:
    captured = capture_queries(bench.url, lambda conn: statistic.ours(conn=conn))
    ours: list[float] = []
    baseline: list[float] = []
    same_sql: list[float] = []
    with _connection_like_ours() as conn:

        def bare() -> None:
            conn.execute(statistic.bare, statistic.bare_params).fetchall()  # type: ignore[arg-type]

        def same_statement() -> None:
            conn.execute(captured[0].query, captured[0].params).fetchall()  # type: ignore[arg-type]

        # Warm: caches, the pool, and prepared statements. Until its fifth run on a
        # connection a statement is parsed and planned every time, and the pool hands out
        # its idle connections in turn, so ours warms on each of them.
        connections = max(1, get_pool().get_stats().get("pool_size", 1))
        for _ in range(PREPARE_THRESHOLD * connections + 1):
            statistic.ours()
        for _ in range(PREPARE_THRESHOLD + 1):
            bare()
            same_statement()
        deadline = time.monotonic() + bench.sizes.loop_seconds
        for repeat in range(bench.sizes.read_repeats):
            ours.append(
                1e3
                * _profiled(
                    bench, f"stats_{statistic.name}", repeat, lambda: time_once(statistic.ours)
                )
            )
            baseline.append(1e3 * time_once(bare))
            same_sql.append(1e3 * time_once(same_statement))
            if time.monotonic() > deadline:
                break
    python = [
        1e3 * time_once(lambda: statistic.python(get_all_runs()))
        for _ in range(min(PYTHON_REPEATS, bench.sizes.read_repeats))
    ]
    ours_samples, python_samples = bench.samples(ours), bench.samples(python)
    same_samples = bench.samples(same_sql)
    checks = [
        Check(
            "one statement",
            len(captured) == 1,
            f"{len(captured)} SQL statement{'s' if len(captured) != 1 else ''}",
        )
    ]
    if statistic.name == "totals":
        # Judged on the median: on a shared machine the slowest sample measures the
        # neighbours (it is reported beside it).
        checks.append(
            Check(
                f"under {TOTALS_LIMIT_MS:g} ms",
                ours_samples.median < TOTALS_LIMIT_MS,
                f"median {ours_samples.median:.1f} ms, fastest {ours_samples.min:.1f} ms, "
                f"slowest {ours_samples.max:.1f} ms of {len(ours)}",
                judged=bench.sizes.judges_targets,
            )
        )
    return Result(
        workload=statistic.workload,
        unit="ms",
        ours=ours_samples,
        baseline=bench.samples(baseline),
        baseline_label="bare GROUP BY, tuples",
        target=Target("<=", 1.5),
        judged=bench.sizes.judges_targets,
        checks=tuple(checks),
        notes=(
            f"the same statement bare through psycopg (tuples): "
            f"{same_samples.median:,.1f} ms; ours is "
            f"{ours_samples.median / same_samples.median:.3f}× that",
            f"Python over fetched rows (get_all_runs + Python, the upstream approach): "
            f"{python_samples.median:,.0f} ms; ours is "
            f"{ours_samples.median / python_samples.median:.3f}× that",
        ),
    )


def _python_shoe_months(runs: list[Run]) -> dict[str, dict[date, float]]:
    return {
        shoe_id: oracle.shoe_mileage(runs, shoe_id, TZ)
        for shoe_id in {run.shoe_id for run in runs if run.shoe_id}
    }


def _python_shoe_wear(runs: list[Run]) -> dict[str, tuple[float, float]]:
    now = datetime.now(UTC)
    used: dict[str, float] = defaultdict(float)
    for run in runs:
        if run.shoe_id:
            used[run.shoe_id] += run.distance
    return {
        shoe_id: (miles, oracle.recent_distance(runs, shoe_id, now))
        for shoe_id, miles in used.items()
    }


def _python_records(runs: list[Run], today: date) -> tuple[object, ...]:
    days = oracle.daily_distance(runs, TZ)
    first, last = min(days), max(days)
    return (
        max(runs, key=lambda run: run.distance),
        [oracle.fastest_pace(runs, miles) for _, miles in stats.DISTANCE_BANDS],
        max(oracle.totals(runs, "week", first, last, TZ), key=lambda t: t.distance),
        max(oracle.totals(runs, "month", first, last, TZ), key=lambda t: t.distance),
        oracle.current_streak(days, today),
        oracle.longest_streak(days),
        oracle.eddington(days.values()),
        oracle.eddington(distance * oracle.KM_PER_MILE for distance in days.values()),
    )
