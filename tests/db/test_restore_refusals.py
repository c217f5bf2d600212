"""A restore loads data only: an archive made by a plain `pg_dump` that carries a function, a
CHECK constraint, a trigger (or any other object the migrations do not build) is refused
before anything changes, naming what it holds, and nothing of it ever runs."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from fitness.db.archive import ArchiveRefused
from fitness.db.backup import backup_database, libpq_environment, restore_database
from fitness.db.catalog import find_schema_drift
from fitness.db.embedded import embedded_bin_dir
from fitness.db.migrations import UnknownRevision, head_revision, upgrade_to_head
from fitness.db.runs import get_all_runs, import_runs
from fitness.db.runs_history import update_run_with_history
from tests.db.test_backup import every_row, populate_every_table
from tests.factories import RunFactory

# A function that writes a file on the database host when it runs; a CHECK constraint that
# calls it on every row a restore loads; a trigger that zeroes the distance of every edit.
MALICE = """
CREATE FUNCTION evil(distance double precision) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COPY (SELECT %L) TO %L', 'pwned', '{marker}');
    RETURN true;
END
$$;
ALTER TABLE runs ADD CONSTRAINT runs_evil_check CHECK (evil(distance));
CREATE FUNCTION zero_distance() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.distance := 0;
    RETURN NEW;
END
$$;
CREATE TRIGGER zero_distance BEFORE UPDATE ON runs
    FOR EACH ROW EXECUTE FUNCTION zero_distance();
"""


def plain_dump(url: str, path: Path) -> Path:
    """`pg_dump --format=custom` of `url` with pg_dump's defaults (owners, privileges)."""
    subprocess.run(
        [str(embedded_bin_dir() / "pg_dump"), "--format=custom", f"--file={path}"],
        env=os.environ | libpq_environment(url),
        check=True,
        capture_output=True,
    )
    return path


def plain_restore(path: Path, url: str) -> None:
    """What restoring used to do: pg_restore runs the archive's script (carrying on past
    errors, such as a server older than pg_restore refusing one of its SETs)."""
    subprocess.run(
        [str(embedded_bin_dir() / "pg_restore"), "--no-owner", f"--dbname={url}", str(path)],
        env=os.environ,
        check=False,
        capture_output=True,
    )


@pytest.fixture
def marker() -> Path:
    """Where the archive's function writes when it runs (the server writes it: /tmp)."""
    path = Path("/tmp") / f"fitness-restore-pwned-{uuid.uuid4().hex}"
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture
def malicious_dump(
    make_database: Callable[[], str], runs: RunFactory, marker: Path, tmp_path: Path
) -> Path:
    """A fitness database with data, the function, constraint and trigger added by hand,
    dumped by a plain pg_dump."""
    source = make_database()
    upgrade_to_head(source)
    with psycopg.connect(source, autocommit=True) as conn:
        import_runs(runs.many(3), conn=conn)
        conn.execute(MALICE.replace("{marker}", str(marker)))
    # Adding the constraint checked the rows already there: that ran the function too.
    marker.unlink(missing_ok=True)
    return plain_dump(source, tmp_path / "malicious.dump")


def test_the_malicious_dump_really_runs_its_function_when_pg_restore_runs_it(
    malicious_dump: Path, make_database: Callable[[], str], marker: Path
) -> None:
    plain_restore(malicious_dump, make_database())

    assert marker.exists(), "the archive's function did not run: this dump proves nothing"


def test_a_malicious_dump_is_refused_naming_what_it_holds_and_nothing_of_it_runs(
    db: str,
    malicious_dump: Path,
    make_database: Callable[[], str],
    runs: RunFactory,
    marker: Path,
) -> None:
    target = make_database()
    upgrade_to_head(target)
    with psycopg.connect(target, autocommit=True) as conn:
        import_runs(runs.many(2), conn=conn)
    before = every_row(target)

    with pytest.raises(ArchiveRefused) as refused:
        restore_database(malicious_dump, url=target, force=True)

    message = str(refused.value)
    assert "nothing was restored" in message
    for finding in (
        "function evil(double precision)",
        "function zero_distance()",
        "constraint runs.runs_evil_check",
        "trigger runs.zero_distance",
    ):
        assert finding in message
    assert not marker.exists(), "the archive's function ran"
    assert every_row(target) == before
    with psycopg.connect(target) as conn:
        assert find_schema_drift(conn=conn) == []


