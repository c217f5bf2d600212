"""OAuth 2 tokens for Strava and Google: kept fresh, rotated under a row lock, never leaked.

Which credentials are used (the rule the README states): the environment's
`<PROVIDER>_CLIENT_ID`, `_CLIENT_SECRET` and `_REFRESH_TOKEN` are stored on first use; after
that the stored credentials win (they may have been rotated, or replaced by a consent),
until the environment's values *change*: then the changed values replace the stored ones.
A change is noticed by a fingerprint (a SHA-256 digest of the values, sealed like the
secrets) recorded whenever the environment's values are taken in. If the provider rejects
the stored credentials while the environment holds different ones, those are tried once.

Also what each provider must be granted (`Permission`), and the provider's answers that
refuse the whole connection (fitness.errors.IntegrationRefused).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

import httpx

from fitness.config import Settings, get_settings
from fitness.db.connection import transaction
from fitness.db.oauth_credentials import (
    get_credentials,
    get_credentials_for_update,
    insert_credentials_if_missing,
    record_seed_fingerprint,
    replace_from_environment,
    update_tokens,
)
from fitness.errors import (
    CredentialsRejected,
    InsufficientScope,
    IntegrationError,
    IntegrationNotConfigured,
    ProviderAppInactive,
    ReauthorizationRequired,
)
from fitness.models import OAuthCredentials

logger = logging.getLogger(__name__)

PROVIDERS: Final = ("strava", "google")
# Refresh a little before expiry so a token cannot die between our check and its use.
REFRESH_MARGIN_SECONDS: Final = 300
TOKEN_TIMEOUT_SECONDS: Final = 15.0
MAX_SCOPE_CHARS: Final = 2000

GOOGLE_CALENDAR_EVENTS: Final = "https://www.googleapis.com/auth/calendar.events"
GOOGLE_CALENDAR: Final = "https://www.googleapis.com/auth/calendar"


@dataclass(frozen=True, slots=True)
class Permission:
    """A permission fitness asks for, as the provider's consent page names it.

    Any one of `scopes` grants it. Without a `required` one fitness cannot work at all;
    without another, `without` says what is missing.
    """

    scopes: tuple[str, ...]
    label: str
    required: bool
    without: str

    def is_granted(self, granted: tuple[str, ...]) -> bool:
        return any(scope in granted for scope in self.scopes)


# Strava's scopes: https://developers.strava.com/docs/authentication/ ("Details About
# Requesting Access"); the labels are those of Strava's consent page.
STRAVA_PERMISSIONS: Final = (
    Permission(
        ("activity:read", "activity:read_all"),
        "View data about your activities",
        required=True,
        without="no activity can be fetched",
    ),
    Permission(
        ("activity:read_all",),
        "View data about your private activities",
        required=False,
        without="runs visible to 'Only You' are not fetched",
    ),
    Permission(
        ("profile:read_all",),
        "View data about your complete profile",
        required=False,
        without="Strava may refuse to name the shoes of your runs",
    ),
)
# Google: the token response's `scope` lists what was granted (the user may untick it).
GOOGLE_PERMISSIONS: Final = (
    Permission(
        (GOOGLE_CALENDAR_EVENTS, GOOGLE_CALENDAR),
        "View and edit events on all your calendars",
        required=True,
        without="no event can be written",
    ),
)

# What Strava sends (any API call, and its token endpoint) once an app is deactivated: since
# 2026-06-30 an app whose owner has no Strava subscription is `Inactive`.
STRAVA_APP_INACTIVE: Final = (
    "Strava has deactivated this API application (status Inactive: since 2026-06-30 the "
    "owner of an app needs a Strava subscription). Subscribe with the Strava account that "
    "owns the app of STRAVA_CLIENT_ID, or bring your runs in from Strava's bulk export "
    "with `fitness import strava-archive`"
)


@dataclass(frozen=True, slots=True)
class OAuthProvider:
    """Where and how to get tokens for one provider, with the client configured for it."""

    name: str
    token_url: str
    auth_url: str
    revoke_url: str
    scopes: tuple[str, ...]
    scope_separator: str
    env_prefix: str
    permissions: tuple[Permission, ...]
    # PKCE (S256): Google documents it; Strava's authorize and token endpoints list no
    # code_challenge or code_verifier parameter, so it is not sent there.
    supports_pkce: bool
    # A newly granted scope that makes older data visible: the next sync fetches it all.
    backfill_scope: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    extra_auth_params: tuple[tuple[str, str], ...] = ()

    @property
    def title(self) -> str:
        return self.name.capitalize()

    def parse_scope(self, raw: str) -> tuple[str, ...]:
        """A scope string as the provider writes it (`read,activity:read`), as a tuple."""
        separator = self.scope_separator.strip() or None
        return tuple(part.strip() for part in raw[:MAX_SCOPE_CHARS].split(separator) if part)

    def missing(self, granted: tuple[str, ...], *, required: bool) -> tuple[Permission, ...]:
        """The permissions (required ones, or the others) that `granted` lacks."""
        return tuple(
            p for p in self.permissions if p.required == required and not p.is_granted(granted)
        )

    def require(self, granted: tuple[str, ...]) -> None:
        """`InsufficientScope` naming what to tick if `granted` lacks a required permission."""
        missing = self.missing(granted, required=True)
        if missing:
            raise InsufficientScope(
                self.name,
                tuple(scope for p in missing for scope in p.scopes[:1]),
                f"{self.title} was connected without {_labels(missing)} "
                f"(granted: {', '.join(granted) or 'nothing'}), so {missing[0].without}: run "
                f"`fitness connect {self.name}` and leave {_labels(missing)} ticked",
            )

    def refused_for_scope(self, scope: str, operation: str) -> InsufficientScope:
        """The error for an API call refused because the grant lacks `scope`."""
        label = next((p.label for p in self.permissions if scope in p.scopes), scope)
        return InsufficientScope(
            self.name,
            (scope,),
            f"{self.title} refuses to {operation}: the connection lacks '{label}' ({scope}). "
            f"Run `fitness connect {self.name}` and leave '{label}' ticked",
        )


def get_provider(name: str, settings: Settings | None = None) -> OAuthProvider:
    """The provider called `name` ("strava" or "google"), built from the settings."""
    settings = settings or get_settings()
    if name == "strava":
        return OAuthProvider(
            name="strava",
            token_url=settings.strava_token_url,
            auth_url=settings.strava_auth_url,
            revoke_url=settings.strava_revoke_url,
            scopes=("read", "activity:read_all", "profile:read_all"),
            scope_separator=",",
            env_prefix="STRAVA",
            permissions=STRAVA_PERMISSIONS,
            supports_pkce=False,
            backfill_scope="activity:read_all",
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
            revoke_url=settings.google_revoke_url,
            scopes=(GOOGLE_CALENDAR_EVENTS,),
            scope_separator=" ",
            env_prefix="GOOGLE",
            permissions=GOOGLE_PERMISSIONS,
            supports_pkce=True,
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret,
            refresh_token=settings.google_refresh_token,
            # Without offline access and a consent prompt Google sends no refresh token.
            extra_auth_params=(("access_type", "offline"), ("prompt", "consent")),
        )
    raise ValueError(f"unknown OAuth provider {name!r}; expected one of {', '.join(PROVIDERS)}")


def as_provider(provider: OAuthProvider | str) -> OAuthProvider:
    """`provider` itself, or the provider of that name built from the settings."""
    return provider if isinstance(provider, OAuthProvider) else get_provider(provider)


def valid_access_token(
    provider: OAuthProvider | str, http_client: httpx.Client, force_refresh: bool = False
) -> str:
    """An access token for `provider` that is good for at least five more minutes.

    The credentials used follow the module's rule (environment on first use and whenever it
    changes, else what is stored). A refresh (when the token expires within five minutes, or
    `force_refresh=True` after the provider answered 401) runs while holding the
    credentials' row lock and stores the rotated refresh token before the lock is released,
    so concurrent callers refresh once and never spend a revoked refresh token.

    Raises `IntegrationNotConfigured` when nothing is configured; `ReauthorizationRequired`
    when the provider rejects the refresh token, `CredentialsRejected` when it rejects the
    client id or secret, `InsufficientScope` when the refreshed grant lacks a required
    permission (Google restates it), `IntegrationError` when its token endpoint fails.
    """
    provider = as_provider(provider)
    seen = credentials_in_use(provider)
    if not force_refresh and not seen.expires_within(REFRESH_MARGIN_SECONDS):
        assert seen.access_token is not None
        return seen.access_token
    with transaction() as conn:
        creds = get_credentials_for_update(provider.name, conn=conn)
        if creds is None:
            raise not_configured(provider)
        # Whoever held the lock before us may have refreshed already.
        refreshed_meanwhile = creds.access_token != seen.access_token
        if not creds.expires_within(REFRESH_MARGIN_SECONDS) and (
            not force_refresh or refreshed_meanwhile
        ):
            assert creds.access_token is not None
            return creds.access_token
        tokens, from_environment = _refresh(provider, http_client, creds)
        if from_environment:
            fingerprint = environment_fingerprint(provider)
            assert provider.client_id and provider.client_secret and fingerprint
            replace_from_environment(
                provider.name,
                provider.client_id,
                provider.client_secret,
                provider.refresh_token,
                fingerprint,
                conn=conn,
            )
        update_tokens(
            provider.name,
            tokens.access_token,
            tokens.refresh_token,
            tokens.expires_at,
            granted_scope=tokens.scope,
            conn=conn,
        )
    logger.info("Refreshed the %s access token (valid until %s)", provider.name, tokens.expires_at)
    if tokens.scope is not None:
        provider.require(tokens.scope)
    return tokens.access_token


def credentials_in_use(provider: OAuthProvider) -> OAuthCredentials:
    """The credentials `provider`'s requests use now, after taking in the environment's
    values if they are new or changed (see the module docstring).

    Raises `IntegrationNotConfigured` when nothing is stored and the environment lacks a
    client id, secret or refresh token.
    """
    stored = get_credentials(provider.name)
    fingerprint = environment_fingerprint(provider)
    if stored is None:
        if not (provider.client_id and provider.client_secret and provider.refresh_token):
            raise not_configured(provider)
        logger.info("Storing %s credentials from the environment", provider.name)
        return insert_credentials_if_missing(
            provider.name,
            provider.client_id,
            provider.client_secret,
            provider.refresh_token,
            seed_fingerprint=fingerprint,
        )
    if fingerprint is None or stored.seed_fingerprint == fingerprint:
        return stored
    if stored.seed_fingerprint is None:
        # Stored before fingerprints were kept: nothing says the environment changed since.
        record_seed_fingerprint(provider.name, fingerprint)
        return stored
    assert provider.client_id and provider.client_secret
    with transaction() as conn:
        # Under the row lock, so that of two processes noticing the change only one takes it
        # in (a second would put back a refresh token the first may already have rotated).
        locked = get_credentials_for_update(provider.name, conn=conn)
        if locked is None or locked.seed_fingerprint == fingerprint:
            return locked or stored
        logger.info(
            "The %s credentials in the environment changed: they replace the stored ones",
            provider.name,
        )
        replaced = replace_from_environment(
            provider.name,
            provider.client_id,
            provider.client_secret,
            provider.refresh_token,
            fingerprint,
            conn=conn,
        )
    return replaced or stored


def environment_fingerprint(provider: OAuthProvider) -> str | None:
    """A SHA-256 digest of the environment's client id, secret and refresh token (None when
    the client id or secret is not set there). Only ever stored sealed."""
    if not (provider.client_id and provider.client_secret):
        return None
    values = (provider.name, provider.client_id, provider.client_secret, provider.refresh_token)
    text = "\0".join(value or "" for value in values)
    return hashlib.sha256(b"fitness environment fingerprint v1\0" + text.encode()).hexdigest()


def not_configured(provider: OAuthProvider) -> IntegrationNotConfigured:
    """The error for a provider with nothing stored and not enough in the environment."""
    prefix = provider.env_prefix
    if provider.client_id and provider.client_secret:
        return IntegrationNotConfigured(
            f"{provider.title} is not connected: run `fitness connect {provider.name}` (or "
            f"open /oauth/{provider.name}/authorize), or set {prefix}_REFRESH_TOKEN"
        )
    return IntegrationNotConfigured(
        f"{provider.title} is not connected: set {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET, "
        f"then run `fitness connect {provider.name}` (or also set {prefix}_REFRESH_TOKEN)"
    )


@dataclass(frozen=True, slots=True)
class Tokens:
    """What a token endpoint granted; `scope` only when the provider restates it (Google)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime | None
    scope: tuple[str, ...] | None = None


