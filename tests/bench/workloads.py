"""The database workloads: each measures a library call and PostgreSQL doing the same SQL.

Ours and the baseline alternate within every repetition, so a noisy neighbour on the
machine slows both sides of a ratio alike.
"""

from __future__ import annotations

import itertools
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg

from fitness.db.connection import get_pool
from fitness.db.runs import (
    bulk_create_runs,
    get_all_run_details,
    get_run_by_id,
    get_run_details_in_date_range,
)
from fitness.db.runs_history import update_run_with_history
from fitness.models import Run
from tests.bench import data
from tests.bench.data import Dataset
from tests.bench.database import BenchDatabase
from tests.bench.measure import (
    CapturedQuery,
    Profiler,
    Samples,
    ThreadRun,
    capture_queries,
    only_query,
    run_threads,
    time_once,
)
from tests.bench.pgbench import build_script, run_pgbench
from tests.bench.profiling import ProfileLog
from tests.bench.report import Check, Result, Target
from tests.bench.sizes import Sizes

EDITOR = "bench"


@dataclass
class Bench:
    """Everything a workload needs: the database, the sizes, the data, a scratch dir."""

    db: BenchDatabase
    sizes: Sizes
    dataset: Dataset
    work_dir: Path
    profile_log: ProfileLog | None = None

    @property
    def url(self) -> str:
        return self.db.url

    def samples(self, values: list[float]) -> Samples:
        return Samples(tuple(values))


def load_dataset(bench: Bench) -> None:
    """Leave the database as every read and edit workload expects it: the dataset imported
    by the library, calendar events for most runs, statistics up to date."""
    data.empty_runs(bench.url)
    _import_all(bench.dataset.runs)
    data.add_calendar_state(bench.url)


def import_runs_workload(bench: Bench) -> Result:
    """`bulk_create_runs` of the whole dataset into empty tables, against COPY of the same."""
    runs = bench.dataset.runs
    ours: list[float] = []
    baseline: list[float] = []

    with psycopg.connect(bench.url) as copy_conn:
        for repeat in range(bench.sizes.repeats):
            data.empty_runs(bench.url)
            ours.append(
                _profiled(bench, "import", repeat, lambda: time_once(lambda: _import_all(runs)))
            )
            data.empty_runs(bench.url)
            baseline.append(time_once(lambda: _copy_runs_and_history(copy_conn, runs)))
    load_dataset(bench)
    return Result(
        workload=f"import {len(runs):,} runs with their original versions (bulk_create_runs)",
        unit="s",
        ours=bench.samples(ours),
        baseline=bench.samples(baseline),
        baseline_label="COPY",
        target=Target("<=", 1.5),
        judged=bench.sizes.judges_targets,
    )


def point_read_workload(bench: Bench) -> Result:
    """`get_run_by_id` in one thread, against the same SELECT on a warm connection."""
    rng = random.Random(data.SEED + 1)
    ids = [rng.choice(bench.dataset.runs).id for _ in range(bench.sizes.point_reads)]
    captured = only_query(
        capture_queries(bench.url, lambda conn: get_run_by_id(ids[0], conn=conn)),
        "get_run_by_id",
    )
    calls, limit = len(ids), bench.sizes.loop_seconds
    ours: list[float] = []
    baseline: list[float] = []
    with _connection_like_ours() as conn:
        replay = _replayer(conn, captured, ids[0])

        def read_ours(block: range) -> float:
            return time_once(lambda: [get_run_by_id(ids[i]) for i in block])

        def read_baseline(block: range) -> float:
            return time_once(lambda: [replay(ids[i]).fetchone() for i in block])

        read_ours(range(min(calls, 50)))  # warm: the pool, prepared statements
        read_baseline(range(min(calls, 50)))
        for repeat in range(bench.sizes.repeats):
            # Blocks of 100 calls, ours and baseline in turn, so both meet the same noise.
            deadline = time.monotonic() + limit
            ours_seconds = baseline_seconds = 0.0
            done = 0
            for start in range(0, calls, 100):
                block = range(start, min(start + 100, calls))
                ours_seconds += _profiled(
                    bench, "get_run_by_id", repeat, lambda b=block: read_ours(b)
                )
                baseline_seconds += read_baseline(block)
                done += len(block)
                if time.monotonic() > deadline:
                    break
            ours.append(1e6 * ours_seconds / done)
            baseline.append(1e6 * baseline_seconds / done)
    return Result(
        workload=f"get_run_by_id, {calls:,} calls, one thread",
        unit="µs/call",
        ours=bench.samples(ours),
        baseline=bench.samples(baseline),
        baseline_label="same SELECT, warm connection",
        target=Target("<=", 1.5),
        judged=bench.sizes.judges_targets,
    )


