"""The race routes: set or clear the race a run was (a new version, If-Match honoured).

The library does the versioning (fitness.db.races); the records' PB progression per official
distance comes from these races (fitness.db.stats.get_records).
"""

from __future__ import annotations

from typing import Final

from starlette.concurrency import run_in_threadpool

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations
from fitness.db import races as db_races
from fitness.models import RunDetail
from fitness.shapes.races import RaceSet
from fitness.shapes.runs import ChangeNote

api = Operations(tag="races")
# What every race change declares, as a run edit does: If-Match, the run back with its ETag.
CHANGE: Final = {
    "if_match": True,
    "response": RunDetail,
    "etag": True,
    "errors": (400, 404, 412, 413, 422),
}


@api.put("/runs/{run_id}/race", body=RaceSet, operation_id="setRunRace", **CHANGE)
async def set_race(run_id: str, body: RaceSet, if_match: int | None) -> RunDetail:
    """Record the race a run was (a new `edit` version; none if it is the same race)

    Send the event `name`, the official `distance` (miles unless `units` is `km`), the chip
    `time` in seconds and optionally `place` and `field_size`, plus `changed_by` and
    `change_reason`. The run comes back with its `race_*` fields."""
    return await run_in_threadpool(
        db_races.set_run_race, run_id, body.race(), expected_version=if_match, **body.note()
    )


@api.delete(
    "/runs/{run_id}/race",
    body=ChangeNote,
    body_required=False,
    operation_id="clearRunRace",
    **CHANGE,
)
async def clear_race(run_id: str, body: ChangeNote, if_match: int | None) -> RunDetail:
    """Clear a run's race (a new `edit` version; none if it had none)"""
    return await run_in_threadpool(
        db_races.clear_run_race, run_id, expected_version=if_match, **body.note()
    )


routes, paths = api.routes(), paths_of(api)
