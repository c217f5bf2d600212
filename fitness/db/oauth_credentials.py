"""The `oauth_credentials` table: one provider's OAuth client and tokens, kept fresh.

The columns in `ENCRYPTED_COLUMNS` are always encrypted at rest (fitness.crypto: the key is
FITNESS_SECRET_KEY, or dev's key file) and never logged; `reencrypt_secrets` moves all of
them to a new key at once. `get_credentials_for_update` lets a refresh hold the row lock
while it rotates tokens, so two concurrent syncs never both spend the same refresh token.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from psycopg import Connection, sql
from psycopg.rows import dict_row

from fitness import crypto
from fitness.config import get_settings
from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.errors import ConfigurationError
from fitness.models import OAuthCredentials, as_utc

# Every column holding a secret: encrypted on write, decrypted on read, re-encrypted by
# `reencrypt_secrets`. A new secret column is added here, and to nothing else.
ENCRYPTED_COLUMNS: Final = ("client_secret", "access_token", "refresh_token")

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
        secret = _open(current["client_secret"])
        new_refresh = refresh_token or _open(current["refresh_token"])
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


def reencrypt_secrets(
    old_keys: Sequence[str], new_key: str, *, conn: Connection | None = None
) -> int:
    """Encrypt every stored secret under `new_key`, all or nothing; how many there were.

    Each value is decrypted with whichever of `old_keys` opens it (legacy plaintext needs
    none). The table is locked against other writers until the transaction ends, so no
    token refresh can write under the old key meanwhile. Raises `ConfigurationError`,
    changing nothing, when a value opens with none of `old_keys`.
    """
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in ENCRYPTED_COLUMNS)
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = %({})s").format(sql.Identifier(name), sql.SQL(name))
        for name in ENCRYPTED_COLUMNS
    )
    count = 0
    with transaction(conn) as active, active.cursor(row_factory=dict_row) as cur:
        cur.execute("LOCK TABLE oauth_credentials IN SHARE ROW EXCLUSIVE MODE")
        cur.execute(
            sql.SQL("SELECT provider, {} FROM oauth_credentials ORDER BY provider").format(columns)
        )
        for row in cur.fetchall():
            values: dict[str, str | None] = {"provider": row["provider"]}
            for name in ENCRYPTED_COLUMNS:
                stored = row[name]
                values[name] = None
                if stored is not None:
                    values[name] = crypto.encrypt(_open_with(stored, old_keys), new_key)
                    count += 1
            cur.execute(
                sql.SQL("UPDATE oauth_credentials SET {} WHERE provider = %(provider)s").format(
                    assignments
                ),
                values,
            )
    return count


def stored_secrets_open_with(key: str, *, conn: Connection | None = None) -> bool:
    """True when every encrypted stored secret decrypts with `key` (and there is one)."""
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in ENCRYPTED_COLUMNS)
    with connection(conn) as active, active.cursor() as cur:
        cur.execute(sql.SQL("SELECT {} FROM oauth_credentials").format(columns))
        encrypted = [
            value
            for row in cur.fetchall()
            for value in row
            if isinstance(value, str) and crypto.is_encrypted(value)
        ]
    try:
        for value in encrypted:
            crypto.decrypt(value, key)
    except ConfigurationError:
        return False
    return bool(encrypted)


def _open_with(value: str, keys: Sequence[str]) -> str:
    if not crypto.is_encrypted(value):
        return value
    for key in keys:
        try:
            return crypto.decrypt(value, key)
        except ConfigurationError:
            continue
    raise ConfigurationError(
        "a stored secret cannot be decrypted with the current key: nothing was re-encrypted"
    )


def _sealed(value: str | None) -> str | None:
    if value is None:
        return None
    key = crypto.secret_key(get_settings(), create=True)
    assert key is not None  # created when missing
    return crypto.encrypt(value, key.value)


def _open(value: str) -> str:
    if not crypto.is_encrypted(value):
        return value
    key = crypto.secret_key(get_settings(), create=False)
    return crypto.decrypt(value, key.value if key else None)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value, "expires_at")


def _decrypted(row: dict[str, object]) -> OAuthCredentials:
    fields = dict(row)
    for name in ENCRYPTED_COLUMNS:
        value = fields[name]
        if isinstance(value, str):
            fields[name] = _open(value)
    return OAuthCredentials(**fields)  # type: ignore[arg-type]
