"""Statistics of lifts, each one SQL statement over the lifts as they are now (deleted ones
left out): weekly volume, working sets per muscle group per week, and the best estimated
one-rep max of each exercise.

Weights are kilograms (Hevy's unit), weeks are local weeks in `tz` (an IANA zone, default
FITNESS_TIMEZONE) starting on `week_start` (default FITNESS_WEEK_START). Working sets are
every set but warm-ups (Hevy's `warmup` type); a set counts in volume and one-rep maxes only
with both a weight and reps.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from psycopg import Connection
from psycopg.rows import class_row

from fitness.config import get_settings
from fitness.db.connection import connection, retry_on_disconnect
from fitness.errors import InvalidParameters
from fitness.lift_models import (
    EPLEY,
    LiftVolume,
    MuscleGroupSets,
    MuscleGroupWeek,
    OneRepMax,
    OneRepMaxes,
    WeekVolume,
)
from fitness.rules import is_zone_name

_WEEK_STARTS: Final = {"monday": 1, "sunday": 7}
# Every working set of the lifts not deleted, with its lift's local day, and its exercise.
_WORKING_SETS: Final = """
WITH working_sets AS (
    SELECT l.id AS lift_id,
           (l.datetime_utc AT TIME ZONE %(tz)s)::date AS day,
           e.value ->> 'exercise_template_id' AS template_id,
           e.value ->> 'title' AS exercise,
           e.value ->> 'primary_muscle_group' AS muscle_group,
           (s.value ->> 'weight_kg')::float8 AS weight_kg,
           (s.value ->> 'reps')::int AS reps
    FROM lifts AS l,
         jsonb_array_elements(l.exercises) AS e (value),
         jsonb_array_elements(e.value -> 'sets') AS s (value)
    WHERE l.deleted_at IS NULL
      AND s.value ->> 'type' IS DISTINCT FROM 'warmup'
      AND (%(start)s::date IS NULL
           OR l.datetime_utc >= (%(start)s::date - 1)::timestamp AT TIME ZONE 'UTC')
      AND (%(end)s::date IS NULL
           OR l.datetime_utc < (%(end)s::date + 2)::timestamp AT TIME ZONE 'UTC')
),
in_range AS (
    SELECT w.*,
           w.day - (date_part('isodow', w.day)::int - %(week_start_isodow)s + 7) %% 7 AS week
    FROM working_sets AS w
    WHERE (%(start)s::date IS NULL OR w.day >= %(start)s::date)
      AND (%(end)s::date IS NULL OR w.day <= %(end)s::date)
)"""

_VOLUME: Final = (
    _WORKING_SETS
    + """
SELECT week AS week_start,
       coalesce(sum(weight_kg * reps), 0)::float8 AS volume_kg,
       count(*)::int AS working_sets,
       count(DISTINCT lift_id)::int AS lifts
FROM in_range
GROUP BY week
ORDER BY week
"""
)

_MUSCLE_GROUPS: Final = (
    _WORKING_SETS
    + """
SELECT week AS week_start,
       coalesce(muscle_group, 'unknown') AS muscle_group,
       count(*)::int AS working_sets
FROM in_range
GROUP BY week, coalesce(muscle_group, 'unknown')
ORDER BY week, working_sets DESC, muscle_group
"""
)

# Epley (1985): 1RM = w × (1 + reps / 30) for more than one rep; a single is its own weight.
_ONE_REP_MAX: Final = (
    _WORKING_SETS
    + """,
estimates AS (
    SELECT coalesce(template_id, 'title:' || exercise) AS exercise_key, template_id, exercise,
           lift_id, day, weight_kg, reps,
           CASE WHEN reps = 1 THEN weight_kg ELSE weight_kg * (1 + reps / 30.0) END
               AS estimated_kg
    FROM in_range
    WHERE weight_kg > 0
      AND reps >= 1
)
SELECT DISTINCT ON (exercise_key)
       template_id AS exercise_template_id, exercise, estimated_kg AS estimated_one_rep_max_kg,
       weight_kg, reps, day, lift_id
