"""The shoes routes: list (with mileage), read, create, retire or annotate, soft-delete.

A shoe's id is derived from its name (fitness.ids.shoe_id_from_name), so creating a shoe
whose name normalises to an existing id is a 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from pydantic import with_config
from starlette.concurrency import run_in_threadpool

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations, Reply
from fitness.db import shoes as db_shoes
from fitness.errors import ShoeNotFound
from fitness.models import SHAPE, Shoe
from fitness.shapes.shoes import ShoeCreate, ShoeListQuery, ShoeUpdate

api = Operations(tag="shoes")


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class ShoeList:
    """The shoes, by name."""

    shoes: list[Shoe]


@api.get("/shoes", query=ShoeListQuery, response=ShoeList, errors=(400, 422))
async def list_shoes(query: ShoeListQuery) -> ShoeList:
    """Shoes by name, with mileage and run count"""
    return ShoeList(await run_in_threadpool(db_shoes.get_shoes, retired=query.retired))


@api.post(
    "/shoes",
    body=ShoeCreate,
    response=Shoe,
    status=201,
    location=True,
    errors=(400, 409, 413, 422),
)
async def create_shoe(body: ShoeCreate) -> Reply:
    """Create a shoe (its id is derived from its name)"""
    shoe = await run_in_threadpool(db_shoes.create_shoe, body.name, body.notes)
    return Reply(shoe, headers={"Location": f"/shoes/{quote(shoe.id)}"})


@api.get("/shoes/{shoe_id}", response=Shoe, errors=(404,))
async def get_shoe(shoe_id: str) -> Shoe:
    """One shoe"""
    shoe = await run_in_threadpool(db_shoes.get_shoe_by_id, shoe_id)
    if shoe is None:
        raise ShoeNotFound(shoe_id)
    return shoe


@api.patch("/shoes/{shoe_id}", body=ShoeUpdate, response=Shoe, errors=(400, 404, 413, 422))
async def update_shoe(shoe_id: str, body: ShoeUpdate) -> Shoe:
    """Retire, unretire or annotate a shoe"""
    return await run_in_threadpool(db_shoes.update_shoe_by_id, shoe_id, body.given())


@api.delete("/shoes/{shoe_id}", response=Shoe, errors=(404,))
async def delete_shoe(shoe_id: str) -> Shoe:
    """Soft-delete a shoe (its runs keep their shoe_id)

    Answers with the deleted shoe (`deleted_at` is set)."""
    return await run_in_threadpool(db_shoes.delete_shoe_by_id, shoe_id)


routes, paths = api.routes(), paths_of(api)
