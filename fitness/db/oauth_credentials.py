"""The `oauth_credentials` table: one provider's OAuth client and tokens, kept fresh, and
what fitness knows about the connection (granted scope, source, last refresh, last sync).

The columns in `ENCRYPTED_COLUMNS` (of this table and of `oauth_states`) are always
encrypted at rest (fitness.crypto: the key is FITNESS_SECRET_KEY, or dev's key file) and
never logged; `reencrypt_secrets` moves all of them to a new key at once.
`get_credentials_for_update` lets a refresh hold the row lock while it rotates tokens, so
two concurrent syncs never both spend the same refresh token.
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
from fitness.models import LastSyncOutcome, OAuthCredentials, as_utc

# Every column holding a secret, by table: encrypted on write (`seal`), decrypted on read
# (`unseal`), re-encrypted by `reencrypt_secrets`. A new secret column is added here, and to
# nothing else.
ENCRYPTED_COLUMNS: Final = {
    "oauth_credentials": ("client_secret", "access_token", "refresh_token", "seed_fingerprint"),
    "oauth_states": ("code_verifier",),
    "api_keys": ("api_key",),
}
# The column that identifies a row of each table above.
_ROW_KEYS: Final = {
    "oauth_credentials": "provider",
    "oauth_states": "state_hash",
    "api_keys": "provider",
}
MAX_SYNC_MESSAGE_CHARS: Final = 2000

_COLUMNS = """provider, client_id, client_secret, access_token, refresh_token, expires_at,
       created_at, updated_at, granted_scope, source, seed_fingerprint, last_refreshed_at,
       last_sync_at, last_sync_outcome, last_sync_message"""

_SELECT_CREDENTIALS = f"""
SELECT {_COLUMNS}
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
    granted_scope: Sequence[str] | None = None,
    source: str = "consent",
    seed_fingerprint: str | None = None,
    conn: Connection | None = None,
) -> OAuthCredentials:
    """Store (or replace) the whole set of credentials of `provider`, as a consent gives them.

    `granted_scope` is what the user granted (None: not known); `seed_fingerprint` is the
    environment's fingerprint at that moment (see fitness.integrations.oauth), so that only
    a later change there supersedes these credentials. The last sync's outcome is kept.
    """
    with transaction(conn) as active, active.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"""
            INSERT INTO oauth_credentials (provider, client_id, client_secret, access_token,
                                           refresh_token, expires_at, granted_scope, source,
                                           seed_fingerprint, last_refreshed_at)
            VALUES (%(provider)s, %(client_id)s, %(client_secret)s, %(access_token)s,
                    %(refresh_token)s, %(expires_at)s, %(granted_scope)s, %(source)s,
                    %(fingerprint)s, CASE WHEN %(has_access_token)s THEN now() END)
            ON CONFLICT (provider) DO UPDATE
            SET client_id = EXCLUDED.client_id,
                client_secret = EXCLUDED.client_secret,
                access_token = EXCLUDED.access_token,
                refresh_token = EXCLUDED.refresh_token,
                expires_at = EXCLUDED.expires_at,
                granted_scope = EXCLUDED.granted_scope,
                source = EXCLUDED.source,
                seed_fingerprint = EXCLUDED.seed_fingerprint,
                last_refreshed_at = EXCLUDED.last_refreshed_at
            RETURNING {_COLUMNS}
            """,
            {
                "provider": provider,
                "client_id": client_id,
                "client_secret": seal(client_secret),
                "access_token": seal(access_token),
                "refresh_token": seal(refresh_token),
                "expires_at": _aware(expires_at),
                "granted_scope": None if granted_scope is None else list(granted_scope),
                "source": source,
                "fingerprint": seal(seed_fingerprint),
                "has_access_token": access_token is not None,
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
    seed_fingerprint: str | None = None,
    conn: Connection | None = None,
) -> OAuthCredentials:
    """Store first credentials for `provider` from the environment unless it has some;
    return what is stored.

    It never overwrites a row, because a stored refresh token may have been rotated since
    and the configured one already revoked (a *changed* environment is taken in by
    `replace_from_environment` instead).
    """
    with transaction(conn) as active, active.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """
            INSERT INTO oauth_credentials (provider, client_id, client_secret, refresh_token,
                                           source, seed_fingerprint)
            VALUES (%s, %s, %s, %s, 'environment', %s)
            ON CONFLICT (provider) DO NOTHING
            """,
            (
                provider,
                client_id,
                seal(client_secret),
                seal(refresh_token),
                seal(seed_fingerprint),
            ),
        )
        cur.execute(_SELECT_CREDENTIALS, (provider,))
        row = cur.fetchone()
    assert row is not None
    return _decrypted(row)


