"""Seeded, realistic synthetic data: a runner's 10 years of runs in 12 shoes.

The same seed gives the same runs on every machine. Strava runs get consecutive activity
ids (`strava_<STRAVA_ID_BASE + k>`, k = 1..strava_count) so that pgbench scripts, which
can only draw numbers, pick the same runs as the Python workloads.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from fitness.db.shoes import create_shoe
from fitness.models import Run
from tests.importers.mmf_csv import HEADER

SEED = 20_250_506
STRAVA_ID_BASE = 10_000_000_000
SHOE_NAMES = (
    "Brooks Ghost 15",
    "Brooks Ghost 16",
    "Nike Air Zoom Pegasus 38",
    "Nike Air Zoom Pegasus 40",
    "Hoka Clifton 9",
    "Hoka Speedgoat 5",
    "Saucony Endorphin Speed 3",
    "Saucony Kinvara 14",
    "ASICS Novablast 4",
    "New Balance 1080v13",
    "Adidas Adizero Boston 12",
    "On Cloudmonster",
)
FIRST_DAY = datetime(2015, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Dataset:
    """The runs to import and what the workloads need to know about them."""

    runs: list[Run]
    shoe_ids: list[str]
    strava_count: int
    first_year: int

    @property
    def hot_run_id(self) -> str:
        return strava_id(1)

    def edit_target(self, rng: random.Random) -> str:
        """A random Strava run, drawn the way the pgbench script draws it."""
        return strava_id(rng.randint(1, self.strava_count))


def strava_id(k: int) -> str:
    return f"strava_{STRAVA_ID_BASE + k}"


def create_shoes(count: int) -> list[str]:
    """Create the first `count` bench shoes through the library; return their ids."""
    return [create_shoe(name).id for name in SHOE_NAMES[:count]]


def make_runs(count: int, years: int, shoe_ids: list[str], seed: int = SEED) -> Dataset:
    """`count` runs spread over `years` years, oldest first, about 70% of them from Strava."""
    rng = random.Random(seed)
    span_seconds = years * 365.25 * 86_400
    starts = sorted(rng.random() * span_seconds for _ in range(count))
    runs: list[Run] = []
    strava_count = 0
    mmf_id = 1_000_000_000
    for offset in starts:
        day = FIRST_DAY + timedelta(seconds=offset)
        # Mornings or evenings, as runners do.
        hour = rng.choice((6, 7, 7, 8, 12, 17, 18, 18, 19))
        when = day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
        distance = round(min(max(rng.lognormvariate(math.log(5.0), 0.45), 0.5), 30.0), 2)
        pace = min(max(rng.gauss(545.0, 45.0), 330.0), 900.0)
        heart_rate = round(min(max(rng.gauss(148.0, 10.0), 90.0), 195.0), 1)
        if rng.random() < 0.7:
            strava_count += 1
            run_id, source = strava_id(strava_count), "Strava"
        else:
            mmf_id += rng.randint(1, 50_000)
            run_id, source = f"mmf_{mmf_id}", "MapMyFitness"
        runs.append(
            Run(
                id=run_id,
                datetime_utc=when,
                type="Treadmill Run" if rng.random() < 0.15 else "Outdoor Run",
                distance=distance,
                duration=round(distance * pace, 1),
                source=source,  # type: ignore[arg-type]
                avg_heart_rate=heart_rate if rng.random() < 0.85 else None,
                shoe_id=_pick_shoe(rng, shoe_ids, when, years),
            )
        )
    return Dataset(
        runs=runs, shoe_ids=shoe_ids, strava_count=strava_count, first_year=FIRST_DAY.year
    )


def _pick_shoe(rng: random.Random, shoe_ids: list[str], when: datetime, years: int) -> str | None:
    if not shoe_ids or rng.random() < 0.05:
        return None
    # Shoes are worn in overlapping eras: mostly the current pair, sometimes the next one.
    era = (when - FIRST_DAY).days / (years * 365.25) * len(shoe_ids)
    index = min(int(era + rng.random() * 1.5), len(shoe_ids) - 1)
    return shoe_ids[index]


# Most runs have a calendar event showing their current version; some failed; the rest
# were never synced. hashtext() keeps the split deterministic.
_SYNC_CALENDAR = """
INSERT INTO synced_runs (run_id, run_version, google_event_id, sync_status, error_message)
SELECT id,
       version,
       'evt' || md5(id),
       CASE WHEN abs(hashtext(id)) % 100 < 95 THEN 'synced' ELSE 'failed' END,
       CASE WHEN abs(hashtext(id)) % 100 < 95 THEN NULL ELSE 'Calendar API said 503' END