FROM estimates
ORDER BY exercise_key, estimated_kg DESC, day, lift_id
"""
)


@retry_on_disconnect
def get_weekly_volume(
    start: date | None = None,
    end: date | None = None,
    *,
    tz: str | None = None,
    week_start: str | None = None,
    conn: Connection | None = None,
) -> LiftVolume:
    """Each week's lifting volume: Σ weight (kg) × reps over working sets, with how many
    working sets and lifts; only weeks with lifts, oldest first.

    `start`/`end` are local days (both included; default: every lift). `InvalidParameters`
    for an unknown zone or week start.

    >>> get_weekly_volume(tz="UTC").weeks[0]   # doctest: +SKIP
    WeekVolume(week_start=datetime.date(2025, 1, 6), volume_kg=3190.0, working_sets=9, lifts=2)
    """
    params = _params(start, end, tz, week_start)
    with connection(conn) as active, active.cursor(row_factory=class_row(WeekVolume)) as cur:
        weeks = cur.execute(_VOLUME, params).fetchall()
    return LiftVolume(tz=params["tz"], week_start=params["week_start"], weeks=weeks)  # type: ignore[arg-type]


@retry_on_disconnect
def get_muscle_group_sets(
    start: date | None = None,
    end: date | None = None,
    *,
    tz: str | None = None,
    week_start: str | None = None,
    conn: Connection | None = None,
) -> MuscleGroupSets:
    """Working sets per primary muscle group (of the exercise's Hevy template) per week,
    most first within a week; an exercise without a known template counts as `unknown`.
    Arguments and errors as `get_weekly_volume`."""
    params = _params(start, end, tz, week_start)
    with connection(conn) as active, active.cursor(row_factory=class_row(MuscleGroupWeek)) as cur:
        rows = cur.execute(_MUSCLE_GROUPS, params).fetchall()
    return MuscleGroupSets(tz=params["tz"], week_start=params["week_start"], weeks=rows)  # type: ignore[arg-type]


@retry_on_disconnect
def get_one_rep_maxes(
    start: date | None = None,
    end: date | None = None,
    *,
    tz: str | None = None,
    conn: Connection | None = None,
) -> OneRepMaxes:
    """The best estimated one-rep max (kg) of each exercise, by Epley's formula
    (B. Epley, "Poundage Chart", Boyd Epley Workout, 1985): weight × (1 + reps / 30) for
    more than one rep, the weight itself for a single. Over working sets with a weight and
    reps; each with the set it came from (the earliest, on a tie). Exercises are told
    apart by Hevy's template id, or by title without one; ordered by exercise id."""
    params = _params(start, end, tz, None)
    with connection(conn) as active, active.cursor(row_factory=class_row(OneRepMax)) as cur:
        rows = cur.execute(_ONE_REP_MAX, params).fetchall()
    return OneRepMaxes(formula=EPLEY, tz=params["tz"], exercises=rows)  # type: ignore[arg-type]


def _params(
    start: date | None, end: date | None, tz: str | None, week_start: str | None
) -> dict[str, object]:
    settings = get_settings()
    zone = settings.timezone if tz is None else tz
    first_weekday = settings.week_start if week_start is None else week_start
    errors: dict[str, str] = {}
    if not is_zone_name(zone):
        errors["tz"] = "must be an IANA time zone such as Europe/Berlin or UTC"
    if first_weekday not in _WEEK_STARTS:
        errors["week_start"] = f"must be one of {', '.join(_WEEK_STARTS)}"
    if start is not None and end is not None and start > end:
        errors["end"] = "must not be before start"
    if errors:
        raise InvalidParameters(errors)
    return {
        "tz": zone,
        "week_start": first_weekday,
        "week_start_isodow": _WEEK_STARTS[first_weekday],
        "start": start,
        "end": end,
    }
