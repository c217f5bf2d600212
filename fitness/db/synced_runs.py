"""The `synced_runs` table: which calendar event shows which run, at which version.

A row per run that has ever been pushed to Google Calendar; `sync_status = 'failed'` rows
keep the error (never a secret) so the next sync retries them.
"""

from __future__ import annotations

from psycopg import Connection
from psycopg.rows import class_row

from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.db.runs import _SELECT_RUN_DETAILS
from fitness.models import RunDetail, SyncedRun, SyncStatus

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
def record_sync_failure(
    run_id: str, run_version: int, error_message: str, *, conn: Connection | None = None
) -> SyncedRun:
    """Mark a run's last calendar sync as failed, keeping what its event still shows.

    A run never synced gets a `failed` record at `run_version`; a run that has a record
    keeps its event id and the version that event shows, so the retry patches the same
    event. `error_message` is stored as given: it must never contain a secret.
    """
    with transaction(conn) as active, active.cursor(row_factory=class_row(SyncedRun)) as cur:
        cur.execute(
            """
            INSERT INTO synced_runs (run_id, run_version, sync_status, error_message, synced_at)
            VALUES (%(run_id)s, %(run_version)s, 'failed', %(error)s, now())
            ON CONFLICT (run_id) DO UPDATE
            SET sync_status = 'failed',
                error_message = EXCLUDED.error_message,
                synced_at = EXCLUDED.synced_at
            RETURNING id, run_id, run_version, google_event_id, synced_at, sync_status,
                      error_message, created_at, updated_at
            """,
            {"run_id": run_id, "run_version": run_version, "error": error_message},
        )
        record = cur.fetchone()
    assert record is not None
    return record


@retry_on_disconnect
def assign_event_id(
    run_id: str, run_version: int, google_event_id: str, *, conn: Connection | None = None
) -> SyncedRun:
    """Record the new event id a run's event is about to be written under (`pending`).

    For a run whose event id Google refuses for good: the id is recorded before the insert
    that uses it, so an insert whose answer is lost is found again (not duplicated) by the
    next sync.
    """
    with transaction(conn) as active, active.cursor(row_factory=class_row(SyncedRun)) as cur:
        cur.execute(
            """
            INSERT INTO synced_runs (run_id, run_version, google_event_id, sync_status, synced_at)
            VALUES (%(run_id)s, %(run_version)s, %(event)s, 'pending', now())
            ON CONFLICT (run_id) DO UPDATE
            SET run_version = EXCLUDED.run_version,
                google_event_id = EXCLUDED.google_event_id,
                sync_status = 'pending',
                error_message = NULL,
                synced_at = EXCLUDED.synced_at
            RETURNING id, run_id, run_version, google_event_id, synced_at, sync_status,
                      error_message, created_at, updated_at
            """,
            {"run_id": run_id, "run_version": run_version, "event": google_event_id},
        )
        record = cur.fetchone()
    assert record is not None
    return record


@retry_on_disconnect
def delete_synced_run(run_id: str, *, conn: Connection | None = None) -> bool:
    """Forget a run's sync record (after its event was removed); True if there was one."""
    with transaction(conn) as active:
        return active.execute("DELETE FROM synced_runs WHERE run_id = %s", (run_id,)).rowcount > 0


# Both queries below filter on `calendar_state`, which fitness.db.runs derives in one place,
# so "needs calendar work" can never disagree with what run details show.
_NEEDS_CALENDAR_WORK = """
WHERE (d.deleted_at IS NULL AND d.duplicate_of IS NULL AND d.calendar_state <> 'current')
   OR ((d.deleted_at IS NOT NULL OR d.duplicate_of IS NOT NULL) AND d.synced_version IS NOT NULL)
"""


@retry_on_disconnect
def get_runs_needing_calendar_sync(*, conn: Connection | None = None) -> list[RunDetail]:
    """Runs whose calendar event must be written or removed, oldest first.

    That is every run shown in lists (not deleted, no duplicate) whose event is missing,
    stale or failed, and every soft-deleted run or duplicate that still has a sync record
    (its event, if any, must go). One query,
    with the run's shoe name and sync record alongside (`RunDetail`).
    """
    query = (
        "SELECT d.*\nFROM ("
        + _SELECT_RUN_DETAILS
        + ") AS d\n"
        + _NEEDS_CALENDAR_WORK
        + "ORDER BY d.datetime_utc, d.id"
    )
    with connection(conn) as active, active.cursor(row_factory=class_row(RunDetail)) as cur:
        cur.execute(query)
        return cur.fetchall()


@retry_on_disconnect
def count_runs_with_current_event(*, conn: Connection | None = None) -> int:
    """How many non-deleted runs have a calendar event showing their current version."""
    query = (
        "SELECT count(*)\nFROM (" + _SELECT_RUN_DETAILS + ") AS d\n"
        "WHERE d.deleted_at IS NULL AND d.duplicate_of IS NULL AND d.calendar_state = 'current'"
    )
    with connection(conn) as active:
        row = active.execute(query).fetchone()
    return row[0] if row else 0
