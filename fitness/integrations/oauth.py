"""OAuth 2 tokens for Strava and Google: kept fresh, rotated under a row lock, never leaked.

Also the consent flow: an authorisation URL with a signed, expiring `state`, and the
exchange of the code the provider sends back for tokens stored in `oauth_credentials`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urlencode

import httpx

from fitness.config import Settings, get_settings
from fitness.db.connection import transaction
from fitness.db.oauth_credentials import (
    get_credentials,
    get_credentials_for_update,
    insert_credentials_if_missing,
    update_tokens,
    upsert_credentials,
)
from fitness.errors import (
    IntegrationError,
    IntegrationNotConfigured,
    InvalidOAuthState,
    ReauthorizationRequired,
)
from fitness.models import OAuthCredentials

logger = logging.getLogger(__name__)

PROVIDERS: Final = ("strava", "google")
# Refresh a little before expiry so a token cannot die between our check and its use.
REFRESH_MARGIN_SECONDS: Final = 300
STATE_LIFETIME: Final = timedelta(minutes=10)

# Used to sign `state` when FITNESS_SECRET_KEY is not set: consent then only completes in
# the process that started it, which is all a single-process dev server needs.
_PROCESS_STATE_KEY: Final = secrets.token_bytes(32)


@dataclass(frozen=True, slots=True)
class OAuthProvider:
    """Where and how to get tokens for one provider, with the client configured for it."""

    name: str
    token_url: str
    auth_url: str
    scopes: tuple[str, ...]
    scope_separator: str
    env_prefix: str
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    extra_auth_params: tuple[tuple[str, str], ...] = ()

    @property
    def title(self) -> str:
        return self.name.capitalize()


def get_provider(name: str, settings: Settings | None = None) -> OAuthProvider:
    """The provider called `name` ("strava" or "google"), built from the settings."""
    settings = settings or get_settings()
    if name == "strava":
        return OAuthProvider(
            name="strava",
            token_url=settings.strava_token_url,
            auth_url=settings.strava_auth_url,
            # activity:read_all includes private runs; profile:read_all is needed for gear.
            scopes=("read", "activity:read_all", "profile:read_all"),
            scope_separator=",",
            env_prefix="STRAVA",
            client_id=settings.strava_client_id,
            client_secret=settings.strava_client_secret,
            refresh_token=settings.strava_refresh_token,
            extra_auth_params=(("approval_prompt", "auto"),),
        )
    if name == "google":
        return OAuthProvider(
            name="google",
            token_url=settings.google_token_url,
            auth_url=settings.google_auth_url,
            scopes=("https://www.googleapis.com/auth/calendar.events",),
            scope_separator=" ",
            env_prefix="GOOGLE",
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret,
            refresh_token=settings.google_refresh_token,
            # Without offline access and a consent prompt Google sends no refresh token.
            extra_auth_params=(("access_type", "offline"), ("prompt", "consent")),
        )
    raise ValueError(f"unknown OAuth provider {name!r}; expected one of {', '.join(PROVIDERS)}")


def valid_access_token(
    provider: OAuthProvider | str, http_client: httpx.Client, force_refresh: bool = False
) -> str:
    """An access token for `provider` that is good for at least five more minutes.

    Credentials are seeded from the environment on first use. A refresh (when the token
    expires within five minutes, or `force_refresh=True` after the provider answered 401)
    runs while holding the credentials' row lock and stores the rotated refresh token before
    the lock is released, so concurrent callers refresh once and never spend a revoked
    refresh token.

    Raises `IntegrationNotConfigured` when nothing is configured, `ReauthorizationRequired`
    when the provider rejects the refresh token, `IntegrationError` when its token endpoint
    fails or cannot be reached.
    """
    provider = _as_provider(provider)
    seen = get_credentials(provider.name) or _seed_from_environment(provider)
    if not force_refresh and not seen.expires_within(REFRESH_MARGIN_SECONDS):
        assert seen.access_token is not None
        return seen.access_token
    with transaction() as conn:
        creds = get_credentials_for_update(provider.name, conn=conn)
        if creds is None:
            raise _not_configured(provider)
        # Whoever held the lock before us may have refreshed already.
        refreshed_meanwhile = creds.access_token != seen.access_token
        if not creds.expires_within(REFRESH_MARGIN_SECONDS) and (
            not force_refresh or refreshed_meanwhile
        ):
            assert creds.access_token is not None
            return creds.access_token
        tokens = _request_tokens(
            provider,
            http_client,
            {
                "grant_type": "refresh_token",
                "refresh_token": creds.refresh_token,
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
            },
            on_rejected=lambda: ReauthorizationRequired(provider.name),
        )
        update_tokens(
            provider.name,
            tokens.access_token,
            tokens.refresh_token,
            tokens.expires_at,
            conn=conn,
        )
    logger.info("Refreshed the %s access token (valid until %s)", provider.name, tokens.expires_at)
    return tokens.access_token


def authorization_url(provider: OAuthProvider | str, redirect_uri: str) -> str:
    """Where to send the user to grant fitness access; the URL carries a signed `state`."""
    provider = _as_provider(provider)
    if not provider.client_id:
        raise IntegrationNotConfigured(
            f"{provider.title} is not configured: set {provider.env_prefix}_CLIENT_ID and "
            f"{provider.env_prefix}_CLIENT_SECRET"
        )
    params = {
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": provider.scope_separator.join(provider.scopes),
        "state": make_state(provider.name),
        **dict(provider.extra_auth_params),
    }
    separator = "&" if "?" in provider.auth_url else "?"
    return f"{provider.auth_url}{separator}{urlencode(params)}"


def make_state(provider: str, now: float | None = None) -> str:
    """A `state` for `provider`'s consent flow: `<provider>.<expiry>.<nonce>.<signature>`."""
    expires = int((now if now is not None else time.time()) + STATE_LIFETIME.total_seconds())
    payload = f"{provider}.{expires}.{secrets.token_urlsafe(16)}"
    return f"{payload}.{_sign(payload)}"


