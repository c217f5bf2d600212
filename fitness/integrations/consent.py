"""The OAuth consent flow: an authorisation URL whose `state` is single-use and bound to
whoever started it, and the exchange of the code the provider sends back for tokens.

A state is a random value stored server-side (fitness.db.oauth_states) with the digest of
its binding: the cookie `/oauth/{provider}/authorize` sets in the browser, or a secret held
by the `fitness connect` process waiting for the code. The callback consumes it once. PKCE
(S256) is used with every provider that supports it. The granted scope is read (Strava
sends it on the redirect, Google in the token response) and checked before anything is
stored: too narrow a consent stores nothing and says which permission to tick.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urlencode

import httpx

from fitness.db.connection import transaction
from fitness.db.oauth_credentials import get_credentials, upsert_credentials
from fitness.db.oauth_states import consume_state, create_state
from fitness.db.sync_metadata import forget_last_synced_at
from fitness.errors import (
    ConsentDeclined,
    IntegrationError,
    IntegrationNotConfigured,
    InvalidOAuthState,
)
from fitness.integrations.oauth import (
    MAX_SCOPE_CHARS,
    OAuthProvider,
    Permission,
    as_provider,
    environment_fingerprint,
    request_tokens,
)
from fitness.models import ConsentFlow

logger = logging.getLogger(__name__)

STATE_LIFETIME: Final = timedelta(minutes=10)
MAX_STATE_CHARS: Final = 200
MAX_CODE_CHARS: Final = 2048
# The provider's `error` is echoed only if it looks like an OAuth error code.
_ERROR_CODE: Final = re.compile(r"[a-z_]{1,64}")


@dataclass(frozen=True, slots=True)
class Consent:
    """What a completed consent stored: the granted scope (None: not known), when the
    access token expires, the optional permissions left unticked, and whether the next sync
    fetches everything again because data hidden before is now visible."""

    provider: str
    granted_scope: tuple[str, ...] | None
    expires_at: datetime | None
    not_granted: tuple[Permission, ...]
    backfill: bool

    def notes(self) -> list[str]:
        """What the user should know, one sentence each."""
        notes = [
            f"'{p.label}' was not granted, so {p.without}; run `fitness connect "
            f"{self.provider}` again to grant it"
            for p in self.not_granted
        ]
        if self.granted_scope is None:
            notes.append("the granted permissions are not known (only the code was given)")
        if self.backfill:
            notes.append(
                "activities hidden until now are visible: the next sync fetches every "
                "activity again to bring them in"
            )
        return notes


@dataclass(frozen=True, slots=True)
class ConsentStart:
    """A consent just started: where to send the user, and its state (which the terminal
    flow needs when the user pastes only a code)."""

    authorization_url: str
    state: str = field(repr=False)


def start_consent(
    provider: OAuthProvider | str, redirect_uri: str, *, flow: ConsentFlow, binding: str
) -> ConsentStart:
    """Record a new consent bound to `binding`; where to send the user, and its state.

    `binding` is the browser's cookie value (flow `browser`) or a secret of the waiting
    process (flow `terminal`); only its digest is stored, and only the same value can
    complete the consent. Raises `IntegrationNotConfigured` without a client id.
    """
    provider = as_provider(provider)
    if not provider.client_id:
        prefix = provider.env_prefix
        raise IntegrationNotConfigured(
            f"{provider.title} is not configured: set {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET"
        )
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64) if provider.supports_pkce else None
    create_state(
        digest(state),
        provider=provider.name,
        flow=flow,
        binding_hash=digest(binding),
        code_verifier=verifier,
        redirect_uri=redirect_uri,
        expires_at=datetime.now(UTC) + STATE_LIFETIME,
    )
    params = {
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": provider.scope_separator.join(provider.scopes),
        "state": state,
        **dict(provider.extra_auth_params),
    }
    if verifier is not None:
        params |= {"code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256"}
    separator = "&" if "?" in provider.auth_url else "?"
    return ConsentStart(f"{provider.auth_url}{separator}{urlencode(params)}", state)


def complete_consent(
    provider: OAuthProvider | str,
    *,
    state: str | None,
    binding: str | None,
    flow: ConsentFlow,
    code: str | None,
    error: str | None,
    scope: str | None,
    http_client: httpx.Client,
) -> Consent:
    """Finish the consent the provider sent the user back from; store the tokens.

    The state is consumed first (single-use, same binding and flow), so a declined or
    failed consent cannot be retried with it. Raises `InvalidOAuthState` for a bad state or
    a missing code, `ConsentDeclined` when the user declined, `InsufficientScope` (storing
    nothing) when a required permission was not granted, `IntegrationError` when the
    provider rejects the code.
    """
    provider = as_provider(provider)
    if not state or len(state) > MAX_STATE_CHARS:
        raise InvalidOAuthState(
            f"the answer has no valid state: start again (`fitness connect {provider.name}` "
            f"or /oauth/{provider.name}/authorize)"
        )
    for name, value, limit in (
        ("code", code, MAX_CODE_CHARS),
        ("scope", scope, MAX_SCOPE_CHARS),
        ("error", error, MAX_CODE_CHARS),
    ):
        if value is not None and len(value) > limit:
            raise InvalidOAuthState(f"the answer's {name} is longer than any provider sends")
    # Without a binding (a browser that lost its cookie) nothing can match; the refusal
    # still says why, e.g. that a `fitness connect` consent must be pasted in its terminal.
    started = consume_state(
        digest(state), provider=provider.name, flow=flow, binding_hash=digest(binding or "")
    )
    if error is not None:
        shown = error if _ERROR_CODE.fullmatch(error) else "an error"
        raise ConsentDeclined(
            f"{provider.title} answered {shown}: access was not granted. Start again with "
            f"`fitness connect {provider.name}` or /oauth/{provider.name}/authorize"
        )
    if not code:
        raise InvalidOAuthState(f"{provider.title}'s answer has no authorisation code")
    granted = provider.parse_scope(scope) if scope is not None else None
    if granted is not None:
        # Strava says on the redirect what was ticked: refuse before spending the code.
        provider.require(granted)
    return _exchange(
        provider, code, started.redirect_uri, started.code_verifier, granted, http_client
    )


def digest(value: str) -> str:
    """The SHA-256 hex digest under which a state or a binding is stored."""
    return hashlib.sha256(value.encode()).hexdigest()


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636, section 4.2)."""
    hashed = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(hashed).rstrip(b"=").decode("ascii")


