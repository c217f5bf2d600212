"""The shoes routes: list (with mileage), read, create, retire or annotate, soft-delete.

A shoe's id is derived from its name (fitness.ids.shoe_id_from_name), so creating a shoe
whose name normalises to an existing id is a 409.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fitness.api import parsing
from fitness.api.openapi import json_body, json_response, problems, protected, ref
from fitness.api.routing import route
from fitness.api.serialise import shoe_json
from fitness.db import shoes as db_shoes
from fitness.errors import InvalidUpdate, ShoeNotFound, UnknownFields
from fitness.ids import MAX_SHOE_NAME_CHARS

_CREATE_PARSERS: Final = {"name": parsing.required_text, "notes": parsing.optional_text}
_UPDATE_PARSERS: Final = {
    "retired_at": parsing.optional_calendar_date,
    "retirement_notes": parsing.optional_text,
    "notes": parsing.optional_text,
}


async def list_shoes(request: Request) -> Response:
    """Shoes by name, each with mileage and run count from its non-deleted runs."""
    query = parsing.QueryParameters(request)
    raw_retired = query.text("retired")
    retired = None if raw_retired is None else query.flag("retired")
    query.done()
    shoes = await run_in_threadpool(db_shoes.get_shoes, retired=retired)
    return JSONResponse({"shoes": [shoe_json(shoe) for shoe in shoes]})


async def get_shoe(request: Request) -> Response:
    """One shoe."""
    shoe_id = parsing.path_id(request, "shoe_id", ShoeNotFound)
    shoe = await run_in_threadpool(db_shoes.get_shoe_by_id, shoe_id)
    if shoe is None:
        raise ShoeNotFound(shoe_id)
    return JSONResponse(shoe_json(shoe))


async def create_shoe(request: Request) -> Response:
    """Create a shoe from its name; 201 with its Location."""
    body = await parsing.read_json_object(request)
    values = _parse(body, _CREATE_PARSERS)
    if "name" not in values:
        raise InvalidUpdate({"name": "is required"})
    shoe = await run_in_threadpool(db_shoes.create_shoe, str(values["name"]), values.get("notes"))
    location = request.scope.get("root_path", "") + request.app.url_path_for(
        "shoe", shoe_id=shoe.id
    )
    return JSONResponse(shoe_json(shoe), status_code=201, headers={"Location": location})


async def update_shoe(request: Request) -> Response:
    """Retire (a date), unretire (null), or change the notes of a shoe."""
    shoe_id = parsing.path_id(request, "shoe_id", ShoeNotFound)
    body = await parsing.read_json_object(request)
    updates = _parse(body, _UPDATE_PARSERS)
    shoe = await run_in_threadpool(db_shoes.update_shoe_by_id, shoe_id, updates)
    return JSONResponse(shoe_json(shoe))


async def delete_shoe(request: Request) -> Response:
    """Soft-delete a shoe; its runs keep pointing at it. Answers with the deleted shoe."""
    shoe_id = parsing.path_id(request, "shoe_id", ShoeNotFound)
    shoe = await run_in_threadpool(db_shoes.delete_shoe_by_id, shoe_id)
    return JSONResponse(shoe_json(shoe))


def _parse(
    body: Mapping[str, object], parsers: Mapping[str, Callable[[object], object]]
) -> dict[str, object]:
    unknown = [name for name in body if name not in parsers]
    if unknown:
        raise UnknownFields(unknown)
    values, errors = parsing.parse_fields(body, parsers)
    if errors:
        raise InvalidUpdate(errors)
    return values


routes = [
    route("/shoes", GET=list_shoes, POST=create_shoe),
    route("/shoes/{shoe_id}", name="shoe", GET=get_shoe, PATCH=update_shoe, DELETE=delete_shoe),
]


# OpenAPI: the operations above and the shapes they answer with.

_SHOE_ID: Final = {
    "name": "shoe_id",
    "in": "path",
    "required": True,
    "description": 'The shoe\'s id, e.g. `brooks_ghost_15` for "Brooks Ghost 15".',
    "schema": {"type": "string", "minLength": 1},
}
_NULLABLE_TEXT: Final = {"type": ["string", "null"]}
_TIMESTAMP: Final = {"type": "string", "format": "date-time"}

paths = {
    "/shoes": {
        "get": {
            "operationId": "listShoes",
            "summary": "Shoes by name, with mileage and run count",
            "tags": ["shoes"],
            "parameters": [
                {
                    "name": "retired",
                    "in": "query",
                    "required": False,
                    "description": "true: only retired shoes; false: only active ones.",
                    "schema": {"type": "boolean"},
                }
            ],
            "responses": protected(
                {"200": json_response("The shoes.", ref("ShoeList")), **problems(422)}
            ),
        },
        "post": {
            "operationId": "createShoe",
            "summary": "Create a shoe (its id is derived from its name)",
            "tags": ["shoes"],
            "requestBody": json_body(ref("ShoeCreate")),
            "responses": protected(
                {
                    "201": json_response(
                        "The new shoe.",
                        ref("Shoe"),
                        {
                            "Location": {
                                "description": "The new shoe's URL path.",
                                "schema": {"type": "string"},
                            }
                        },
                    ),
                    **problems(400, 409, 413, 422),
                }
            ),
        },
    },
    "/shoes/{shoe_id}": {
        "parameters": [_SHOE_ID],
        "get": {
            "operationId": "getShoe",
            "summary": "One shoe",
            "tags": ["shoes"],
            "responses": protected(
                {"200": json_response("The shoe.", ref("Shoe")), **problems(404)}
            ),
        },
        "patch": {
            "operationId": "updateShoe",
            "summary": "Retire, unretire or annotate a shoe",
            "tags": ["shoes"],
            "requestBody": json_body(ref("ShoeUpdate")),
            "responses": protected(
                {
                    "200": json_response("The shoe as it now is.", ref("Shoe")),
                    **problems(400, 404, 413, 422),
                }
            ),
        },
        "delete": {
            "operationId": "deleteShoe",
            "summary": "Soft-delete a shoe (its runs keep their shoe_id)",
            "tags": ["shoes"],
            "responses": protected(
                {
                    "200": json_response("The deleted shoe (deleted_at is set).", ref("Shoe")),
                    **problems(404),
                }
            ),
        },
    },
}

schemas = {
    "Shoe": {
        "type": "object",
        "required": [
            "id",
            "name",
            "retired_at",
            "notes",
            "retirement_notes",
            "deleted_at",
            "created_at",
            "updated_at",
            "mileage",
            "run_count",
        ],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "retired_at": {"type": ["string", "null"], "format": "date"},
            "notes": _NULLABLE_TEXT,
            "retirement_notes": _NULLABLE_TEXT,
            "deleted_at": {**_TIMESTAMP, "type": ["string", "null"]},
            "created_at": _TIMESTAMP,
            "updated_at": _TIMESTAMP,
            "mileage": {
                "type": "number",
                "minimum": 0,
                "description": "Miles run in it (non-deleted runs).",
            },
            "run_count": {"type": "integer", "minimum": 0},
        },
    },
    "ShoeList": {
        "type": "object",
        "required": ["shoes"],
        "properties": {"shoes": {"type": "array", "items": ref("Shoe")}},
    },
    "ShoeCreate": {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_SHOE_NAME_CHARS,
                "description": "Must contain a letter or digit (the id is made from it).",
            },
            "notes": _NULLABLE_TEXT,
        },
    },
    "ShoeUpdate": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "retired_at": {
                "type": ["string", "null"],
                "format": "date",
                "description": "Retire as of this date; null to unretire.",
            },
            "retirement_notes": _NULLABLE_TEXT,
            "notes": _NULLABLE_TEXT,
        },
    },
}