def all_details_workload(bench: Bench) -> Result:
    """`get_all_run_details()` against the same query fetched as tuples."""
    captured = only_query(
        capture_queries(bench.url, lambda conn: get_all_run_details(conn=conn)),
        "get_all_run_details",
    )
    ours, baseline = _compare_fetch_all(
        bench, "get_all_run_details", captured, lambda: get_all_run_details()
    )
    return Result(
        workload=f"get_all_run_details() on {len(bench.dataset.runs):,} runs",
        unit="ms",
        ours=ours,
        baseline=baseline,
        baseline_label="same query, tuples",
        target=Target("<=", 1.5),
        judged=bench.sizes.judges_targets,
    )


def date_range_workload(bench: Bench) -> Result:
    """`get_run_details_in_date_range` for one calendar year, and the plan it gets."""
    year = bench.dataset.first_year + bench.sizes.years // 2
    start, end = date(year, 1, 1), date(year, 12, 31)
    captured = only_query(
        capture_queries(
            bench.url, lambda conn: get_run_details_in_date_range(start, end, conn=conn)
        ),
        "get_run_details_in_date_range",
    )
    ours, baseline = _compare_fetch_all(
        bench,
        "get_run_details_in_date_range",
        captured,
        lambda: get_run_details_in_date_range(start, end),
    )
    uses_index, scan = _runs_scan(bench.url, captured)
    return Result(
        workload=f"get_run_details_in_date_range for one year ({year})",
        unit="ms",
        ours=ours,
        baseline=baseline,
        baseline_label="same query, tuples",
        target=Target("<=", 1.5),
        judged=bench.sizes.judges_targets,
        checks=(
            Check(
                "EXPLAIN",
                uses_index,
                scan,
                # A table of a few hundred rows is rightly read sequentially.
                judged=bench.sizes.judges_targets,
            ),
        ),
    )


def edit_workloads(bench: Bench) -> list[Result]:
    """Edits from 8 threads, on random runs and on one hot run, against pgbench."""
    sizes, dataset = bench.sizes, bench.dataset
    # pgbench draws distances in 1..30 miles, ours are all distinct and above 30, so every
    # edit of ours really changes the run and must create exactly one version.
    distances = itertools.count(1)
    rngs = [random.Random(data.SEED + 100 + i) for i in range(sizes.edit_threads)]

    def edit_random_run(thread: int, _call: int) -> None:
        run_id = dataset.edit_target(rngs[thread])
        update_run_with_history(run_id, {"distance": 30 + next(distances) / 1e5}, EDITOR)

    def edit_hot_run(_thread: int, _call: int) -> None:
        update_run_with_history(
            dataset.hot_run_id, {"distance": 30 + next(distances) / 1e5}, EDITOR
        )

    spread_scripts = (
        edit_pgbench_script(bench, hot=False),
        edit_pgbench_script(bench, hot=False, in_transaction=False),
    )
    hot_scripts = (
        edit_pgbench_script(bench, hot=True),
        edit_pgbench_script(bench, hot=True, in_transaction=False),
    )
    # Fill the pool with a connection per thread and let psycopg prepare the statement.
    run_threads(sizes.edit_threads, 12, edit_random_run, max_seconds=sizes.loop_seconds)
    spread = compare_edits(
        bench, "edits_different_runs", edit_random_run, spread_scripts, sizes.edits_per_thread
    )
    hot = compare_edits(
        bench, "edits_hot_run", edit_hot_run, hot_scripts, sizes.hot_edits_per_thread
    )
    gaps = _version_gaps(bench.url, dataset.hot_run_id)
    versions_added_by_us = hot.hot_run_versions_added
    threads = sizes.edit_threads
    return [
        Result(
            workload=f"edits, {threads} threads, different runs (update_run_with_history)",
            unit="edits/s",
            ours=spread.ours,
            baseline=spread.baseline,
            baseline_label=f"pgbench -c {threads}, same transaction",
            target=Target(">=", 0.5),
            judged=sizes.judges_targets,
            checks=(Check("failures", spread.failures == 0, spread.failure_detail()),),
            notes=(spread.one_round_trip_note(),),
        ),
        Result(
            workload=f"edits, {threads} threads, the same run",
            unit="edits/s",
            ours=hot.ours,
            baseline=hot.baseline,
            baseline_label=f"pgbench -c {threads}, same transaction, one row",
            target=Target(">=", 0.5),
            judged=sizes.judges_targets,
            checks=(
                Check("failures", hot.failures == 0, hot.failure_detail()),
                Check(
                    "versions",
                    not gaps and versions_added_by_us == hot.completed,
                    f"{versions_added_by_us} versions for {hot.completed} successful edits; "
                    + ("gap-free" if not gaps else f"gaps or duplicates: {gaps}"),
                ),
            ),
            notes=(hot.one_round_trip_note(),),
        ),
    ]