def _exchange(
    provider: OAuthProvider,
    code: str,
    redirect_uri: str,
    code_verifier: str | None,
    granted: tuple[str, ...] | None,
    http_client: httpx.Client,
) -> Consent:
    if not provider.client_id or not provider.client_secret:
        prefix = provider.env_prefix
        raise IntegrationNotConfigured(
            f"{provider.title} is not configured: set {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET"
        )
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "redirect_uri": redirect_uri,
    }
    if code_verifier is not None:
        form["code_verifier"] = code_verifier
    tokens = request_tokens(
        provider,
        http_client,
        form,
        on_rejected=lambda: IntegrationError(
            f"{provider.title} rejected the authorisation code (used, expired, or from "
            f"another consent): start again with `fitness connect {provider.name}`"
        ),
    )
    granted = tokens.scope if tokens.scope is not None else granted
    if granted is not None:
        provider.require(granted)
    with transaction() as conn:
        previous = get_credentials(provider.name, conn=conn)
        refresh_token = tokens.refresh_token or (previous.refresh_token if previous else None)
        if not refresh_token:
            raise IntegrationError(f"{provider.title} granted access but sent no refresh token")
        upsert_credentials(
            provider.name,
            provider.client_id,
            provider.client_secret,
            refresh_token,
            tokens.access_token,
            tokens.expires_at,
            granted_scope=granted,
            source="consent",
            seed_fingerprint=environment_fingerprint(provider),
            conn=conn,
        )
        backfill = (
            previous is not None
            and _newly_granted(provider.backfill_scope, previous.granted_scope, granted)
            and forget_last_synced_at(provider.name, conn=conn)
        )
    logger.info("Connected %s (token valid until %s)", provider.name, tokens.expires_at)
    return Consent(
        provider=provider.name,
        granted_scope=granted,
        expires_at=tokens.expires_at,
        not_granted=() if granted is None else provider.missing(granted, required=False),
        backfill=backfill,
    )


def _newly_granted(
    scope: str | None, before: tuple[str, ...] | None, now: tuple[str, ...] | None
) -> bool:
    # A grant whose scope was not known may have lacked it too.
    return scope is not None and now is not None and scope in now and scope not in (before or ())
