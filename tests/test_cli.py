"""Tests for fitness/cli.py: the `fitness` command as a user runs it, against real PostgreSQL.

Most tests call `main([...])` in-process; a few start the installed command as a subprocess
to prove the entry point works.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from fitness.cli import main
from fitness.config import reset_settings
from fitness.db.connection import close_pool
from fitness.db.migrations import head_revision, upgrade_to_head
from fitness.db.runs import import_runs
from fitness.db.runs_history import update_run_with_history
from tests.db.test_backup import every_row, populate_every_table
from tests.factories import RunFactory

PROJECT_ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE_URL = "postgresql://postgres@127.0.0.1:1/fitness?connect_timeout=2"

SetEnvironment = Callable[..., None]


@pytest.fixture
def environment() -> Iterator[SetEnvironment]:
    """Set environment variables for one test (None removes one); settings follow them."""
    saved: dict[str, str | None] = {}

    def set_environment(**values: str | None) -> None:
        for name, value in values.items():
            saved.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_settings()
        close_pool()

    yield set_environment
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_settings()
    close_pool()


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(stderr: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["serve"],
        ["db"],
        ["db", "upgrade"],
        ["db", "current"],
        ["db", "url"],
        ["db", "backup"],
        ["db", "restore"],
        ["db", "check"],
    ],
    ids=lambda argv: " ".join(argv) or "fitness",
)
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], argv: list[str]):
    status, out, _ = run_cli(capsys, *argv, "--help")

    assert status == 0
    assert out.startswith(f"usage: {' '.join(['fitness', *argv])}")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "fitness: error: the following arguments are required: COMMAND"),
        (["db"], "fitness db: error: the following arguments are required: DB_COMMAND"),
        (["db", "frobnicate"], "fitness db: error: argument DB_COMMAND: invalid choice"),
        (["db", "backup"], "fitness db backup: error: the following arguments are required"),
        (["serve", "--port", "http"], "fitness serve: error: argument --port: not a port"),
        (["serve", "--port", "70000"], "fitness serve: error: argument --port: a port is"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
):
    status, out, err = run_cli(capsys, *argv)

    assert status == 2
    assert out == ""
    assert err.startswith(message)
    assert err.rstrip().endswith("--help`)")
    assert_one_line_error(err)


def test_db_current_says_the_database_is_at_head(db: str, capsys: pytest.CaptureFixture[str]):
    assert run_cli(capsys, "db", "current") == (0, f"{head_revision()} (head)\n", "")


def test_db_upgrade_migrates_an_empty_database_then_has_nothing_to_do(
    make_database: Callable[[], str],
    environment: SetEnvironment,
    capsys: pytest.CaptureFixture[str],
):
    environment(DATABASE_URL=make_database())
    status, out, _ = run_cli(capsys, "db", "current")
    assert (status, out.split(":")[0]) == (1, "none")
    assert "run `fitness db upgrade`" in out

    assert run_cli(capsys, "db", "upgrade")[:2] == (
        0,
        f"upgraded from an empty database to {head_revision()}\n",
    )
    assert run_cli(capsys, "db", "upgrade")[:2] == (0, f"already at head ({head_revision()})\n")
    assert run_cli(capsys, "db", "current")[:2] == (0, f"{head_revision()} (head)\n")


def test_db_url_masks_the_password(environment: SetEnvironment, capsys: pytest.CaptureFixture):
    environment(DATABASE_URL="postgresql://runner:s3cret@db.example.com:5432/fitness")

    status, out, err = run_cli(capsys, "db", "url")

    assert (status, out) == (0, "postgresql://runner:***@db.example.com:5432/fitness\n")
    assert "s3cret" not in out + err


def test_db_url_in_prod_without_database_url_is_refused(
    environment: SetEnvironment, capsys: pytest.CaptureFixture[str]
):
    environment(DATABASE_URL="", FITNESS_ENV="prod")

    status, out, err = run_cli(capsys, "db", "url")

    assert (status, out) == (1, "")
    assert err.startswith("fitness: error: DATABASE_URL is not set")
    assert_one_line_error(err)


def test_db_check_says_ok_for_an_intact_database(
    db: str, runs: RunFactory, capsys: pytest.CaptureFixture[str]
):
    run = runs.make()
    import_runs([run])
    update_run_with_history(run.id, {"distance": 12.0}, changed_by="test")

    assert run_cli(capsys, "db", "check") == (0, "ok\n", "")


def test_db_check_lists_problems_and_exits_1(
    db: str, runs: RunFactory, raw_conn: psycopg.Connection, capsys: pytest.CaptureFixture[str]
):
    run = runs.make()
    import_runs([run])
    raw_conn.execute("UPDATE runs SET version = 2 WHERE id = %s", (run.id,))

    status, out, _ = run_cli(capsys, "db", "check")

    assert status == 1
    assert out == (
        f"version_mismatch: run {run.id} is at version 2 (runs.version) but its newest "
        "snapshot is version 1\n"
        "1 problem found\n"
    )


def test_backup_then_restore_into_an_empty_database_reproduces_every_row(
    db: str,
    runs: RunFactory,
    make_database: Callable[[], str],
    environment: SetEnvironment,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
):
    populate_every_table(runs)
    backup = tmp_path / "fitness.dump"
    status, out, _ = run_cli(capsys, "db", "backup", str(backup))
    assert (status, out.startswith(f"backed up to {backup} (")) == (0, True)

    empty = make_database()
    environment(DATABASE_URL=empty)
    status, out, _ = run_cli(capsys, "db", "restore", str(backup))

    assert status == 0
    # One count per table, in load order: every table of the schema is named.
    assert out.startswith(f"restored {backup}: 1 alembic_version, ")
    counted = [t for t in every_row(db) if t != "(sequences)"]
    assert all(f" {table}," in out or f" {table} (" in out for table in counted), out
    assert out.endswith(f"(backup at schema revision {head_revision()}, at head)\n")
    assert every_row(empty) == every_row(db)


def test_restore_over_data_asks_for_force(
    db: str,
    runs: RunFactory,
    make_database: Callable[[], str],
    environment: SetEnvironment,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
):
    import_runs(runs.many(2))
    backup = tmp_path / "fitness.dump"
    assert run_cli(capsys, "db", "backup", str(backup))[0] == 0
    target = make_database()
    upgrade_to_head(target)
    with psycopg.connect(target) as conn:
        import_runs([runs.make()], conn=conn)
    environment(DATABASE_URL=target)

    status, out, err = run_cli(capsys, "db", "restore", str(backup))
    assert (status, out) == (1, "")
    assert err.startswith("fitness: error: the database is not empty (rows in runs, runs_history)")
    assert "--force" in err
    assert_one_line_error(err)

    assert run_cli(capsys, "db", "restore", "--force", str(backup))[0] == 0
    assert every_row(target) == every_row(db)


def test_restoring_a_missing_file_is_one_line_and_exit_1(
    db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
):
    status, _, err = run_cli(capsys, "db", "restore", str(tmp_path / "nope.dump"))

    assert status == 1
    assert err == f"fitness: error: no backup file at {tmp_path / 'nope.dump'}\n"


def test_an_unreachable_database_is_one_line_and_exit_1(
    environment: SetEnvironment, capsys: pytest.CaptureFixture[str]
):
    environment(DATABASE_URL=UNREACHABLE_URL)

    status, out, err = run_cli(capsys, "db", "current")

    assert (status, out) == (1, "")
    assert err.startswith("fitness: error: cannot use the database: ")
    assert_one_line_error(err)


@pytest.mark.parametrize("switch", ["--debug", "FITNESS_DEBUG=1"])
def test_debug_shows_the_traceback(environment: SetEnvironment, switch: str):
    environment(DATABASE_URL=UNREACHABLE_URL, FITNESS_DEBUG="1" if "=" in switch else None)
    argv = ["--debug"] if switch == "--debug" else []

    with pytest.raises(psycopg.OperationalError):
        main([*argv, "db", "current"])


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "fitness.example.com"])
def test_serve_without_tokens_refuses_a_non_loopback_host(
    db: str, environment: SetEnvironment, capsys: pytest.CaptureFixture[str], host: str
):
    environment(FITNESS_API_TOKENS="")

    status, _, err = run_cli(capsys, "serve", "--host", host)

    assert status == 1
    assert err.startswith("fitness: error: FITNESS_API_TOKENS is not set")
    assert f"not on {host}" in err
    assert_one_line_error(err)


def test_serve_in_prod_without_tokens_refuses_to_start(
    db: str, environment: SetEnvironment, capsys: pytest.CaptureFixture[str]
):
    environment(FITNESS_ENV="prod", FITNESS_API_TOKENS="")

    status, _, err = run_cli(capsys, "serve")

    assert status == 1
    assert "FITNESS_ENV=prod never serves an unauthenticated API" in err
    assert_one_line_error(err)


def test_serve_in_prod_without_a_secret_key_refuses_to_start(
    db: str, environment: SetEnvironment, capsys: pytest.CaptureFixture[str]
):
    environment(FITNESS_ENV="prod", FITNESS_API_TOKENS="a-token", FITNESS_SECRET_KEY="")

    status, _, err = run_cli(capsys, "serve")

    assert status == 1
    assert "FITNESS_SECRET_KEY is not set" in err
    assert_one_line_error(err)


@pytest.mark.parametrize(
    ("host", "tokens"),
    [("127.0.0.1", ""), ("::1", ""), ("localhost", ""), ("0.0.0.0", "a-token")],
)
def test_serve_refuses_a_database_whose_schema_is_not_at_head(
    make_database: Callable[[], str],
    environment: SetEnvironment,
    capsys: pytest.CaptureFixture[str],
    host: str,
    tokens: str,
):
    environment(DATABASE_URL=make_database(), FITNESS_API_TOKENS=tokens)

    status, _, err = run_cli(capsys, "serve", "--host", host)

    assert status == 1
    assert err.startswith("fitness: error: the database schema is at revision none")
    assert "run `fitness db upgrade` first" in err
    assert_one_line_error(err)


def test_the_console_script_starts_the_embedded_database_and_prints_its_url():
    # A data dir of our own under /tmp: the embedded server runs as another user when we
    # are root, and must be able to reach it.
    data_dir = Path(tempfile.mkdtemp(prefix="fitness-cli-test-"))
    environ = os.environ | {
        "DATABASE_URL": "",
        "FITNESS_ENV": "dev",
        "FITNESS_DATA_DIR": str(data_dir),
    }
    try:
        completed = subprocess.run(
            [str(Path(sys.executable).with_name("fitness")), "db", "url"],
            capture_output=True,
            text=True,
            env=environ,
            timeout=120,
            check=False,
        )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    assert completed.returncode == 0, completed.stderr
    params = conninfo_to_dict(completed.stdout.strip())
    assert params["dbname"] == "fitness"
    assert params["host"] == str(data_dir / "pgdata")
    assert "the embedded PostgreSQL runs while a fitness process" in completed.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_until_healthy(environ: dict[str, str]) -> tuple[httpx.Response, int, str]:
    """Start `fitness serve` on a free port, GET /health once it answers, then stop it
    with Ctrl-C; return the response, the exit status and what the command logged."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("fitness")), "serve", "--port", str(port)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    try:
        response = None
        while response is None and server.poll() is None and time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGINT)
        _, log = server.communicate(timeout=60)
    assert response is not None, log
    return response, server.returncode, log


def test_serve_answers_health_from_a_database_url(db: str):
    environ = os.environ | {"DATABASE_URL": db, "FITNESS_ENV": "dev", "FITNESS_API_TOKENS": ""}

    response, status, log = serve_until_healthy(environ)

    assert response.status_code == 200
    assert response.json()["schema"] == head_revision()
    assert status == 0, log
    assert "the API is unauthenticated and serves on loopback only" in log
    assert "Traceback" not in log


def test_serve_on_a_fresh_machine_migrates_the_embedded_database_first():
    data_dir = Path(tempfile.mkdtemp(prefix="fitness-serve-test-"))
    environ = os.environ | {
        "DATABASE_URL": "",
        "FITNESS_ENV": "dev",
        "FITNESS_API_TOKENS": "",
        "FITNESS_DATA_DIR": str(data_dir),
    }
    try:
        response, status, log = serve_until_healthy(environ)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    assert response.status_code == 200
    assert response.json()["schema"] == head_revision()
    assert status == 0, log


def test_python_dash_m_fitness_cli_runs():
    completed = subprocess.run(
        [sys.executable, "-m", "fitness.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0
    assert completed.stdout.startswith("usage: fitness")
