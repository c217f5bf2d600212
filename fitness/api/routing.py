"""`route()`: one Starlette route per path, each HTTP method answered by a plain endpoint.

One route per path (rather than one per method) keeps a 405's `Allow` header complete.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Endpoint = Callable[[Request], Awaitable[Response]]


def route(
    path: str, *, name: str | None = None, route_class: type[Route] = Route, **endpoints: Endpoint
) -> Route:
    """A route for `path` whose methods are the keyword names.

    >>> route("/runs/{run_id}", GET=get_run, PATCH=patch_run)   # doctest: +SKIP

    HEAD is answered by the GET endpoint. `route_class=PublicRoute` makes it public.
    """
    by_method = {method.upper(): endpoint for method, endpoint in endpoints.items()}
    if "GET" in by_method:
        by_method.setdefault("HEAD", by_method["GET"])

    async def dispatch(request: Request) -> Response:
        return await by_method[request.method](request)

    dispatch.__name__ = name or "_".join(endpoint.__name__ for endpoint in endpoints.values())
    dispatch.__doc__ = "\n".join(
        f"{method}: {endpoint.__doc__}" for method, endpoint in by_method.items()
    )
    return route_class(path, dispatch, methods=list(by_method), name=name)
