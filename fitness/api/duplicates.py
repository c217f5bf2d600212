"""One run per real run: suggested duplicates, dismissing a suggestion, and marking a run a
duplicate of another (fitness.db.duplicates, fitness.db.runs_history.mark_duplicate)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations
from fitness.db import duplicates as db_duplicates
from fitness.db import runs_history as db_history
from fitness.models import DismissedPair, DuplicatePage, RunDetail
from fitness.shapes.runs import ChangeNote, DismissDuplicates, DuplicatesQuery

api = Operations(tag="duplicates")


@api.get("/duplicates", query=DuplicatesQuery, response=DuplicatePage, errors=(400, 422))
async def list_duplicates(query: DuplicatesQuery) -> DuplicatePage:
    """Pairs of runs that look like one real run, from two sources

    Two runs from different sources, neither deleted nor a duplicate, whose times overlap
    give or take 15 minutes (a MapMyFitness run spans its whole day: its export has dates
    only) and whose distances differ by at most 5% (or 0.1 mile). Dismissed pairs are never
    suggested again."""
    return await run_in_threadpool(db_duplicates.get_duplicate_suggestions, **query.model_dump())


@api.post(
    "/duplicates/dismiss",
    body=DismissDuplicates,
    response=DismissedPair,
    errors=(400, 404, 413, 422),
    operation_id="dismissDuplicates",
)
async def dismiss_duplicates(body: DismissDuplicates) -> DismissedPair:
    """Say two runs are not one real run: never suggest them again"""
    first, second = body.run_ids
    return await run_in_threadpool(db_duplicates.dismiss_duplicate_pair, first, second)


@api.post(
    "/runs/{run_id}/duplicate-of/{kept_id}",
    body=ChangeNote,
    body_required=False,
    if_match=True,
    response=RunDetail,
    etag=True,
    errors=(400, 404, 409, 412, 413, 422),
    operation_id="markDuplicate",
    tag="history",
)
async def mark_duplicate(
    run_id: str, kept_id: str, body: ChangeNote, if_match: int | None
) -> RunDetail:
    """Mark a run a duplicate of another (hidden from lists and totals; undo by restoring)

    Answers with the duplicate as it now is: a `duplicate` version whose `duplicate_of` is
    `kept_id`. The kept run gets a `merge` version whose `duplicate_ids` list the runs it
    stands for. Nothing is deleted: restoring the duplicate's version from before the
    marking undoes it. If-Match applies to the duplicate. 409 when a run would be its own
    duplicate, a duplicate twice, or the kept run is a duplicate itself."""
    return await run_in_threadpool(
        db_history.mark_duplicate, run_id, kept_id, expected_version=if_match, **body.note()
    )


routes, paths = api.routes(), paths_of(api)
