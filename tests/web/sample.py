"""A runner's last year, made up but plausible and the same every time: what the browser
tests and the README's screenshot show.

Four or five runs a week ending yesterday, a long run on Sundays, a build-up to a race,
three shoes (one of them retired) and heart rates for most runs; and a rider's and
lifter's last weeks beside them (`load_sample_training`).
"""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import UTC, date, datetime, time, timedelta

from fitness.db.bikes import bikes_for_names
from fitness.db.lifts import import_lifts
from fitness.db.rides import import_rides
from fitness.db.runs import import_runs
from fitness.db.shoes import create_shoe, retire_shoe_by_id, set_shoe_mileage_limits
from fitness.lift_models import Lift
from fitness.models import Run
from fitness.ride_models import Ride
from tests.fakes.hevy import recorded_lifts

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


BIKE = "Canyon Endurace"


def load_sample_training(today: date) -> tuple[list[Ride], list[Lift]]:
    """A bike with a ride every Saturday and an indoor trainer ride every Tuesday of the 8
    weeks before `today`, and the recorded Hevy workouts repeated twice a week over the last
    4 weeks; return the rides and lifts."""
    bike_id = bikes_for_names([BIKE])[BIKE]
    rng = random.Random(SEED)
    rides: list[Ride] = []
    lifts: list[Lift] = []
    workouts = recorded_lifts()
    for offset in range(1, 57):
        day = today - timedelta(days=offset)
        start = datetime.combine(day, time(9, 0), tzinfo=UTC)
        if day.weekday() in (1, 5):
            indoor = day.weekday() == 1
            distance = round(rng.uniform(15, 22) if indoor else rng.uniform(28, 45), 2)
            rides.append(
                Ride(
                    id=f"strava_{8_000_000_000 + offset}",
                    datetime_utc=start,
                    type="Virtual Ride" if indoor else "Road Ride",
                    indoor=indoor,
                    distance=distance,
                    duration=round(distance * rng.gauss(190, 8)),
                    source="Strava",
                    avg_heart_rate=round(rng.gauss(138, 5)),
                    avg_power=round(rng.gauss(195, 12)),
                    kilojoules=round(rng.gauss(700, 60)),
                    bike_id=None if indoor else bike_id,
                    name="Zwift" if indoor else "Saturday ride",
                )
            )
        if offset <= 28 and day.weekday() in (0, 3):
            workout = workouts[offset % len(workouts)]
            length = (workout.end_utc or workout.datetime_utc) - workout.datetime_utc
            lifts.append(
                dataclasses.replace(
                    workout,
                    id=f"hevy_sample_{offset}",
                    datetime_utc=start + timedelta(hours=9),
                    end_utc=start + timedelta(hours=9) + length,
                )
            )
    import_rides(rides)
    import_lifts(lifts, changed_by="hevy sync")
    return rides, lifts
