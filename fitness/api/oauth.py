"""The OAuth consent flow for Strava and Google: send the user to the provider, take the
code it sends back, and store the tokens (fitness.integrations.oauth does the work).

`GET /oauth/{provider}/authorize` needs the API token like every route; the callback is
public, because the provider's redirect cannot carry our token: it is trusted through the
signed, expiring `state` that authorize put in the URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

import httpx
from pydantic import with_config
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations, Reply
from fitness.config import Settings
from fitness.integrations.oauth import (
    PROVIDERS,
    OAuthProvider,
    authorization_url,
    exchange_code,
    get_provider,
    verify_state,
)
from fitness.models import SHAPE, OAuthCredentials
from fitness.rules import Timestamp
from fitness.server.problems import ApiError, malformed
from fitness.shapes.integrations import CallbackQuery

TOKEN_EXCHANGE_TIMEOUT_SECONDS: Final = 15.0
# The provider's `error` is echoed only if it looks like an OAuth error code.
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")

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


@api.get(
    "/oauth/{provider}/authorize",
    response=AuthorizationRedirect,
    status=302,
    errors=(404,),
    operation_id="authorizeProvider",
)
async def authorize(provider: str, request: Request) -> Reply:
    """Start connecting Strava or Google: a redirect to its consent page

    Open the `Location` (also `authorization_url` in the body) in a browser and grant
    access; the provider then sends the browser to the callback, which stores the tokens.
    The link is valid for ten minutes. 503 if the provider's client id and secret are not
    configured."""
    settings = request.app.state.settings
    url = authorization_url(get_provider(provider, settings), callback_url(settings, provider))
    return Reply(AuthorizationRedirect(url), headers={"Location": url})


@api.get(
    "/oauth/{provider}/callback",
    query=CallbackQuery,
    response=OAuthConnected,
    errors=(404, 422, 500, 502, 503),
    public=True,
    operation_id="oauthCallback",
)
async def callback(provider: str, query: CallbackQuery, request: Request) -> OAuthConnected:
    """Where the provider sends the user back after consent

    Public (no bearer token): it is authenticated by the signed `state` that authorize
    issued. A missing, forged or expired state, or a declined consent, is a 400; a code the
    provider rejects is a 502."""
    settings = request.app.state.settings
    oauth_provider = get_provider(provider, settings)
    verify_state(provider, query.state)
    if query.error is not None:
        code = query.error if _ERROR_CODE.fullmatch(query.error) else "an error"
        raise ApiError(
            400,
            f"{oauth_provider.title} answered {code}: access was not granted. "
            f"Start again at /oauth/{provider}/authorize.",
            slug="authorization-declined",
        )
    if not query.code:
        raise malformed("The callback has no `code`.")
    creds = await run_in_threadpool(
        _exchange, oauth_provider, query.code, callback_url(settings, provider)
    )
    return OAuthConnected(provider, True, creds.expires_at)


def callback_url(settings: Settings, provider: str) -> str:
    """The redirect URI registered with the provider: FITNESS_PUBLIC_BASE_URL + the callback."""
    return f"{settings.public_base_url.rstrip('/')}/oauth/{provider}/callback"


def _exchange(provider: OAuthProvider, code: str, redirect_uri: str) -> OAuthCredentials:
    with httpx.Client(timeout=TOKEN_EXCHANGE_TIMEOUT_SECONDS) as http:
        return exchange_code(provider, code, redirect_uri, http)


routes, paths = api.routes(), paths_of(api)
