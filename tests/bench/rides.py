"""The versioned edit rate of rides, beside runs': the same mechanism, so the same ratio.

Rides as many as the dataset's Strava runs (ids `strava_<RIDE_ID_BASE + k>`, so pgbench can
name one), edited from as many threads as runs are, against pgbench running the statement
`update_ride_with_history` sends.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Final

from fitness.db.rides import import_rides, update_ride_with_history
from fitness.ride_models import Ride
from tests.bench import data
from tests.bench.measure import capture_queries, only_query, run_threads
from tests.bench.pgbench import build_script
from tests.bench.report import Check, Result, Target
from tests.bench.workloads import EDITOR, Bench, compare_edits

RIDE_ID_BASE: Final = 20_000_000_000


def ride_edit_workloads(bench: Bench) -> list[Result]:
    """Edits from 8 threads on random rides, against pgbench (cf. `edit_workloads`)."""
    sizes = bench.sizes
    count = max(bench.dataset.strava_count, 1)
    _import_rides(count)
    distances = itertools.count(1)
    rngs = [random.Random(data.SEED + 200 + i) for i in range(sizes.edit_threads)]

    def edit_random_ride(thread: int, _call: int) -> None:
        ride_id = _ride_id(rngs[thread].randint(1, count))
        # pgbench draws 1..30 miles; ours are distinct and above 30: each edit is a version.
        update_ride_with_history(ride_id, {"distance": 30 + next(distances) / 1e5}, EDITOR)

    scripts = (_script(bench, count), _script(bench, count, in_transaction=False))
    run_threads(sizes.edit_threads, 12, edit_random_ride, max_seconds=sizes.loop_seconds)
    spread = compare_edits(
        bench, "edits_different_rides", edit_random_ride, scripts, sizes.edits_per_thread
    )
    threads = sizes.edit_threads
    return [
        Result(
            workload=f"edits, {threads} threads, different rides (update_ride_with_history)",
            unit="edits/s",
            ours=spread.ours,
            baseline=spread.baseline,
            baseline_label=f"pgbench -c {threads}, same transaction",
            target=Target(">=", 0.5),
            judged=sizes.judges_targets,
            checks=(Check("failures", spread.failures == 0, spread.failure_detail()),),
            notes=(spread.one_round_trip_note(),),
        )
    ]


def _import_rides(count: int) -> None:
    start = datetime(2000, 1, 1, 16, tzinfo=UTC)
    import_rides(
        (
            Ride(
                id=_ride_id(k),
                datetime_utc=start + timedelta(hours=6 * k),
                type="Road Ride",
                distance=20 + k % 30,
                duration=3600 + k % 1800,
                source="Strava",
                avg_power=150 + k % 100,
            )
            for k in range(1, count + 1)
        ),
        changed_by=EDITOR,
    )


def _ride_id(k: int) -> str:
    return f"strava_{RIDE_ID_BASE + k}"


def _script(bench: Bench, count: int, *, in_transaction: bool = True) -> str:
    probe = only_query(
        capture_queries(
            bench.url,
            lambda conn: update_ride_with_history(
                _ride_id(1), {"distance": 12.345}, changed_by=EDITOR, conn=conn
            ),
        ),
        "update_ride_with_history",
    )
    return build_script(
        probe,
        variables={"ride_id": "('strava_' || :n)", "distance": ":d"},
        setup=(
            f"\\set k random(1, {count})",
            f"\\set n {RIDE_ID_BASE} + :k",
            "\\set d random(1000, 30000) / 1000.0",
        ),
        in_transaction=in_transaction,
        url=bench.url,
    )
