"""Alembic, driven from code: bring a database to head, tell where its schema is, and build the
schema of any revision inside a transaction of ours.

The CLI (`fitness db upgrade`, `fitness serve`), `fitness db check`, restores and the tests
use these instead of shelling out to `alembic`. Migrations are raw SQL (`op.execute`), so
Alembic can write them out as one script (`migration_sql`) that runs inside a caller's
transaction: that is how a restore builds the schema it loads into, all or nothing, and how
`fitness db check` builds the reference schema it compares with, then rolls it back.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Final

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from psycopg import Connection

from fitness.config import PROJECT_ROOT
from fitness.db.connection import connect, connection, retry_on_disconnect
from fitness.errors import FitnessError

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
# Arbitrary, fixed: identifies "fitness migrations" among advisory locks.
MIGRATION_LOCK_ID: Final = 7_734_221_905


class UnknownRevision(FitnessError):
    """A database or a backup is at a schema revision this fitness does not know (made by a
    newer fitness, or by something else)."""

    def __init__(self, revision: str, where: str = "the database") -> None:
        super().__init__(
            f"{where} is at schema revision {revision!r}, which this fitness does not know "
            f"(its newest is {head_revision()!r}): use the fitness that made it, or a newer one"
        )
        self.revision = revision


def alembic_config(url: str | None = None, *, configure_logging: bool = False) -> Config:
    """An Alembic config for this project; `url` overrides the configured database."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(Path(PROJECT_ROOT, "alembic")))
    if url is not None:
        config.attributes["connection_url"] = url
    config.attributes["skip_logging_config"] = not configure_logging
    return config


def upgrade_to_head(url: str | None = None) -> None:
    """Apply every migration the database does not have yet, in one transaction (a no-op
    when at head). Raises `UnknownRevision` for a database newer than this fitness."""
    with connect(url=url, autocommit=True) as conn:
        revision = current_revision(conn=conn)
    if revision is not None and revision not in known_revisions():
        raise UnknownRevision(revision)
    command.upgrade(alembic_config(url), "head")


def head_revision() -> str:
    """The newest revision in alembic/versions."""
    head = _scripts().get_current_head()
    assert head is not None, "alembic/versions has no migrations"
    return head


def known_revisions() -> list[str]:
    """Every revision in alembic/versions, oldest first."""
    return [script.revision for script in reversed(list(_scripts().walk_revisions()))]


def current_revision(*, conn: Connection | None = None) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with connection(conn) as active:
        try:
            with active.transaction():
                row = active.execute("SELECT version_num FROM alembic_version").fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    return row[0] if row else None


@retry_on_disconnect
def current_revision_within(seconds: float, pool_wait_seconds: float) -> str | None:
    """`current_revision` on a pooled connection, waiting at most `pool_wait_seconds` for one
    and letting the query run at most `seconds` (a health check must not hang)."""
    with connection(timeout=pool_wait_seconds) as conn, conn.transaction():
        conn.execute(
            "SELECT set_config('statement_timeout', %s, true)", (f"{int(seconds * 1000)}ms",)
        )
        return current_revision(conn=conn)


def is_at_head(*, conn: Connection | None = None) -> bool:
    """True when the database's schema is exactly what this code expects."""
    return current_revision(conn=conn) == head_revision()


def migration_sql(start: str | None, end: str | None) -> str:
    """The SQL that takes a schema from revision `start` to revision `end` (None: no schema
    at all), upgrading or downgrading, alembic_version included, without BEGIN or COMMIT:
    run it inside a transaction. Empty when `start == end`.

    Raises `UnknownRevision` for a revision not in alembic/versions.
    """
    known = known_revisions()
    for revision in (start, end):
        if revision is not None and revision not in known:
            raise UnknownRevision(revision)
    if start == end:
        return ""
    buffer = io.StringIO()
    config = alembic_config()
    config.output_buffer = buffer
    config.attributes["inside_transaction"] = True
    rank = {revision: position for position, revision in enumerate(known, start=1)}
    if rank.get(end or "", 0) > rank.get(start or "", 0):
        command.upgrade(config, f"{start}:{end}" if start else str(end), sql=True)
    else:
        command.downgrade(config, f"{start}:{end or 'base'}", sql=True)
    return buffer.getvalue()


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())
