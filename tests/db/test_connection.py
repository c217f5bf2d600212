"""fitness.db.connection and embedded: one connection path that keeps the URL's own
settings, one shared embedded server, pools that heal and say what the server said."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from fitness.cli import main
from fitness.config import Settings, get_settings, reset_settings
from fitness.db.connection import (
    FitnessConnection,
    close_pool,
    connection,
    get_pool,
    masked_url,
    open_pool,
    server_said,
)
from fitness.db.migrations import current_revision, head_revision, upgrade_to_head
from fitness.db.runs import bulk_create_runs, get_all_runs, import_runs
from fitness.db.runs_history import get_run_history, update_run_with_history
from fitness.errors import DatabaseUnavailable
from tests.factories import RunFactory

PROJECT_ROOT = Path(__file__).resolve().parents[2]

START_AND_REPORT = """
import logging, sys
logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stdout)
from fitness.db.connection import database_url
import psycopg
with psycopg.connect(database_url()) as conn:
    print("STARTED", conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0])
"""


def terminate_other_backends(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as admin:
        row = admin.execute(
            """
            SELECT count(pg_terminate_backend(pid))
            FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
            """
        ).fetchone()
    return row[0] if row else 0


def test_a_connection_the_server_ends_while_it_is_set_up_is_made_again_at_once(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server ends the first new connection just as its session is being set up (as a
    # restart or pg_terminate_backend would, mid-connect): the pool must not see a failed
    # attempt, which it would retry only after a backoff of a second or more.
    set_up = FitnessConnection._set_up_session
    ended: list[int] = []

    def ended_once(conn: FitnessConnection) -> None:
        if not ended:
            ended.append(conn.info.backend_pid)
            with psycopg.connect(db, autocommit=True) as admin:
                # Waits until the backend has ended (PostgreSQL 14+), so the setup fails.
                admin.execute("SELECT pg_terminate_backend(%s, 5000)", (conn.info.backend_pid,))
        set_up(conn)

    monkeypatch.setattr(FitnessConnection, "_set_up_session", ended_once)
    # No connection made ahead (min size 0): the request's is the only one.
    monkeypatch.setenv("FITNESS_DB_POOL_MIN_SIZE", "0")
    reset_settings()
    close_pool()
    try:
        with connection() as conn:
            used = conn.info.backend_pid
        stats = get_pool().get_stats()
    finally:
        close_pool()
        monkeypatch.undo()
        reset_settings()
    assert ended and used != ended[0]
    assert stats.get("connections_errors", 0) == 0


def test_a_dead_pooled_connection_is_replaced_and_the_read_retried(
    db: str, runs: RunFactory
) -> None:
    bulk_create_runs(runs.many(2))
    with connection() as conn:
        first_pid = conn.info.backend_pid
    assert terminate_other_backends(db) >= 1
    assert len(get_all_runs()) == 2
    with connection() as conn:
        assert conn.info.backend_pid != first_pid


def test_an_edit_whose_connection_died_is_applied_exactly_once(db: str, runs: RunFactory) -> None:
    run = runs.make()
    bulk_create_runs([run])
    terminate_other_backends(db)
    edited = update_run_with_history(run.id, {"distance": 8.0}, changed_by="me")
    assert edited.version == 2
    assert [v.version_number for v in get_run_history(run.id)] == [2, 1]


def test_alembic_and_the_library_share_one_embedded_server_per_data_dir(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env |= {"FITNESS_ENV": "dev", "FITNESS_DATA_DIR": str(tmp_path / "data")}
    upgrade = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"Using the embedded PostgreSQL in {tmp_path / 'data' / 'pgdata'}" in upgrade.stderr

    def start() -> str:
        result = subprocess.run(
            [sys.executable, "-c", START_AND_REPORT],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    with ThreadPoolExecutor(max_workers=2) as pool:
        outputs = list(pool.map(lambda _: start(), range(2)))
    for output in outputs:
        assert output.count("Using the embedded PostgreSQL") == 1
        assert "STARTED" in output
    assert (tmp_path / "data" / "pgdata" / "PG_VERSION").read_text().strip() == "18"


@contextmanager
def pool_for(url: str, **changes: object) -> Iterator[Settings]:
    """The process's pool opened on `url` (with settings `changes`) for one block."""
    settings = dataclasses.replace(get_settings(), database_url=url, **changes)
    close_pool()
    open_pool(settings)
    try:
        yield settings
    finally:
        close_pool()


