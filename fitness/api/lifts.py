"""The lifts routes: list and read lifts; edit, delete, history and restore as for runs
(the routes every versioned kind shares, fitness.api.versioned). The library does the
versioning (fitness.db.lifts_history, on the mechanism runs and rides use).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations
from fitness.api.versioned import VersionedKind, declare_versioned_operations
from fitness.db import lifts as db_lifts
from fitness.db import lifts_history as db_history
from fitness.errors import LiftNotFound
from fitness.lift_models import LIFT_EDITABLE_FIELDS, Lift, LiftHistory, LiftHistoryEntry, LiftPage
from fitness.shapes.lifts import LiftEdit, LiftListQuery
from fitness.shapes.runs import IncludeDeleted

api = Operations(tag="lifts")


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


declare_versioned_operations(
    api,
    VersionedKind(
        noun="lift",
        gear="exercise",
        detail=Lift,
        history=LiftHistory,
        entry=LiftHistoryEntry,
        edit_body=LiftEdit,
        editable=LIFT_EDITABLE_FIELDS,
        update=db_history.update_lift_with_history,
        delete=db_history.delete_lift,
        history_page=db_history.get_lift_history,
        version_entry=db_history.get_lift_version,
        restore=db_history.restore_lift_version,
    ),
)


routes, paths = api.routes(), paths_of(api)
