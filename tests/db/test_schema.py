"""The schema: sql/schema.sql is the truth for readers, the migrations build exactly it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
from alembic import command

from fitness.db.catalog import Catalog, describe_schema
from fitness.db.migrations import alembic_config, head_revision, upgrade_to_head

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def describe(url: str) -> Catalog:
    """Every object of the public schema but Alembic's own table."""
    with psycopg.connect(url) as conn:
        return {
            key: definition
            for key, definition in describe_schema(conn, "public").items()
            if "alembic_version" not in key[1]
        }


def test_schema_sql_builds_exactly_what_the_migrations_build(
    make_database: Callable[[], str],
) -> None:
    migrated, from_file = make_database(), make_database()
    upgrade_to_head(migrated)
    with psycopg.connect(from_file, autocommit=True) as conn:
        conn.execute((PROJECT_ROOT / "sql" / "schema.sql").read_text(encoding="utf-8"))
    built, read = describe(migrated), describe(from_file)
    assert {kind for kind, _ in built} >= {"table", "column", "constraint", "index", "trigger"}
    assert built == read, "the migrations and schema.sql differ"


def test_downgrade_to_base_removes_everything_the_migrations_created(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    upgrade_to_head(url)
    command.downgrade(alembic_config(url), "base")
    assert describe(url) == {}
    upgrade_to_head(url)
    assert describe(url)


def test_the_alembic_command_migrates_the_configured_database(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    env = os.environ | {"DATABASE_URL": url, "FITNESS_ENV": "dev"}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with psycopg.connect(url) as conn:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision == (head_revision(),)


def test_0003_keeps_existing_data_and_records_earlier_retirements_as_the_users(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    command.upgrade(alembic_config(url), "0001")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO shoes (id, name, retired_at) VALUES ('old', 'Old', '2024-01-01'), "
            "('new', 'New', NULL)"
        )
        conn.execute(
            "INSERT INTO runs (id, datetime_utc, type, distance, duration, source, shoe_id) "
            "VALUES ('strava_1', '2024-05-06T07:00Z', 'Outdoor Run', 5, 1800, 'Strava', 'old')"
        )
    command.upgrade(alembic_config(url), "0003")
    with psycopg.connect(url) as conn:
        shoes = conn.execute("SELECT id, retirement_set_by FROM shoes ORDER BY id").fetchall()
        run = conn.execute("SELECT name, notes, shoe_id FROM runs").fetchone()
    assert shoes == [("new", None), ("old", "user")]
    assert run == (None, None, "old")
    command.downgrade(alembic_config(url), "0001")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)
