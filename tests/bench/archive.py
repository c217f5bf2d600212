"""The Strava archive and activity-file workloads.

- A synthetic Strava export in the real format (the 2020 layout of `activities.csv` with its
  duplicated columns, `shoes.csv`, gzipped FIT and GPX files written by Garmin's FIT SDK and
  as Strava writes GPX), imported in a child process: its peak resident set must stay
  under 250 MB, however many activities.
- Activity files per second: the import of that archive against the parsing libraries
  alone (fitdecode, gpxpy) decoding the same files, the limit; the ratio is reported.
- The CSV path: a CSV-only archive per row against the MMF import per row, both dry runs
  of the same number of rows, measured in pairs; within 2x.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import statistics
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fitdecode
import gpxpy

from fitness.config import PROJECT_ROOT
from fitness.services.mmf_import import import_mmf_file
from fitness.services.strava_archive_import import import_strava_archive
from tests.activity_files import FIXTURES, fit_file, gpx_file, gz
from tests.bench import data
from tests.bench.report import Check, Result, Target
from tests.bench.workloads import Bench

PEAK_RSS_LIMIT_MB = 250
CSV_RATIO_LIMIT = 2.0
ARCHIVE_ID_BASE = 90_000_000_000
# Distinct activity files written once and reused across the archive (the import reads
# every member; only its CSV row decides the run's id).
FIT_VARIANTS = 40
GPX_VARIANTS = 10


def archive_workloads(bench: Bench) -> list[Result]:
    sizes = bench.sizes
    archive = bench.work_dir / "export_bench.zip"
    write_strava_archive(archive, sizes.archive_activities)
    results = [_archive_import(bench, archive)]
    results.append(_files_per_second(bench, archive))
    results.append(_csv_per_row(bench))
    return results


def write_strava_archive(path: Path, activities: int, *, with_files: bool = True) -> int:
    """A Strava export of `activities` activities (nine in ten runs, a tenth rides and
    walks), each with its activity file when `with_files`; return how many files."""
    rng = random.Random(data.SEED + 11)
    header = next(csv.reader([(FIXTURES / "activities-en.csv").read_text().splitlines()[0]]))
    fits = [_fit_variant(rng, k) for k in range(FIT_VARIANTS)] if with_files else []
    gpxs = [_gpx_variant(rng, k) for k in range(GPX_VARIANTS)] if with_files else []
    shoes = list(data.SHOE_NAMES)
    files = 0
    day = datetime(2024, 6, 1, 6, tzinfo=UTC)
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as export:
        for number in range(activities):
            day -= timedelta(hours=rng.choice((20, 24, 28, 48)))
            activity_id = ARCHIVE_ID_BASE + number
            kind = rng.random()
            activity_type = "Run" if kind < 0.9 else "Ride" if kind < 0.95 else "Walk"
            metres = round(rng.uniform(3000, 21000), 1)
            moving = round(metres / rng.uniform(2.4, 3.6))
            filename = ""
            if with_files:
                if rng.random() < 0.8:
                    filename = f"activities/{activity_id}.fit.gz"
                    export.writestr(filename, rng.choice(fits))
                else:
                    filename = f"activities/{activity_id}.gpx.gz"
                    export.writestr(filename, rng.choice(gpxs))
                files += 1
            row = [""] * len(header)
            row[0], row[2], row[3] = str(activity_id), "Morning Run", activity_type
            row[1] = f"{day:%b} {day.day}, {day.year}, {day:%I:%M:%S %p}".replace(" 0", " ")
            row[4] = rng.choice(("", "Easy", "Intervals, 6 x 800 m\nwindy"))
            row[5], row[6] = str(moving + 60), f"{metres / 1000:.2f}"
            row[11], row[12] = rng.choice(shoes), filename
            row[15], row[16], row[17] = f"{moving + 60}.0", f"{moving}.0", str(metres)
            row[31] = f"{rng.randint(120, 175)}.0" if rng.random() < 0.5 else ""
            writer.writerow(row)
        export.writestr("activities.csv", text.getvalue())
        export.writestr(
            "shoes.csv",
            "Shoe Name,Shoe Brand,Shoe Model,Shoe Default Sport Types\n"
            + "".join(f",{name.split(' ', 1)[0]},{name.split(' ', 1)[1]},Run\n" for name in shoes),
        )
    return files


def _fit_variant(rng: random.Random, number: int) -> bytes:
    seconds = rng.randrange(1200, 5400, 60)
    indoor = number % 8 == 0
    return gz(
        fit_file(
            seconds=seconds,
            metres=seconds * rng.uniform(2.5, 3.5),
            every=4,
            sub_sport="treadmill" if indoor else "generic",
            positions=not indoor,
        )
    )


def _gpx_variant(rng: random.Random, number: int) -> bytes:
    seconds = rng.randrange(1200, 5400, 60)
    return gz(gpx_file(seconds=seconds, metres=seconds * 3.0, every=2))


def _archive_import(bench: Bench, archive: Path) -> Result:
    sizes = bench.sizes
    seconds: list[float] = []
    peaks: list[float] = []
    problems: list[str] = []
    for _ in range(sizes.mmf_repeats):
        report = _child(str(archive), timeout=sizes.loop_seconds + 1200)
        seconds.append(report["seconds"])
        if report["peak_rss_bytes"] is not None:
            peaks.append(report["peak_rss_bytes"] / 1e6)
        if report["errors"] or report["rows"] != sizes.archive_activities:
            problems.append(f"{report['rows']} rows, {report['errors']} bad")
    megabytes = archive.stat().st_size / 1e6
    return Result(
        workload=(
            f"Strava archive import, {sizes.archive_activities:,} activities with their "
            f"files ({megabytes:.0f} MB): peak RSS of the process"
        ),
        unit="MB",
        ours=bench.samples(peaks or [0.0]),
        target=Target("<", PEAK_RSS_LIMIT_MB, absolute=True),
        judged=sizes.judges_targets and bool(peaks),
        checks=(Check("imported", not problems, "; ".join(problems) or "every row accounted for"),),
        notes=(f"whole import {statistics.median(seconds):.1f} s",),
    )


def _files_per_second(bench: Bench, archive: Path) -> Result:
    ours: list[float] = []
    limit: list[float] = []
    for _ in range(max(1, bench.sizes.mmf_repeats)):
        started = time.perf_counter()
        result = import_strava_archive(archive, dry_run=True)
        ours.append(result.files_read / (time.perf_counter() - started))
        limit.append(_library_files_per_second(archive))
    return Result(
        workload="Strava archive: activity files read per second (whole import)",
        unit="files/s",
        ours=bench.samples(ours),
        baseline=bench.samples(limit),
        baseline_label="fitdecode and gpxpy alone decoding the same files",
        judged=False,
    )


def _library_files_per_second(archive: Path) -> float:
    started = time.perf_counter()
    count = 0
    with zipfile.ZipFile(archive) as export:
        for info in export.infolist():
            if not info.filename.startswith("activities/"):
                continue
            content = gzip.decompress(export.read(info))
            if info.filename.endswith(".fit.gz"):
                with fitdecode.FitReader(io.BytesIO(content)) as reader:
                    for _ in reader:
                        pass
            else:
                gpxpy.parse(content.decode())
            count += 1
    return count / (time.perf_counter() - started)


def _csv_per_row(bench: Bench) -> Result:
    rows = bench.sizes.mmf_rows
    csv_archive = bench.work_dir / "export_csv_only.zip"
    write_strava_archive(csv_archive, rows, with_files=False)
    mmf = bench.work_dir / "mmf_rows.csv"
    data.write_mmf_csv(mmf, rows)
    ours: list[float] = []
    baseline: list[float] = []
    for _ in range(max(1, bench.sizes.mmf_repeats)):
        started = time.perf_counter()
        import_strava_archive(csv_archive, dry_run=True)
        ours.append((time.perf_counter() - started) / rows * 1e6)
        started = time.perf_counter()
        import_mmf_file(mmf, dry_run=True)
        baseline.append((time.perf_counter() - started) / rows * 1e6)
    return Result(
        workload=f"Strava archive CSV path, {rows:,} rows (no files), per row",
        unit="µs",
        ours=bench.samples(ours),
        baseline=bench.samples(baseline),
        baseline_label="the MMF import of as many rows, per row",
        target=Target("<=", CSV_RATIO_LIMIT),
        judged=bench.sizes.judges_targets,
    )


def _child(path: str, *, timeout: float) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.archive_child", path],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the archive import child failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
