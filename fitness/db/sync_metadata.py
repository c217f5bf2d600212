"""The `sync_metadata` table: when each provider was last synced, for incremental syncs."""

from __future__ import annotations

from datetime import datetime

from psycopg import Connection

from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.models import as_utc


@retry_on_disconnect
def get_last_synced_at(provider: str, *, conn: Connection | None = None) -> datetime | None:
    """When `provider` was last synced successfully, or None if never."""
    with connection(conn) as active:
        row = active.execute(
            "SELECT last_synced_at FROM sync_metadata WHERE provider = %s", (provider,)
        ).fetchone()
    return as_utc(row[0], "last_synced_at") if row else None


@retry_on_disconnect
def set_last_synced_at(
    provider: str, last_synced_at: datetime, *, conn: Connection | None = None
) -> datetime:
    """Record that `provider` is synced up to `last_synced_at` (timezone-aware); return it.

    Pass `conn` to advance the marker in the same transaction as the data it covers.
    """
    value = as_utc(last_synced_at, "last_synced_at")
    with transaction(conn) as active:
        active.execute(
            """
            INSERT INTO sync_metadata (provider, last_synced_at)
            VALUES (%s, %s)
            ON CONFLICT (provider) DO UPDATE
            SET last_synced_at = EXCLUDED.last_synced_at
            """,
            (provider, value),
        )
    return value


@retry_on_disconnect
def forget_last_synced_at(provider: str, *, conn: Connection | None = None) -> bool:
    """Forget `provider`'s marker, so that its next sync fetches everything again (e.g.
    after the user granted access to activities that were hidden before); True if there
    was one."""
    with transaction(conn) as active:
        cur = active.execute("DELETE FROM sync_metadata WHERE provider = %s", (provider,))
        return cur.rowcount > 0
