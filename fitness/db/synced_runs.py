"""The `synced_runs` table: which calendar event shows which run, at which version.

A row per run that has ever been pushed to Google Calendar; `sync_status = 'failed'` rows
keep the error (never a secret) so the next sync retries them.
"""

from __future__ import annotations

from psycopg import Connection
from psycopg.rows import class_row

from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.models import SyncedRun, SyncStatus

_SELECT_SYNCED = """
SELECT id, run_id, run_version, google_event_id, synced_at, sync_status, error_message,
       created_at, updated_at
FROM synced_runs
"""


@retry_on_disconnect
def get_synced_run(run_id: str, *, conn: Connection | None = None) -> SyncedRun | None:
    """The sync record of a run, or None if it was never synced."""
    with connection(conn) as active, active.cursor(row_factory=class_row(SyncedRun)) as cur:
        cur.execute(_SELECT_SYNCED + "WHERE run_id = %s", (run_id,))
        return cur.fetchone()


@retry_on_disconnect
def get_all_synced_runs(*, conn: Connection | None = None) -> list[SyncedRun]:
    """Every sync record, by run id."""
    with connection(conn) as active, active.cursor(row_factory=class_row(SyncedRun)) as cur:
        cur.execute(_SELECT_SYNCED + "ORDER BY run_id")
        return cur.fetchall()


@retry_on_disconnect
def record_sync(
    run_id: str,
    run_version: int,
    google_event_id: str | None,
    sync_status: SyncStatus = "synced",
    error_message: str | None = None,
    *,
    conn: Connection | None = None,
) -> SyncedRun:
    """Create or replace the sync record of a run (one per run); return it.

    A failed sync keeps the event id it had, if any, so the next attempt can patch it.
    """
    with transaction(conn) as active, active.cursor(row_factory=class_row(SyncedRun)) as cur:
        cur.execute(
            """
            INSERT INTO synced_runs (run_id, run_version, google_event_id, sync_status,
                                     error_message, synced_at)
            VALUES (%(run_id)s, %(run_version)s, %(event)s, %(status)s, %(error)s, now())
            ON CONFLICT (run_id) DO UPDATE
            SET run_version = EXCLUDED.run_version,
                google_event_id = coalesce(EXCLUDED.google_event_id, synced_runs.google_event_id),
                sync_status = EXCLUDED.sync_status,
                error_message = EXCLUDED.error_message,
                synced_at = EXCLUDED.synced_at
            RETURNING id, run_id, run_version, google_event_id, synced_at, sync_status,
                      error_message, created_at, updated_at
            """,
            {
                "run_id": run_id,
                "run_version": run_version,
                "event": google_event_id,
                "status": sync_status,
                "error": error_message,
            },
        )
        record = cur.fetchone()
    assert record is not None
    return record


@retry_on_disconnect
def delete_synced_run(run_id: str, *, conn: Connection | None = None) -> bool:
    """Forget a run's sync record (after its event was removed); True if there was one."""
    with transaction(conn) as active:
        return active.execute("DELETE FROM synced_runs WHERE run_id = %s", (run_id,)).rowcount > 0