@pytest.fixture
def schema_fit(make_database: Callable[[], str]) -> str:
    """A database whose fitness tables live in schema `fit`, named by the URL's options
    (a documented Neon pattern), migrated through that URL."""
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA fit")
    in_fit = make_conninfo(url, options="-csearch_path=fit")
    upgrade_to_head(in_fit)
    return in_fit


def test_the_urls_own_options_are_kept_and_ours_added(schema_fit: str, runs: RunFactory) -> None:
    with pool_for(schema_fit):
        import_runs(runs.many(2))
        with connection() as conn:
            settings = dict(
                conn.execute(
                    "SELECT name, setting FROM pg_settings "
                    "WHERE name IN ('search_path', 'TimeZone', 'statement_timeout')"
                ).fetchall()
            )
        assert len(get_all_runs()) == 2
        assert current_revision() == head_revision()
    assert settings == {"search_path": "fit", "TimeZone": "UTC", "statement_timeout": "30000"}
    with psycopg.connect(schema_fit) as conn:
        assert conn.execute("SELECT count(*) FROM fit.runs").fetchone() == (2,)
        assert conn.execute("SELECT to_regclass('public.runs')").fetchone() == (None,)


def test_a_setting_the_url_makes_itself_wins_over_ours(db: str) -> None:
    url = make_conninfo(db, options="-c statement_timeout=1234 -c TimeZone=Europe/Paris")
    with pool_for(url), connection() as conn:
        timeout = conn.execute("SHOW statement_timeout").fetchone()
        zone = conn.execute("SHOW TimeZone").fetchone()

    assert (timeout, zone) == (("1234ms",), ("Europe/Paris",))


def test_db_current_and_upgrade_use_the_urls_search_path(
    schema_fit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = schema_fit
    reset_settings()
    try:
        statuses = [main(["db", "current"]), main(["db", "upgrade"])]
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved
        reset_settings()
    out = capsys.readouterr().out

    assert statuses == [0, 0]
    assert out == f"{head_revision()} (head)\nalready at head ({head_revision()})\n"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://me:pw1@db.example/fit?sslpassword=pw2&sslmode=require",
            "postgresql://me:***@db.example/fit?sslpassword=%2A%2A%2A&sslmode=require",
        ),
        (
            "postgresql://me@db.example/fit?password=pw1&application_name=fitness",
            "postgresql://me@db.example/fit?password=%2A%2A%2A&application_name=fitness",
        ),
        (
            "postgresql:///fit?host=/run/pg&oauth_client_secret=pw1",
            "postgresql:///fit?host=%2Frun%2Fpg&oauth_client_secret=%2A%2A%2A",
        ),
    ],
    ids=["sslpassword", "password-parameter", "oauth-secret"],
)
def test_every_secret_bearing_parameter_is_masked(url: str, expected: str) -> None:
    masked = masked_url(url)

    assert masked == expected
    assert "pw1" not in masked


def test_secrets_in_a_key_value_connection_string_are_masked() -> None:
    masked = masked_url("host=db.example password=pw1 sslpassword=pw2 dbname=fit")

    assert conninfo_to_dict(masked) == {
        "host": "db.example",
        "password": "***",
        "sslpassword": "***",
        "dbname": "fit",
    }


@pytest.mark.parametrize(
    ("message", "said"),
    [
        (
            'connection to server at "10.1.2.3", port 6432 failed: '
            "FATAL:  unsupported startup parameter: options",
            "unsupported startup parameter: options",
        ),
        (
            'connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
            "\tIs the server running on that host and accepting TCP/IP connections?",
            "Connection refused",
        ),
        (
            'connection to server on socket "/tmp/.s.PGSQL.5432" failed: '
            'FATAL:  database "gone" does not exist',
            'database "gone" does not exist',
        ),
    ],
)
def test_a_connection_error_says_what_the_server_said_without_the_address(
    message: str, said: str
) -> None:
    assert server_said(psycopg.OperationalError(message)) == said


def test_a_pool_that_cannot_connect_says_what_the_server_said(db: str) -> None:
    missing = make_conninfo(db, dbname="fitness_no_such_database")

    with (
        pool_for(missing, pool_timeout=1.0),
        pytest.raises(DatabaseUnavailable) as unavailable,
        connection(),
    ):
        pass

    message = str(unavailable.value)
    assert 'database "fitness_no_such_database" does not exist' in message
    assert "5432" not in message and "127.0.0.1" not in message
