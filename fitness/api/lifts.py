"""The lifts routes: list, read, edit, delete, browse history and restore a version, as
for runs (fitness.api.runs).

Every change answers with the lift as it now is and its ETag (`"<version>"`), and honours
If-Match; the library does the versioning (fitness.db.lifts_history, the mechanism runs
use).
"""

from __future__ import annotations

from typing import Final

from starlette.concurrency import run_in_threadpool

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations
from fitness.db import lifts as db_lifts
from fitness.db import lifts_history as db_history
from fitness.errors import LiftNotFound
from fitness.lift_models import LIFT_EDITABLE_FIELDS, Lift, LiftHistory, LiftHistoryEntry, LiftPage
from fitness.shapes.lifts import LiftEdit, LiftListQuery
from fitness.shapes.runs import ChangeNote, HistoryQuery, IncludeDeleted

api = Operations(tag="lifts")

# What every change of a lift declares, as for runs.
CHANGE: Final = {
    "if_match": True,
    "response": Lift,
    "etag": True,
    "errors": (400, 404, 412, 413, 422),
}


@api.get("/lifts", query=LiftListQuery, response=LiftPage, errors=(400, 422))
async def list_lifts(query: LiftListQuery) -> LiftPage:
    """Lifts, newest first, keyset-paginated"""
    return await run_in_threadpool(db_lifts.list_lifts, **query.model_dump())


@api.get("/lifts/{lift_id}", query=IncludeDeleted, response=Lift, etag=True, errors=(404, 422))
async def get_lift(lift_id: str, query: IncludeDeleted) -> Lift:
    """One lift with its exercises and sets

    A deleted lift needs `include_deleted=true`."""
    lift = await run_in_threadpool(
        db_lifts.get_lift_by_id, lift_id, include_deleted=query.include_deleted
    )
    if lift is None:
        raise LiftNotFound(lift_id)
    return lift


@api.patch("/lifts/{lift_id}", body=LiftEdit, operation_id="editLift", **CHANGE)
async def edit_lift(lift_id: str, body: LiftEdit, if_match: int | None) -> Lift:
    """Edit a lift (a new version; none if nothing changes)

    Send any of `datetime_utc`, `end_utc`, `title`, `description` and `exercises` (the
    whole list, replacing the old one), plus `changed_by` (default `api`) and
    `change_reason`. A lift edited here is never overwritten by a Hevy sync."""
    return await run_in_threadpool(
        db_history.update_lift_with_history,
        lift_id,
        body.given(*LIFT_EDITABLE_FIELDS),
        expected_version=if_match,
        **body.note(),
    )


@api.delete("/lifts/{lift_id}", body=ChangeNote, body_required=False, **CHANGE)
async def delete_lift(lift_id: str, body: ChangeNote, if_match: int | None) -> Lift:
    """Soft-delete a lift (a `deletion` version)

    Answers with the deleted lift. Restoring an earlier version undoes it."""
    return await run_in_threadpool(
        db_history.delete_lift, lift_id, expected_version=if_match, **body.note()
    )


@api.get(
    "/lifts/{lift_id}/history",
    query=HistoryQuery,
    response=LiftHistory,
    errors=(400, 404, 422),
    operation_id="getLiftHistory",
    tag="history",
)
async def get_history(lift_id: str, query: HistoryQuery) -> LiftHistory:
    """Every version of a lift, newest first, a page at a time, each with its `changes`"""
    return await run_in_threadpool(db_history.get_lift_history, lift_id, **query.model_dump())


@api.get(
    "/lifts/{lift_id}/history/{version}",
    response=LiftHistoryEntry,
    errors=(404, 422),
    operation_id="getLiftVersion",
    tag="history",
)
async def get_version(lift_id: str, version: int) -> LiftHistoryEntry:
    """One version of a lift, with what it changed"""
    return await run_in_threadpool(db_history.get_lift_version, lift_id, version)


@api.post(
    "/lifts/{lift_id}/restore/{version}",
    body=ChangeNote,
    body_required=False,
    operation_id="restoreLiftVersion",
    tag="history",
    **CHANGE,
)
async def restore_version(
    lift_id: str, version: int, body: ChangeNote, if_match: int | None
) -> Lift:
    """Make a version's workout current again (undeletes the lift)"""
    return await run_in_threadpool(
        db_history.restore_lift_version, lift_id, version, expected_version=if_match, **body.note()
    )


routes, paths = api.routes(), paths_of(api)
