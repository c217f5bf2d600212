"""The OAuth consent flow for Strava and Google: send the user to the provider, take the
code it sends back, and store the tokens (fitness.integrations.consent does the work); and
the state of each connection.

`GET /oauth/{provider}/authorize` needs the API token like every route, and sets a cookie
(HttpOnly, SameSite=Lax so that it survives the provider's top-level redirect back, Secure
when FITNESS_PUBLIC_BASE_URL is https) that binds the consent to this browser. The
callback is public, because the provider's redirect cannot carry our token: it is trusted
through its single-use `state`, which only the browser holding that cookie can spend.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Final, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import with_config
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations, Reply
from fitness.config import Settings
from fitness.integrations.connections import ConnectionStatus, connection_status
from fitness.integrations.consent import (
    STATE_LIFETIME,
    Consent,
    complete_consent,
    start_consent,
)
from fitness.integrations.oauth import PROVIDERS, OAuthProvider, get_provider
from fitness.models import SHAPE
from fitness.rules import Timestamp
from fitness.shapes.integrations import CallbackQuery

TOKEN_EXCHANGE_TIMEOUT_SECONDS: Final = 15.0

api = Operations(tag="oauth")


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class AuthorizationRedirect:
    """To the provider's consent page."""

    authorization_url: str


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class OAuthConnected:
    """The provider is connected."""

    provider: Literal[PROVIDERS]  # type: ignore[valid-type]
    connected: Literal[True]
    expires_at: Timestamp | None
    """When the access token expires (it is refreshed by itself)."""
    granted_scope: list[str] | None
    """What the user granted (null: not known)."""
    notes: list[str]
    """Permissions left unticked and what that means; a backfill the next sync makes."""


@api.get(
    "/oauth/{provider}/authorize",
    response=AuthorizationRedirect,
    status=302,
    errors=(404,),
    operation_id="authorizeProvider",
)
async def authorize(provider: str, request: Request) -> Reply:
    """Start connecting Strava or Google: a redirect to its consent page

    Open it in the browser you consent with: it sets a cookie `fitness_oauth_<provider>`
    (HttpOnly, SameSite=Lax) binding the consent to that browser, and sends it to the
    provider's consent page (`Location`, also `authorization_url` in the body). The provider
    then sends the browser to the callback, which stores the tokens. The consent must be
    finished within ten minutes, once. 503 if the provider's client id is not configured."""
    settings: Settings = request.app.state.settings
    binding = secrets.token_urlsafe(32)
    started = await run_in_threadpool(
        start_consent,
        get_provider(provider, settings),
        callback_url(settings, provider),
        flow="browser",
        binding=binding,
    )
    url = started.authorization_url
    cookie = consent_cookie(settings, provider, binding, int(STATE_LIFETIME.total_seconds()))
    return Reply(AuthorizationRedirect(url), headers={"Location": url, "Set-Cookie": cookie})


@api.get(
    "/oauth/{provider}/callback",
    query=CallbackQuery,
    response=OAuthConnected,
    errors=(400, 404, 409, 422, 500, 502, 503),
    public=True,
    operation_id="oauthCallback",
)
async def callback(provider: str, query: CallbackQuery, request: Request) -> Reply:
    """Where the provider sends the user back after consent

    Public (no bearer token): it is authenticated by the single-use `state` that authorize
    issued, spendable only with the cookie authorize set. A missing, unknown, used or
    expired state, another browser, or a declined consent is a 400; a consent without a
    required permission stores nothing and is a 409 naming the permission to tick; a code
    the provider rejects is a 502. The cookie is cleared once it served."""
    settings: Settings = request.app.state.settings
    binding = request.cookies.get(cookie_name(provider))
    consent = await run_in_threadpool(_complete, get_provider(provider, settings), binding, query)
    connected = OAuthConnected(
        provider,
        True,
        consent.expires_at,
        None if consent.granted_scope is None else list(consent.granted_scope),
        consent.notes(),
    )
    return Reply(connected, headers={"Set-Cookie": consent_cookie(settings, provider, "", 0)})


@api.get(
    "/oauth/{provider}/status",
    response=ConnectionStatus,
    errors=(404,),
    operation_id="oauthStatus",
)
async def status(provider: str) -> ConnectionStatus:
    """Whether Strava or Google is connected, and how it stands

    What is stored, without asking the provider: connected or not, where the credentials
    came from, the granted scope and what it lacks, the access token's expiry, the last
    refresh and the last sync's outcome, how the environment's `<PROVIDER>_*` variables
    stand to what is stored, and what to do now. Never a secret."""
    return await run_in_threadpool(connection_status, provider)


def callback_url(settings: Settings, provider: str) -> str:
    """The redirect URI registered with the provider: FITNESS_PUBLIC_BASE_URL + the callback."""
    return f"{settings.public_base_url.rstrip('/')}/oauth/{provider}/callback"


def cookie_name(provider: str) -> str:
    """The cookie that binds a browser's consent for `provider`."""
    return f"fitness_oauth_{provider}"


def consent_cookie(settings: Settings, provider: str, value: str, max_age: int) -> str:
    """The `Set-Cookie` value: only the callback needs it (under the public base URL's own
    path), never script; Lax so the provider's redirect back carries it."""
    cookie: SimpleCookie = SimpleCookie()
    name = cookie_name(provider)
    cookie[name] = value
    morsel = cookie[name]
    morsel["path"] = f"{urlsplit(settings.public_base_url).path.rstrip('/')}/oauth/{provider}"
    morsel["max-age"] = max_age
    morsel["httponly"] = True
    morsel["samesite"] = "lax"
    if settings.public_base_url.lower().startswith("https://"):
        morsel["secure"] = True
    return morsel.OutputString()


def _complete(provider: OAuthProvider, binding: str | None, query: CallbackQuery) -> Consent:
    with httpx.Client(timeout=TOKEN_EXCHANGE_TIMEOUT_SECONDS) as http:
        return complete_consent(
            provider,
            state=query.state,
            binding=binding,
            flow="browser",
            code=query.code,
            error=query.error,
            scope=query.scope,
            http_client=http,
        )


routes, paths = api.routes(), paths_of(api)
