"""The library and the `fitness db` commands through a real PgBouncer in transaction mode
(tests/pgbouncer.py), with fewer server sessions than clients: consecutive transactions of
one connection run on different server sessions, so nothing may rely on a session."""

from __future__ import annotations

import dataclasses
import io
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from fitness.cli import main
from fitness.config import get_settings, reset_settings
from fitness.db.backup import backup_database, restore_database
from fitness.db.connection import (
    close_pool,
    connect,
    connection,
    open_pool,
    server_said,
    transaction,
)
from fitness.db.integrity import find_problems
from fitness.db.migrations import head_revision
from fitness.db.runs import get_all_runs, import_runs
from fitness.db.runs_history import get_run_history, update_run_with_history
from fitness.errors import DatabaseUnavailable
from fitness.services.mmf_import import import_mmf_csv
from tests.db.test_backup import every_row, populate_every_table
from tests.db.test_connection import terminate_other_backends
from tests.factories import RunFactory
from tests.importers.mmf_csv import mmf_csv, mmf_row
from tests.pgbouncer import PgBouncer

THREADS = 8
EDITS_PER_THREAD = 20


@pytest.fixture
def environment() -> Iterator[Callable[[str], None]]:
    """Point DATABASE_URL (and so the pool and the CLI) at a URL for one test."""
    saved = os.environ.get("DATABASE_URL")

    def use(url: str) -> None:
        os.environ["DATABASE_URL"] = url
        reset_settings()
        close_pool()

    yield use
    if saved is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = saved
    reset_settings()
    close_pool()


@pytest.fixture
def bounced(db: str, pgbouncer: PgBouncer, environment: Callable[[str], None]) -> str:
    """The test database through PgBouncer, made the one fitness uses."""
    url = pgbouncer.url(db)
    environment(url)
    return url


def in_threads(work: Callable[[int], None], count: int = THREADS) -> list[BaseException]:
    failures: list[BaseException] = []

    def run(number: int) -> None:
        try:
            work(number)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return failures


def test_a_connection_through_pgbouncer_knows_it_and_leaves_nothing_in_the_session(
    db: str, bounced: str
) -> None:
    with connect(url=bounced) as pooled, connect(url=db) as direct:
        assert (pooled.behind_pooler, pooled.prepare_threshold) == (True, None)
        assert direct.behind_pooler is False

    with connection() as conn:
        # Outside a transaction every statement may run on another server session: none of
        # them carries a setting of ours.
        seen = {conn.execute("SHOW statement_timeout").fetchone() for _ in range(12)}
    with transaction() as conn:
        inside = (
            conn.execute("SHOW statement_timeout").fetchone(),
            conn.execute("SHOW TimeZone").fetchone(),
        )

    assert seen == {("0",)}
    assert inside == (("30s",), ("UTC",))


def test_edits_concurrent_edits_imports_and_history_through_pgbouncer(
    bounced: str, runs: RunFactory
) -> None:
    batch = runs.many(THREADS + 42)
    assert import_runs(batch, batch_size=20).inserted == len(batch)
    hot, others = batch[0], batch[1 : THREADS + 1]

    def edit_the_same_run(number: int) -> None:
        for edit in range(EDITS_PER_THREAD):
            update_run_with_history(hot.id, {"distance": 1 + number + edit / 100}, "thread")

    def edit_own_run(number: int) -> None:
        for edit in range(EDITS_PER_THREAD):
            update_run_with_history(others[number].id, {"duration": 1000 + edit}, "thread")

    failures = in_threads(edit_the_same_run) + in_threads(edit_own_run)

    assert failures == []
    versions = [v.version_number for v in get_run_history(hot.id)]
    assert versions == list(range(THREADS * EDITS_PER_THREAD + 1, 0, -1))
    assert all(len(get_run_history(run.id)) == EDITS_PER_THREAD + 1 for run in others)
    assert len(get_all_runs()) == len(batch)
    assert find_problems() == []


def test_writes_go_on_after_the_server_ended_pgbouncers_sessions(
    db: str, bounced: str, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    assert terminate_other_backends(db) >= 1

    edited = update_run_with_history(run.id, {"distance": 9.5}, "test")
    imported = import_mmf_csv(io.BytesIO(mmf_csv([mmf_row(), mmf_row()]).encode()))

    assert edited.version == 2
    assert imported.inserted == 2


def test_a_restore_through_pgbouncer_loads_every_row(
    db: str,
    pgbouncer: PgBouncer,
    runs: RunFactory,
    make_database: Callable[[], str],
    tmp_path: Path,
) -> None:
    populate_every_table(runs)
    backup = tmp_path / "fitness.dump"
    backup_database(backup)
    target = make_database()

    restored = restore_database(backup, url=pgbouncer.url(target))

    assert restored.revision == head_revision()
    assert every_row(target) == every_row(db)


def test_db_upgrade_and_current_through_pgbouncer_leave_no_lock_behind(
    pgbouncer: PgBouncer,
    make_database: Callable[[], str],
    environment: Callable[[str], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    empty = make_database()
    environment(pgbouncer.url(empty))

    statuses = [main(["db", "current"]), main(["db", "upgrade"]), main(["db", "upgrade"])]
    statuses.append(main(["db", "current"]))

    out = capsys.readouterr().out.splitlines()
    assert statuses == [1, 0, 0, 0]
    assert out[1:] == [
        f"upgraded from an empty database to {head_revision()}",
        f"already at head ({head_revision()})",
        f"{head_revision()} (head)",
    ]
    with psycopg.connect(empty) as conn:
        held = conn.execute(
            "SELECT count(*) FROM pg_locks AS l JOIN pg_database AS d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND d.datname = current_database()"
        )
        assert held.fetchone() == (0,)


def test_a_url_whose_options_pgbouncer_refuses_says_so_everywhere(
    db: str,
    pgbouncer: PgBouncer,
    environment: Callable[[str], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    refused = make_conninfo(pgbouncer.url(db), options="-csearch_path=fit")
    environment(refused)
    status = main(["db", "current"])
    err = capsys.readouterr().err

    with pytest.raises(psycopg.OperationalError) as direct:
        connect(url=refused)
    settings = dataclasses.replace(get_settings(), database_url=refused, pool_timeout=1.0)
    close_pool()
    open_pool(settings)
    try:
        with pytest.raises(DatabaseUnavailable) as pooled, connection():
            pass
    finally:
        close_pool()

    said = "unsupported startup parameter: options"
    # (A pool of an earlier test, closed, may still log its last connection attempt.)
    errors = [line for line in err.splitlines() if line.startswith("fitness: error:")]
    assert status == 1 and len(errors) == 1 and said in errors[0], err
    assert server_said(direct.value) == said
    assert said in str(pooled.value)