@retry_on_disconnect
def replace_from_environment(
    provider: str,
    client_id: str,
    client_secret: str,
    refresh_token: str | None,
    seed_fingerprint: str,
    *,
    conn: Connection | None = None,
) -> OAuthCredentials | None:
    """Take in credentials the environment changed since they were last taken in.

    The client id and secret always replace the stored ones. A `refresh_token` replaces the
    stored one too, and then the access token, its expiry and the granted scope are
    forgotten (they belonged to the old grant); without one, the stored grant is kept.
    None if `provider` has no credentials.
    """
    with transaction(conn) as active, active.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"""
            UPDATE oauth_credentials
            SET client_id = %(client_id)s,
                client_secret = %(client_secret)s,
                seed_fingerprint = %(fingerprint)s,
                refresh_token = coalesce(%(refresh_token)s, refresh_token),
                access_token = CASE WHEN %(replaced)s THEN NULL ELSE access_token END,
                expires_at = CASE WHEN %(replaced)s THEN NULL ELSE expires_at END,
                granted_scope = CASE WHEN %(replaced)s THEN NULL ELSE granted_scope END,
                source = CASE WHEN %(replaced)s THEN 'environment' ELSE source END
            WHERE provider = %(provider)s
            RETURNING {_COLUMNS}
            """,
            {
                "provider": provider,
                "client_id": client_id,
                "client_secret": seal(client_secret),
                "fingerprint": seal(seed_fingerprint),
                "refresh_token": seal(refresh_token),
                "replaced": refresh_token is not None,
            },
        )
        row = cur.fetchone()
    return _decrypted(row) if row else None


@retry_on_disconnect
def record_seed_fingerprint(
    provider: str, seed_fingerprint: str, *, conn: Connection | None = None
) -> None:
    """Remember the environment's fingerprint without changing the credentials (for rows
    stored before fingerprints were kept)."""
    with transaction(conn) as active:
        active.execute(
            "UPDATE oauth_credentials SET seed_fingerprint = %s WHERE provider = %s",
            (seal(seed_fingerprint), provider),
        )


@retry_on_disconnect
def update_tokens(
    provider: str,
    access_token: str,
    refresh_token: str | None,
    expires_at: datetime | None,
    *,
    granted_scope: Sequence[str] | None = None,
    conn: Connection | None = None,
) -> OAuthCredentials | None:
    """Persist freshly refreshed tokens (keeping the old refresh token if none was issued,
    and the known granted scope if the provider did not restate it); now is the last refresh.

    The other sealed values are re-sealed too, so rows written before a key was configured
    become encrypted on their next refresh. None if `provider` has no credentials.
    """
    with transaction(conn) as active, active.cursor(row_factory=dict_row) as cur:
        cur.execute(_SELECT_CREDENTIALS + "FOR UPDATE", (provider,))
        current = cur.fetchone()
        if current is None:
            return None
        opened = _decrypted(current)
        cur.execute(
            f"""
            UPDATE oauth_credentials
            SET access_token = %(access_token)s,
                refresh_token = %(refresh_token)s,
                client_secret = %(client_secret)s,
                seed_fingerprint = %(fingerprint)s,
                expires_at = %(expires_at)s,
                granted_scope = coalesce(%(granted_scope)s, granted_scope),
                last_refreshed_at = now()
            WHERE provider = %(provider)s
            RETURNING {_COLUMNS}
            """,
            {
                "provider": provider,
                "access_token": seal(access_token),
                "refresh_token": seal(refresh_token or opened.refresh_token),
                "client_secret": seal(opened.client_secret),
                "fingerprint": seal(opened.seed_fingerprint),
                "expires_at": _aware(expires_at),
                "granted_scope": None if granted_scope is None else list(granted_scope),
            },
        )
        row = cur.fetchone()
    assert row is not None
    return _decrypted(row)