def verify_state(provider: str, state: str | None, now: float | None = None) -> None:
    """Accept a `state` this server signed for `provider` less than ten minutes ago.

    Anything else (missing, malformed, forged, for another provider, expired) raises
    `InvalidOAuthState`.
    """
    if not state:
        raise InvalidOAuthState("the OAuth callback has no state; start again at authorize")
    parts = state.split(".")
    if len(parts) != 4:
        raise InvalidOAuthState("the OAuth state is malformed; start again at authorize")
    name, expires, _nonce, signature = parts
    payload = state.rpartition(".")[0]
    if not hmac.compare_digest(signature.encode(), _sign(payload).encode()):
        raise InvalidOAuthState("the OAuth state was not issued by this server")
    if name != provider:
        raise InvalidOAuthState(f"the OAuth state was issued for {name}, not {provider}")
    if not expires.isdigit() or int(expires) < (now if now is not None else time.time()):
        raise InvalidOAuthState("the OAuth state has expired; start again at authorize")


def exchange_code(
    provider: OAuthProvider | str, code: str, redirect_uri: str, http_client: httpx.Client
) -> OAuthCredentials:
    """Trade the code from the consent callback for tokens, and store them."""
    provider = _as_provider(provider)
    if not provider.client_id or not provider.client_secret:
        raise _not_configured(provider)
    tokens = _request_tokens(
        provider,
        http_client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": provider.client_id,
            "client_secret": provider.client_secret,
            "redirect_uri": redirect_uri,
        },
        on_rejected=lambda: IntegrationError(
            f"{provider.title} rejected the authorisation code; "
            f"start again at /oauth/{provider.name}/authorize"
        ),
    )
    refresh_token = tokens.refresh_token
    if not refresh_token:
        stored = get_credentials(provider.name)
        if stored is None or not stored.refresh_token:
            raise IntegrationError(f"{provider.title} granted access but sent no refresh token")
        refresh_token = stored.refresh_token
    creds = upsert_credentials(
        provider.name,
        provider.client_id,
        provider.client_secret,
        refresh_token,
        tokens.access_token,
        tokens.expires_at,
    )
    logger.info("Connected %s (token valid until %s)", provider.name, tokens.expires_at)
    return creds


@dataclass(frozen=True, slots=True)
class _Tokens:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime | None


def _as_provider(provider: OAuthProvider | str) -> OAuthProvider:
    return provider if isinstance(provider, OAuthProvider) else get_provider(provider)


def _seed_from_environment(provider: OAuthProvider) -> OAuthCredentials:
    if not (provider.client_id and provider.client_secret and provider.refresh_token):
        raise _not_configured(provider)
    logger.info("Storing %s credentials from the environment", provider.name)
    return insert_credentials_if_missing(
        provider.name, provider.client_id, provider.client_secret, provider.refresh_token
    )


def _not_configured(provider: OAuthProvider) -> IntegrationNotConfigured:
    prefix = provider.env_prefix
    return IntegrationNotConfigured(
        f"{provider.title} is not connected: set {prefix}_CLIENT_ID, {prefix}_CLIENT_SECRET and "
        f"{prefix}_REFRESH_TOKEN, or set the client id and secret and "
        f"open /oauth/{provider.name}/authorize"
    )


def _request_tokens(
    provider: OAuthProvider,
    http_client: httpx.Client,
    form: dict[str, str],
    on_rejected: Callable[[], Exception],
) -> _Tokens:
    try:
        response = http_client.post(
            provider.token_url, data=form, headers={"Accept": "application/json"}
        )
    except httpx.TimeoutException:
        raise IntegrationError(f"{provider.title}'s token endpoint timed out; try again") from None
    except httpx.HTTPError as error:
        raise IntegrationError(
            f"{provider.title}'s token endpoint could not be reached ({type(error).__name__})"
        ) from None
    if response.status_code in (400, 401):
        if _error_code(response) == "invalid_client":
            raise IntegrationError(
                f"{provider.title} rejected the client id or secret; check "
                f"{provider.env_prefix}_CLIENT_ID and {provider.env_prefix}_CLIENT_SECRET"
            )
        raise on_rejected()
    if response.status_code != 200:
        raise IntegrationError(
            f"{provider.title}'s token endpoint answered HTTP {response.status_code}; try again"
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise IntegrationError(f"{provider.title}'s token endpoint sent no access token")
    refresh_token = body.get("refresh_token")
    return _Tokens(
        access_token=body["access_token"],
        refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
        expires_at=_expiry(body),
    )


def _expiry(body: dict[str, object]) -> datetime | None:
    # Strava sends an absolute `expires_at` (epoch seconds); Google a relative `expires_in`.
    expires_at, expires_in = body.get("expires_at"), body.get("expires_in")
    if isinstance(expires_at, int | float) and not isinstance(expires_at, bool):
        return datetime.fromtimestamp(expires_at, UTC)
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        return datetime.now(UTC) + timedelta(seconds=expires_in)
    return None


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            return body["error"]
        # Strava: {"message": "Bad Request", "errors": [{"resource": "Application", ...}]}
        errors = body.get("errors")
        if isinstance(errors, list) and any(
            isinstance(e, dict) and e.get("resource") == "Application" for e in errors
        ):
            return "invalid_client"
    return None


def _sign(payload: str) -> str:
    secret_key = get_settings().secret_key
    key = (
        hashlib.sha256(b"fitness oauth state\0" + secret_key.encode()).digest()
        if secret_key
        else _PROCESS_STATE_KEY
    )
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
