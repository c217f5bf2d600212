"""The statistics routes under /stats: totals, rolling sums, training load, records, and
shoe mileage and wear, each one call of fitness.db.stats (one SQL statement).

Distances come in `units` (default FITNESS_UNITS), local days in `tz` (default
FITNESS_TIMEZONE), and `as_of` answers as the log stood then; the answer names all three.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from pydantic import with_config
from starlette.concurrency import run_in_threadpool

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations
from fitness.config import get_settings
from fitness.db import stats
from fitness.models import SHAPE
from fitness.shapes.stats import (
    RecordsQuery,
    RollingQuery,
    ShoeStatsQuery,
    TotalsQuery,
    TrainingLoadQuery,
)
from fitness.stats_models import (
    Records,
    RollingSums,
    ShoeMileage,
    ShoeWear,
    Totals,
    TrainingLoad,
    Units,
)

api = Operations(tag="stats")
ERRORS = (400, 422)


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class ShoeMileageList:
    """Each shoe's use, by name, in `units`; months are local to `tz`."""

    units: Units
    tz: str
    shoes: list[ShoeMileage]


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class ShoeWearList:
    """Each shoe's wear, by name, in `units`; projected days are local to `tz`."""

    units: Units
    tz: str
    shoes: list[ShoeWear]


@api.get("/stats/totals", query=TotalsQuery, response=Totals, errors=ERRORS)
async def get_totals(query: TotalsQuery) -> Totals:
    """Distance, duration, runs and pace per day, week, month or year

    One entry per period from the one holding `start` to the one holding `end`, empty ones
    as zeros; `start` is the period's first local day, `duration` is in seconds, `pace` in
    seconds per mile or km (null for an empty period). Deleted runs and runs marked
    duplicates never count. `sport=ride` counts rides instead, `sport=all` both (`runs`
    is then the number of activities); deleted rides never count."""
    return await run_in_threadpool(
        stats.get_totals,
        query.period,
        query.start,
        query.end,
        tz=query.tz,
        week_start=query.week_start,
        units=query.units,
        as_of=query.as_of,
        sport=query.sport,
    )


@api.get("/stats/rolling", query=RollingQuery, response=RollingSums, errors=ERRORS)
async def get_rolling(query: RollingQuery) -> RollingSums:
    """Distance of the `window` days ending with each local day

    Runs before `start` count toward the first days' windows; `sport` chooses runs (the
    default), rides or all."""
    return await run_in_threadpool(
        stats.get_rolling_sums,
        query.window,
        query.start,
        query.end,
        tz=query.tz,
        units=query.units,
        as_of=query.as_of,
        sport=query.sport,
    )


@api.get("/stats/training-load", query=TrainingLoadQuery, response=TrainingLoad, errors=ERRORS)
async def get_training_load(query: TrainingLoadQuery) -> TrainingLoad:
    """Training load per day: TRIMP, CTL, ATL, TSB, acute:chronic ratio; weekly growth

    TRIMP is Banister's, from each run's minutes and average heart rate between the resting
    and maximum heart rate; a run without a heart rate adds no TRIMP and is counted in the
    day's `runs_without_heart_rate`. CTL and ATL are the 42- and 7-day exponentially
    weighted averages, TSB = CTL - ATL, `acute_chronic_ratio` = ATL / CTL. `weeks` compares
    each week's distance with the week before, flagging growth over 10%. By default
    (`sport=all`) rides count as runs do, from their minutes and average heart rate (a ride
    without one adds nothing and is counted in `runs_without_heart_rate`), and their
    distance counts in `weeks`; `sport=run` or `sport=ride` keeps to one."""
    return await run_in_threadpool(
        stats.get_training_load,
        query.start,
        query.end,
        tz=query.tz,
        week_start=query.week_start,
        units=query.units,
        resting_hr=query.resting_hr,
        max_hr=query.max_hr,
        as_of=query.as_of,
        sport=query.sport,
    )


@api.get("/stats/records", query=RecordsQuery, response=Records, errors=ERRORS)
async def get_records(query: RecordsQuery) -> Records:
    """Longest run, fastest paces, longest week and month, streaks, Eddington number

    Fastest average pace at 5 km, 10 km, half marathon and marathon over runs within 3% of
    the distance; streaks of local days with a run (the current one alive through
    yesterday); the Eddington number in both miles and km, whatever `units`."""
    return await run_in_threadpool(
        stats.get_records,
        tz=query.tz,
        week_start=query.week_start,
        units=query.units,
        as_of=query.as_of,
    )


@api.get("/stats/shoes", query=ShoeStatsQuery, response=ShoeMileageList, errors=ERRORS)
async def get_shoe_mileage(query: ShoeStatsQuery) -> ShoeMileageList:
    """Each shoe's distance, runs, first and last day of use, and distance per month

    Every month from a shoe's first use to its last is listed, gaps as zeros. `distance`
    counts runs only, not the shoe's starting mileage (see `/stats/shoe-wear`)."""
    shoes = await run_in_threadpool(
        stats.get_shoe_mileage, query.retired, tz=query.tz, units=query.units, as_of=query.as_of
    )
    return ShoeMileageList(*_units_and_zone(query), shoes=shoes)


@api.get("/stats/shoe-wear", query=ShoeStatsQuery, response=ShoeWearList, errors=ERRORS)
async def get_shoe_wear(query: ShoeStatsQuery) -> ShoeWearList:
    """Each shoe's distance used and left, and when it reaches its warning and maximum

    `used` is the starting mileage plus its runs; projections divide the distance still to
    go by the last 8 weeks' rate, and are null for a retired shoe, one without recent use,
    or a threshold already passed."""
    shoes = await run_in_threadpool(
        stats.get_shoe_wear, query.retired, tz=query.tz, units=query.units, as_of=query.as_of
    )
    return ShoeWearList(*_units_and_zone(query), shoes=shoes)


def _units_and_zone(query: ShoeStatsQuery) -> tuple[Units, str]:
    # What the library used: the query's, or the settings' (which it has checked).
    settings = get_settings()
    units = cast(Units, settings.units) if query.units is None else query.units
    return units, settings.timezone if query.tz is None else query.tz


routes, paths = api.routes(), paths_of(api)
