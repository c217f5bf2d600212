"""Every error the API answers, as RFC 9457 `application/problem+json`, mapped in one place.

Endpoints raise the library's typed errors (fitness.errors) or `ApiError`; the handlers in
`EXCEPTION_HANDLERS` turn each into a problem document. A problem always has `type`, `title`,
`status` and `detail`, plus extension members where they help a client react: `errors`
(422: a list of `{"field", "message"}`), `fields` (400: the protected or unknown fields),
`current_version` (412). `type` is `about:blank` when the status says it all, else a
relative reference `/problems/<slug>` that names the problem. No response ever carries a
traceback, SQL or a driver message: unexpected errors are logged here and answered with a
generic 500.
"""

from __future__ import annotations

import http
import json
import logging
from collections.abc import Mapping
from typing import Any

import psycopg
import psycopg_pool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fitness.errors import (
    ConfigurationError,
    DatabaseUnavailable,
    IntegrationError,
    IntegrationNotConfigured,
    InvalidImport,
    InvalidOAuthState,
    InvalidUpdate,
    NotFound,
    ProtectedField,
    ReauthorizationRequired,
    RunNotFound,
    ShoeExists,
    ShoeNotFound,
    UnknownFields,
    VersionConflict,
    VersionNotFound,
)

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
DATABASE_UNAVAILABLE_DETAIL = "The database is not answering; try again shortly."


class ProblemResponse(JSONResponse):
    """A problem document. ASCII-escaped, so that any echo of client input always encodes."""

    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False).encode("ascii")


class ApiError(Exception):
    """A problem found by the API itself (a malformed request): its status, the detail for
    the client, the problem's slug and any extension members (see `malformed`, `invalid`)."""

    def __init__(
        self, status: int, detail: str, *, slug: str | None = None, **extensions: object
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.extensions = extensions


def malformed(detail: str) -> ApiError:
    """A 400 for a request that cannot be read (bad JSON, header or cursor)."""
    return ApiError(400, detail, slug="malformed-request")


def invalid(errors: Mapping[str, str]) -> ApiError:
    """A 422 listing what is wrong with each named parameter or field."""
    return ApiError(
        422,
        _invalid_detail(errors),
        slug="invalid-values",
        errors=_error_list(errors),
    )


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: object,
) -> ProblemResponse:
    """The response for one problem; its title is the status's reason phrase."""
    body: dict[str, object] = {
        "type": f"/problems/{slug}" if slug else "about:blank",
        "title": http.HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extensions,
    }
    return ProblemResponse(body, status_code=status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return problem(exc.status, exc.detail, slug=exc.slug, **exc.extensions)


async def _not_found(request: Request, exc: Exception) -> Response:
    slug = next((slug for kind, slug in _NOT_FOUND_SLUGS if isinstance(exc, kind)), None)
    message = str(exc)
    return problem(404, f"{message[:1].upper()}{message[1:]}.", slug=slug)


async def _version_conflict(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VersionConflict)
    return problem(
        412,
        f"Run {exc.run_id!r} is at version {exc.current_version}, not "
        f"{exc.expected_version}: someone changed it first. Fetch it and try again.",
        slug="version-conflict",
        headers={"ETag": f'"{exc.current_version}"'},
        current_version=exc.current_version,
    )


async def _protected_field(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProtectedField)
    return problem(
        400,
        f"These fields identify the run and cannot be changed: {', '.join(exc.fields)}.",
        slug="protected-fields",
        fields=exc.fields,
    )


async def _unknown_fields(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UnknownFields)
    return problem(
        400,
        f"Unknown fields: {', '.join(exc.fields)}.",
        slug="unknown-fields",
        fields=exc.fields,
    )


async def _invalid_update(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidUpdate)
    return problem(
        422,
        _invalid_detail(exc.errors),
        slug="invalid-values",
        errors=_error_list(exc.errors),
    )


async def _shoe_exists(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShoeExists)
    return problem(409, f"A shoe with id {exc.shoe_id!r} already exists.", slug="shoe-exists")


async def _invalid_import(request: Request, exc: Exception) -> Response:
    return problem(422, str(exc), slug="invalid-import")


async def _invalid_oauth_state(request: Request, exc: Exception) -> Response:
    return problem(
        400,
        "The authorisation request is missing, forged or expired; start it again.",
        slug="invalid-oauth-state",
    )


async def _reauthorization_required(request: Request, exc: Exception) -> Response:
    return problem(409, str(exc), slug="reauthorization-required")


async def _integration_not_configured(request: Request, exc: Exception) -> Response:
    return problem(503, str(exc), slug="integration-not-configured")


async def _integration_error(request: Request, exc: Exception) -> Response:
    return problem(502, str(exc), slug="integration-error")


async def _configuration_error(request: Request, exc: Exception) -> Response:
    # Our own message (it names the variable to set, never a value): the operator can act.
    logger.error("Configuration error during %s %s: %s", request.method, request.url.path, exc)
    return problem(503, str(exc), slug="server-misconfigured")


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    # The driver's message can name the host and user: log the kind only, answer generically.
    logger.warning(
        "Database unavailable during %s %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
    )
    return problem(503, DATABASE_UNAVAILABLE_DETAIL, slug="database-unavailable")


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


# Looked up by the exception's class hierarchy, most specific first, so `UnknownFields`
# (a kind of `InvalidUpdate`) and `ReauthorizationRequired` (a kind of `IntegrationError`)
# get their own answers.
EXCEPTION_HANDLERS: dict[Any, Any] = {
    ApiError: _api_error,
    NotFound: _not_found,
    VersionConflict: _version_conflict,
    ProtectedField: _protected_field,
    UnknownFields: _unknown_fields,
    InvalidUpdate: _invalid_update,
    ShoeExists: _shoe_exists,
    InvalidImport: _invalid_import,
    InvalidOAuthState: _invalid_oauth_state,
    ReauthorizationRequired: _reauthorization_required,
    IntegrationNotConfigured: _integration_not_configured,
    IntegrationError: _integration_error,
    ConfigurationError: _configuration_error,
    DatabaseUnavailable: _database_unavailable,
    psycopg.OperationalError: _database_unavailable,
    psycopg_pool.PoolTimeout: _database_unavailable,
    HTTPException: _http_exception,
    Exception: _unexpected,
}


_NOT_FOUND_SLUGS = (
    (RunNotFound, "run-not-found"),
    (VersionNotFound, "version-not-found"),
    (ShoeNotFound, "shoe-not-found"),
)


def _error_list(errors: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"field": name, "message": message} for name, message in sorted(errors.items())]


def _invalid_detail(errors: Mapping[str, str]) -> str:
    names = ", ".join(sorted(errors))
    return f"Some values are invalid: {names}. See `errors` for each one."