@retry_on_disconnect
def record_sync_outcome(
    provider: str,
    outcome: LastSyncOutcome,
    message: str | None = None,
    *,
    conn: Connection | None = None,
) -> None:
    """Remember how `provider`'s last sync ended (now), for `fitness connections`.

    `message` (ours, never a secret) is cut to 2,000 characters. Nothing happens if the
    provider has no credentials.
    """
    if message is not None and len(message) > MAX_SYNC_MESSAGE_CHARS:
        message = message[: MAX_SYNC_MESSAGE_CHARS - 1] + "…"
    with transaction(conn) as active:
        active.execute(
            """
            UPDATE oauth_credentials
            SET last_sync_at = now(),
                last_sync_outcome = %s,
                last_sync_message = %s
            WHERE provider = %s
            """,
            (outcome, message, provider),
        )


@retry_on_disconnect
def delete_credentials(provider: str, *, conn: Connection | None = None) -> bool:
    """Forget `provider`'s credentials (disconnect); True if there were any."""
    with transaction(conn) as active:
        cur = active.execute("DELETE FROM oauth_credentials WHERE provider = %s", (provider,))
        return cur.rowcount > 0


def reencrypt_secrets(
    old_keys: Sequence[str], new_key: str, *, conn: Connection | None = None
) -> int:
    """Encrypt every stored secret (every table's `ENCRYPTED_COLUMNS`) under `new_key`, all
    or nothing; how many there were.

    Each value is decrypted with whichever of `old_keys` opens it (legacy plaintext needs
    none). The tables are locked against other writers until the transaction ends, so no
    token refresh can write under the old key meanwhile. Raises `ConfigurationError`,
    changing nothing, when a value opens with none of `old_keys`.
    """
    count = 0
    with transaction(conn) as active, active.cursor(row_factory=dict_row) as cur:
        for table, names in ENCRYPTED_COLUMNS.items():
            key = _ROW_KEYS[table]
            columns = sql.SQL(", ").join(sql.Identifier(name) for name in names)
            assignments = sql.SQL(", ").join(
                sql.SQL("{} = %({})s").format(sql.Identifier(name), sql.SQL(name)) for name in names
            )
            cur.execute(
                sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(sql.Identifier(table))
            )
            cur.execute(
                sql.SQL("SELECT {key} AS row_key, {columns} FROM {table} ORDER BY 1").format(
                    key=sql.Identifier(key), columns=columns, table=sql.Identifier(table)
                )
            )
            for row in cur.fetchall():
                values: dict[str, str | None] = {"row_key": row["row_key"]}
                for name in names:
                    stored = row[name]
                    values[name] = None
                    if stored is not None:
                        values[name] = crypto.encrypt(_open_with(stored, old_keys), new_key)
                        count += 1
                cur.execute(
                    sql.SQL("UPDATE {table} SET {assignments} WHERE {key} = %(row_key)s").format(
                        table=sql.Identifier(table),
                        assignments=assignments,
                        key=sql.Identifier(key),
                    ),
                    values,
                )
    return count


def stored_secrets_open_with(key: str, *, conn: Connection | None = None) -> bool:
    """True when every encrypted stored secret decrypts with `key` (and there is one)."""
    encrypted: list[str] = []
    with connection(conn) as active, active.cursor() as cur:
        for table, names in ENCRYPTED_COLUMNS.items():
            columns = sql.SQL(", ").join(sql.Identifier(name) for name in names)
            cur.execute(sql.SQL("SELECT {} FROM {}").format(columns, sql.Identifier(table)))
            encrypted += [
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


def seal(value: str | None) -> str | None:
    """`value` as it is stored in an encrypted column (see `ENCRYPTED_COLUMNS`), under the
    current key (dev's key file is created when missing); None stays None."""
    if value is None:
        return None
    key = crypto.secret_key(get_settings(), create=True)
    assert key is not None  # created when missing
    return crypto.encrypt(value, key.value)


def unseal(value: str | None) -> str | None:
    """The plaintext of an encrypted column's value (legacy plaintext as it is); None stays
    None."""
    if value is None or not crypto.is_encrypted(value):
        return value
    key = crypto.secret_key(get_settings(), create=False)
    return crypto.decrypt(value, key.value if key else None)


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


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value, "expires_at")


def _decrypted(row: dict[str, object]) -> OAuthCredentials:
    fields = dict(row)
    for name in ENCRYPTED_COLUMNS["oauth_credentials"]:
        value = fields[name]
        if isinstance(value, str):
            fields[name] = unseal(value)
    scope = fields["granted_scope"]
    fields["granted_scope"] = tuple(scope) if isinstance(scope, list) else None
    return OAuthCredentials(**fields)  # type: ignore[arg-type]
