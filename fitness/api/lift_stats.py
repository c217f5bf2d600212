"""`GET /stats/lifts/...`: weekly volume, sets per muscle group and one-rep maxes of lifts.

Each route calls one function of fitness.db.lift_stats (one SQL statement each); weights
are kilograms and weeks local to `tz`.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations
from fitness.db import lift_stats
from fitness.lift_models import LiftVolume, MuscleGroupSets, OneRepMaxes
from fitness.shapes.lifts import LiftStatsQuery, OneRepMaxQuery

api = Operations(tag="stats")


@api.get("/stats/lifts/volume", query=LiftStatsQuery, response=LiftVolume, errors=(400, 422))
async def lift_volume(query: LiftStatsQuery) -> LiftVolume:
    """Weekly lifting volume (kg × reps of working sets), sets and lifts per week

    Warm-up sets never count; a set counts in volume with both a weight and reps."""
    return await run_in_threadpool(lambda: lift_stats.get_weekly_volume(**query.model_dump()))


@api.get(
    "/stats/lifts/muscle-groups",
    query=LiftStatsQuery,
    response=MuscleGroupSets,
    errors=(400, 422),
)
async def lift_muscle_groups(query: LiftStatsQuery) -> MuscleGroupSets:
    """Working sets per primary muscle group per week

    Muscle groups are those of Hevy's exercise templates (`unknown` without one)."""
    return await run_in_threadpool(lambda: lift_stats.get_muscle_group_sets(**query.model_dump()))


@api.get("/stats/lifts/one-rep-max", query=OneRepMaxQuery, response=OneRepMaxes, errors=(400, 422))
async def lift_one_rep_max(query: OneRepMaxQuery) -> OneRepMaxes:
    """Best estimated one-rep max per exercise (Epley)

    Epley's formula: weight × (1 + reps / 30); a single is its own weight. Each with the
    set it comes from."""
    return await run_in_threadpool(lambda: lift_stats.get_one_rep_maxes(**query.model_dump()))


routes, paths = api.routes(), paths_of(api)
