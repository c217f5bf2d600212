"""Hevy's workouts and exercise templates (public API v1 JSON) as `Lift`s and
`ExerciseTemplate`s: pure functions, no I/O.

A workout becomes the lift `hevy_<workout id>` with its title, description, start and end,
and every exercise with its sets; each exercise gets the muscle groups of its exercise
template, when the template is known. Hevy documents the superset field as `supersets_id`
and the set type as `type`; `superset_id` and `set_type`, which some answers carry, are
read too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from pydantic import ValidationError

from fitness.lift_models import LIFT, ExerciseTemplate, Lift
from fitness.rules import as_utc

ID_PREFIX: Final = "hevy_"
_SET_NUMBERS: Final = (
    "weight_kg",
    "reps",
    "distance_meters",
    "duration_seconds",
    "rpe",
    "custom_metric",
)


def lift_id(workout_id: str) -> str:
    """The id of the lift a Hevy workout becomes: `hevy_<workout id>`."""
    return f"{ID_PREFIX}{workout_id}"


def lift_from_workout(
    workout: Mapping[str, object], templates: Mapping[str, ExerciseTemplate]
) -> Lift:
    """The lift a Hevy workout (as `GET /v1/workouts` lists it) stands for.

    `templates` are the exercise templates by id, for the muscle groups. Empty text
    (Hevy sends `""` for no notes) is None. `ValueError` saying what is wrong for a workout
    without an id or a start time, or with values beyond the rules (fitness.rules).
    """
    workout_id = workout.get("id")
    if not isinstance(workout_id, str) or not workout_id.strip():
        raise ValueError("has no id")
    raw_exercises = workout.get("exercises") or []
    if not isinstance(raw_exercises, list):
        raise ValueError("has an unreadable list of exercises")
    try:
        return LIFT.validate_python(
            {
                "id": lift_id(workout_id),
                "datetime_utc": _moment(workout.get("start_time"), "start_time"),
                "end_utc": _optional_moment(workout.get("end_time"), "end_time"),
                "title": _text(workout.get("title")),
                "description": _text(workout.get("description")),
                "source": "Hevy",
                "exercises": [
                    _exercise(position, exercise, templates)
                    for position, exercise in enumerate(raw_exercises)
                ],
            }
        )
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"has an unusable value at {where}: {first['msg']}") from None


def template_from_json(template: Mapping[str, object]) -> ExerciseTemplate:
    """An exercise template as `GET /v1/exercise_templates` lists it; `ValueError` without
    an id."""
    template_id = template.get("id")
    if not isinstance(template_id, str) or not template_id:
        raise ValueError("an exercise template has no id")
    secondary = template.get("secondary_muscle_groups")
    return ExerciseTemplate(
        id=template_id,
        title=str(template.get("title") or template_id),
        primary_muscle_group=_text(template.get("primary_muscle_group")),
        secondary_muscle_groups=[
            str(group) for group in (secondary if isinstance(secondary, list) else [])
        ],
        is_custom=template.get("is_custom") is True,
    )


def workout_updated_at(workout: Mapping[str, object]) -> datetime | None:
    """When Hevy last changed the workout (`updated_at`), or None if it does not say."""
    try:
        return _optional_moment(workout.get("updated_at"), "updated_at")
    except ValueError:
        return None


def parse_moment(value: object, name: str) -> datetime:
    """An ISO 8601 time from Hevy as an aware UTC datetime; `ValueError` naming `name`."""
    return _moment(value, name)


def _exercise(
    position: int, exercise: object, templates: Mapping[str, ExerciseTemplate]
) -> dict[str, object]:
    if not isinstance(exercise, Mapping):
        raise ValueError(f"has an unreadable exercise at position {position}")
    template_id = exercise.get("exercise_template_id")
    template = templates.get(template_id) if isinstance(template_id, str) else None
    superset = exercise.get("supersets_id", exercise.get("superset_id"))
    raw_sets = exercise.get("sets") or []
    if not isinstance(raw_sets, list):
        raise ValueError(f"has an unreadable list of sets in exercise {position}")
    return {
        "index": _index(exercise.get("index"), position),
        "title": _text(exercise.get("title")) or (template.title if template else "Exercise"),
        "notes": _text(exercise.get("notes")),
        "exercise_template_id": template_id if isinstance(template_id, str) else None,
        "superset_id": superset if isinstance(superset, int) else None,
        "primary_muscle_group": template.primary_muscle_group if template else None,
        "secondary_muscle_groups": list(template.secondary_muscle_groups) if template else [],
        "sets": [_set(n, s) for n, s in enumerate(raw_sets)],
    }


def _set(position: int, raw: object) -> dict[str, object]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"has an unreadable set at position {position}")
    numbers = {name: raw.get(name) for name in _SET_NUMBERS}
    # Hevy's numbers are JSON numbers; reps are whole, and a 10.0 is 10.
    reps = numbers["reps"]
    if isinstance(reps, float) and reps.is_integer():
        numbers["reps"] = int(reps)
    for name in ("weight_kg", "distance_meters", "duration_seconds", "rpe", "custom_metric"):
        value = numbers[name]
        if isinstance(value, int) and not isinstance(value, bool):
            numbers[name] = float(value)
    return {
        "index": _index(raw.get("index"), position),
        "type": raw.get("type") or raw.get("set_type") or "normal",
        **numbers,
    }


def _index(value: object, position: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else position


def _text(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value


def _moment(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"has no {name}")
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")), name)
    except ValueError:
        raise ValueError(f"has an unreadable {name} {value[:40]!r}") from None


def _optional_moment(value: object, name: str) -> datetime | None:
    return None if value is None else _moment(value, name)
