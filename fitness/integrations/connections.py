"""What fitness knows about each provider connection, and how to end one.

`connection_status` answers `fitness connections` and `GET /oauth/{provider}/status`;
`disconnect` revokes fitness's access at the provider (Strava's deauthorize or revoke URL,
Google's revoke endpoint) and then forgets the stored credentials. Hevy is no OAuth
provider but an API key: `api_key_status` and `forget_api_key` are its pair.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final, Literal

import httpx

from fitness.config import get_settings
from fitness.db.api_keys import delete_api_key, get_api_key
from fitness.db.oauth_credentials import delete_credentials, get_credentials
from fitness.db.sync_metadata import get_last_synced_at
from fitness.errors import IntegrationError, ReauthorizationRequired
from fitness.integrations.hevy import PROVIDER as HEVY
from fitness.integrations.oauth import (
    OAuthProvider,
    as_provider,
    environment_fingerprint,
    json_body,
    valid_access_token,
)
from fitness.models import CredentialSource, LastSyncOutcome, OAuthCredentials
from fitness.rules import Timestamp

logger = logging.getLogger(__name__)

REVOKE_TIMEOUT_SECONDS: Final = 15.0
_NOTHING_FORGOTTEN: Final = (
    "nothing was forgotten: try again, or run `fitness disconnect {provider.name} "
    "--forget-only` and remove fitness in your {provider.title} settings"
)

Environment = Literal["unset", "incomplete", "in use", "changed"]
Revocation = Literal["revoked", "already revoked", "not attempted"]


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """One provider's connection, as a user checks it (no secret in it); times in UTC."""

    provider: str
    connected: bool
    source: CredentialSource | None
    """Where the stored credentials came from: `environment` or `consent`."""
    granted_scope: tuple[str, ...] | None
    """What the user granted (null: not known, e.g. a refresh token from the environment)."""
    missing: tuple[str, ...]
    """Labels of the required permissions not granted."""
    not_granted: tuple[str, ...]
    """Labels of the optional permissions not granted."""
    access_token_expires_at: Timestamp | None
    last_refreshed_at: Timestamp | None
    last_sync_at: Timestamp | None
    last_sync_outcome: LastSyncOutcome | None
    last_sync_message: str | None
    environment: Environment
    """The `<PROVIDER>_*` variables: `unset`, `incomplete` (not enough to connect with), `in
    use` (taken in, unchanged since) or `changed` (they replace what is stored on the next
    use)."""
    action: str | None
    """What the user can do now, if anything."""


@dataclass(frozen=True, slots=True)
class Disconnection:
    """What `disconnect` did: whether there was a connection, what the provider said to the
    revocation, and whether the environment still holds credentials that a later use would
    store again."""

    provider: str
    was_connected: bool
    revocation: Revocation
    environment_still_set: bool


@dataclass(frozen=True, slots=True)
class ApiKeyStatus:
    """Hevy's API key as a user checks it (never the key itself); times in UTC."""

    provider: str
    stored: bool
    """A key Hevy accepted is stored, encrypted."""
    environment: Literal["unset", "in use", "not yet used", "changed"]
    """HEVY_API_KEY: `unset`, `in use` (the stored key), `not yet used` (nothing stored:
    the next sync tries it) or `changed` (it replaces the stored key on the next sync)."""
    last_synced_at: Timestamp | None
    """The sync marker: Hevy's time of the newest change read by a complete sync."""


def api_key_status() -> ApiKeyStatus:
    """Whether Hevy's key is stored and how HEVY_API_KEY stands to it. Calls nobody."""
    stored, configured = get_api_key(HEVY), get_settings().hevy_api_key
    environment: Literal["unset", "in use", "not yet used", "changed"] = (
        "unset"
        if not configured
        else "not yet used"
        if stored is None
        else "in use"
        if configured == stored
        else "changed"
    )
    return ApiKeyStatus(
        provider=HEVY,
        stored=stored is not None,
        environment=environment,
        last_synced_at=get_last_synced_at(HEVY),
    )


def forget_api_key() -> bool:
    """Forget Hevy's stored key; True if one was stored. Hevy has no revocation endpoint:
    a key is retired by generating a new one in Hevy's settings."""
    forgotten = delete_api_key(HEVY)
    if forgotten:
        logger.info("Forgot the stored %s API key", HEVY)
    return forgotten


