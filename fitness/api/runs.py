"""The runs routes: list, read, add by hand, edit, delete, browse history and restore a
version.

Edit, delete, history and restore are the routes every versioned kind shares
(fitness.api.versioned); the library does the versioning (fitness.db.runs_history).
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations, Reply
from fitness.api.versioned import VersionedKind, declare_versioned_operations
from fitness.db import runs as db_runs
from fitness.db import runs_history as db_history
from fitness.errors import RunNotFound
from fitness.models import (
    EDITABLE_FIELDS,
    HistoryEntry,
    RunDetail,
    RunHistory,
    RunPage,
)
from fitness.services.manual_runs import add_manual_run
from fitness.shapes.runs import IncludeDeleted, ManualRun, RunEdit, RunListQuery

api = Operations(tag="runs")


@api.get("/runs", query=RunListQuery, response=RunPage, errors=(400, 422))
async def list_runs(query: RunListQuery) -> RunPage:
    """Runs, newest first, keyset-paginated"""
    return await run_in_threadpool(db_runs.list_run_details, **query.model_dump())


@api.post(
    "/runs",
    body=ManualRun,
    response=RunDetail,
    status=201,
    location=True,
    etag=True,
    errors=(409, 413, 422),
    operation_id="addRun",
)
async def add_run(body: ManualRun) -> Reply:
    """Add a run by hand (source `Manual`)

    Answers 201 with the run as `GET /runs/{id}` shows it, its `Location` and `ETag`. Its id
    is `manual_<UTC start>` (`manual_20250506T053000Z`), so the same run sent twice is a 409
    naming the run already there. `distance` is in miles unless `units` is `km`."""
    run = await run_in_threadpool(add_manual_run, **body.model_dump())
    return Reply(run, headers={"Location": f"/runs/{quote(run.id)}"})


@api.get("/runs/{run_id}", query=IncludeDeleted, response=RunDetail, etag=True, errors=(404, 422))
async def get_run(run_id: str, query: IncludeDeleted) -> RunDetail:
    """One run, with its shoe's name and calendar state

    A deleted run needs `include_deleted=true`."""
    run = await run_in_threadpool(
        db_runs.get_run_detail_by_id, run_id, include_deleted=query.include_deleted
    )
    if run is None:
        raise RunNotFound(run_id)
    return run


declare_versioned_operations(
    api,
    VersionedKind(
        noun="run",
        gear="shoe",
        detail=RunDetail,
        history=RunHistory,
        entry=HistoryEntry,
        edit_body=RunEdit,
        editable=EDITABLE_FIELDS,
        update=db_history.update_run_with_history,
        delete=db_runs.delete_run,
        history_page=db_history.get_run_history_page,
        version_entry=db_history.get_run_version_entry,
        restore=db_history.restore_run_version,
    ),
)

routes, paths = api.routes(), paths_of(api)
