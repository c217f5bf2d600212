"""`POST /strava/sync`: fetch new activities from Strava and store the runs among them;
`POST /hevy/sync`: bring the lifts up to date with Hevy.

The work is fitness.services.strava_sync and fitness.services.hevy_sync; a sync stopped by
the provider's rate limit still answers 200, with `rate_limited: true` and when to try again.
"""

from __future__ import annotations

from functools import partial

from starlette.concurrency import run_in_threadpool

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations
from fitness.services.hevy_sync import HevySyncResult, sync_hevy
from fitness.services.strava_sync import StravaSyncResult, sync_strava
from fitness.shapes.integrations import HevySyncQuery, StravaSyncQuery

api = Operations(tag="sync")


@api.post(
    "/strava/sync",
    query=StravaSyncQuery,
    response=StravaSyncResult,
    errors=(400, 409, 422, 502),
    operation_id="syncStrava",
)
async def strava_sync(query: StravaSyncQuery) -> StravaSyncResult:
    """Fetch new activities from Strava and store the runs

    Incremental: activities starting after the last sync (minus a week, for late uploads);
    `full_sync=true` fetches everything; `since=YYYY-MM-DD` fetches every activity started
    on or after that day (UTC), for runs uploaded later than the week's overlap. Known runs
    are skipped, so syncing again changes nothing. A rate limit stops the sync early but
    keeps what was fetched: still 200, with `rate_limited` and `retry_after`. 409 when
    Strava refuses the connection as a whole (access revoked, activities not granted, the
    app deactivated: the detail says what to do), 502 if Strava fails, 503 if Strava is not
    configured."""
    return await run_in_threadpool(partial(sync_strava, query.full_sync, since=query.since))


@api.post(
    "/hevy/sync",
    query=HevySyncQuery,
    response=HevySyncResult,
    errors=(400, 409, 422, 502),
    operation_id="syncHevy",
)
async def hevy_sync(query: HevySyncQuery) -> HevySyncResult:
    """Bring the lifts up to date with Hevy

    Reads Hevy's workout events since the last sync (the first sync, and `full_sync=true`,
    list every workout): a new workout becomes the lift `hevy_<workout id>`, a changed one
    a new version of it, a deleted one a `deletion` version. A lift changed here is never
    overwritten: Hevy's change is skipped (`skipped_existing`) and the lift listed in
    `kept_edited`. Hevy's rate limit stops the sync early but keeps what was fetched: still
    200, with `rate_limited` and `retry_after`. 409 when Hevy refuses the API key (wrong
    key, no Hevy Pro), 502 if Hevy fails (what was fetched before is stored), 503 without
    HEVY_API_KEY."""
    return await run_in_threadpool(partial(sync_hevy, query.full_sync))


routes, paths = api.routes(), paths_of(api)
