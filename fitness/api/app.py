"""The Starlette application: `create_app()` assembles the API from its modules.

How the API is put together (follow this when adding a module):

- Each module of fitness/api that serves requests declares its operations on an
  `Operations` (fitness.api.operations): path, query model, body model, response shape and
  error statuses, once. Its request shapes are pydantic `Query`, `Body`, `Form` models in
  fitness/shapes/<area>.py, built from the rules in fitness.rules; its responses are the
  library's own dataclasses (fitness.models, a service's result), or a small dataclass
  next to the endpoint for an envelope. The module exports `api`, and `routes` and `paths`
  derived from it.
- `MODULES` below lists the modules; routes and the OpenAPI document are built from that
  one list, so a new module is added with one entry, and a test fails if a route is missing
  from the document or the other way round.
- Every route needs a bearer token except those declared `public=True` (see
  fitness/server/auth.py for when that is allowed).
- Endpoints receive validated inputs, call one library or service function through
  `run_in_threadpool`, and return its result, which is encoded as declared. They raise the
  library's typed errors; fitness.api.errors turns those into problem documents.
- JSON bodies are read through `parsing.read_json_object` (1 MiB limit); an upload route
  reads its multipart body with `operations.read_form`. Every body, whatever reads it, is
  also bounded as it streams in by `limits.RequestLimits` (size and arrival rate), and every
  request head to 64 KiB.

The pages (fitness.web) are mounted at `/app` by the same app, with `GET /` redirecting
there; they are not API operations and are not in the OpenAPI document.

Serve it with `fitness serve`, or `uvicorn --factory fitness.api.app:create_app`.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware

from fitness.api import (
    calendar,
    duplicates,
    health,
    imports,
    ingest,
    lift_stats,
    lifts,
    oauth,
    openapi,
    races,
    rides,
    runs,
    shoe_changes,
    shoes,
    stats,
    sync,
)
from fitness.api.errors import EXCEPTION_HANDLERS
from fitness.config import Settings, get_settings
from fitness.db.connection import close_pool, open_pool
from fitness.errors import ConfigurationError
from fitness.server.access_log import AccessLogMiddleware
from fitness.server.auth import BearerAuthMiddleware, PageMount, check_settings
from fitness.server.limits import RequestLimits
from fitness.web.app import MOUNT_PATH, REDIRECTS, create_pages

GIL_SWITCH_INTERVAL_SECONDS = 0.0005

MODULES = (
    health,
    runs,
    races,
    lifts,
    lift_stats,
    rides,
    duplicates,
    shoes,
    stats,
    shoe_changes,
    imports,
    ingest,
    sync,
    calendar,
    oauth,
    openapi,
)


def create_app(settings: Settings | None = None) -> Starlette:
    """The API for `settings` (default: the process's). Opens the pool at startup.

    Raises `ConfigurationError` for settings it must not serve with: production without
    API tokens or without DATABASE_URL.
    """
    settings = settings or get_settings()
    check_settings(settings)
    if settings.is_prod and not settings.database_url:
        raise ConfigurationError("DATABASE_URL is not set: FITNESS_ENV=prod needs it")
    routes = [route for module in MODULES for route in module.routes]
    routes += [*REDIRECTS, PageMount(MOUNT_PATH, app=create_pages(settings))]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Every request hops from the event loop to a worker thread and back; with the
        # default 5 ms GIL switch interval those hops queue behind each other (a convoy)
        # and 8 concurrent edits ran 25% slower in the benchmark (tests/bench/api.py).
        previous_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)
        await run_in_threadpool(open_pool, settings)
        try:
            yield
        finally:
            await run_in_threadpool(close_pool)
            sys.setswitchinterval(previous_interval)

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(AccessLogMiddleware),
            # A request's size is refused before who sent it is asked (a 64 KiB head, a
            # declared body over the limit).
            Middleware(RequestLimits, max_bytes=imports.MAX_UPLOAD_BYTES),
            Middleware(BearerAuthMiddleware, tokens=settings.api_tokens),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.openapi = openapi.document(
        (operation for module in MODULES for operation in module.api.operations),
        version=health.fitness_version(),
    )
    return app