FROM runs
WHERE abs(hashtext(id)) % 100 < 97
"""


def add_calendar_state(url: str) -> None:
    """Give most runs a calendar event, then VACUUM ANALYZE as a settled database would be."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_SYNC_CALENDAR)
        conn.execute("VACUUM ANALYZE")


def empty_runs(url: str) -> None:
    """Remove every run, version, calendar record and dismissed pair (the shoes stay)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE runs, runs_history, synced_runs, dismissed_duplicates RESTART IDENTITY"
        )


MMF_WORKOUT_ID_BASE = 9_000_000_000
_MMF_NOTES = (
    "",
    "",
    "Easy miles",
    "Tempo: 3 x 1 mi, felt strong",
    "Long run, hot and humid\nLegs heavy after mile 8",
    "Intervals, 6 x 800m",
    "Recovery jog, knee a bit sore",
)


def write_mmf_csv(path: Path, rows: int, seed: int = SEED) -> int:
    """Write a MapMyFitness export of `rows` workouts, newest first; return how many are runs.

    Nine in ten are runs (outdoor or indoor), the rest walks; a third name their shoes in
    the notes. Workout ids start at MMF_WORKOUT_ID_BASE, apart from the dataset's.
    """
    runs = 0
    rng = random.Random(seed + 7)
    day = datetime(2025, 6, 1, tzinfo=UTC)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for number in range(rows):
            if rng.random() < 0.6:
                day -= timedelta(days=1)
            kind = rng.random()
            activity = "Run" if kind < 0.75 else "Indoor Run / Jog" if kind < 0.9 else "Walk"
            runs += activity != "Walk"
            distance = round(min(max(rng.lognormvariate(math.log(5.0), 0.45), 0.5), 30.0), 2)
            seconds = round(distance * min(max(rng.gauss(545.0, 45.0), 330.0), 900.0))
            notes = rng.choice(_MMF_NOTES)
            if rng.random() < 0.35:
                shoes = f"Shoes: {rng.choice(SHOE_NAMES)}"
                notes = f"{notes}\n{shoes}" if notes else shoes
            heart_rate = str(rng.randint(120, 175)) if rng.random() < 0.8 else ""
            pace = seconds / 60 / distance
            written = f"{day:%B} {day.day}, {day.year}"
            writer.writerow(
                (
                    written,
                    written,
                    activity,
                    round(distance * 105),
                    f"{distance:.2f}",
                    seconds,
                    f"{pace:.2f}",
                    f"{pace * 0.85:.2f}",
                    f"{60 / pace:.2f}",
                    f"{60 / pace * 1.18:.2f}",
                    heart_rate,
                    round(distance * 1650),
                    notes,
                    "Map My Run iPhone",
                    f"https://www.mapmyfitness.com/workout/{MMF_WORKOUT_ID_BASE + number}",
                )
            )
    return runs


def remove_mmf_import(url: str) -> None:
    """Delete the runs (and their versions) that `write_mmf_csv`'s file imported."""
    with psycopg.connect(url, autocommit=True) as conn:
        prefix = f"mmf_{MMF_WORKOUT_ID_BASE // 10**9}"  # every id of the file, none of the dataset
        conn.execute("DELETE FROM runs WHERE starts_with(id, %s)", (prefix,))
        conn.execute("VACUUM ANALYZE runs, runs_history")
