"""The MMF workload: parse and import a generated export in a child process, watching memory.

The target is absolute: the import streams the file, so its peak resident set stays under
250 MB however long the export. There is no baseline (nothing else parses MMF's CSV).
"""

from __future__ import annotations

import json
import subprocess
import sys

from fitness.config import PROJECT_ROOT
from tests.bench import data
from tests.bench.report import Check, Result, Target
from tests.bench.workloads import Bench

PEAK_RSS_LIMIT_MB = 250


def mmf_workloads(bench: Bench) -> list[Result]:
    """Import the export `mmf_repeats` times into the bench database, removing it between."""
    sizes = bench.sizes
    path = bench.work_dir / "mmf_export.csv"
    expected = data.write_mmf_csv(path, sizes.mmf_rows)
    megabytes = path.stat().st_size / 1e6
    seconds: list[float] = []
    peaks: list[float] = []
    problems: list[str] = []
    for _ in range(sizes.mmf_repeats):
        data.remove_mmf_import(bench.url)
        report = _import_in_child(str(path), timeout=sizes.loop_seconds + 300)
        seconds.append(report["seconds"])
        if report["peak_rss_bytes"] is not None:
            peaks.append(report["peak_rss_bytes"] / 1e6)
        if report["inserted"] != expected or report["errors"]:
            problems.append(
                f"inserted {report['inserted']} of {expected} runs, {report['errors']} bad rows"
            )
    data.remove_mmf_import(bench.url)
    rows = f"{sizes.mmf_rows:,} rows ({megabytes:.0f} MB)"
    results = [
        Result(
            workload=f"MMF CSV parse + import, {rows}",
            unit="s",
            ours=bench.samples(seconds),
            checks=(
                Check(
                    "imported",
                    not problems,
                    "; ".join(problems) or f"{expected:,} runs inserted, every row accepted",
                ),
            ),
        )
    ]
    if peaks:
        results.append(
            Result(
                workload=f"MMF CSV parse + import, {rows}: peak RSS of the process",
                unit="MB",
                ours=bench.samples(peaks),
                target=Target("<", PEAK_RSS_LIMIT_MB, absolute=True),
                judged=sizes.judges_targets,
            )
        )
    return results


def _import_in_child(path: str, *, timeout: float) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.mmf_child", path],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the MMF import child failed (exit {done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
