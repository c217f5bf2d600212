"""fitness/db/catalog.py: the live schema against what the migrations build at its revision,
built in a scratch schema that is always rolled back, with no CREATE DATABASE needed."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from fitness.cli import main
from fitness.config import reset_settings
from fitness.db.catalog import find_schema_drift
from fitness.db.connection import close_pool
from fitness.db.migrations import upgrade_to_head

HAND_MADE = """
CREATE FUNCTION zero_distance() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.distance := 0;
    RETURN NEW;
END
$$;
CREATE TRIGGER zero_distance BEFORE UPDATE ON runs
    FOR EACH ROW EXECUTE FUNCTION zero_distance();
ALTER TABLE runs_history DISABLE TRIGGER runs_history_immutable;
ALTER TABLE runs ADD COLUMN note text;
ALTER TABLE runs ALTER COLUMN version SET DEFAULT 2;
ALTER TABLE runs DROP CONSTRAINT runs_distance_check;
DROP INDEX runs_shoe_id_idx;
CREATE INDEX runs_type_idx ON runs (type);
CREATE RULE no_deletes AS ON DELETE TO shoes DO INSTEAD NOTHING;
ALTER TABLE runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone ON runs USING (true);
"""


@pytest.fixture
def migrated(make_database: Callable[[], str]) -> str:
    url = make_database()
    upgrade_to_head(url)
    return url


def drift_of(url: str) -> set[tuple[str, str, str]]:
    with psycopg.connect(url) as conn:
        return {
            (
                d.kind,
                d.name,
                "extra" if d.expected is None else "missing" if d.found is None else "changed",
            )
            for d in find_schema_drift(conn=conn)
        }


def scratch_schemas(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [
            row[0]
            for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'fitness_reference%'"
            )
        ]


def test_a_database_the_migrations_built_has_no_drift_and_the_check_leaves_nothing(
    migrated: str,
) -> None:
    assert drift_of(migrated) == set()
    assert scratch_schemas(migrated) == []


def test_every_hand_made_change_is_reported(migrated: str) -> None:
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute(HAND_MADE)

    assert drift_of(migrated) == {
        ("table", "runs", "changed"),
        ("column", "runs.note", "extra"),
        ("column", "runs.version", "changed"),
        ("constraint", "runs.runs_distance_check", "missing"),
        ("index", "runs_shoe_id_idx", "missing"),
        ("index", "runs_type_idx", "extra"),
        ("trigger", "runs.zero_distance", "extra"),
        ("trigger", "runs_history.runs_history_immutable", "changed"),
        ("function", "zero_distance()", "extra"),
        ("policy", "runs.everyone", "extra"),
        ("rule", "shoes.no_deletes", "extra"),
    }


def test_an_event_trigger_anywhere_in_the_database_is_reported(migrated: str) -> None:
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION public.watch() RETURNS event_trigger LANGUAGE plpgsql "
            "AS $$ BEGIN END $$"
        )
        conn.execute("CREATE EVENT TRIGGER watch ON ddl_command_start EXECUTE FUNCTION watch()")
        try:
            drift = drift_of(migrated)
        finally:
            conn.execute("DROP EVENT TRIGGER watch")

    assert drift == {("event trigger", "watch", "extra"), ("function", "watch()", "extra")}


def test_the_schema_named_by_the_urls_search_path_is_the_one_checked(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA fit")
    in_fit = make_conninfo(url, options="-csearch_path=fit")
    upgrade_to_head(in_fit)

    assert drift_of(in_fit) == set()
    with psycopg.connect(in_fit, autocommit=True) as conn:
        conn.execute(
            "CREATE TRIGGER stamp BEFORE UPDATE ON runs "
            "FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        )
    assert drift_of(in_fit) == {("trigger", "runs.stamp", "extra")}


@pytest.fixture
def database_of_a_role_without_createdb(postgres_server_url: str) -> Iterator[str]:
    """A database owned by a role that may not create databases (as on Neon)."""
    name = f"fitness_nocreatedb_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOCREATEDB NOSUPERUSER").format(sql.Identifier(name))
        )
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(name)
            )
        )
    try:
        yield make_conninfo(postgres_server_url, dbname=name, user=name)
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def test_the_check_needs_no_create_database(database_of_a_role_without_createdb: str) -> None:
    url = database_of_a_role_without_createdb
    with (
        psycopg.connect(url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("CREATE DATABASE not_allowed")
    upgrade_to_head(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE runs ADD CONSTRAINT runs_short CHECK (distance < 100)")

    assert drift_of(url) == {("constraint", "runs.runs_short", "extra")}
    assert scratch_schemas(url) == []


def test_db_check_prints_the_drift_and_exits_1(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute(HAND_MADE.split("ALTER TABLE runs_history")[0])
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = migrated
    reset_settings()
    close_pool()
    try:
        status = main(["db", "check"])
    finally:
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved
        reset_settings()
        close_pool()
    out = capsys.readouterr().out

    assert status == 1
    assert out == (
        "schema: trigger runs.zero_distance is not in the migrations' schema: CREATE TRIGGER "
        "zero_distance BEFORE UPDATE ON runs FOR EACH ROW EXECUTE FUNCTION zero_distance()\n"
        "schema: function zero_distance() is not in the migrations' schema: function returns "
        "trigger language plpgsql as BEGIN NEW.distance := 0; RETURN NEW; END\n"
        "2 problems found\n"
    )