def request_tokens(
    provider: OAuthProvider,
    http_client: httpx.Client,
    form: dict[str, str],
    on_rejected: Callable[[], Exception],
) -> Tokens:
    """POST `form` to the provider's token endpoint; the tokens it grants.

    A rejected grant raises `on_rejected()`; rejected client credentials
    `CredentialsRejected`; a deactivated Strava app `ProviderAppInactive`; anything else
    that is not tokens an `IntegrationError`. No message carries a value from `form`.
    """
    try:
        response = http_client.post(
            provider.token_url,
            data=form,
            headers={"Accept": "application/json"},
            timeout=TOKEN_TIMEOUT_SECONDS,
        )
    except httpx.TimeoutException:
        raise IntegrationError(f"{provider.title}'s token endpoint timed out; try again") from None
    except httpx.HTTPError as error:
        raise IntegrationError(
            f"{provider.title}'s token endpoint could not be reached ({type(error).__name__})"
        ) from None
    body = json_body(response)
    if response.status_code == 403 and is_app_inactive(body):
        raise ProviderAppInactive(provider.name, STRAVA_APP_INACTIVE)
    if response.status_code in (400, 401):
        if _token_error_code(body) in ("invalid_client", "unauthorized_client"):
            raise _rejected_client(provider)
        raise on_rejected()
    if response.status_code != 200:
        raise IntegrationError(
            f"{provider.title}'s token endpoint answered HTTP {response.status_code}; try again"
        )
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise IntegrationError(f"{provider.title}'s token endpoint sent no access token")
    refresh_token, scope = body.get("refresh_token"), body.get("scope")
    return Tokens(
        access_token=body["access_token"],
        refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
        expires_at=_expiry(body),
        scope=provider.parse_scope(scope) if isinstance(scope, str) else None,
    )


