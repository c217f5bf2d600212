"""The OpenAPI 3.1 document: derived from the operations each API module declares
(fitness.api.operations), plus what no declaration can say, written here once: the problem
documents and the responses that carry them, the If-Match and ETag headers, and the bearer
scheme.

`GET /openapi.json` serves the document; like every route but `/health`, it needs a token.
A test checks that the routes of the app and the operations of the document are the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fitness.api.errors import (
    HealthProblem,
    Problem,
    ValidationProblem,
    VersionConflictProblem,
)
from fitness.api.operations import Operation, Operations
from fitness.api.parameters import PATH_PARAMETERS

OpenApi = dict[str, Any]

PROBLEM: Final = "application/problem+json"
JSON: Final = "application/json"
MULTIPART: Final = "multipart/form-data"


def ref(name: str) -> dict[str, str]:
    """A reference to a schema in `components.schemas`."""
    return {"$ref": f"#/components/schemas/{name}"}


def problems(*statuses: int) -> dict[str, dict[str, str]]:
    """References to the shared problem responses for these statuses."""
    return {
        str(status): {"$ref": f"#/components/responses/{_RESPONSE_NAMES[status]}"}
        for status in statuses
    }


ETAG_HEADER: Final = {
    "ETag": {
        "description": 'The current version, quoted (e.g. `"3"`); send it back in If-Match.',
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    }
}

LOCATION_HEADER: Final = {
    "description": "The new resource's URL path.",
    "schema": {"type": "string"},
}

REDIRECT_LOCATION_HEADER: Final = {
    "description": "Where to go next.",
    "schema": {"type": "string", "format": "uri"},
}

IF_MATCH: Final = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": (
        'Only change the run, ride or lift if it is still at this version: `"3"` (or '
        '`W/"3"`). `*` means no precondition. A stale version is a 412 carrying the current '
        "one; a malformed value is a 400."
    ),
    "schema": {"type": "string", "pattern": '^(\\*|(W/)?"[1-9][0-9]{0,8}")$'},
}

# The problem responses, each described once; operations name them by status (or, for an
# answer of their own, by name). The shapes are declared in fitness.api.errors.
_RESPONSES: Final[dict[str, tuple[str, type[Problem]]]] = {
    "BadRequest": (
        "The request cannot be read: malformed JSON, a body that is not an object, a malformed "
        "If-Match header or cursor, or protected/unknown fields or query parameters (then "
        "`fields` names them).",
        Problem,
    ),
    "Unauthorized": ("No bearer token, or not one of FITNESS_API_TOKENS.", Problem),
    "Forbidden": ("An ingest token, which opens only the ingest routes.", Problem),
    "NotFound": ("Nothing with this id (or it is deleted).", Problem),
    "Conflict": ("The resource already exists.", Problem),
    "PreconditionFailed": (
        "It changed since the If-Match version; `current_version` says where it is now.",
        VersionConflictProblem,
    ),
    "ContentTooLarge": ("The body is larger than the route's limit.", Problem),
    "UnprocessableContent": (
        "Some values are invalid; `errors` lists each.",
        ValidationProblem,
    ),
    "InternalError": ("An unexpected error; it has been logged.", Problem),
    "BadGateway": ("An external service (Strava, Google) failed.", Problem),
    "ServiceUnavailable": ("The database is not answering; try again shortly.", Problem),
    "HealthUnavailable": ("The database does not answer.", HealthProblem),
    "UnprocessableImport": (
        "The file cannot be imported: a field of the form is invalid (`errors` lists each), "
        "the file cannot be read at all (`detail` says why), or, in strict mode, some rows "
        "are bad (`import-rejected`, with the import's report).",
        Problem,
    ),
}
_RESPONSE_HEADERS: Final = {
    "Unauthorized": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}},
    "PreconditionFailed": ETAG_HEADER,
}
_RESPONSE_NAMES: Final = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "ContentTooLarge",
    422: "UnprocessableContent",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
}


def document(operations: Iterable[Operation], version: str) -> OpenApi:
    """The whole OpenAPI document of `operations`: paths, and every shape they use."""
    operations = list(operations)
    shapes = _Shapes()
    responses = {
        name: {
            "description": description,
            **({"headers": _RESPONSE_HEADERS[name]} if name in _RESPONSE_HEADERS else {}),
            "content": {PROBLEM: {"schema": shapes.use(shape, "serialization")}},
        }
        for name, (description, shape) in _RESPONSES.items()
    }
    paths: OpenApi = {}
    for operation in operations:
        item = paths.setdefault(operation.path, {})
        item[operation.method.lower()] = _operation(operation, shapes)
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
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "One of the tokens in FITNESS_API_TOKENS.",
                },
                "ingestToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "An ingest token (`fitness tokens mint NAME`): opens the ingest "
                        "routes only."
                    ),
                },
            },
            "responses": responses,
            "schemas": shapes.components(),
        },
    }


def paths_of(api: Operations) -> OpenApi:
    """The paths of one module's operations, as the document lists them."""
    return document(api.operations, version="")["paths"]


