"""fitness.db.lifts and fitness.db.exercise_templates: new lifts with their original
version, reads and pages, and the template cache."""

from __future__ import annotations

from dataclasses import replace

import psycopg
import pytest

from fitness.db.exercise_templates import get_exercise_templates, save_exercise_templates
from fitness.db.lifts import get_lift_by_id, import_lifts, list_lifts
from fitness.errors import InvalidCursor
from fitness.importers.hevy import lift_from_workout, template_from_json
from tests.fakes.hevy import make_workouts, recorded_lifts, recorded_templates


def test_a_new_lift_is_stored_whole_with_its_original_version(
    db: str, raw_conn: psycopg.Connection
) -> None:
    push, legs, empty = recorded_lifts()
    assert import_lifts([push, legs, empty], changed_by="hevy sync") == [
        push.id,
        legs.id,
        empty.id,
    ]
    stored = get_lift_by_id(push.id)
    assert stored is not None
    assert stored.exercises == push.exercises
    assert [s.weight_kg for s in stored.exercises[0].sets] == [40, 80, 82.5, 70]
    assert stored.exercises[1].sets[0].weight_kg is None
    assert stored.version == 1
    history = raw_conn.execute(
        "SELECT version_number, change_type, changed_by, exercises = %s::jsonb"
        " FROM lifts_history WHERE lift_id = %s",
        ("[]", empty.id),
    ).fetchall()
    assert history == [(1, "original", "hevy sync", True)]


def test_importing_again_changes_nothing_even_after_hevy_changed_the_workout(db: str) -> None:
    push = recorded_lifts()[0]
    import_lifts([push], changed_by="hevy sync")
    assert import_lifts([replace(push, title="Renamed")], changed_by="hevy sync") == []
    assert get_lift_by_id(push.id).title == "Push Day 💪"  # type: ignore[union-attr]


def test_lifts_are_listed_newest_first_a_page_at_a_time(db: str) -> None:
    templates = {t["id"]: template_from_json(t) for t in recorded_templates()}
    lifts = [lift_from_workout(w, templates) for w in make_workouts(5)]
    import_lifts(lifts, changed_by="test")
    first = list_lifts(limit=2)
    second = list_lifts(limit=2, cursor=first.next_cursor)
    third = list_lifts(limit=2, cursor=second.next_cursor)
    seen = [lift.title for page in (first, second, third) for lift in page.lifts]
    assert seen == ["Workout 5", "Workout 4", "Workout 3", "Workout 2", "Workout 1"]
    assert third.next_cursor is None
    with pytest.raises(InvalidCursor):
        list_lifts(cursor="not-a-cursor")


def test_templates_are_cached_and_brought_up_to_date(db: str) -> None:
    templates = [template_from_json(t) for t in recorded_templates()]
    assert save_exercise_templates(templates) == 4
    assert save_exercise_templates(templates) == 0
    bench = replace(templates[0], secondary_muscle_groups=["triceps"])
    assert save_exercise_templates([bench]) == 1
    cached = get_exercise_templates()
    assert cached["79D0BB3A"].secondary_muscle_groups == ["triceps"]
    assert cached["C2C6C3B9"].secondary_muscle_groups == []
    assert cached["D04AC939"].primary_muscle_group == "quadriceps"