@pytest.mark.parametrize(
    ("added", "finding"),
    [
        ("CREATE TABLE notes (id int)", "table notes"),
        ("CREATE SCHEMA accounts; CREATE TABLE accounts.invoices (id int)", "accounts.invoices"),
        ("CREATE INDEX runs_type_idx ON runs (type)", "index runs_type_idx"),
        ("CREATE VIEW long_runs AS SELECT id FROM runs", "view long_runs"),
        ("ALTER TABLE runs ADD COLUMN secret text", "column runs.secret"),
        ("ALTER TABLE runs ALTER COLUMN distance SET DEFAULT 1", "column runs.distance (defined"),
        (
            "ALTER TABLE runs DROP CONSTRAINT runs_distance_check;"
            "ALTER TABLE runs ADD CONSTRAINT runs_distance_check CHECK (distance >= 1)",
            "constraint runs.runs_distance_check (defined differently",
        ),
        (
            "ALTER TABLE runs ADD CONSTRAINT runs_later CHECK (distance < 100) NOT VALID",
            "constraint runs.runs_later",
        ),
        (
            "CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN NEW.distance := 0; RETURN NEW; END $$",
            "function set_updated_at() (defined differently",
        ),
        (
            "ALTER TABLE runs_history DISABLE TRIGGER runs_history_immutable",
            "DISABLE TRIGGER runs_history_immutable",
        ),
        ("CREATE POLICY everyone ON runs USING (true)", "policy runs everyone"),
        ("COMMENT ON TABLE runs IS 'hello'", "comment"),
        ("SELECT lo_from_bytea(0, 'a large object')", "blob"),
        (
            "CREATE FUNCTION noisy() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;"
            "CREATE EVENT TRIGGER noisy ON ddl_command_start EXECUTE FUNCTION noisy()",
            "event trigger noisy",
        ),
    ],
    ids=[
        "table",
        "other-schema",
        "index",
        "view",
        "column",
        "default",
        "changed-check",
        "not-valid-check",
        "changed-function",
        "disabled-trigger",
        "policy",
        "comment",
        "large-object",
        "event-trigger",
    ],
)
def test_anything_the_migrations_do_not_build_is_refused_by_name(
    make_database: Callable[[], str], tmp_path: Path, added: str, finding: str
) -> None:
    source = make_database()
    upgrade_to_head(source)
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(added)
    dump = plain_dump(source, tmp_path / "odd.dump")
    if "EVENT TRIGGER" in added:
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute("DROP EVENT TRIGGER noisy")
    target = make_database()

    with pytest.raises(ArchiveRefused) as refused:
        restore_database(dump, url=target)

    assert finding.lower() in str(refused.value).lower()
    assert every_row(target) == {"(sequences)": []}


def test_a_plain_pg_dump_of_a_clean_database_restores_every_row(
    db: str, runs: RunFactory, make_database: Callable[[], str], tmp_path: Path
) -> None:
    populate_every_table(runs)
    dump = plain_dump(db, tmp_path / "plain.dump")
    target = make_database()

    restored = restore_database(dump, url=target)

    assert restored.revision == head_revision()
    assert every_row(target) == every_row(db)


def test_a_backup_from_an_unknown_schema_revision_is_refused(
    db: str, runs: RunFactory, make_database: Callable[[], str], tmp_path: Path
) -> None:
    import_runs(runs.many(2))
    source = make_database()
    upgrade_to_head(source)
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    backup = tmp_path / "future.dump"
    backup_database(backup, url=source)
    before = every_row(db)

    with pytest.raises(UnknownRevision, match="'9999_from_the_future', which this fitness does"):
        restore_database(backup, url=db, force=True)

    assert every_row(db) == before


def test_a_forced_restore_rebuilds_the_schema_so_a_hand_added_trigger_is_gone(
    db: str, runs: RunFactory, make_database: Callable[[], str], tmp_path: Path, marker: Path
) -> None:
    run = runs.make(distance=7.5)
    import_runs([run])
    backup = tmp_path / "clean.dump"
    backup_database(backup)
    target = make_database()
    upgrade_to_head(target)
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(MALICE.replace("{marker}", str(marker)))
    marker.unlink(missing_ok=True)

    restore_database(backup, url=target, force=True)

    with psycopg.connect(target) as conn:
        update_run_with_history(run.id, {"duration": 2000.0}, "test", conn=conn)
        (distance,) = [r.distance for r in get_all_runs(conn=conn)]
        drift = {(d.kind, d.name) for d in find_schema_drift(conn=conn)}
    assert distance == 7.5, "the hand-added trigger survived the restore"
    assert not marker.exists()
    # Functions the migrations never made are not theirs to drop: `db check` names them.
    assert drift == {
        ("function", "evil(distance double precision)"),
        ("function", "zero_distance()"),
    }
