"""The pages workload: each page of fitness/web rendered by the app, in this process, on the
benchmark's dataset.

The dataset's 10 years end before today, and the dashboard looks at the last 52 weeks and
6 months; so a year of runs ending yesterday, as dense as the dataset's years, is imported
first (it runs last, after the workloads that count the dataset's runs). Each page's time
is the app's own, from request to the last byte of the response, through
`httpx.ASGITransport` (no socket); judged on the median against `PAGE_LIMIT_MS` (the
slowest sample, reported beside it, measures the machine's neighbours as much as us).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx

from fitness.api.app import create_app
from fitness.config import get_settings
from fitness.db.runs import import_runs
from fitness.models import Run
from tests.bench import data
from tests.bench.report import Check, Result
from tests.bench.workloads import Bench

PAGE_LIMIT_MS = 100.0


def pages_workloads(bench: Bench) -> list[Result]:
    """Every page, `read_repeats` times each, after one request that warms it up."""
    recent = _recent_year(bench)
    import_runs(recent)
    rarest_shoe = min(
        Counter(run.shoe_id for run in bench.dataset.runs if run.shoe_id).items(),
        key=lambda item: item[1],
    )[0]
    hot = bench.dataset.hot_run_id
    month_start = (datetime.now(UTC) - timedelta(days=45)).date()
    pages = [
        ("dashboard", "/app/"),
        ("runs, newest 100", "/app/runs"),
        ("runs of the least-used shoe", f"/app/runs?shoe_id={rarest_shoe}"),
        ("runs of one month", f"/app/runs?start={month_start}&end={month_start + timedelta(30)}"),
        ("runs, Treadmill, km", "/app/runs?type=Treadmill+Run&units=km"),
        ("a run, with its history", f"/app/runs/{hot}"),
        ("restoring a version: the confirmation", f"/app/runs/{hot}/versions/1/restore"),
        ("shoes", "/app/shoes"),
        ("import", "/app/import"),
        ("connections", "/app/connections"),
    ]
    timings = asyncio.run(_time_pages([path for _, path in pages], bench.sizes.read_repeats))
    results = []
    for (name, path), (status, samples) in zip(pages, timings, strict=True):
        ours = bench.samples(samples)
        results.append(
            Result(
                workload=f"page: {name} (GET {path.split('?')[0]})",
                unit="ms",
                ours=ours,
                checks=(
                    Check("answers 200", status == 200, f"status {status}"),
                    Check(
                        f"under {PAGE_LIMIT_MS:g} ms",
                        ours.median < PAGE_LIMIT_MS,
                        f"median {ours.median:.1f} ms, fastest {ours.min:.1f} ms, "
                        f"slowest {ours.max:.1f} ms of {len(samples)}",
                        judged=bench.sizes.judges_targets,
                    ),
                ),
                notes=(f"{len(bench.dataset.runs) + len(recent):,} runs",),
            )
        )
    return results


async def _time_pages(paths: list[str], repeats: int) -> list[tuple[int, list[float]]]:
    app = create_app(dataclasses.replace(get_settings(), api_tokens=()))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50_000))
    timings = []
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for path in paths:
            status = (await client.get(path)).status_code
            samples = []
            for _ in range(repeats):
                started = time.perf_counter()
                response = await client.get(path)
                samples.append(1e3 * (time.perf_counter() - started))
                status = max(status, response.status_code)
            timings.append((status, samples))
    return timings


def _recent_year(bench: Bench) -> list[Run]:
    """As many runs as one of the dataset's years, over the 365 days ending yesterday."""
    per_year = len(bench.dataset.runs) // max(bench.sizes.years, 1)
    year = data.make_runs(per_year, 1, bench.dataset.shoe_ids, seed=data.SEED + 15)
    shift = datetime.now(UTC) - timedelta(days=367) - data.FIRST_DAY
    return [
        dataclasses.replace(run, id=f"{run.id}_recent", datetime_utc=run.datetime_utc + shift)
        for run in year.runs
    ]
