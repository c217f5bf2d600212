"""The OAuth consent flow for Strava and Google: send the user to the provider, take the
code it sends back, and store the tokens (fitness.integrations.oauth does the work).

`GET /oauth/{provider}/authorize` needs the API token like every route; the callback is
public, because the provider's redirect cannot carry our token: it is trusted through the
signed, expiring `state` that authorize put in the URL.
"""

from __future__ import annotations

import re
from typing import Final

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fitness.api.auth import PublicRoute
from fitness.api.errors import ApiError, malformed
from fitness.api.openapi import json_response, problems, protected, ref
from fitness.api.routing import route
from fitness.config import Settings
from fitness.integrations.oauth import (
    PROVIDERS,
    OAuthProvider,
    authorization_url,
    exchange_code,
    get_provider,
    verify_state,
)
from fitness.models import OAuthCredentials

TOKEN_EXCHANGE_TIMEOUT_SECONDS: Final = 15.0
# The provider's `error` is echoed only if it looks like an OAuth error code.
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")


async def authorize(request: Request) -> Response:
    """302 to the provider's consent page (its URL is also in the body)."""
    provider = _provider(request)
    url = authorization_url(provider, callback_url(request.app.state.settings, provider.name))
    return JSONResponse({"authorization_url": url}, status_code=302, headers={"Location": url})


async def callback(request: Request) -> Response:
    """Where the provider sends the user back: verify `state`, exchange `code`, store tokens."""
    provider = _provider(request)
    query = request.query_params
    verify_state(provider.name, query.get("state"))
    error = query.get("error")
    if error is not None:
        code = error if _ERROR_CODE.fullmatch(error) else "an error"
        raise ApiError(
            400,
            f"{provider.title} answered {code}: access was not granted. "
            f"Start again at /oauth/{provider.name}/authorize.",
            slug="authorization-declined",
        )
    code = query.get("code")
    if not code:
        raise malformed("The callback has no `code`.")
    redirect_uri = callback_url(request.app.state.settings, provider.name)
    creds = await run_in_threadpool(_exchange, provider, code, redirect_uri)
    return JSONResponse(
        {
            "provider": provider.name,
            "connected": True,
            "expires_at": creds.expires_at.isoformat() if creds.expires_at else None,
        }
    )


def callback_url(settings: Settings, provider: str) -> str:
    """The redirect URI registered with the provider: FITNESS_PUBLIC_BASE_URL + the callback."""
    return f"{settings.public_base_url.rstrip('/')}/oauth/{provider}/callback"


def _provider(request: Request) -> OAuthProvider:
    name = request.path_params["provider"]
    if name not in PROVIDERS:
        raise ApiError(
            404,
            f"There is no OAuth provider {name[:40]!r}; use one of {', '.join(PROVIDERS)}.",
            slug="unknown-provider",
        )
    return get_provider(name, request.app.state.settings)


def _exchange(provider: OAuthProvider, code: str, redirect_uri: str) -> OAuthCredentials:
    with httpx.Client(timeout=TOKEN_EXCHANGE_TIMEOUT_SECONDS) as http:
        return exchange_code(provider, code, redirect_uri, http)


routes = [
    route("/oauth/{provider}/authorize", GET=authorize),
    route("/oauth/{provider}/callback", route_class=PublicRoute, GET=callback),
]


# OpenAPI: the operations above and the shapes they answer with.

_PROVIDER: Final = {
    "name": "provider",
    "in": "path",
    "required": True,
    "description": "Whose consent: `strava` (runs) or `google` (calendar).",
    "schema": {"type": "string", "enum": list(PROVIDERS)},
}

paths = {
    "/oauth/{provider}/authorize": {
        "parameters": [_PROVIDER],
        "get": {
            "operationId": "authorizeProvider",
            "summary": "Start connecting Strava or Google: a redirect to its consent page",
            "description": (
                "Open the `Location` (also `authorization_url` in the body) in a browser and "
                "grant access; the provider then sends the browser to the callback, which "
                "stores the tokens. The link is valid for ten minutes. 503 if the "
                "provider's client id and secret are not configured."
            ),
            "tags": ["oauth"],
            "responses": protected(
                {
                    "302": {
                        "description": "To the provider's consent page.",
                        "headers": {
                            "Location": {
                                "description": "The consent page, with a signed `state`.",
                                "schema": {"type": "string", "format": "uri"},
                            }
                        },
                        "content": {"application/json": {"schema": ref("AuthorizationRedirect")}},
                    },
                    **problems(404),
                }
            ),
        },
    },
    "/oauth/{provider}/callback": {
        "parameters": [_PROVIDER],
        "get": {
            "operationId": "oauthCallback",
            "summary": "Where the provider sends the user back after consent",
            "description": (
                "Public (no bearer token): it is authenticated by the signed `state` that "
                "authorize issued. A missing, forged or expired state, or a declined "
                "consent, is a 400; a code the provider rejects is a 502."
            ),
            "tags": ["oauth"],
            "security": [],
            "parameters": [
                {
                    "name": name,
                    "in": "query",
                    "required": False,
                    "description": description,
                    "schema": {"type": "string"},
                }
                for name, description in (
                    ("state", "The state authorize put in the consent URL."),
                    ("code", "The authorisation code to exchange for tokens."),
                    ("error", "Set instead of `code` when the user declined."),
                    ("scope", "The scopes granted (Strava)."),
                )
            ],
            "responses": {
                "200": json_response("The provider is connected.", ref("OAuthConnected")),
                **problems(400, 404, 500, 502, 503),
            },
        },
    },
}

schemas = {
    "AuthorizationRedirect": {
        "type": "object",
        "required": ["authorization_url"],
        "properties": {"authorization_url": {"type": "string", "format": "uri"}},
    },
    "OAuthConnected": {
        "type": "object",
        "required": ["provider", "connected", "expires_at"],
        "additionalProperties": False,
        "properties": {
            "provider": {"type": "string", "enum": list(PROVIDERS)},
            "connected": {"const": True},
            "expires_at": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "When the access token expires (it is refreshed by itself).",
            },
        },
    },
}
