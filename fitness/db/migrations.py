"""Alembic, driven from code: bring a database to head and tell where its schema is.

The CLI (`fitness db upgrade`, `fitness serve`), the API's health check and the tests use
these instead of shelling out to `alembic`.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from psycopg import Connection

from fitness.config import PROJECT_ROOT, Settings
from fitness.db.connection import connect, connection

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def alembic_config(url: str | None = None, *, configure_logging: bool = False) -> Config:
    """An Alembic config for this project; `url` overrides the configured database."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(Path(PROJECT_ROOT, "alembic")))
    if url is not None:
        config.attributes["connection_url"] = url
    config.attributes["skip_logging_config"] = not configure_logging
    return config


def upgrade_to_head(url: str | None = None) -> None:
    """Apply every migration the database does not have yet (a no-op when at head)."""
    command.upgrade(alembic_config(url), "head")


def head_revision() -> str:
    """The newest revision in alembic/versions."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "alembic/versions has no migrations"
    return head


def current_revision(*, conn: Connection | None = None) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with connection(conn) as active:
        try:
            with active.transaction():
                row = active.execute("SELECT version_num FROM alembic_version").fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    return row[0] if row else None


def probe_current_revision(
    settings: Settings | None = None, *, timeout_seconds: int = 2
) -> str | None:
    """The current revision, read over a new connection that gives up after `timeout_seconds`.

    For health checks: it bypasses the pool, so it answers even when every pooled connection
    is busy or dead, and it recovers as soon as the database is back. Raises
    `psycopg.OperationalError` when the database does not answer in time (libpq's connect
    timeout cannot be under 2 s).
    """
    timeout = max(timeout_seconds, 2)
    with connect(settings, connect_timeout=timeout, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (f"{timeout}s",))
        return current_revision(conn=conn)


def is_at_head(*, conn: Connection | None = None) -> bool:
    """True when the database's schema is exactly what this code expects."""
    return current_revision(conn=conn) == head_revision()