def edit_pgbench_script(bench: Bench, *, hot: bool, in_transaction: bool = True) -> str:
    """The pgbench script of one edit, of a random run or of the hot run, in our SQL.

    `in_transaction`: what one `update_run_with_history` sends (BEGIN, the statement,
    COMMIT: `fitness.db.connection.transaction`); otherwise the statement alone, which
    PostgreSQL runs as its own transaction in one round trip.
    """
    probe = only_query(
        capture_queries(
            bench.url,
            lambda conn: update_run_with_history(
                bench.dataset.hot_run_id, {"distance": 12.345}, changed_by=EDITOR, conn=conn
            ),
        ),
        "update_run_with_history",
    )
    if hot:
        pick = (f"\\set n {data.STRAVA_ID_BASE + 1}",)
    else:
        pick = (
            f"\\set k random(1, {bench.dataset.strava_count})",
            f"\\set n {data.STRAVA_ID_BASE} + :k",
        )
    return build_script(
        probe,
        variables={"run_id": "('strava_' || :n)", "distance": ":d"},
        setup=(*pick, "\\set d random(1000, 30000) / 1000.0"),
        in_transaction=in_transaction,
        url=bench.url,
    )


@dataclass(frozen=True, slots=True)
class _EditComparison:
    ours: Samples
    baseline: Samples
    statement_alone: Samples
    completed: int
    failures: int
    errors: tuple[str, ...]
    hot_run_versions_added: int

    def failure_detail(self) -> str:
        detail = f"{self.failures} of {self.completed + self.failures} edits failed"
        return detail + (f" ({'; '.join(self.errors)})" if self.errors else "")

    def one_round_trip_note(self) -> str:
        pairs = zip(self.ours.values, self.statement_alone.values, strict=True)
        ratio = statistics.median(ours / alone for ours, alone in pairs)
        return (
            f"pgbench running the statement alone (its own transaction, one round trip "
            f"instead of three): {self.statement_alone.median:,.0f}/s; ours is {ratio:.2f}× that"
        )