def json_body(response: httpx.Response) -> object:
    """The response's JSON, or None if it has none."""
    try:
        return response.json()
    except ValueError:
        return None


def is_app_inactive(body: object) -> bool:
    """True for Strava's `{"errors": [{"resource": "Application", "field": "Status",
    "code": "Inactive"}]}`."""
    return any(
        e.get("resource") == "Application"
        and e.get("field") == "Status"
        and e.get("code") == "Inactive"
        for e in strava_errors(body)
    )


def strava_errors(body: object) -> list[dict[str, object]]:
    """The `errors` list of a Strava error body (`{"message": ..., "errors": [...]}`)."""
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _refresh(
    provider: OAuthProvider, http_client: httpx.Client, creds: OAuthCredentials
) -> tuple[Tokens, bool]:
    """Refresh with the stored credentials; if the provider rejects them and the
    environment holds different ones, with those (True: they were the ones accepted)."""
    try:
        return _refresh_with(
            provider, http_client, creds.client_id, creds.client_secret, creds.refresh_token, creds
        ), False
    except (ReauthorizationRequired, CredentialsRejected):
        alternative = (
            provider.client_id,
            provider.client_secret,
            provider.refresh_token or creds.refresh_token,
        )
        tried = (creds.client_id, creds.client_secret, creds.refresh_token)
        if not (provider.client_id and provider.client_secret) or alternative == tried:
            raise
    logger.info(
        "%s rejected the stored credentials; trying the ones in the environment", provider.title
    )
    client_id, client_secret, refresh_token = alternative
    assert client_id and client_secret
    return _refresh_with(provider, http_client, client_id, client_secret, refresh_token, None), True


