"""The statistics of fitness.db.stats computed the plain way, in Python over `Run`s (and,
for totals, rolling sums and training load, `Ride`s: the same fields, counted alike).

The tests check the SQL against these, computed from the runs each test made; the
benchmark times them over fetched rows, which is how the upstream project computes its
statistics. Straightforward on purpose: loops, dicts and the recurrences as written.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fitness.models import Run
from fitness.ride_models import Ride

# What totals, rolling sums and training load count with sport=ride or all.
Activity = Run | Ride

KM_PER_MILE = 1.609344


def local_day(run: Activity, tz: str) -> date:
    return run.datetime_utc.astimezone(ZoneInfo(tz)).date()


def period_start(day: date, period: str, week_start: str = "monday") -> date:
    if period == "day":
        return day
    if period == "week":
        first = 0 if week_start == "monday" else 6  # weekday(): Monday 0 .. Sunday 6
        return day - timedelta(days=(day.weekday() - first) % 7)
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def next_period(start: date, period: str) -> date:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return date(start.year + 1, 1, 1)


@dataclass(frozen=True)
class Total:
    start: date
    distance: float
    duration: float
    runs: int
    pace: float | None


def totals(
    runs: Iterable[Activity],
    period: str,
    first: date,
    last: date,
    tz: str = "UTC",
    week_start: str = "monday",
    per_mile: float = 1.0,
) -> list[Total]:
    """Every period from the one holding `first` to the one holding `last`."""
    by_period: dict[date, list[Activity]] = defaultdict(list)
    for run in runs:
        by_period[period_start(local_day(run, tz), period, week_start)].append(run)
    result = []
    start = period_start(first, period, week_start)
    while start <= last:
        in_period = by_period.get(start, [])
        distance = sum(run.distance for run in in_period) * per_mile
        duration = sum(run.duration for run in in_period)
        result.append(
            Total(
                start, distance, duration, len(in_period), duration / distance if distance else None
            )
        )
        start = next_period(start, period)
    return result


def daily_distance(runs: Iterable[Activity], tz: str = "UTC") -> dict[date, float]:
    days: dict[date, float] = defaultdict(float)
    for run in runs:
        days[local_day(run, tz)] += run.distance
    return days


def rolling(
    runs: Iterable[Activity],
    window: int,
    first: date,
    last: date,
    tz: str = "UTC",
    per_mile: float = 1.0,
) -> list[tuple[date, float]]:
    days = daily_distance(runs, tz)
    result = []
    day = first
    while day <= last:
        total = sum(days.get(day - timedelta(days=k), 0.0) for k in range(window))
        result.append((day, total * per_mile))
        day += timedelta(days=1)
    return result


TRIMP_MALE = (0.64, 1.92)


def trimp(
    run: Activity, resting: float, maximum: float, coefficients: tuple[float, float] = TRIMP_MALE
) -> float:
    if run.avg_heart_rate is None:
        return 0.0
    reserve = min(1.0, max(0.0, (run.avg_heart_rate - resting) / (maximum - resting)))
    a, b = coefficients
    return run.duration / 60 * reserve * a * math.exp(b * reserve)


@dataclass(frozen=True)
class Load:
    date: date
    trimp: float
    ctl: float
    atl: float
    runs_without_heart_rate: int


def training_load(
    runs: list[Activity],
    first: date,
    last: date,
    tz: str = "UTC",
    resting: float = 60.0,
    maximum: float = 190.0,
) -> list[Load]:
    """The recurrences day by day from the first run's day (loads 0 before it)."""
    by_day: dict[date, float] = defaultdict(float)
    without_hr: dict[date, int] = defaultdict(int)
    for run in runs:
        day = local_day(run, tz)
        by_day[day] += trimp(run, resting, maximum)
        without_hr[day] += run.avg_heart_rate is None
    origin = min([*by_day, first])
    ctl_decay, atl_decay = math.exp(-1 / 42), math.exp(-1 / 7)
    ctl = atl = 0.0
    result = []
    day = origin
    while day <= last:
        load = by_day.get(day, 0.0)
        ctl = ctl * ctl_decay + load * (1 - ctl_decay)
        atl = atl * atl_decay + load * (1 - atl_decay)
        if day >= first:
            result.append(Load(day, load, ctl, atl, without_hr.get(day, 0)))
        day += timedelta(days=1)
    return result


def weekly_distances(
    runs: Iterable[Activity], first: date, last: date, tz: str = "UTC", week_start: str = "monday"
) -> list[tuple[date, float, float]]:
    """(week start, distance, previous week's distance) for every week in the range."""
    weeks = {
        t.start: t.distance
        for t in totals(runs, "week", first - timedelta(days=7), last, tz, week_start)
    }
    starts = sorted(weeks)
    return [
        (start, weeks[start], weeks[previous])
        for previous, start in zip(starts, starts[1:], strict=False)
    ]


def eddington(day_distances: Iterable[float]) -> int:
    ordered = sorted(day_distances, reverse=True)
    number = 0
    for rank, distance in enumerate(ordered, start=1):
        if distance * (1 + 1e-9) >= rank:
            number = rank
    return number


def streaks(days: Iterable[date]) -> list[tuple[date, date]]:
    """Runs of consecutive days, as (first, last)."""
    result: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if result and result[-1][1] == day - timedelta(days=1):
            result[-1] = (result[-1][0], day)
        else:
            result.append((day, day))
    return result


def current_streak(days: Iterable[date], today: date) -> int:
    for first, last in streaks(day for day in days if day <= today):
        if last >= today - timedelta(days=1):
            return (last - first).days + 1
    return 0


def longest_streak(days: Iterable[date]) -> int:
    return max(((last - first).days + 1 for first, last in streaks(days)), default=0)


def fastest_pace(runs: Iterable[Run], band_miles: float, tolerance: float = 0.03) -> Run | None:
    candidates = [
        run
        for run in runs
        if band_miles * (1 - tolerance) <= run.distance <= band_miles * (1 + tolerance)
    ]
    return min(candidates, key=lambda run: run.duration / run.distance, default=None)


def shoe_mileage(runs: Iterable[Run], shoe_id: str, tz: str = "UTC") -> dict[date, float]:
    """Distance per month (first day) of the runs in the shoe."""
    months: dict[date, float] = defaultdict(float)
    for run in runs:
        if run.shoe_id == shoe_id:
            months[local_day(run, tz).replace(day=1)] += run.distance
    return months


def recent_distance(runs: Iterable[Run], shoe_id: str, now: datetime, days: int = 56) -> float:
    since = now - timedelta(days=days)
    return sum(run.distance for run in runs if run.shoe_id == shoe_id and run.datetime_utc > since)
