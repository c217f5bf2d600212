"""A restore streams: the peak memory of `fitness db restore` does not grow with the backup.

Each backup is restored by the real command in a process of its own, and its peak resident
set size (that of the process and of the pg_restore it runs) is read from the kernel when it
ends. A realistic backup (20,000 runs over ten years, their versions and an edit for one run
in twenty) must not need more memory than one a quarter of its size, and neither must a
backup whose one row holds 64 MiB that compress to almost nothing (a 1.1 MB backup of that
kind once took 1.26 GB to restore).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

from fitness.config import PROJECT_ROOT
from fitness.db.backup import backup_database
from fitness.db.migrations import upgrade_to_head
from fitness.db.runs import import_runs
from fitness.db.runs_history import update_run_with_history
from fitness.db.shoes import create_shoe
from tests.bench.data import SHOE_NAMES, make_runs

REALISTIC_RUNS = 20_000
SMALL_RUNS = REALISTIC_RUNS // 4
# What Python, psycopg, Alembic and pglast take before any row moves is about 90 MB.
PEAK_RSS_LIMIT_MB = 200
# Growth allowed from a backup to one four times its size: noise, not rows.
GROWTH_LIMIT_MB = 16


HUGE_VALUE_BYTES = 64 * 1024 * 1024


def make_backup(url: str, runs: int, path: Path, *, huge_note: bool = False) -> Path:
    """A backup of `runs` seeded runs over ten years, with one edit per twenty runs (and,
    with `huge_note`, a shoe whose notes are 64 MiB of one letter: a row kept from before
    the bound on notes, which holds NOT VALID as the migration that adds it leaves it)."""
    upgrade_to_head(url)
    with psycopg.connect(url) as conn:
        shoe_ids = [create_shoe(name, conn=conn).id for name in SHOE_NAMES]
        dataset = make_runs(runs, years=10, shoe_ids=shoe_ids)
        import_runs(dataset.runs, conn=conn)
        rng = random.Random(runs)
        for run in rng.sample(dataset.runs, runs // 20):
            update_run_with_history(
                run.id, {"distance": round(float(run.distance) * 1.02, 2)}, "test", conn=conn
            )
        if huge_note:
            (bound,) = conn.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conname = 'shoes_notes_check'"
            ).fetchone()  # type: ignore[misc]
            conn.execute("ALTER TABLE shoes DROP CONSTRAINT shoes_notes_check")
            conn.execute(
                "UPDATE shoes SET notes = repeat('x', %s) WHERE id = %s",
                (HUGE_VALUE_BYTES, shoe_ids[0]),
            )
            conn.execute(
                sql.SQL("ALTER TABLE shoes ADD CONSTRAINT shoes_notes_check {} NOT VALID").format(
                    sql.SQL(bound)
                )
            )
    backup_database(path, url=url)
    return path


# Runs a command and reports its peak RSS. A process started by pytest itself would count
# pytest's memory: Linux carries the peak of the address space a child starts from across
# its exec. Started from this small process, the command starts from a small one.
LAUNCHER = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True)
print(json.dumps({
    "status": done.returncode,
    "out": done.stdout.decode(errors="replace"),
    "err": done.stderr.decode(errors="replace"),
    "peak_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
}))
"""


def peak_rss_of_restore(backup: Path, url: str) -> float:
    """Run `fitness db restore` into `url` and return its peak RSS in MB."""
    launched = subprocess.run(
        [
            sys.executable,
            "-c",
            LAUNCHER,
            sys.executable,
            "-m",
            "fitness.cli",
            "db",
            "restore",
            str(backup),
        ],
        cwd=PROJECT_ROOT,
        env=os.environ | {"DATABASE_URL": url, "FITNESS_ENV": "dev"},
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(launched.stdout)
    assert report["status"] == 0, report["err"]
    assert report["out"].startswith("restored "), report["out"]
    return report["peak_kb"] / 1024  # kilobytes on Linux


def test_restore_memory_does_not_grow_with_the_backup(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    small = make_backup(make_database(), SMALL_RUNS, tmp_path / "small.dump")
    realistic = make_backup(make_database(), REALISTIC_RUNS, tmp_path / "realistic.dump")
    bomb = make_backup(make_database(), SMALL_RUNS, tmp_path / "bomb.dump", huge_note=True)

    small_mb = peak_rss_of_restore(small, make_database())
    realistic_mb = peak_rss_of_restore(realistic, make_database())
    bomb_mb = peak_rss_of_restore(bomb, make_database())

    print(
        f"\nrestore peak RSS: {realistic_mb:.0f} MB for a {realistic.stat().st_size / 1e6:.1f} MB "
        f"backup of {REALISTIC_RUNS:,} runs, {small_mb:.0f} MB for "
        f"{small.stat().st_size / 1e6:.1f} MB ({SMALL_RUNS:,} runs), {bomb_mb:.0f} MB for "
        f"{bomb.stat().st_size / 1e6:.1f} MB holding a 64 MiB value"
    )
    assert realistic_mb < PEAK_RSS_LIMIT_MB
    assert realistic_mb - small_mb < GROWTH_LIMIT_MB
    assert bomb_mb - small_mb < GROWTH_LIMIT_MB