def _refresh_with(
    provider: OAuthProvider,
    http_client: httpx.Client,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    stored: OAuthCredentials | None,
) -> Tokens:
    return request_tokens(
        provider,
        http_client,
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        },
        on_rejected=lambda: _rejected_refresh_token(provider, stored),
    )


def _rejected_refresh_token(
    provider: OAuthProvider, stored: OAuthCredentials | None
) -> ReauthorizationRequired:
    prefix = provider.env_prefix
    from_environment = stored is None or (
        stored.source == "environment" and stored.refresh_token == provider.refresh_token
    )
    if from_environment and provider.refresh_token:
        return ReauthorizationRequired(
            provider.name,
            f"{provider.title} rejected the refresh token in {prefix}_REFRESH_TOKEN (revoked, "
            f"expired or for another app): put a new one there (it replaces the stored one on "
            f"the next try), or run `fitness connect {provider.name}`",
        )
    return ReauthorizationRequired(
        provider.name,
        f"{provider.title} rejected the stored refresh token (access was revoked, or given "
        f"again elsewhere): run `fitness connect {provider.name}` (or open "
        f"/oauth/{provider.name}/authorize), or set a new {prefix}_REFRESH_TOKEN",
    )


def _rejected_client(provider: OAuthProvider) -> CredentialsRejected:
    """The error for a client id or secret the provider does not accept."""
    prefix = provider.env_prefix
    return CredentialsRejected(
        provider.name,
        f"{provider.title} rejected the client id or secret: check {prefix}_CLIENT_ID and "
        f"{prefix}_CLIENT_SECRET (changed values there replace the stored ones on the next try)",
    )


def _expiry(body: dict[str, object]) -> datetime | None:
    # Strava sends an absolute `expires_at` (epoch seconds); Google a relative `expires_in`.
    expires_at, expires_in = body.get("expires_at"), body.get("expires_in")
    try:
        if isinstance(expires_at, int | float) and not isinstance(expires_at, bool):
            return datetime.fromtimestamp(expires_at, UTC)
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            return datetime.now(UTC) + timedelta(seconds=expires_in)
    except (OverflowError, OSError, ValueError):
        return None
    return None


def _token_error_code(body: object) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    # Strava: {"message": "Authorization Error", "errors": [{"resource": "Application", ...}]}
    if any(e.get("resource") == "Application" for e in strava_errors(body)):
        return "invalid_client"
    return None


def _labels(permissions: tuple[Permission, ...]) -> str:
    return " and ".join(f"'{p.label}'" for p in permissions)
