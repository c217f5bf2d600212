"""fitness.importers.hevy: Hevy workouts (public API v1 JSON) as lifts."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from fitness.importers.hevy import lift_from_workout, template_from_json
from fitness.lift_models import ExerciseTemplate
from tests.fakes.hevy import recorded_templates, recorded_workouts


@pytest.fixture
def templates() -> dict[str, ExerciseTemplate]:
    return {str(t["id"]): template_from_json(t) for t in recorded_templates()}


def test_a_workout_becomes_a_lift_with_every_exercise_and_set(
    templates: dict[str, ExerciseTemplate],
) -> None:
    lift = lift_from_workout(recorded_workouts()[0], templates)
    assert lift.id == "hevy_b459cba5-cd6d-463c-abd6-54f8eafcadcb"
    assert lift.title == "Push Day 💪"
    assert lift.description == "Bench felt heavy"
    assert lift.source == "Hevy"
    assert lift.datetime_utc == datetime(2025, 1, 6, 17, 2, 11, tzinfo=UTC)
    assert lift.end_utc == datetime(2025, 1, 6, 18, 5, 40, tzinfo=UTC)
    bench, dip = lift.exercises
    assert bench.title == "Bench Press (Barbell)"
    assert bench.notes is None  # Hevy's "" is no notes
    assert bench.primary_muscle_group == "chest"
    assert bench.secondary_muscle_groups == ["triceps", "shoulders"]
    assert [(s.type, s.weight_kg, s.reps, s.rpe) for s in bench.sets] == [
        ("warmup", 40.0, 10, None),
        ("normal", 80.0, 8, 8.0),
        ("normal", 82.5, 6, 9.5),
        ("failure", 70.0, 9, 10.0),
    ]
    assert dip.superset_id == 0
    assert [(s.type, s.weight_kg, s.reps) for s in dip.sets] == [
        ("normal", None, 12),
        ("dropset", None, 8),
    ]


def test_duration_distance_and_custom_metric_sets_are_kept(
    templates: dict[str, ExerciseTemplate],
) -> None:
    stairs = lift_from_workout(recorded_workouts()[1], templates).exercises[1]
    (only,) = stairs.sets
    assert (only.duration_seconds, only.custom_metric, only.weight_kg) == (600.0, 52.0, None)
    assert stairs.primary_muscle_group == "cardio"


def test_a_workout_without_exercises_or_description_is_a_lift_too(
    templates: dict[str, ExerciseTemplate],
) -> None:
    lift = lift_from_workout(recorded_workouts()[2], templates)
    assert (lift.exercises, lift.description) == ([], None)


def test_an_unknown_template_leaves_the_muscle_groups_empty() -> None:
    bench = lift_from_workout(recorded_workouts()[0], {}).exercises[0]
    assert (bench.primary_muscle_group, bench.secondary_muscle_groups) == (None, [])


def test_the_other_spellings_of_superset_and_set_type_are_read(
    templates: dict[str, ExerciseTemplate],
) -> None:
    workout = copy.deepcopy(recorded_workouts()[0])
    exercise = workout["exercises"][0]  # type: ignore[index]
    del exercise["supersets_id"]
    exercise["superset_id"] = 3
    for raw in exercise["sets"]:
        raw["set_type"] = raw.pop("type")
    bench = lift_from_workout(workout, templates).exercises[0]
    assert bench.superset_id == 3
    assert bench.sets[0].type == "warmup"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": None}, "has no id"),
        ({"start_time": None}, "has no start_time"),
        ({"start_time": "yesterday"}, "unreadable start_time"),
        ({"exercises": "none"}, "unreadable list of exercises"),
    ],
)
def test_an_unusable_workout_is_a_value_error_saying_why(
    change: dict[str, object], message: str, templates: dict[str, ExerciseTemplate]
) -> None:
    workout = {**recorded_workouts()[0], **change}
    with pytest.raises(ValueError, match=message):
        lift_from_workout(workout, templates)


def test_a_set_beyond_the_rules_names_where_it_is(
    templates: dict[str, ExerciseTemplate],
) -> None:
    workout = copy.deepcopy(recorded_workouts()[0])
    workout["exercises"][0]["sets"][1]["weight_kg"] = -5  # type: ignore[index]
    with pytest.raises(ValueError, match=r"exercises\.0\.sets\.1\.weight_kg"):
        lift_from_workout(workout, templates)
