"""Connections killed in the middle of a write: all or nothing, and the pool carries on.

To kill a write "while it holds its locks", the test holds a lock on a shoe row that the
write's foreign-key check needs: the write has already locked and changed its run row when
it blocks there, and that is when its backend is terminated.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import psycopg
import pytest

from fitness.db.connection import transaction
from fitness.db.integrity import find_problems
from fitness.db.runs import bulk_create_runs, get_all_runs, get_run_by_id, import_runs
from fitness.db.runs_history import (
    get_run_history,
    restore_run_version,
    update_run_with_history,
)
from fitness.db.shoes import create_shoe
from tests.factories import RunFactory

SHOE = "brooks_ghost_15"


@contextmanager
def shoe_row_locked(database_url: str) -> Iterator[psycopg.Connection]:
    """Hold FOR UPDATE on the shoe row until the block ends (then release it)."""
    with psycopg.connect(database_url) as holder:
        holder.execute("SELECT 1 FROM shoes WHERE id = %s FOR UPDATE", (SHOE,))
        yield holder
        holder.rollback()


def wait_for_blocked_backend(database_url: str, exclude: set[int], timeout: float = 15) -> int:
    """The pid of a backend waiting on a lock in the test database (not one of `exclude`)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as admin:
        while time.monotonic() < deadline:
            row = admin.execute(
                """
                SELECT pid FROM pg_stat_activity
                WHERE datname = current_database()
                  AND wait_event_type = 'Lock'
                  AND NOT (pid = ANY(%s))
                """,
                (list(exclude),),
            ).fetchone()
            if row:
                return row[0]
            time.sleep(0.02)
    raise AssertionError("no write blocked on the shoe lock in time")


def terminate(database_url: str, pid: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def run_in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def target() -> None:
        try:
            outcome.append(work())
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


def kill_once_then_release(database_url: str, work: Callable[[], object]) -> object:
    """Run `work`, kill its backend while it holds its locks, then let any retry finish."""
    with shoe_row_locked(database_url):
        thread, outcome = run_in_thread(work)
        first = wait_for_blocked_backend(database_url, exclude=set())
        terminate(database_url, first)
        if thread.is_alive():
            # The library retries once on a fresh connection: let that attempt block too,
            # so the release below is what lets it through.
            with suppress(AssertionError):
                wait_for_blocked_backend(database_url, exclude={first}, timeout=3)
    thread.join(timeout=15)
    assert not thread.is_alive()
    return outcome[0]


@pytest.fixture
def shoe(db: str) -> str:
    create_shoe("Brooks Ghost 15")
    return SHOE


def test_an_edit_killed_mid_statement_is_retried_and_applied_once(
    shoe: str, db: str, runs: RunFactory
) -> None:
    run = runs.make()
    bulk_create_runs([run])
    result = kill_once_then_release(
        db, lambda: update_run_with_history(run.id, {"shoe_id": shoe, "distance": 9.0}, "me")
    )
    assert not isinstance(result, BaseException), result
    assert [v.version_number for v in get_run_history(run.id)] == [2, 1]
    assert get_run_by_id(run.id).shoe_id == shoe  # type: ignore[union-attr]
    assert find_problems() == []


def test_an_edit_killed_inside_a_callers_transaction_leaves_the_old_version(
    shoe: str, db: str, runs: RunFactory
) -> None:
    run = runs.make()
    bulk_create_runs([run])

    def edit_in_callers_transaction() -> object:
        with transaction() as conn:
            return update_run_with_history(run.id, {"shoe_id": shoe}, "me", conn=conn)

    result = kill_once_then_release(db, edit_in_callers_transaction)
    assert isinstance(result, psycopg.OperationalError)
    assert get_run_by_id(run.id).version == 1  # type: ignore[union-attr]
    assert len(get_run_history(run.id)) == 1
    assert find_problems() == []
    assert update_run_with_history(run.id, {"distance": 1.5}, "me").version == 2


def test_a_restore_killed_mid_statement_is_all_or_nothing(
    shoe: str, db: str, runs: RunFactory
) -> None:
    run = runs.make(shoe_id=shoe)
    bulk_create_runs([run])
    update_run_with_history(run.id, {"shoe_id": None}, "me")
    result = kill_once_then_release(db, lambda: restore_run_version(run.id, 1, "me"))
    assert not isinstance(result, BaseException), result
    history = get_run_history(run.id)
    assert [(v.version_number, v.change_type) for v in history] == [
        (3, "restore"),
        (2, "edit"),
        (1, "original"),
    ]
    assert get_run_by_id(run.id).shoe_id == shoe  # type: ignore[union-attr]
    assert find_problems() == []


def test_an_import_batch_killed_mid_statement_imports_each_run_once(
    shoe: str, db: str, runs: RunFactory
) -> None:
    batch = runs.many(50, shoe_id=shoe)
    result = kill_once_then_release(db, lambda: import_runs(batch, batch_size=20))
    assert not isinstance(result, BaseException), result
    assert len(get_all_runs()) == 50
    assert all(len(get_run_history(run.id)) == 1 for run in batch)
    assert find_problems() == []


def test_an_import_killed_inside_a_callers_transaction_writes_nothing(
    shoe: str, db: str, runs: RunFactory
) -> None:
    batch = runs.many(30, shoe_id=shoe)

    def import_in_callers_transaction() -> object:
        with transaction() as conn:
            return import_runs(batch, batch_size=10, conn=conn)

    result = kill_once_then_release(db, import_in_callers_transaction)
    assert isinstance(result, psycopg.OperationalError)
    assert get_all_runs() == []
    assert import_runs(batch).inserted == 30
