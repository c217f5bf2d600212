"""The schema: sql/schema.sql is the truth for readers, the migrations build exactly it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
from alembic import command

from fitness.db.migrations import alembic_config, head_revision, upgrade_to_head

PROJECT_ROOT = Path(__file__).resolve().parents[2]

CATALOG_QUERIES = {
    "columns": """
        SELECT table_name, ordinal_position, column_name, data_type, is_nullable,
               column_default, is_identity
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> 'alembic_version'
        ORDER BY table_name, ordinal_position
    """,
    "constraints": """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint AS c
        JOIN pg_namespace AS n ON n.oid = c.connamespace
        WHERE n.nspname = 'public' AND c.conrelid::regclass::text <> 'alembic_version'
        ORDER BY 1, 2
    """,
    "indexes": """
        SELECT tablename, indexname, indexdef
        FROM pg_indexes
        WHERE schemaname = 'public' AND tablename <> 'alembic_version'
        ORDER BY 1, 2
    """,
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)
        FROM pg_trigger
        WHERE NOT tgisinternal
        ORDER BY 1, 2
    """,
    "functions": """
        SELECT p.proname, pg_get_functiondef(p.oid)
        FROM pg_proc AS p
        JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public'
        ORDER BY 1
    """,
}


def describe(url: str) -> dict[str, list[tuple[object, ...]]]:
    with psycopg.connect(url) as conn:
        return {name: conn.execute(query).fetchall() for name, query in CATALOG_QUERIES.items()}


def test_schema_sql_builds_exactly_what_the_migrations_build(
    make_database: Callable[[], str],
) -> None:
    migrated, from_file = make_database(), make_database()
    upgrade_to_head(migrated)
    with psycopg.connect(from_file, autocommit=True) as conn:
        conn.execute((PROJECT_ROOT / "sql" / "schema.sql").read_text(encoding="utf-8"))
    built, read = describe(migrated), describe(from_file)
    assert built["columns"], "the migrations built no tables"
    for name in CATALOG_QUERIES:
        assert built[name] == read[name], f"{name} differ between migrations and schema.sql"


def test_downgrade_to_base_removes_everything_the_migrations_created(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    upgrade_to_head(url)
    command.downgrade(alembic_config(url), "base")
    left = describe(url)
    assert all(not rows for rows in left.values()), left
    upgrade_to_head(url)
    assert describe(url)["columns"]


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
