"""Every error the API answers, as RFC 9457 `application/problem+json`, mapped in one place.

Endpoints raise the library's typed errors (fitness.errors) or `ApiError`; `ANSWERS` says how
each is answered and `EXCEPTION_HANDLERS` applies it. A problem always has `type`, `title`,
`status` and `detail` (the `Problem` shape), plus extension members where they help a client
react: `errors` (422: a list of `{"field", "message"}`), `fields` (400: the protected or
unknown fields), `current_version` (412). `type` is `about:blank` when the status says it
all, else a relative reference `/problems/<slug>` that names the problem. No response ever
carries a traceback, SQL or a driver message: unexpected errors are logged here and answered
with a generic 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import psycopg
import psycopg_pool
from pydantic import Field, with_config
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from fitness import errors as lib
from fitness.db.connection import server_said
from fitness.models import SHAPE
from fitness.server.problems import (
    DATABASE_UNAVAILABLE_DETAIL,
    ApiError,
    ProblemResponse,
    invalid_detail,
    listed,
    problem,
)

logger = logging.getLogger(__name__)


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """An RFC 9457 problem document."""

    type: str
    """`about:blank`, or `/problems/<slug>` naming the problem."""
    title: str
    status: Annotated[int, Field(ge=400, le=599)]
    detail: str


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class FieldError:
    field: str
    message: str


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationProblem(Problem):
    """422: what is wrong with each field or parameter."""

    errors: list[FieldError]


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class VersionConflictProblem(Problem):
    """412: the run, ride or lift is no longer at the If-Match version."""

    current_version: Annotated[int, Field(ge=1)]


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class HealthProblem(Problem):
    """503 from /health: the database does not answer."""

    database: Literal["unavailable"]
    version: str


def _sentence(error: Exception) -> str:
    message = str(error).rstrip(".")
    return f"{message[:1].upper()}{message[1:]}."


def _conflict(error: Any) -> ProblemResponse:
    return problem(
        412,
        f"{error.noun.capitalize()} {error.run_id!r} is at version {error.current_version}, not "
        f"{error.expected_version}: someone changed it first. Fetch it and try again.",
        slug="version-conflict",
        headers={"ETag": f'"{error.current_version}"'},
        current_version=error.current_version,
    )


# How each typed error is answered. Looked up by the exception's class hierarchy, most
# specific first, so `UnknownFields` (a kind of `InvalidUpdate`) and `IntegrationRefused`
# (a kind of `IntegrationError`) get their own answers.
ANSWERS: dict[type[Exception], Callable[[Any], ProblemResponse]] = {
    ApiError: lambda e: problem(e.status, e.detail, slug=e.slug, **e.extensions),
    lib.RunNotFound: lambda e: problem(404, _sentence(e), slug="run-not-found"),
    lib.RideNotFound: lambda e: problem(404, _sentence(e), slug="ride-not-found"),
    lib.LiftNotFound: lambda e: problem(404, _sentence(e), slug="lift-not-found"),
    lib.BikeNotFound: lambda e: problem(404, _sentence(e), slug="bike-not-found"),
    lib.VersionNotFound: lambda e: problem(404, _sentence(e), slug="version-not-found"),
    lib.ShoeNotFound: lambda e: problem(404, _sentence(e), slug="shoe-not-found"),
    lib.NotFound: lambda e: problem(404, _sentence(e)),
    lib.VersionConflict: _conflict,
    lib.ProtectedField: lambda e: problem(
        400,
        f"These fields identify it and cannot be changed: {', '.join(e.fields)}.",
        slug="protected-fields",
        fields=e.fields,
    ),
    lib.UnknownFields: lambda e: problem(
        400, f"Unknown fields: {', '.join(e.fields)}.", slug="unknown-fields", fields=e.fields
    ),
    lib.InvalidUpdate: lambda e: problem(
        422, invalid_detail(e.errors), slug="invalid-values", errors=listed(e.errors)
    ),
    lib.ShoeExists: lambda e: problem(
        409, f"A shoe with id {e.shoe_id!r} already exists.", slug="shoe-exists"
    ),
    lib.InvalidImport: lambda e: problem(422, str(e), slug="invalid-import"),
    lib.MalformedPayload: lambda e: problem(400, str(e), slug="malformed-payload"),
    lib.RunExists: lambda e: problem(
        409,
        f"Run {e.run_id!r} already exists; change it with PATCH /runs/{e.run_id}.",
        slug="run-exists",
        run_id=e.run_id,
    ),
    lib.DuplicateConflict: lambda e: problem(409, _sentence(e), slug="duplicate-conflict"),
    lib.ShoeConflict: lambda e: problem(409, _sentence(e), slug="shoe-conflict"),
    lib.InvalidCursor: lambda e: problem(400, _sentence(e), slug="malformed-request"),
    # Our own sentences (why the state was refused, what to do); never the state itself.
    lib.InvalidOAuthState: lambda e: problem(400, _sentence(e), slug="invalid-oauth-state"),
    lib.ConsentDeclined: lambda e: problem(400, _sentence(e), slug="authorization-declined"),
    # The provider refuses the connection as a whole; the message says what to do.
    lib.IntegrationRefused: lambda e: problem(409, _sentence(e), slug=e.slug),
    lib.IntegrationNotConfigured: lambda e: problem(503, str(e), slug="integration-not-configured"),
    lib.IntegrationError: lambda e: problem(502, str(e), slug="integration-error"),
}


async def _answer(request: Request, exc: Exception) -> Response:
    kind = next(kind for kind in type(exc).__mro__ if kind in ANSWERS)
    return ANSWERS[kind](exc)


async def _configuration_error(request: Request, exc: Exception) -> Response:
    # Our own message (it names the variable to set, never a value): the operator can act.
    logger.error("Configuration error during %s %s: %s", request.method, request.url.path, exc)
    return problem(503, str(exc), slug="server-misconfigured")


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    # What the server said (never libpq's host and user) is logged; a DatabaseUnavailable
    # is worded by the library for people, so it is the answer's detail too.
    said = str(exc) if isinstance(exc, lib.DatabaseUnavailable) else server_said(exc)
    logger.warning("Database unavailable during %s %s: %s", request.method, request.url.path, said)
    detail = DATABASE_UNAVAILABLE_DETAIL
    if isinstance(exc, lib.DatabaseUnavailable):
        detail = f"The database is not answering: {exc}."
    return problem(503, detail, slug="database-unavailable")


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    details = {
        404: "No route matches this path.",
        405: f"{request.method} is not allowed here.",
    }
    detail = details.get(exc.status_code, str(exc.detail))
    return problem(exc.status_code, detail, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.error("Unhandled error during %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Something went wrong on our side; it has been logged.")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    **{kind: _answer for kind in ANSWERS},
    lib.ConfigurationError: _configuration_error,
    lib.DatabaseUnavailable: _database_unavailable,
    psycopg.OperationalError: _database_unavailable,
    psycopg_pool.PoolTimeout: _database_unavailable,
    HTTPException: _http_exception,
    Exception: _unexpected,
}
