"""A runner's last year, made up but plausible and the same every time: what the browser
tests and the README's screenshot show.

Four or five runs a week ending yesterday, a long run on Sundays, a build-up to a race,
three shoes (one of them retired) and heart rates for most runs.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, time, timedelta

from fitness.db.runs import import_runs
from fitness.db.shoes import create_shoe, retire_shoe_by_id, set_shoe_mileage_limits
from fitness.models import Run

SEED = 15
SHOES = ("Hoka Clifton 9", "Saucony Endorphin Speed 3", "Brooks Ghost 15")


def load_sample_year(today: date) -> list[Run]:
    """Create the shoes and import the runs of the 52 weeks before `today`; return them."""
    for name in SHOES:
        create_shoe(name)
    set_shoe_mileage_limits(
        "hoka_clifton_9", starting_mileage=120, warning_mileage=600, maximum_mileage=800
    )
    runs = sample_runs(today)
    import_runs(runs)
    retire_shoe_by_id("brooks_ghost_15", today - timedelta(days=150), "sole worn through")
    return runs


def sample_runs(today: date) -> list[Run]:
    rng = random.Random(SEED)
    runs: list[Run] = []
    first = today - timedelta(weeks=52)
    for offset in range((today - first).days):
        day = first + timedelta(days=offset)
        weeks_left = (today - day).days / 7
        # A build-up over the year with a cut-back every fourth week.
        build = 1.0 + 0.5 * math.sin(math.pi * (52 - weeks_left) / 52)
        if int(weeks_left) % 4 == 0:
            build *= 0.7
        weekday = day.weekday()
        if weekday in (0, 4) or (weekday == 2 and rng.random() < 0.4):
            continue
        long_run = weekday == 6
        distance = round((9.0 if long_run else rng.uniform(3.5, 6.5)) * build, 2)
        pace = rng.gauss(560 if long_run else 530, 20)
        shoe = "brooks_ghost_15" if (today - day).days > 150 else "hoka_clifton_9"
        if weekday == 3:
            shoe = "saucony_endorphin_speed_3"
        runs.append(
            Run(
                id=f"strava_{9_000_000_000 + offset}",
                datetime_utc=datetime.combine(day, time(6, 30), tzinfo=UTC)
                + timedelta(minutes=rng.randrange(90)),
                type="Treadmill Run" if rng.random() < 0.1 else "Outdoor Run",
                distance=distance,
                duration=round(distance * pace),
                source="Strava",
                avg_heart_rate=round(rng.gauss(152 if weekday == 3 else 142, 6))
                if rng.random() < 0.9
                else None,
                shoe_id=shoe,
                name=("Long run" if long_run else "Tempo" if weekday == 3 else "Easy run"),
            )
        )
    return runs
