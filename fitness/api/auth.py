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
  and which is trusted through its signed `state`.
A route is public only for the methods it declares (`Match.FULL`), never for a path that
merely resembles it.

With no tokens configured (dev only: `create_app` refuses prod without them) every route is
open, which is why `fitness serve` then listens on loopback only (`requires_loopback`).
Loopback alone does not keep out a web page open in the user's browser, which can send
"simple" cross-site requests to 127.0.0.1; so without tokens, requests that a browser marks
as coming from another site (`Sec-Fetch-Site`, or an `Origin` that is not this server) are
refused with a 403, except on public routes.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from fitness.api.errors import problem
from fitness.config import Settings
from fitness.errors import ConfigurationError


class PublicRoute(Route):
    """A `Route` that answers without a bearer token (see the module docstring for when)."""


def check_settings(settings: Settings) -> None:
    """Refuse settings that would expose the API or its secrets in production.

    Prod needs at least one bearer token, and FITNESS_SECRET_KEY so that OAuth tokens are
    never stored in plaintext (without it every sync would fail at its first token write).
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


def requires_loopback(settings: Settings) -> bool:
    """True when the API is open to anyone who reaches it, so it must listen on loopback."""
    return not settings.api_tokens


class BearerAuthMiddleware:
    """ASGI middleware: a valid bearer token, or a public route, or a 401 problem."""

    def __init__(self, app: ASGIApp, tokens: Sequence[str]) -> None:
        self.app = app
        self._tokens = [token.encode("utf-8") for token in tokens]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._is_public(scope):
            await self.app(scope, receive, send)
            return
        if not self._tokens:
            if _is_cross_site(scope):
                detail = (
                    "Cross-site requests are refused while the API has no tokens; "
                    "set FITNESS_API_TOKENS to call it from other origins."
                )
                await problem(403, detail)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        given = _bearer_token(Headers(scope=scope).get("authorization"))
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

    def _is_known(self, given: bytes) -> bool:
        # Compare against every token, without stopping at a match, so the time taken
        # says nothing about which token (or how much of one) was right.
        known = False
        for token in self._tokens:
            known |= hmac.compare_digest(given, token)
        return known


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
