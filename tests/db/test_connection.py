"""fitness.db.connection and embedded: one shared embedded server, pools that heal."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from fitness.db.connection import connection
from fitness.db.runs import bulk_create_runs, get_all_runs
from fitness.db.runs_history import get_run_history, update_run_with_history
from tests.factories import RunFactory

PROJECT_ROOT = Path(__file__).resolve().parents[2]

START_AND_REPORT = """
import logging, sys
logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stdout)
from fitness.db.connection import database_url
import psycopg
with psycopg.connect(database_url()) as conn:
    print("STARTED", conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0])
"""


def terminate_other_backends(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as admin:
        row = admin.execute(
            """
            SELECT count(pg_terminate_backend(pid))
            FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
            """
        ).fetchone()
    return row[0] if row else 0


def test_a_dead_pooled_connection_is_replaced_and_the_read_retried(
    db: str, runs: RunFactory
) -> None:
    bulk_create_runs(runs.many(2))
    with connection() as conn:
        first_pid = conn.info.backend_pid
    assert terminate_other_backends(db) >= 1
    assert len(get_all_runs()) == 2
    with connection() as conn:
        assert conn.info.backend_pid != first_pid


def test_an_edit_whose_connection_died_is_applied_exactly_once(db: str, runs: RunFactory) -> None:
    run = runs.make()
    bulk_create_runs([run])
    terminate_other_backends(db)
    edited = update_run_with_history(run.id, {"distance": 8.0}, changed_by="me")
    assert edited.version == 2
    assert [v.version_number for v in get_run_history(run.id)] == [2, 1]


def test_alembic_and_the_library_share_one_embedded_server_per_data_dir(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env |= {"FITNESS_ENV": "dev", "FITNESS_DATA_DIR": str(tmp_path / "data")}
    upgrade = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"Using the embedded PostgreSQL in {tmp_path / 'data' / 'pgdata'}" in upgrade.stderr

    def start() -> str:
        result = subprocess.run(
            [sys.executable, "-c", START_AND_REPORT],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    with ThreadPoolExecutor(max_workers=2) as pool:
        outputs = list(pool.map(lambda _: start(), range(2)))
    for output in outputs:
        assert output.count("Using the embedded PostgreSQL") == 1
        assert "STARTED" in output
    assert (tmp_path / "data" / "pgdata" / "PG_VERSION").read_text().strip() == "18"
