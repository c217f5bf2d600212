"""The OpenAPI 3.1 document, hand-written: shared pieces here, each route's paths in its module.

Every API module describes its own operations in a `paths` dict (and its own schemas in
`schemas`) next to its endpoints; `document()` assembles them with the shared components
below (problem documents, common parameters and responses, the bearer scheme). A test checks
that the routes of the app and the paths of the document are the same set.

`GET /openapi.json` serves the document; like every route but `/health`, it needs a token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

OpenApi = dict[str, Any]

PROBLEM: Final = "application/problem+json"


def ref(name: str) -> dict[str, str]:
    """A reference to a schema in `components.schemas`."""
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: Mapping[str, Any], *, required: bool = True) -> OpenApi:
    """A JSON request body."""
    return {"required": required, "content": {"application/json": {"schema": dict(schema)}}}


def json_response(
    description: str, schema: Mapping[str, Any], headers: Mapping[str, Any] | None = None
) -> OpenApi:
    """A JSON response, optionally with documented headers."""
    response: OpenApi = {
        "description": description,
        "content": {"application/json": {"schema": dict(schema)}},
    }
    if headers:
        response["headers"] = dict(headers)
    return response


def problems(*statuses: int) -> dict[str, dict[str, str]]:
    """References to the shared problem responses for these statuses."""
    return {
        str(status): {"$ref": f"#/components/responses/{_RESPONSE_NAMES[status]}"}
        for status in statuses
    }


def protected(responses: Mapping[str, Any]) -> OpenApi:
    """`responses` plus what any protected, database-backed operation can answer."""
    return {**responses, **problems(401, 500, 503)}


ETAG_HEADER: Final = {
    "ETag": {
        "description": 'The run\'s current version, quoted (e.g. `"3"`); send it back in If-Match.',
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    }
}

IF_MATCH: Final = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": (
        'Only change the run if it is still at this version: `"3"` (or `W/"3"`). `*` means '
        "no precondition. A stale version is a 412 carrying the current one; a malformed "
        "value is a 400."
    ),
    "schema": {"type": "string", "pattern": '^(\\*|(W/)?"[1-9][0-9]{0,8}")$'},
}

_PROBLEM_SCHEMAS: Final = {
    "Problem": {
        "type": "object",
        "description": "An RFC 9457 problem document.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {
                "type": "string",
                "format": "uri-reference",
                "description": "`about:blank`, or `/problems/<slug>` naming the problem.",
            },
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
        },
    },
    "FieldsProblem": {
        "description": "400 for protected or unknown fields: `fields` names them.",
        "allOf": [
            ref("Problem"),
            {
                "type": "object",
                "required": ["fields"],
                "properties": {"fields": {"type": "array", "items": {"type": "string"}}},
            },
        ],
    },
    "ValidationProblem": {
        "description": "422: what is wrong with each field or parameter.",
        "allOf": [
            ref("Problem"),
            {
                "type": "object",
                "required": ["errors"],
                "properties": {
                    "errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["field", "message"],
                            "properties": {
                                "field": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        },
                    }
                },
            },
        ],
    },
    "VersionConflictProblem": {
        "description": "412: the run is no longer at the If-Match version.",
        "allOf": [
            ref("Problem"),
            {
                "type": "object",
                "required": ["current_version"],
                "properties": {"current_version": {"type": "integer", "minimum": 1}},
            },
        ],
    },
}


def _problem_response(description: str, schema: str = "Problem", **headers: Any) -> OpenApi:
    response: OpenApi = {"description": description, "content": {PROBLEM: {"schema": ref(schema)}}}
    if headers:
        response["headers"] = headers
    return response


_RESPONSES: Final = {
    "BadRequest": _problem_response(
        "The request cannot be read: malformed JSON, a body that is not an object, a malformed "
        "If-Match header or cursor, or protected/unknown fields (then `fields` names them)."
    ),
    "Unauthorized": _problem_response(
        "No bearer token, or not one of FITNESS_API_TOKENS.",
        **{"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}},
    ),
    "NotFound": _problem_response("Nothing with this id (or it is deleted)."),
    "Conflict": _problem_response("The resource already exists."),
    "PreconditionFailed": _problem_response(
        "The run changed since the If-Match version; `current_version` says where it is now.",
        "VersionConflictProblem",
        ETag=ETAG_HEADER["ETag"],
    ),
    "ContentTooLarge": _problem_response("The JSON body is larger than 1 MiB."),
    "UnprocessableContent": _problem_response(
        "Some values are invalid; `errors` lists each.", "ValidationProblem"
    ),
    "InternalError": _problem_response("An unexpected error; it has been logged."),
    "BadGateway": _problem_response("An external service (Strava, Google) failed."),
    "ServiceUnavailable": _problem_response("The database is not answering; try again shortly."),
}

_RESPONSE_NAMES: Final = {
    400: "BadRequest",
    401: "Unauthorized",
    404: "NotFound",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "ContentTooLarge",
    422: "UnprocessableContent",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
}


def document(
    paths: Iterable[Mapping[str, Any]], schemas: Iterable[Mapping[str, Any]], version: str
) -> OpenApi:
    """The whole OpenAPI document from the modules' `paths` and `schemas`."""
    all_paths: OpenApi = {}
    for module_paths in paths:
        for path, operations in module_paths.items():
            all_paths.setdefault(path, {}).update(operations)
    all_schemas: OpenApi = dict(_PROBLEM_SCHEMAS)
    for module_schemas in schemas:
        all_schemas.update(module_schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fitness",
            "version": version,
            "description": (
                "One runner's running log: runs from every source, every version of every "
                "run, and the shoes they were run in. Errors are RFC 9457 problem documents."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": all_paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "One of the tokens in FITNESS_API_TOKENS.",
                }
            },
            "schemas": all_schemas,
            "responses": _RESPONSES,
        },
    }


async def openapi_json(request: Request) -> Response:
    """The OpenAPI document of this app."""
    return JSONResponse(request.app.state.openapi)


routes = [Route("/openapi.json", openapi_json, methods=["GET"])]

paths = {
    "/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "summary": "This document",
            "tags": ["meta"],
            "responses": {
                "200": json_response("The OpenAPI 3.1 document.", {"type": "object"}),
                **problems(401, 500),
            },
        }
    }
}

schemas: dict[str, Any] = {}