def connection_status(provider: OAuthProvider | str) -> ConnectionStatus:
    """What is stored for `provider` and how it stands to the environment. Calls nobody."""
    provider = as_provider(provider)
    creds = get_credentials(provider.name)
    environment = _environment(provider, creds)
    granted = creds.granted_scope if creds else None
    missing = provider.missing(granted, required=True) if granted is not None else ()
    not_granted = provider.missing(granted, required=False) if granted is not None else ()
    return ConnectionStatus(
        provider=provider.name,
        connected=creds is not None,
        source=creds.source if creds else None,
        granted_scope=granted,
        missing=tuple(p.label for p in missing),
        not_granted=tuple(p.label for p in not_granted),
        access_token_expires_at=creds.expires_at if creds and creds.access_token else None,
        last_refreshed_at=creds.last_refreshed_at if creds else None,
        last_sync_at=creds.last_sync_at if creds else None,
        last_sync_outcome=creds.last_sync_outcome if creds else None,
        last_sync_message=creds.last_sync_message if creds else None,
        environment=environment,
        action=_action(provider, creds, environment, bool(missing)),
    )


def disconnect(
    provider: OAuthProvider | str, *, http_client: httpx.Client, revoke: bool = True
) -> Disconnection:
    """Revoke fitness's access at the provider (unless `revoke=False`), then forget the
    stored credentials.

    A provider that says the grant is already gone counts as revoked. When the provider
    cannot be reached or fails, nothing is forgotten and `IntegrationError` says so (retry,
    or pass `revoke=False` and revoke in the provider's settings).
    """
    provider = as_provider(provider)
    creds = get_credentials(provider.name)
    revocation: Revocation = "not attempted"
    if creds is not None and revoke:
        revocation = _revoke(provider, creds, http_client)
    forgotten = delete_credentials(provider.name)
    if forgotten:
        logger.info("Disconnected %s (%s)", provider.name, revocation)
    return Disconnection(
        provider=provider.name,
        was_connected=forgotten,
        revocation=revocation,
        environment_still_set=bool(provider.refresh_token),
    )


def _revoke(
    provider: OAuthProvider, creds: OAuthCredentials, http_client: httpx.Client
) -> Revocation:
    if provider.name == "strava":
        # Strava revokes the grant of an access token, sent (as every token) in a header.
        try:
            token = valid_access_token(provider, http_client)
        except ReauthorizationRequired:
            return "already revoked"
        except IntegrationError as error:
            raise IntegrationError(
                f"{error}; {_NOTHING_FORGOTTEN.format(provider=provider)}"
            ) from None
        request = {"headers": {"Authorization": f"Bearer {token}"}}
        already = (401,)
    else:
        # Google: the refresh token revokes the whole grant (RFC 7009 form post).
        request = {"data": {"token": creds.refresh_token}}
        already = (400,)
    try:
        response = http_client.post(provider.revoke_url, timeout=REVOKE_TIMEOUT_SECONDS, **request)
    except httpx.HTTPError as error:
        raise IntegrationError(
            f"{provider.title} could not be reached to revoke access "
            f"({type(error).__name__}); {_NOTHING_FORGOTTEN.format(provider=provider)}"
        ) from None
    if response.is_success:
        return "revoked"
    if response.status_code in already:
        # Strava answers 401 to a token whose grant is gone; Google 400 `invalid_token`.
        body = json_body(response)
        if provider.name == "strava" or (
            isinstance(body, dict) and body.get("error") == "invalid_token"
        ):
            return "already revoked"
    raise IntegrationError(
        f"{provider.title} answered HTTP {response.status_code} to the revocation; "
        f"{_NOTHING_FORGOTTEN.format(provider=provider)}"
    )


def _environment(provider: OAuthProvider, creds: OAuthCredentials | None) -> Environment:
    fingerprint = environment_fingerprint(provider)
    if fingerprint is None:
        return "incomplete" if provider.client_id or provider.client_secret else "unset"
    if creds is None:
        return "changed" if provider.refresh_token else "incomplete"
    if creds.seed_fingerprint is None or creds.seed_fingerprint == fingerprint:
        return "in use"
    return "changed"


def _action(
    provider: OAuthProvider,
    creds: OAuthCredentials | None,
    environment: Environment,
    missing: bool,
) -> str | None:
    prefix, name = provider.env_prefix, provider.name
    if creds is None:
        if environment == "changed":
            return f"nothing to do: the {prefix}_* credentials are stored on first use"
        if provider.client_id and provider.client_secret:
            return f"run `fitness connect {name}`"
        return (
            f"set {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET, then run `fitness connect {name}`"
        )
    if environment == "changed":
        return f"nothing to do: the changed {prefix}_* values replace the stored ones on next use"
    if missing:
        return f"run `fitness connect {name}` and grant every permission asked for"
    if creds.last_sync_outcome == "failed":
        return "see the last sync's message"
    return None
