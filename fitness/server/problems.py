"""RFC 9457 problem documents: how the server answers what it refuses, for every route.

A problem always has `type`, `title`, `status` and `detail`, plus extension members where they
help a client react. `type` is `about:blank` when the status says it all, else a relative
reference `/problems/<slug>` that names the problem.
"""

from __future__ import annotations

import http
import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

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
    return ApiError(422, invalid_detail(errors), slug="invalid-values", errors=listed(errors))


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


def listed(errors: Mapping[str, str]) -> list[dict[str, str]]:
    """`{field: message}` as the `errors` member of a 422: `[{"field", "message"}]`, sorted."""
    return [{"field": name, "message": message} for name, message in sorted(errors.items())]


def invalid_detail(errors: Mapping[str, str]) -> str:
    """The `detail` of a 422 naming the invalid fields."""
    names = ", ".join(sorted(errors))
    return f"Some values are invalid: {names}. See `errors` for each one."
