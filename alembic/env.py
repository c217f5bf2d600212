"""Alembic's entry point: migrate the database fitness itself would use.

The URL comes from fitness's settings (DATABASE_URL, or the embedded server), or from
`config.attributes["connection_url"]` when a caller (the tests, `fitness db upgrade`)
names one. Connections are made by psycopg directly, so any libpq URL works, Neon's
`sslmode=require` included.
"""

from __future__ import annotations

from logging.config import fileConfig

import psycopg
from alembic import context
from sqlalchemy import create_engine, pool

from fitness.db.connection import connect_kwargs, database_url

config = context.config
MIGRATION_LOCK_ID = 7_734_221_905  # arbitrary, fixed: identifies "fitness migrations"
if config.config_file_name is not None and not config.attributes.get("skip_logging_config"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations_offline() -> None:
    context.configure(url="postgresql+psycopg://", literal_binds=True, dialect_name="postgresql")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.attributes.get("connection_url") or database_url()
    kwargs = connect_kwargs()
    engine = create_engine(
        "postgresql+psycopg://",
        creator=lambda: psycopg.connect(url, **kwargs),
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        # Two processes starting at once (two `fitness serve`, a CLI and a server) must not
        # both apply the same migration: the second waits here, then finds nothing to do.
        connection.exec_driver_sql("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
        connection.commit()
        try:
            context.configure(connection=connection, transaction_per_migration=True)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            connection.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
