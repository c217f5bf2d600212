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

from fitness.config import PROJECT_ROOT
from fitness.db.connection import connection

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


def is_at_head(*, conn: Connection | None = None) -> bool:
    """True when the database's schema is exactly what this code expects."""
    return current_revision(conn=conn) == head_revision()
