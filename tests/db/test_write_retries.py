"""Every write path retries before COMMIT when the server ended its connection: a pooled
connection found dead at BEGIN is replaced whatever the transaction does, and a service
whose input can be read again (an MMF export, a Strava sync's fetched runs) runs again."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from fitness.db.connection import close_pool, connection, transaction
from fitness.db.integrity import find_problems
from fitness.db.runs import get_all_runs
from fitness.db.runs_history import get_run_history
from fitness.db.shoes import create_shoe
from fitness.db.sync_metadata import get_last_synced_at
from fitness.services.mmf_import import import_mmf_csv
from tests.db.test_connection import terminate_other_backends
from tests.db.test_faults import kill_once_then_release
from tests.importers.mmf_csv import mmf_csv, mmf_row

SHOE = "Brooks Ghost 15"


@pytest.fixture(autouse=True)
def fresh_pool(db: str) -> Iterator[None]:
    """Each test ends its pool's connections itself: it starts from a pool of its own, not
    one that earlier tests (of killed and blocked connections) left replacing connections
    in the background."""
    close_pool()
    yield
    close_pool()


def export(rows: int, *, shoe: str | None = SHOE) -> bytes:
    notes = f"Shoes: {shoe}" if shoe else ""
    return mmf_csv([mmf_row(Notes=notes) for _ in range(rows)]).encode()


class OneWayStream(io.RawIOBase):
    """A stream that can be read once, like a socket: it cannot go back."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_transaction_whose_pooled_connection_the_server_ended_runs_on_a_new_one(
    db: str,
) -> None:
    with connection() as conn:
        ended = conn.info.backend_pid
    assert terminate_other_backends(db) >= 1

    with transaction() as conn:
        conn.execute(
            "INSERT INTO sync_metadata (provider, last_synced_at) VALUES ('strava', %s)",
            (datetime(2025, 1, 1, tzinfo=UTC),),
        )
        used = conn.info.backend_pid

    assert used != ended
    assert get_last_synced_at("strava") == datetime(2025, 1, 1, tzinfo=UTC)


def test_an_mmf_import_after_the_server_ended_the_pools_connections_imports(db: str) -> None:
    get_all_runs()
    terminate_other_backends(db)

    result = import_mmf_csv(io.BytesIO(export(3)))

    assert result.inserted == 3


def test_an_mmf_import_killed_mid_transaction_reads_its_export_again_and_imports_once(
    db: str,
) -> None:
    create_shoe(SHOE)
    progress: list[int] = []

    result = kill_once_then_release(
        db,
        lambda: import_mmf_csv(io.BytesIO(export(30)), batch_size=10, progress=progress.append),
    )

    assert not isinstance(result, BaseException), result
    assert (result.inserted, result.rows, result.skipped_existing) == (30, 30, 0)
    runs = get_all_runs()
    assert len(runs) == 30
    assert all(len(get_run_history(run.id)) == 1 for run in runs)
    assert find_problems() == []


def test_an_mmf_import_from_a_stream_that_cannot_go_back_is_not_retried_and_writes_nothing(
    db: str,
) -> None:
    create_shoe(SHOE)
    stream = io.BufferedReader(OneWayStream(export(20)))

    result = kill_once_then_release(db, lambda: import_mmf_csv(stream, batch_size=5))

    assert isinstance(result, psycopg.OperationalError)
    assert get_all_runs() == []