def compare_edits(
    bench: Bench,
    name: str,
    edit: Callable[[int, int], None],
    scripts: tuple[str, str],
    per_thread: int,
) -> _EditComparison:
    """Ours, then pgbench with the same transaction, then pgbench with the statement alone
    (also for rides: tests/bench/rides.py)."""
    sizes = bench.sizes
    ours: list[float] = []
    baseline: list[float] = []
    statement_alone: list[float] = []
    completed = failures = 0
    errors: list[str] = []
    added = 0
    hot_id = bench.dataset.hot_run_id
    for repeat in range(sizes.repeats):
        before = _current_version(bench.url, hot_id)
        profiler = Profiler() if _profiling(bench, repeat) else None
        run: ThreadRun = run_threads(
            sizes.edit_threads, per_thread, edit, max_seconds=sizes.loop_seconds, profiler=profiler
        )
        if profiler and bench.profile_log:
            bench.profile_log.add(name, profiler.profiles())
        added += _current_version(bench.url, hot_id) - before
        ours.append(run.rate)
        completed += run.completed
        failures += run.failures
        errors.extend(run.first_errors[: 5 - len(errors)])
        baseline.append(pgbench_rate(bench, scripts[0], name, per_thread))
        statement_alone.append(pgbench_rate(bench, scripts[1], f"{name}_alone", per_thread))
    return _EditComparison(
        ours=bench.samples(ours),
        baseline=bench.samples(baseline),
        statement_alone=bench.samples(statement_alone),
        completed=completed,
        failures=failures,
        errors=tuple(errors),
        hot_run_versions_added=added,
    )


def pgbench_rate(bench: Bench, script: str, name: str, per_client: int) -> float:
    """Transactions per second of `script` from as many pgbench clients as edit threads."""
    sizes = bench.sizes
    pg = run_pgbench(
        bench.url,
        script,
        clients=sizes.edit_threads,
        transactions_per_client=per_client,
        work_dir=bench.work_dir,
        name=name,
        timeout=sizes.loop_seconds + 60,
    )
    if pg.failed:
        raise RuntimeError(f"pgbench reported {pg.failed} failed transactions in {name}")
    return pg.tps


def _compare_fetch_all(
    bench: Bench, name: str, captured: CapturedQuery, call: Callable[[], list[object]]
) -> tuple[Samples, Samples]:
    ours: list[float] = []
    baseline: list[float] = []
    with _connection_like_ours() as conn:
        replay = _replayer(conn, captured, None)
        for _ in range(2):  # warm: caches, the pool, psycopg's loaders
            call()
            replay(None).fetchall()
        deadline = time.monotonic() + bench.sizes.loop_seconds
        for repeat in range(bench.sizes.read_repeats):
            ours.append(1e3 * _profiled(bench, name, repeat, lambda: time_once(call)))
            baseline.append(1e3 * time_once(lambda: replay(None).fetchall()))
            if time.monotonic() > deadline:
                break
    return bench.samples(ours), bench.samples(baseline)


def _connection_like_ours() -> psycopg.Connection:
    """A connection with exactly the parameters of the library's pooled ones (session time
    zone, timeouts, prepared statements), in autocommit: one round trip per statement."""
    pool = get_pool()
    return psycopg.connect(pool.conninfo, **{**pool.kwargs, "autocommit": True})


def _replayer(
    conn: psycopg.Connection, captured: CapturedQuery, probe: object
) -> Callable[[object], psycopg.Cursor]:
    """Run the captured statement again, with `probe`'s parameter replaced by a new value."""

    def replay(value: object) -> psycopg.Cursor:
        params = captured.params if probe is None else captured.with_value(probe, value)
        return conn.execute(captured.query, params)  # type: ignore[arg-type]

    return replay


def _profiled(bench: Bench, name: str, repeat: int, measure: Callable[[], float]) -> float:
    """The figure `measure()` returns, profiled in the first repetition under `--profile`."""
    if _profiling(bench, repeat) and bench.profile_log:
        profile = Profiler().thread_profile()
        figure = profile.runcall(measure)
        bench.profile_log.add(name, [profile])
        return figure
    return measure()


def _profiling(bench: Bench, repeat: int) -> bool:
    return bench.profile_log is not None and repeat == 0


def _import_all(runs: list[Run]) -> None:
    inserted = bulk_create_runs(runs)
    if inserted != len(runs):
        raise AssertionError(f"bulk_create_runs inserted {inserted} of {len(runs)} runs")


