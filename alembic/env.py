"""Alembic's entry point: migrate the database fitness itself would use.

The URL comes from fitness's settings (DATABASE_URL, or the embedded server), or from
`config.attributes["connection_url"]` when a caller (the tests, `fitness db upgrade`)
names one. Connections are made by `fitness.db.connection.connect`, the path every fitness
connection takes, so the URL's own parameters (Neon's `sslmode=require`, `options`) are kept
and poolers in transaction mode work.

Offline (`--sql`), the migrations are written out as SQL; fitness builds schemas from that
script inside its own transactions (`fitness.db.migrations.migration_sql`), which is why
migrations are raw SQL run with `op.execute`.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

from fitness.db.connection import connect
from fitness.db.migrations import MIGRATION_LOCK_ID

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging_config"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations_offline() -> None:
    context.configure(
        url="postgresql+psycopg://",
        literal_binds=True,
        dialect_name="postgresql",
        # Named parameters: with pyformat, SQLAlchemy would write every % as %%.
        dialect_opts={"paramstyle": "named"},
        # fitness runs the script inside a transaction of its own: no BEGIN/COMMIT then.
        transactional_ddl=not config.attributes.get("inside_transaction", False),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.attributes.get("connection_url")
    engine = create_engine(
        "postgresql+psycopg://",
        creator=lambda: connect(url=url),
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        # One transaction for every pending migration: all or nothing. Two processes
        # starting at once (two `fitness serve`, a CLI and a server) must not both apply the
        # same migration: the second waits for the transaction-scoped lock (a session lock
        # would outlive its transaction behind a transaction pooler), then finds nothing to do.
        context.configure(connection=connection, transaction_per_migration=False)
        with context.begin_transaction():
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
