"""The benchmark's command line: set up the database and data, run the workloads, report.

uv run python -m tests.bench [--quick | --smoke] [--json PATH] [--only NAME,...] [--profile]
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fitness.db.connection import close_pool
from tests.bench import data
from tests.bench.api import api_workloads
from tests.bench.archive import archive_workloads
from tests.bench.database import bench_database
from tests.bench.lifts import lift_edit_workloads
from tests.bench.mmf import mmf_workloads
from tests.bench.pages import pages_workloads
from tests.bench.profiling import ProfileLog
from tests.bench.report import BenchRun, Result, markdown_table, write_json
from tests.bench.rides import ride_edit_workloads
from tests.bench.sizes import FULL, QUICK, SMOKE, Sizes
from tests.bench.stats import stats_workloads
from tests.bench.workloads import (
    Bench,
    all_details_workload,
    date_range_workload,
    edit_workloads,
    import_runs_workload,
    load_dataset,
    point_read_workload,
)

Workload = Callable[[Bench], list[Result]]

# In this order: the import leaves the dataset loaded for the reads; edits come after the
# reads so that the reads see the freshly imported data; pages come last (they add runs).
WORKLOADS: dict[str, Workload] = {
    "import": lambda bench: [import_runs_workload(bench)],
    "point_read": lambda bench: [point_read_workload(bench)],
    "all_details": lambda bench: [all_details_workload(bench)],
    "date_range": lambda bench: [date_range_workload(bench)],
    "stats": stats_workloads,
    "edits": edit_workloads,
    "ride_edits": ride_edit_workloads,
    "lift_edits": lift_edit_workloads,
    "api": api_workloads,
    "mmf": mmf_workloads,
    "archive": archive_workloads,
    # Last: it adds a year of runs ending today, for the dashboard's recent weeks.
    "pages": pages_workloads,
}


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    sizes: Sizes = QUICK if args.quick else SMOKE if args.smoke else FULL
    selected = _selected(args.only)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    profile_log = ProfileLog() if args.profile else None
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="fitness-bench-") as tmp,
        bench_database(Path(tmp)) as db,
    ):
        _say(f"benchmark ({sizes.mode}) on {db.server_version}, {db.served_by}")
        shoe_ids = data.create_shoes(sizes.shoes)
        dataset = data.make_runs(sizes.runs, sizes.years, shoe_ids)
        # The bench's own objects (the dataset above all) are not the measured code's: keep
        # the garbage collector from walking them again and again during the workloads.
        gc.collect()
        gc.freeze()
        bench = Bench(db, sizes, dataset, Path(tmp), profile_log)
        if "import" not in selected:
            load_dataset(bench)
        results: list[Result] = []
        try:
            for name in selected:
                began = time.monotonic()
                results.extend(WORKLOADS[name](bench))
                _say(f"{name}: {time.monotonic() - began:.1f} s")
        finally:
            close_pool()
        run = BenchRun(
            mode=sizes.mode, postgresql=db.server_version, served_by=db.served_by, results=results
        )
    if profile_log:
        print(profile_log.report())
    print(markdown_table(run))
    write_json(run, args.json)
    _say(f"wrote {args.json} after {time.monotonic() - started:.0f} s")
    if not run.passed:
        _say("a target was missed or a check failed")
    return 0 if run.passed else 1


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description="Benchmark fitness against PostgreSQL running the same SQL (issue 5).",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller data, under a minute")
    size.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes: proves every workload runs, judges no ratio",
    )
    parser.add_argument(
        "--json", type=Path, default=Path("bench-results.json"), help="where to write the results"
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated workloads, of: {', '.join(WORKLOADS)}"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile our side of each workload and print it"
    )
    return parser.parse_args(argv)


def _selected(only: str) -> list[str]:
    names = [name.strip() for name in only.split(",") if name.strip()]
    unknown = set(names) - set(WORKLOADS)
    if unknown:
        raise SystemExit(f"unknown workloads: {', '.join(sorted(unknown))}")
    return [name for name in WORKLOADS if not names or name in names]


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)
