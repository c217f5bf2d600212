"""Bearer-token authentication for every route except a small, explicit set of public ones.

With `FITNESS_API_TOKENS` set, a request must carry `Authorization: Bearer <token>` naming
one of them (compared in constant time), else it gets a 401 problem with
`WWW-Authenticate: Bearer`. This holds for unknown paths too, so that the routes of the API
cannot be probed without a token.

Public routes, reachable without a token, are exactly:
- `GET /health` (uptime checks), and
- routes declared with `PublicRoute` instead of `Route` (or with
  `routing.route(..., route_class=PublicRoute)`): only for requests that a token
  cannot accompany and that authenticate themselves, such as
  `GET /oauth/{provider}/callback`, which a browser reaches by redirect from the provider
  and which is trusted through its single-use `state` and the cookie that binds it.
A route is public only for the methods it declares (`Match.FULL`), never for a path that
merely resembles it.

Ingest routes (declared `ingest=True`, served as `IngestRoute`: `POST /ingest/hae`) also
take an ingest token (`fitness tokens mint NAME`, stored as a digest in the database), for
a device that can do nothing but send a fixed bearer token, such as a phone. An ingest
token opens only those routes: anywhere else it is a 403 (`insufficient_scope`). A token of
FITNESS_API_TOKENS still opens every route, the ingest routes included. An ingest token
authenticates its request by itself, so it is served whatever the client's address and
`Host`, with or without FITNESS_API_TOKENS: the rules below keep unauthenticated requests
on this machine, and a request that carries a valid ingest token is not unauthenticated.

The pages (fitness.web, a `PageMount` at /app) are for browsers, which carry no bearer
token: with tokens configured, this middleware hands their requests on, and the pages' own
middleware demands a session cookie that only a login with a token earns (see
fitness.web.sessions). Without tokens, the rules below apply to them as to every route.

With no tokens configured (dev only: `create_app` refuses prod without them) the API is for
this machine only, and the app enforces that itself, however it is served (`fitness serve`
also refuses to listen anywhere but on loopback, `requires_loopback`). Except on public
routes, a request is refused when:
- its client address is not loopback (127.0.0.0/8, ::1): 403. This is what makes
  `uvicorn --factory fitness.api.app:create_app --host 0.0.0.0` as safe as `fitness serve`;
  a server that gives no client address (a Unix socket) is refused too, since who is
  behind it cannot be known;
- its `Host` is not a loopback name (`localhost`, 127.0.0.0/8, `[::1]`, with or without a
  port): 421 Misdirected Request (RFC 9110 15.5.20: this server is not authoritative for
  that name). This defeats DNS rebinding, where a web page re-points its own name at
  127.0.0.1 and then reads and writes the API as a same-origin page: its requests carry
  the page's name in `Host`;
- a browser marks it as coming from another site (`Sec-Fetch-Site`, or an `Origin` that is
  not this server): 403, because a web page can send "simple" cross-site requests to
  127.0.0.1 without any rebinding.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Sequence
from typing import Final

import psycopg
import psycopg_pool
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from fitness.config import Settings
from fitness.crypto import weakness
from fitness.errors import ConfigurationError, DatabaseUnavailable
from fitness.server.problems import DATABASE_UNAVAILABLE_DETAIL, ProblemResponse, problem
from fitness.services.ingest_tokens import authenticate_ingest_token, looks_like_ingest_token

LOOPBACK_NAMES: Final = ("localhost",)
# A Host header: a bracketed IPv6 literal or a name/IPv4 address, then an optional port.
_HOST_HEADER: Final = re.compile(r"(\[[^\]]*\]|[^:\[\]]*)(?::[0-9]{1,5})?")
# How much of a refused Host header the problem repeats back.
_SHOWN_HOST_CHARS: Final = 100


class PublicRoute(Route):
    """A `Route` that answers without a bearer token (see the module docstring for when)."""


class IngestRoute(Route):
    """A `Route` that an ingest token opens too (see the module docstring)."""


class PageMount(Mount):
    """The pages: authenticated by their session cookie instead of a bearer token."""


def check_settings(settings: Settings) -> None:
    """Refuse settings that would expose the API or its secrets in production.

    Prod needs at least one bearer token, and FITNESS_SECRET_KEY so that OAuth tokens are
    encrypted with a key kept outside the data directory; every token and the key must pass
    `fitness.crypto.weakness` (at least 32 characters, at least 10 different ones).
    """
    if settings.is_prod and not settings.api_tokens:
        raise ConfigurationError(
            "FITNESS_API_TOKENS is not set: FITNESS_ENV=prod refuses to serve the API "
            "without at least one bearer token"
        )
    if settings.is_prod and not settings.secret_key:
        raise ConfigurationError(
            "FITNESS_SECRET_KEY is not set: FITNESS_ENV=prod refuses to serve without the key "
            "that encrypts OAuth tokens at rest"
        )
    if not settings.is_prod:
        return
    for number, token in enumerate(settings.api_tokens, start=1):
        problem_with_token = weakness(token)
        if problem_with_token:
            raise ConfigurationError(
                f"FITNESS_API_TOKENS: token {number} {problem_with_token} (make one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
    problem_with_key = weakness(settings.secret_key or "")
    if problem_with_key:
        raise ConfigurationError(
            f"FITNESS_SECRET_KEY {problem_with_key} (make one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )


def requires_loopback(settings: Settings) -> bool:
    """True when the API is open to anyone who reaches it, so it must listen on loopback."""
    return not settings.api_tokens


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1, bracketed or not).

    An IPv4 address mapped into IPv6 (`::ffff:127.0.0.1`, how a dual-stack socket reports an
    IPv4 client) counts as the IPv4 address it carries.
    """
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class BearerAuthMiddleware:
    """ASGI middleware: a valid bearer token, or a public route, or a 401 problem."""

    def __init__(self, app: ASGIApp, tokens: Sequence[str]) -> None:
        self.app = app
        self._tokens = [token.encode("utf-8") for token in tokens]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._is_public(scope):
            await self.app(scope, receive, send)
            return
        given = _bearer_token(Headers(scope=scope).get("authorization"))
        if given is not None and not self._is_known(given):
            text = given.decode("latin-1")
            if looks_like_ingest_token(text):
                refusal = await self._ingest_refusal(scope, text)
                if refusal is not None:
                    await refusal(scope, receive, send)
                    return
                await self.app(scope, receive, send)
                return
        if not self._tokens:
            refusal = _refusal_without_tokens(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if self._is_pages(scope):
            await self.app(scope, receive, send)
            return
        if given is not None and self._is_known(given):
            await self.app(scope, receive, send)
            return
        if given is None:
            detail = "This route needs an Authorization: Bearer <token> header."
            challenge = "Bearer"
        else:
            detail = "The bearer token is not one of FITNESS_API_TOKENS."
            challenge = 'Bearer error="invalid_token"'
        response = problem(401, detail, headers={"WWW-Authenticate": challenge})
        await response(scope, receive, send)

    def _is_public(self, scope: Scope) -> bool:
        # The allow-list is the app's own PublicRoutes, so it is always what is served.
        routes: list[BaseRoute] = scope["app"].routes
        return any(
            isinstance(route, PublicRoute) and route.matches(scope)[0] == Match.FULL
            for route in routes
        )

    def _is_ingest(self, scope: Scope) -> bool:
        routes: list[BaseRoute] = scope["app"].routes
        return any(
            isinstance(route, IngestRoute) and route.matches(scope)[0] == Match.FULL
            for route in routes
        )

    async def _ingest_refusal(self, scope: Scope, token: str) -> ProblemResponse | None:
        """None when `token` is an ingest token and the route an ingest route, else the
        problem to answer."""
        try:
            name = await run_in_threadpool(authenticate_ingest_token, token)
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout, DatabaseUnavailable):
            return problem(503, DATABASE_UNAVAILABLE_DETAIL, slug="database-unavailable")
        if name is None:
            return problem(
                401,
                "This ingest token is not valid (revoked, or never minted); mint one with "
                "`fitness tokens mint NAME`.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if not self._is_ingest(scope):
            return problem(
                403,
                "An ingest token opens only the ingest routes (POST /ingest/hae); this route "
                "needs one of FITNESS_API_TOKENS.",
                slug="ingest-token-scope",
                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
            )
        scope.setdefault("state", {})["ingest_token"] = name
        return None

    def _is_pages(self, scope: Scope) -> bool:
        routes: list[BaseRoute] = scope["app"].routes
        return any(
            isinstance(route, PageMount) and route.matches(scope)[0] == Match.FULL
            for route in routes
        )

    def _is_known(self, given: bytes) -> bool:
        # Compare against every token, without stopping at a match, so the time taken
        # says nothing about which token (or how much of one) was right.
        known = False
        for token in self._tokens:
            known |= hmac.compare_digest(given, token)
        return known


def _refusal_without_tokens(scope: Scope) -> ProblemResponse | None:
    """The problem for a request that an API without tokens must not serve, else None."""
    client = scope.get("client")
    if client is None or not is_loopback(str(client[0])):
        return problem(
            403,
            "The API has no tokens, so it serves only this machine (loopback clients); "
            "set FITNESS_API_TOKENS to serve other machines.",
            slug="not-loopback",
        )
    host = Headers(scope=scope).get("host")
    if host is None or not _is_loopback_host_header(host):
        shown = "no Host header" if host is None else f"Host {host[:_SHOWN_HOST_CHARS]!r}"
        return problem(
            421,
            "The API has no tokens, so it answers only for localhost, 127.0.0.1 and [::1], "
            f"not for {shown}; set FITNESS_API_TOKENS to serve other names.",
            slug="not-loopback-host",
        )
    if _is_cross_site(scope):
        return problem(
            403,
            "Cross-site requests are refused while the API has no tokens; "
            "set FITNESS_API_TOKENS to call it from other origins.",
            slug="cross-site",
        )
    return None


def _is_loopback_host_header(value: str) -> bool:
    match = _HOST_HEADER.fullmatch(value.strip())
    return match is not None and is_loopback(match.group(1))


def _is_cross_site(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    if headers.get("sec-fetch-site", "").lower() in ("cross-site", "same-site"):
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    own_origin = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
    return origin.lower() != own_origin.lower()


def _bearer_token(header: str | None) -> bytes | None:
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    # Starlette decodes headers as latin-1; encoding back gives the bytes that were sent.
    return token.strip().encode("latin-1")
