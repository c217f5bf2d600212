"""The `oauth_states` table: consents in progress, each consumed by exactly one callback.

A state is stored as the SHA-256 digest of the random value sent to the provider, with the
digest of what binds it to whoever started it (the browser's cookie, or the secret of the
`fitness connect` process that waits for the code) and its PKCE verifier, sealed. A state
is single-use: consuming it marks it, and any later use is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from psycopg import Connection
from psycopg.rows import dict_row

from fitness.db.connection import retry_on_disconnect, transaction
from fitness.db.oauth_credentials import seal, unseal
from fitness.errors import InvalidOAuthState
from fitness.models import ConsentFlow, OAuthState

# Used states are kept until they expire, so a replay is told "already used".
_PURGE_EXPIRED: Final = "DELETE FROM oauth_states WHERE expires_at < now()"


@retry_on_disconnect
def create_state(
    state_hash: str,
    *,
    provider: str,
    flow: ConsentFlow,
    binding_hash: str,
    code_verifier: str | None,
    redirect_uri: str,
    expires_at: datetime,
    conn: Connection | None = None,
) -> None:
    """Record a consent that was just started (and forget states that have expired).

    `state_hash` and `binding_hash` are SHA-256 hex digests; `code_verifier` is sealed.
    """
    with transaction(conn) as active:
        active.execute(_PURGE_EXPIRED)
        active.execute(
            """
            INSERT INTO oauth_states (state_hash, provider, flow, binding_hash, code_verifier,
                                      redirect_uri, expires_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s)
            """,
            (
                state_hash,
                provider,
                flow,
                binding_hash,
                seal(code_verifier),
                redirect_uri,
                expires_at,
            ),
        )


@retry_on_disconnect
def consume_state(
    state_hash: str,
    *,
    provider: str,
    flow: ConsentFlow,
    binding_hash: str,
    conn: Connection | None = None,
) -> OAuthState:
    """Use up the state: it must be `provider`'s, started by `flow` with this binding,
    unexpired and unused. Returns what its code must be exchanged with.

    Raises `InvalidOAuthState` saying which of those failed; a state offered with the wrong
    binding or flow is not used up, so a stranger cannot spend the user's consent.
    """
    with transaction(conn) as active, active.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """
            UPDATE oauth_states
            SET consumed_at = now()
            WHERE state_hash = %(state)s
              AND provider = %(provider)s
              AND flow = %(flow)s
              AND binding_hash = %(binding)s
              AND consumed_at IS NULL
              AND expires_at > now()
            RETURNING provider, flow, redirect_uri, code_verifier
            """,
            {"state": state_hash, "provider": provider, "flow": flow, "binding": binding_hash},
        )
        row = cur.fetchone()
        if row is None:
            cur.execute(
                """
                SELECT provider, flow, binding_hash = %(binding)s AS same_binding,
                       consumed_at IS NOT NULL AS used, expires_at <= now() AS expired
                FROM oauth_states
                WHERE state_hash = %(state)s
                """,
                {"state": state_hash, "binding": binding_hash},
            )
            raise InvalidOAuthState(_why_refused(cur.fetchone(), provider, flow))
    return OAuthState(
        provider=row["provider"],
        flow=row["flow"],
        redirect_uri=row["redirect_uri"],
        code_verifier=unseal(row["code_verifier"]),
    )


def _why_refused(row: dict[str, object] | None, provider: str, flow: ConsentFlow) -> str:
    start_again = f"start again (`fitness connect {provider}` or /oauth/{provider}/authorize)"
    if row is None:
        return f"this authorisation was not started here, or it expired long ago: {start_again}"
    if row["provider"] != provider:
        return f"this authorisation was started for {row['provider']}, not {provider}"
    if row["used"]:
        return f"this authorisation was already used: {start_again}"
    if row["expired"]:
        return f"this authorisation expired (they last ten minutes): {start_again}"
    if row["flow"] != flow:
        if row["flow"] == "terminal":
            return (
                "this authorisation was started by `fitness connect`: paste this page's "
                "whole address into the terminal that is waiting for it"
            )
        return f"this authorisation was started in a browser, not by this command: {start_again}"
    if flow == "terminal":
        return f"this authorisation was started by another `fitness connect`: {start_again}"
    return (
        "this authorisation was started by another browser, or this browser lost the cookie "
        f"set when it started: open /oauth/{provider}/authorize in the browser you consent "
        "with, at the address the provider sends you back to"
    )