# Binary COPY, the fastest way in: the baseline is the best PostgreSQL and psycopg can do.
_COPY_RUNS = """
COPY runs (id, datetime_utc, type, distance, duration, source, avg_heart_rate, shoe_id)
FROM STDIN (FORMAT BINARY)
"""
_RUNS_TYPES = ("text", "timestamptz", "text", "float8", "float8", "text", "float8", "text")
_COPY_HISTORY = """
COPY runs_history (run_id, version_number, change_type, datetime_utc, type, distance,
                   duration, source, avg_heart_rate, shoe_id, changed_by)
FROM STDIN (FORMAT BINARY)
"""
_HISTORY_TYPES = (
    "text", "int4", "text", "timestamptz", "text", "float8", "float8", "text", "float8",
    "text", "text",
)  # fmt: skip


def _copy_runs_and_history(conn: psycopg.Connection, runs: list[Run]) -> None:
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(_COPY_RUNS) as copy:
            copy.set_types(_RUNS_TYPES)
            for run in runs:
                copy.write_row(
                    (
                        run.id,
                        run.datetime_utc,
                        run.type,
                        run.distance,
                        run.duration,
                        run.source,
                        run.avg_heart_rate,
                        run.shoe_id,
                    )
                )
        with cur.copy(_COPY_HISTORY) as copy:
            copy.set_types(_HISTORY_TYPES)
            for run in runs:
                copy.write_row(
                    (
                        run.id,
                        1,
                        "original",
                        run.datetime_utc,
                        run.type,
                        run.distance,
                        run.duration,
                        run.source,
                        run.avg_heart_rate,
                        run.shoe_id,
                        "import",
                    )
                )


def _runs_scan(url: str, captured: CapturedQuery) -> tuple[bool, str]:
    """Whether the plan reads `runs` through an index, and how (e.g. 'Index Scan using ...')."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "EXPLAIN (FORMAT JSON) " + captured.query,
            captured.params,  # type: ignore[arg-type]
        ).fetchone()
    assert row is not None
    nodes = _plan_nodes(row[0][0]["Plan"])
    scans = [node for node in nodes if node.get("Relation Name") == "runs"]
    if len(scans) != 1:
        return False, f"{len(scans)} scans of runs in the plan"
    scan = scans[0]
    kind = str(scan["Node Type"])
    if kind in ("Index Scan", "Index Only Scan"):
        backward = " Backward" if scan.get("Scan Direction") == "Backward" else ""
        return True, f"{kind}{backward} using {scan['Index Name']} on runs"
    if kind == "Bitmap Heap Scan":
        # For a year (a tenth of the runs) PostgreSQL rightly prefers a bitmap of the
        # index's matches to visiting the heap in index order; both read only that range.
        indexes = [node for node in _plan_nodes(scan) if node["Node Type"] == "Bitmap Index Scan"]
        if indexes:
            names = ", ".join(str(node["Index Name"]) for node in indexes)
            return True, f"Bitmap Heap Scan on runs via Bitmap Index Scan using {names}"
    return False, f"{kind} on runs"


def _plan_nodes(plan: dict[str, object]) -> list[dict[str, object]]:
    nodes = [plan]
    for child in plan.get("Plans", []):  # type: ignore[union-attr]
        nodes.extend(_plan_nodes(child))
    return nodes


def _current_version(url: str, run_id: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT version FROM runs WHERE id = %s", (run_id,)).fetchone()
    assert row is not None
    return int(row[0])


def _version_gaps(url: str, run_id: str) -> list[str]:
    """What is wrong with the run's versions: missing or repeated numbers, or a mismatch."""
    with psycopg.connect(url, autocommit=True) as conn:
        numbers = [
            row[0]
            for row in conn.execute(
                "SELECT version_number FROM runs_history WHERE run_id = %s ORDER BY 1", (run_id,)
            )
        ]
        current = _current_version(url, run_id)
    problems = []
    if numbers != list(range(1, current + 1)):
        expected = set(range(1, current + 1))
        missing = sorted(expected - set(numbers))[:5]
        repeated = sorted({n for n in numbers if numbers.count(n) > 1})[:5]
        problems.append(f"runs.version={current}, missing {missing}, repeated {repeated}")
    return problems
