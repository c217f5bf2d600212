"""`POST /ingest/hae`: Apple Health workouts pushed by the Health Auto Export app (iOS).

The phone sends a fixed bearer token, so this route takes an ingest token as well as the
API's tokens (fitness.server.auth). Its body can be large (every route point of every workout
of the period), so it is spooled to disk as it arrives and streamed through the reader
(fitness.importers.hae), never held in memory whole.
"""

from __future__ import annotations

from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations
from fitness.api.parsing import spooled_body
from fitness.services.hae_ingest import HAEIngestResult, ingest_hae
from fitness.shapes.ingest import HaePayload

# A month of daily runs with every route point is some 30 MB; beyond this, the app's Batch
# Requests splits a push.
MAX_HAE_BYTES: Final = 100 * 1024 * 1024

api = Operations(tag="ingest")


@api.post(
    "/ingest/hae",
    streamed_body=HaePayload,
    response=HAEIngestResult,
    ingest=True,
    errors=(403, 413, 422),
    operation_id="ingestHealthAutoExport",
)
async def ingest_health_auto_export(request: Request) -> HAEIngestResult:
    """Store the runs of a Health Auto Export push (Apple Health workouts)

    Point the app's REST API automation (data type Workouts, format JSON) at this route with
    the header `Authorization: Bearer <ingest token>`. Running workouts become runs
    `hae_<workout UUID>`; workouts already stored are skipped, others are counted. A body
    that is not JSON or has no `data.workouts` is a 400; a running workout that makes no run
    is a 422 naming its field (`data.workouts[2].start`), and then nothing is stored. At most
    100 MiB (413)."""
    async with spooled_body(request, MAX_HAE_BYTES) as body:
        return await run_in_threadpool(ingest_hae, body)


routes, paths = api.routes(), paths_of(api)
