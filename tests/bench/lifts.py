"""The versioned edit rate of lifts, beside the runs' (workloads.edit_workloads): the same
mechanism (fitness.db._versioned) should give the same ratio to pgbench running our SQL.

Lifts carry their whole workout as JSONB (5 exercises of 4 sets here, about 2 kB), so each
version copies it into `lifts_history`: the ratio shows what that costs beside runs.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

from fitness.db.lifts import import_lifts
from fitness.db.lifts_history import update_lift_with_history
from fitness.lift_models import LIFT, Lift
from tests.bench import data
from tests.bench.measure import capture_queries, only_query, run_threads
from tests.bench.pgbench import build_script
from tests.bench.report import Check, Result, Target
from tests.bench.workloads import EDITOR, Bench, pgbench_rate

FIRST_START = datetime(2020, 1, 6, 17, tzinfo=UTC)


def lift_edit_workloads(bench: Bench) -> list[Result]:
    """Edits of random lifts' titles from the edit threads, against pgbench."""
    sizes = bench.sizes
    count = max(200, sizes.runs // 10)
    import_lifts((_lift(n) for n in range(count)), changed_by=EDITOR)
    titles = itertools.count(1)
    rngs = [random.Random(data.SEED + 200 + i) for i in range(sizes.edit_threads)]

    def edit_random_lift(thread: int, _call: int) -> None:
        lift_id = f"hevy_{rngs[thread].randrange(count)}"
        update_lift_with_history(lift_id, {"title": f"Lift {next(titles)}"}, EDITOR)

    probe = only_query(
        capture_queries(
            bench.url,
            lambda conn: update_lift_with_history("hevy_0", {"title": "probe"}, EDITOR, conn=conn),
        ),
        "update_lift_with_history",
    )
    script = build_script(
        probe,
        variables={"lift_id": "('hevy_' || :n)", "title": "('pgbench ' || :d)"},
        setup=(f"\\set n random(0, {count - 1})", "\\set d random(1, 1000000000)"),
        in_transaction=True,
        url=bench.url,
    )
    run_threads(sizes.edit_threads, 12, edit_random_lift, max_seconds=sizes.loop_seconds)
    ours: list[float] = []
    baseline: list[float] = []
    failures = completed = 0
    for _ in range(sizes.repeats):
        run = run_threads(
            sizes.edit_threads,
            sizes.edits_per_thread,
            edit_random_lift,
            max_seconds=sizes.loop_seconds,
        )
        ours.append(run.rate)
        failures += run.failures
        completed += run.completed
        baseline.append(pgbench_rate(bench, script, "lift_edits", sizes.edits_per_thread))
    threads = sizes.edit_threads
    return [
        Result(
            workload=f"edits, {threads} threads, different lifts (update_lift_with_history)",
            unit="edits/s",
            ours=bench.samples(ours),
            baseline=bench.samples(baseline),
            baseline_label=f"pgbench -c {threads}, same transaction",
            target=Target(">=", 0.5),
            judged=sizes.judges_targets,
            checks=(
                Check(
                    "failures", failures == 0, f"{failures} of {completed + failures} edits failed"
                ),
            ),
            notes=(f"{count} lifts of 5 exercises × 4 sets (the workout is JSONB)",),
        )
    ]


def _lift(n: int) -> Lift:
    start = FIRST_START + timedelta(days=n)
    exercises = [
        {
            "index": e,
            "title": f"Exercise {e}",
            "exercise_template_id": f"T{e:07d}",
            "primary_muscle_group": "chest",
            "secondary_muscle_groups": ["triceps"],
            "sets": [
                {"index": s, "type": "normal", "weight_kg": 60.0 + s * 2.5, "reps": 8, "rpe": 8.0}
                for s in range(4)
            ],
        }
        for e in range(5)
    ]
    return LIFT.validate_python(
        {
            "id": f"hevy_{n}",
            "datetime_utc": start,
            "end_utc": start + timedelta(hours=1),
            "title": f"Lift {n}",
            "exercises": exercises,
        }
    )
