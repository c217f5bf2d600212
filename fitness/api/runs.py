"""The runs routes: list, read, add by hand, edit, delete, browse history and restore a
version.

Every change answers with the run as it now is and its ETag (`"<version>"`), and honours
If-Match; the library does the versioning (fitness.db.runs, fitness.db.runs_history).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations, Reply
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
from fitness.shapes.runs import (
    ChangeNote,
    HistoryQuery,
    IncludeDeleted,
    ManualRun,
    RunEdit,
    RunListQuery,
)

api = Operations(tag="runs")

# What every change of a run declares: If-Match, the run as it now is with its ETag, and the
# ways a change can be refused.
CHANGE: Final = {
    "if_match": True,
    "response": RunDetail,
    "etag": True,
    "errors": (400, 404, 412, 413, 422),
}


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


@api.patch(
    "/runs/{run_id}",
    body=RunEdit,
    operation_id="editRun",
    **CHANGE,
)
async def edit_run(run_id: str, body: RunEdit, if_match: int | None) -> RunDetail:
    """Edit a run (a new version; none if nothing changes)

    Send any of the editable fields, plus `changed_by` (default `api`) and `change_reason`.
    `id` and `source` are protected (400); unknown fields are a 400 too; invalid values
    (negative distance, unknown type or shoe, a date-time without offset) a 422 listing
    each field."""
    return await run_in_threadpool(
        db_history.update_run_with_history,
        run_id,
        body.given(*EDITABLE_FIELDS),
        expected_version=if_match,
        **body.note(),
    )


@api.delete("/runs/{run_id}", body=ChangeNote, body_required=False, **CHANGE)
async def delete_run(run_id: str, body: ChangeNote, if_match: int | None) -> RunDetail:
    """Soft-delete a run (a `deletion` version)

    Answers with the deleted run. Restoring an earlier version undoes it."""
    return await run_in_threadpool(
        db_runs.delete_run, run_id, expected_version=if_match, **body.note()
    )


@api.get(
    "/runs/{run_id}/history",
    query=HistoryQuery,
    response=RunHistory,
    errors=(400, 404, 422),
    operation_id="getRunHistory",
    tag="history",
)
async def get_history(run_id: str, query: HistoryQuery) -> RunHistory:
    """Every version of a run, newest first, a page at a time

    Versions of a deleted run are listed too. Each has the `changes` it made."""
    return await run_in_threadpool(db_history.get_run_history_page, run_id, **query.model_dump())


@api.get(
    "/runs/{run_id}/history/{version}",
    response=HistoryEntry,
    errors=(404, 422),
    operation_id="getRunVersion",
    tag="history",
)
async def get_version(run_id: str, version: int) -> HistoryEntry:
    """One version of a run, with what it changed"""
    return await run_in_threadpool(db_history.get_run_version_entry, run_id, version)


@api.post(
    "/runs/{run_id}/restore/{version}",
    body=ChangeNote,
    body_required=False,
    operation_id="restoreRunVersion",
    tag="history",
    **CHANGE,
)
async def restore_version(
    run_id: str, version: int, body: ChangeNote, if_match: int | None
) -> RunDetail:
    """Make a version's data current again (undeletes the run)

    Appends a `restore` version whose data equals that version's; history is never
    rewritten."""
    return await run_in_threadpool(
        db_history.restore_run_version, run_id, version, expected_version=if_match, **body.note()
    )


routes, paths = api.routes(), paths_of(api)
