"""The benchmark still runs: `python -m tests.bench --smoke` on the test server, every workload.

Smoke sizes are tiny and judge no ratio (a noisy machine must not fail a test); this proves
that each workload, its baseline and the report still work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_the_smoke_benchmark_runs_every_workload_and_writes_its_results(
    postgres_server_url: str, tmp_path: Path
) -> None:
    results_path = tmp_path / "bench-results.json"
    env = os.environ | {"FITNESS_BENCH_DATABASE_URL": postgres_server_url}
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--smoke", "--json", str(results_path)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(results_path.read_text())
    assert results["mode"] == "smoke"
    assert results["passed"] is True
    workloads = [row["workload"] for row in results["results"]]
    for expected in ("import", "get_run_by_id", "get_all_run_details", "date_range", "edits"):
        assert any(expected in workload for workload in workloads), (expected, workloads)
    for expected in (
        "API PATCH",
        "edits, 8 threads, different rides",
        "edits, 8 threads, different lifts",
        "API GET",
        "MMF CSV",
        "stats: totals",
        "stats: records",
        "Strava archive import",
        "Strava archive CSV path",
        "page:",
    ):
        assert any(workload.startswith(expected) for workload in workloads), (expected, workloads)
    assert all(row["samples"] and row["median"] > 0 for row in results["results"])
    # Every statistic, each beside its bare aggregate, its own statement run bare, and Python.
    statistics = [row for row in results["results"] if row["workload"].startswith("stats: ")]
    assert len(statistics) == 7, [row["workload"] for row in statistics]
    for row in statistics:
        assert row["baseline"] and row["ratio"] is not None, row
        notes = " ".join(row["notes"])
        assert "the same statement bare through psycopg" in notes, row
        assert "Python over fetched rows" in notes, row
    assert "| workload | unit | median |" in done.stdout
