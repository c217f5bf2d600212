"""The routes that change what a shoe is: rename, undelete, merge into another, unmerge.

A rename keeps the shoe's id; its old name stays one of its `former_names`, by which imports
keep finding it. A merge moves runs as new run versions and is undone by an unmerge
(fitness.db.shoe_merges).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations
from fitness.db import shoe_merges as db_merges
from fitness.db import shoes as db_shoes
from fitness.db.shoe_merges import ShoeMerge
from fitness.models import Shoe
from fitness.shapes.shoe_changes import ShoeMergeNote, ShoeRename

api = Operations(tag="shoes")


@api.post(
    "/shoes/{shoe_id}/rename",
    body=ShoeRename,
    response=Shoe,
    errors=(400, 404, 409, 413, 422),
)
async def rename_shoe(shoe_id: str, body: ShoeRename) -> Shoe:
    """Rename a shoe (its id stays; imports keep finding it by its old name)

    A 409 when another shoe has or had a name with the same key (case, spacing and
    punctuation aside): merge the two instead."""
    return await run_in_threadpool(db_shoes.rename_shoe, shoe_id, body.name)


@api.post("/shoes/{shoe_id}/undelete", response=Shoe, errors=(404, 409))
async def undelete_shoe(shoe_id: str) -> Shoe:
    """Undelete a deleted shoe (runs can be given to it again)

    A 409 for a shoe merged into another: unmerge it instead."""
    return await run_in_threadpool(db_shoes.undelete_shoe, shoe_id)


@api.post(
    "/shoes/{shoe_id}/merge-into/{kept_shoe_id}",
    body=ShoeMergeNote,
    body_required=False,
    response=ShoeMerge,
    errors=(400, 404, 409, 413, 422),
)
async def merge_shoe(shoe_id: str, kept_shoe_id: str, body: ShoeMergeNote) -> ShoeMerge:
    """Merge a shoe into another: its runs move as new `merge` versions

    The merged shoe is deleted; its names become former names of the kept shoe, and its
    Strava gear follows. Undo it with `POST /shoes/{shoe_id}/unmerge`."""
    return await run_in_threadpool(db_merges.merge_shoe, shoe_id, kept_shoe_id, **body.note())


@api.post(
    "/shoes/{shoe_id}/unmerge",
    body=ShoeMergeNote,
    body_required=False,
    response=ShoeMerge,
    errors=(400, 404, 409, 413, 422),
)
async def unmerge_shoe(shoe_id: str, body: ShoeMergeNote) -> ShoeMerge:
    """Undo a shoe's merge: it is back with its names, gear and runs

    Each run the merge moved that is still in the kept shoe moves back as a new `merge`
    version. A 409 when the shoe is not merged, or the kept shoe is deleted now."""
    return await run_in_threadpool(db_merges.unmerge_shoe, shoe_id, **body.note())


routes, paths = api.routes(), paths_of(api)
