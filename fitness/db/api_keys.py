"""The `api_keys` table: a provider's API key (Hevy's), always encrypted at rest.

Values are sealed and unsealed by fitness.db.oauth_credentials (the key is
FITNESS_SECRET_KEY, or dev's key file), whose `reencrypt_secrets` moves them to a new key
with every other secret. A key is never logged or returned by the API.
"""

from __future__ import annotations

from psycopg import Connection

from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.db.oauth_credentials import seal, unseal


@retry_on_disconnect
def get_api_key(provider: str, *, conn: Connection | None = None) -> str | None:
    """The stored API key of `provider`, decrypted, or None."""
    with connection(conn) as active:
        row = active.execute(
            "SELECT api_key FROM api_keys WHERE provider = %s", (provider,)
        ).fetchone()
    return unseal(row[0]) if row else None


@retry_on_disconnect
def save_api_key(provider: str, api_key: str, *, conn: Connection | None = None) -> bool:
    """Store `api_key` for `provider` (encrypted), replacing a different one; True if
    anything was written (an equal key is left as it is)."""
    with transaction(conn) as active:
        if get_api_key(provider, conn=active) == api_key:
            return False
        active.execute(
            """
            INSERT INTO api_keys (provider, api_key)
            VALUES (%s, %s)
            ON CONFLICT (provider) DO UPDATE
            SET api_key = EXCLUDED.api_key
            """,
            (provider, seal(api_key)),
        )
    return True


@retry_on_disconnect
def delete_api_key(provider: str, *, conn: Connection | None = None) -> bool:
    """Forget `provider`'s stored API key; True if there was one."""
    with transaction(conn) as active:
        return active.execute("DELETE FROM api_keys WHERE provider = %s", (provider,)).rowcount > 0
