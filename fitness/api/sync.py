"""`POST /strava/sync`: fetch new activities from Strava and store the runs among them.

The work is fitness.services.strava_sync; a sync stopped by Strava's rate limit still
answers 200, with `rate_limited: true` and when to try again.
"""

from __future__ import annotations

from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fitness.api import parsing
from fitness.api.openapi import json_response, problems, protected, ref
from fitness.api.routing import route
from fitness.services.strava_sync import sync_strava


async def strava_sync(request: Request) -> Response:
    """Sync runs from Strava; 200 with what was fetched and stored."""
    query = parsing.QueryParameters(request)
    full_sync = query.flag("full_sync")
    query.done()
    result = await run_in_threadpool(sync_strava, full_sync)
    return JSONResponse(result.to_dict())


routes = [route("/strava/sync", POST=strava_sync)]


# OpenAPI: the operation above and the shape it answers with.

_TIMESTAMP: Final = {"type": ["string", "null"], "format": "date-time"}

paths = {
    "/strava/sync": {
        "post": {
            "operationId": "syncStrava",
            "summary": "Fetch new activities from Strava and store the runs",
            "description": (
                "Incremental: activities starting after the last sync (minus a week, for "
                "late uploads); `full_sync=true` fetches everything. Known runs are skipped, "
                "so syncing again changes nothing. A rate limit stops the sync early but "
                "keeps what was fetched: still 200, with `rate_limited` and `retry_after`. "
                "409 if Strava revoked our access (authorise again), 502 if Strava fails, "
                "503 if Strava is not configured."
            ),
            "tags": ["sync"],
            "parameters": [
                {
                    "name": "full_sync",
                    "in": "query",
                    "required": False,
                    "description": "Ignore the last sync and fetch every activity.",
                    "schema": {"type": "boolean", "default": False},
                }
            ],
            "responses": protected(
                {
                    "200": json_response("What the sync did.", ref("StravaSyncSummary")),
                    **problems(409, 422, 502),
                }
            ),
        }
    }
}

schemas = {
    "StravaSyncSummary": {
        "type": "object",
        "required": [
            "fetched",
            "inserted",
            "skipped_existing",
            "skipped_other_activities",
            "shoes_created",
            "shoes_changed",
            "rate_limited",
            "retry_after",
            "last_synced_at",
            "errors",
        ],
        "additionalProperties": False,
        "properties": {
            "fetched": {"type": "integer", "minimum": 0, "description": "Activities received."},
            "inserted": {"type": "integer", "minimum": 0, "description": "New runs stored."},
            "skipped_existing": {"type": "integer", "minimum": 0},
            "skipped_other_activities": {
                "type": "integer",
                "minimum": 0,
                "description": "Rides, walks and other activities that are not runs.",
            },
            "shoes_created": {"type": "array", "items": {"type": "string"}},
            "shoes_changed": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Shoes renamed, retired or unretired because their Strava gear was.",
            },
            "rate_limited": {
                "type": "boolean",
                "description": "True: Strava's rate limit stopped the sync; run it again later.",
            },
            "retry_after": {**_TIMESTAMP, "description": "When Strava will answer again."},
            "last_synced_at": {
                **_TIMESTAMP,
                "description": "The newest start time fetched so far: the next sync's marker.",
            },
            "errors": {
                "type": "array",
                "description": "Run activities that could not be stored.",
                "items": {
                    "type": "object",
                    "required": ["activity_id", "message"],
                    "properties": {
                        "activity_id": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    }
}