def _operation(operation: Operation, shapes: _Shapes) -> OpenApi:
    document: OpenApi = {"operationId": operation.id, "summary": operation.summary}
    if operation.description:
        document["description"] = operation.description
    document["tags"] = [operation.tag]
    parameters = [PATH_PARAMETERS[name].document() for name in operation.path_names]
    if operation.query is not None:
        parameters += _query_parameters(operation.query)
    if operation.if_match:
        parameters.append(IF_MATCH)
    if parameters:
        document["parameters"] = parameters
    if operation.body is not None:
        document["requestBody"] = {
            "required": operation.body_required,
            "content": {JSON: {"schema": shapes.use(operation.body, "validation")}},
        }
    if operation.streamed_body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": shapes.use(operation.streamed_body, "validation")}},
        }
    if operation.form is not None:
        document["requestBody"] = {
            "required": True,
            "content": {MULTIPART: {"schema": shapes.use(operation.form, "validation")}},
        }
    answer: OpenApi = {
        "description": _first_line(operation.response),
        "content": {JSON: {"schema": shapes.use(operation.response, "serialization")}},
    }
    headers = {}
    if operation.etag:
        headers["ETag"] = ETAG_HEADER["ETag"]
    if operation.location:
        headers["Location"] = LOCATION_HEADER
    if operation.status in (301, 302, 303, 307, 308):
        headers["Location"] = REDIRECT_LOCATION_HEADER
    if headers:
        answer["headers"] = headers
    # Any operation answers 400 for a query parameter it does not declare.
    responses: OpenApi = {str(operation.status): answer, **problems(400, *operation.errors)}
    for status, name in operation.problem_responses.items():
        responses[str(status)] = {"$ref": f"#/components/responses/{name}"}
    if operation.public:
        document["security"] = []
    else:
        if operation.ingest:
            document["security"] = [{"bearerAuth": []}, {"ingestToken": []}]
        responses = {**responses, **problems(401, 500, 503)}
    document["responses"] = responses
    return document


def _query_parameters(model: type[Any]) -> list[OpenApi]:
    schema = model.model_json_schema(schema_generator=_Generator)
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        # Absent is how a query says "none": null is not a value a query can carry.
        options = prop.pop("anyOf", None)
        if options:
            kinds = [option for option in options if option.get("type") != "null"]
            prop = {**prop, **kinds[0]} if len(kinds) == 1 else {**prop, "anyOf": kinds}
        if prop.get("default", 0) is None:
            del prop["default"]
        parameter: OpenApi = {"name": name, "in": "query", "required": name in required}
        if description:
            parameter["description"] = description
        parameter["schema"] = prop
        parameters.append(parameter)
    return parameters


def _first_line(shape: object) -> str:
    doc = getattr(shape, "__doc__", None) or ""
    return doc.strip().split("\n", 1)[0] or "The answer."


class _Shapes:
    """The named shapes the operations use, turned into `components.schemas` at the end."""

    def __init__(self) -> None:
        self._named: dict[tuple[object, JsonSchemaMode], str] = {}

    def use(self, shape: object, mode: JsonSchemaMode) -> OpenApi:
        name = getattr(shape, "__name__", None)
        if name is None or getattr(shape, "__origin__", None) is not None:
            # An unnamed shape (dict[str, Any]) is written in place.
            return TypeAdapter(shape).json_schema(mode=mode, schema_generator=_Generator)
        self._named[(shape, mode)] = name
        return ref(name)

    def components(self) -> OpenApi:
        if not self._named:
            return {}
        adapters = [((shape, mode), mode, TypeAdapter(shape)) for shape, mode in self._named]
        _, schemas = TypeAdapter.json_schemas(
            adapters, ref_template="#/components/schemas/{model}", schema_generator=_Generator
        )
        return schemas.get("$defs", {})


class _Generator(GenerateJsonSchema):
    """pydantic's JSON Schema, without a title on every field (the names say it)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


api = Operations(tag="meta")


@api.get("/openapi.json", response=dict[str, Any], operation_id="getOpenApi")
async def openapi_json(request: Request) -> Response:
    """This document"""
    return JSONResponse(request.app.state.openapi)


routes, paths = api.routes(), paths_of(api)
