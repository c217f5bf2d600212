"""The `oauth_credentials` table: one provider's OAuth client and tokens, kept fresh.

Secrets are encrypted at rest when FITNESS_SECRET_KEY is set (fitness.crypto) and never
logged; `get_credentials_for_update` lets a refresh hold the row lock while it rotates
tokens, so two concurrent syncs never both spend the same refresh token.
"""

from __future__ import annotations

from datetime import datetime

from psycopg import Connection
from psycopg.rows import dict_row

from fitness import crypto
from fitness.config import get_settings
from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.errors import ConfigurationError
from fitness.models import OAuthCredentials, as_utc

_SELECT_CREDENTIALS = """
SELECT provider, client_id, client_secret, access_token, refresh_token, expires_at,
       created_at, updated_at
FROM oauth_credentials
WHERE provider = %s
"""


@retry_on_disconnect
def get_credentials(provider: str, *, conn: Connection | None = None) -> OAuthCredentials | None:
    """The decrypted credentials of `provider`, or None if there are none."""
    with connection(conn) as active, active.cursor(row_factory=dict_row) as cur:
        cur.execute(_SELECT_CREDENTIALS, (provider,))
        row = cur.fetchone()
    return _decrypted(row) if row else None


def get_credentials_for_update(provider: str, *, conn: Connection) -> OAuthCredentials | None:
    """Like `get_credentials`, but locks the row until `conn`'s transaction ends.

    `conn` is required: the lock is only useful inside the caller's refresh transaction.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_SELECT_CREDENTIALS + "FOR UPDATE", (provider,))
        row = cur.fetchone()
    return _decrypted(row) if row else None


@retry_on_disconnect
def upsert_credentials(
    provider: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    access_token: str | None = None,
    expires_at: datetime | None = None,
    *,
    conn: Connection | None = None,
) -> OAuthCredentials:
    """Store (or replace) the whole set of credentials of `provider`."""
    with transaction(conn) as active, active.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """
            INSERT INTO oauth_credentials (provider, client_id, client_secret, access_token,
                                           refresh_token, expires_at)
            VALUES (%(provider)s, %(client_id)s, %(client_secret)s, %(access_token)s,
                    %(refresh_token)s, %(expires_at)s)
            ON CONFLICT (provider) DO UPDATE
            SET client_id = EXCLUDED.client_id,
                client_secret = EXCLUDED.client_secret,
                access_token = EXCLUDED.access_token,
                refresh_token = EXCLUDED.refresh_token,
                expires_at = EXCLUDED.expires_at
            RETURNING provider, client_id, client_secret, access_token, refresh_token,
                      expires_at, created_at, updated_at
            """,
            {
                "provider": provider,
                "client_id": client_id,
                "client_secret": _sealed(client_secret),
                "access_token": _sealed(access_token),
                "refresh_token": _sealed(refresh_token),
                "expires_at": _aware(expires_at),
            },
        )
        row = cur.fetchone()
    assert row is not None
    return _decrypted(row)


@retry_on_disconnect
def insert_credentials_if_missing(
    provider: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    *,
    conn: Connection | None = None,
) -> OAuthCredentials:
    """Store first credentials for `provider` unless it has some; return what is stored.

    For seeding from the environment: it never overwrites a row, because a stored refresh
    token may have been rotated since and the configured one already revoked.
    """
    with transaction(conn) as active, active.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """
            INSERT INTO oauth_credentials (provider, client_id, client_secret, refresh_token)
            VALUES (%s, %s, %s, %s)
            ON CONFLICT (provider) DO NOTHING
            """,
            (provider, client_id, _sealed(client_secret), _sealed(refresh_token)),
        )
        cur.execute(_SELECT_CREDENTIALS, (provider,))
        row = cur.fetchone()
    assert row is not None
    return _decrypted(row)


@retry_on_disconnect
def update_tokens(
    provider: str,
    access_token: str,
    refresh_token: str | None,
    expires_at: datetime | None,
    *,
    conn: Connection | None = None,
) -> OAuthCredentials | None:
    """Persist freshly refreshed tokens (keeping the old refresh token if none was issued).

    The client secret is re-sealed too, so rows written before a key was configured
    become encrypted on their next refresh. None if `provider` has no credentials.
    """
    with transaction(conn) as active, active.cursor(row_factory=dict_row) as cur:
        cur.execute(_SELECT_CREDENTIALS + "FOR UPDATE", (provider,))
        current = cur.fetchone()
        if current is None:
            return None
        secret = crypto.decrypt(current["client_secret"], get_settings().secret_key)
        new_refresh = refresh_token or crypto.decrypt(
            current["refresh_token"], get_settings().secret_key
        )
        cur.execute(
            """
            UPDATE oauth_credentials
            SET access_token = %(access_token)s,
                refresh_token = %(refresh_token)s,
                client_secret = %(client_secret)s,
                expires_at = %(expires_at)s
            WHERE provider = %(provider)s
            RETURNING provider, client_id, client_secret, access_token, refresh_token,
                      expires_at, created_at, updated_at
            """,
            {
                "provider": provider,
                "access_token": _sealed(access_token),
                "refresh_token": _sealed(new_refresh),
                "client_secret": _sealed(secret),
                "expires_at": _aware(expires_at),
            },
        )
        row = cur.fetchone()
    assert row is not None
    return _decrypted(row)


@retry_on_disconnect
def delete_credentials(provider: str, *, conn: Connection | None = None) -> bool:
    """Forget `provider`'s credentials (disconnect); True if there were any."""
    with transaction(conn) as active:
        cur = active.execute("DELETE FROM oauth_credentials WHERE provider = %s", (provider,))
        return cur.rowcount > 0


def _sealed(value: str | None) -> str | None:
    settings = get_settings()
    key = settings.secret_key
    if not key and settings.is_prod:
        raise ConfigurationError("FITNESS_SECRET_KEY must be set in prod to store OAuth tokens")
    if value is None or not key:
        return value
    return crypto.encrypt(value, key)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value, "expires_at")


def _decrypted(row: dict[str, object]) -> OAuthCredentials:
    key = get_settings().secret_key
    fields = dict(row)
    for name in ("client_secret", "access_token", "refresh_token"):
        value = fields[name]
        if isinstance(value, str):
            fields[name] = crypto.decrypt(value, key)
    return OAuthCredentials(**fields)  # type: ignore[arg-type]
