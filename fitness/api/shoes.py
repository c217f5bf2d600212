"""The shoes routes: list and read (with mileage, limits and wear), create, retire,
annotate or set limits, soft-delete.

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
from fitness.db import stats
from fitness.models import SHAPE, Shoe, ShoeWithWear
from fitness.shapes.shoes import ShoeCreate, ShoeEdit, ShoeListQuery

api = Operations(tag="shoes")


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class ShoeList:
    """The shoes, by name."""

    shoes: list[ShoeWithWear]


@api.get("/shoes", query=ShoeListQuery, response=ShoeList, errors=(400, 422))
async def list_shoes(query: ShoeListQuery) -> ShoeList:
    """Shoes by name, with mileage, run count, limits and wear

    In miles: `miles_used` is the starting mileage plus the runs', `miles_left` what remains
    before the maximum; the projected dates extrapolate the last 8 weeks' rate (null with
    no recent use, for a retired shoe or a threshold passed)."""
    return ShoeList(await run_in_threadpool(stats.get_shoes_with_wear, retired=query.retired))


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


@api.get("/shoes/{shoe_id}", response=ShoeWithWear, errors=(404,))
async def get_shoe(shoe_id: str) -> ShoeWithWear:
    """One shoe, with its limits and wear as `GET /shoes` shows them"""
    shoe = await run_in_threadpool(stats.get_shoe_with_wear_by_id, shoe_id)
    if shoe is None:
        raise await run_in_threadpool(db_shoes.missing_shoe, shoe_id)
    return shoe


@api.patch("/shoes/{shoe_id}", body=ShoeEdit, response=ShoeWithWear, errors=(400, 404, 413, 422))
async def update_shoe(shoe_id: str, body: ShoeEdit) -> ShoeWithWear:
    """Retire, unretire or annotate a shoe, or set its mileage limits

    `starting_mileage`, `warning_mileage` and `maximum_mileage` are miles; the warning may
    not exceed the maximum. All the changes are made, or none."""
    return await run_in_threadpool(db_shoes.update_shoe_and_limits, shoe_id, body.given())


@api.delete("/shoes/{shoe_id}", response=Shoe, errors=(404,))
async def delete_shoe(shoe_id: str) -> Shoe:
    """Soft-delete a shoe (its runs keep their shoe_id)

    Answers with the deleted shoe (`deleted_at` is set)."""
    return await run_in_threadpool(db_shoes.delete_shoe_by_id, shoe_id)


routes, paths = api.routes(), paths_of(api)
