"""Declaring an API operation once: its path, inputs, answer and errors. The route, the
request's validation, the response's encoding and the operation in the OpenAPI document
all derive from that one declaration.

    api = Operations(tag="runs")

    @api.patch("/runs/{run_id}", body=RunEdit, if_match=True, response=RunDetail, etag=True,
               errors=(400, 404, 412, 413, 422))
    async def edit_run(run_id: str, body: RunEdit, if_match: int | None) -> RunDetail:
        '''Edit a run (a new version; none if nothing changes)

        The rest of the docstring is the operation's description in the document.'''

The endpoint receives, by keyword, the path parameters (each name has one type, declared in
fitness.api.parameters), `query` (a `Query` model), `body` (a `Body` model, JSON) and
`if_match` (the version an If-Match header names), as declared, and `request` if it asks for
it. An upload declares its `form` (a `Form` model, multipart) and reads it with `read_form`,
inside which the uploaded files stay open.
A body too large to read whole (a phone's push) is declared as `streamed_body`, its shape
for the document only: the endpoint reads it itself as it streams in
(`parsing.spooled_body`). `ingest=True` lets an ingest token open the route too
(fitness.server.auth).
It returns the answer, which is encoded as `response` declares, or a `Reply` when the status
or headers vary, or a ready `Response`. A query parameter, body field or form field that the
declaration does not name is a 400 naming it; a value its type refuses is a 422 listing
every field that is wrong, in the words of fitness.rules.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fitness.api.parameters import PATH_PARAMETERS
from fitness.api.parsing import expected_version, read_json_object
from fitness.errors import InvalidUpdate, ProtectedField, UnknownFields
from fitness.rules import field_problems
from fitness.server.auth import IngestRoute, PublicRoute
from fitness.server.problems import ApiError, invalid
from fitness.shapes import Body, Form, Query

Endpoint = Callable[..., Awaitable[object]]
F = TypeVar("F", bound=Form)
JSON_MEDIA_TYPE: Final = "application/json"

_PATH_NAME = re.compile(r"{([a-z_]+)}")


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer whose status or headers differ from the operation's usual ones."""

    body: object
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path, as declared; see the module docstring."""

    method: str
    path: str
    endpoint: Endpoint
    tag: str
    response: Any
    status: int = 200
    query: type[Query] | None = None
    body: type[Body] | None = None
    body_required: bool = True
    form: type[Form] | None = None
    if_match: bool = False
    etag: bool = False
    location: bool = False
    errors: tuple[int, ...] = ()
    public: bool = False
    ingest: bool = False
    streamed_body: Any = None
    operation_id: str | None = None
    problem_responses: Mapping[int, str] = field(default_factory=dict)
    takes_request: bool = False

    @property
    def path_names(self) -> list[str]:
        return _PATH_NAME.findall(self.path)

    @property
    def id(self) -> str:
        if self.operation_id:
            return self.operation_id
        first, *rest = self.endpoint.__name__.split("_")
        return first + "".join(word.capitalize() for word in rest)

    @property
    def summary(self) -> str:
        return (self.endpoint.__doc__ or self.id).strip().split("\n", 1)[0].rstrip(".")

    @property
    def description(self) -> str | None:
        parts = (self.endpoint.__doc__ or "").strip().split("\n", 1)
        return " ".join(parts[1].split()) if len(parts) > 1 and parts[1].strip() else None


class Operations:
    """The operations of one API module, in the order they are declared."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.operations: list[Operation] = []

    def get(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self._declare("GET", path, options)

    def post(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self._declare("POST", path, options)

    def put(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self._declare("PUT", path, options)

    def patch(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self._declare("PATCH", path, options)

    def delete(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self._declare("DELETE", path, options)

    def routes(self) -> list[Route]:
        """One Starlette route per path (so a 405's `Allow` lists every method); GET answers
        HEAD too."""
        by_path: dict[str, dict[str, Operation]] = {}
        for operation in self.operations:
            by_path.setdefault(operation.path, {})[operation.method] = operation
        return [_route(path, methods) for path, methods in by_path.items()]

    def _declare(
        self, method: str, path: str, options: dict[str, Any]
    ) -> Callable[[Endpoint], Endpoint]:
        def declare(endpoint: Endpoint) -> Endpoint:
            options.setdefault("tag", self.tag)
            options["takes_request"] = "request" in inspect.signature(endpoint).parameters
            operation = Operation(method, path, endpoint, **options)
            unknown = [name for name in operation.path_names if name not in PATH_PARAMETERS]
            if unknown:
                raise TypeError(f"{path}: declare the path parameters {unknown} in parameters.py")
            self.operations.append(operation)
            return endpoint

        return declare


async def call(operation: Operation, request: Request) -> Response:
    """Validate `request` as `operation` declares, call its endpoint, encode the answer."""
    inputs: dict[str, object] = {
        name: PATH_PARAMETERS[name].parse(request.path_params[name])
        for name in operation.path_names
    }
    if operation.query is not None:
        inputs["query"] = _parse_query(operation.query, request)
    elif request.query_params:
        raise _unknown_parameters(list(request.query_params))
    if operation.if_match:
        inputs["if_match"] = expected_version(request)
    if operation.body is not None:
        raw = await read_json_object(request, required=operation.body_required)
        inputs["body"] = parse_body(operation.body, raw)
    if operation.takes_request:
        inputs["request"] = request
    return encode(operation, await operation.endpoint(**inputs))


@asynccontextmanager
async def read_form(request: Request, model: type[F]) -> AsyncIterator[F]:
    """The multipart body of `request` as `model`, its files spooled to disk meanwhile.

    A field `model` does not name is a 400; values it refuses (a missing file) are a 422.
    The body's size is bounded as it streams in, for every route (fitness.server.limits).
    """
    fields = len(model.model_fields)
    async with request.form(max_files=model.max_files, max_fields=fields) as form:
        unknown = [name for name in form if name not in model.model_fields]
        if unknown:
            raise UnknownFields(unknown)
        values = model.values_of(form)
        try:
            parsed = model.model_validate(values)
        except ValidationError as error:
            raise InvalidUpdate(field_problems(error, model)) from None
        yield parsed


def parse_body(model: type[Body], raw: Mapping[str, object]) -> Body:
    """`raw` (a decoded JSON object) as `model`: protected fields, then unknown ones, are a
    400 naming them; values the model's rules refuse are a 422 listing each field."""
    protected = [name for name in raw if name in model.protected]
    if protected:
        raise ProtectedField(protected)
    unknown = [name for name in raw if name not in model.model_fields]
    if unknown:
        raise UnknownFields(unknown)
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise InvalidUpdate(field_problems(error, model)) from None


def encode(operation: Operation, answer: object) -> Response:
    """The endpoint's answer as the declared JSON response."""
    if isinstance(answer, Response):
        return answer
    reply = answer if isinstance(answer, Reply) else Reply(answer)
    headers = dict(reply.headers)
    if operation.etag:
        headers["ETag"] = f'"{reply.body.version}"'  # type: ignore[attr-defined]
    return Response(
        _adapter(operation.response).dump_json(reply.body),
        status_code=reply.status or operation.status,
        headers=headers,
        media_type=JSON_MEDIA_TYPE,
    )


def _route(path: str, methods: Mapping[str, Operation]) -> Route:
    if "GET" in methods:
        methods = {**methods, "HEAD": methods["GET"]}
    public = any(operation.public for operation in methods.values())
    ingest = any(operation.ingest for operation in methods.values())

    async def dispatch(request: Request) -> Response:
        return await call(methods[request.method], request)

    dispatch.__name__ = "_".join(operation.id for operation in methods.values())
    route_class = PublicRoute if public else IngestRoute if ingest else Route
    return route_class(path, dispatch, methods=list(methods))


def _parse_query(model: type[Query], request: Request) -> Query:
    values = dict(request.query_params)
    if model.model_config.get("extra") == "forbid":
        unknown = [name for name in values if name not in model.model_fields]
        if unknown:
            raise _unknown_parameters(unknown)
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise invalid(field_problems(error, model)) from None


def _unknown_parameters(names: list[str]) -> ApiError:
    shown = ", ".join(ascii(name[:40]) for name in sorted(names)[:10])
    return ApiError(
        400,
        f"Unknown query parameters: {shown}. See the OpenAPI document for what this route takes.",
        slug="unknown-parameters",
        fields=sorted(names)[:10],
    )


_adapters: dict[object, TypeAdapter[Any]] = {}


def _adapter(shape: object) -> TypeAdapter[Any]:
    adapter = _adapters.get(shape)
    if adapter is None:
        adapter = _adapters[shape] = TypeAdapter(shape)
    return adapter
