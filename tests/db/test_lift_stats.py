"""fitness.db.lift_stats: weekly volume, sets per muscle group and Epley one-rep maxes,
checked against values computed here from Hevy's JSON, not by the same SQL."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from fitness.db.lift_stats import get_muscle_group_sets, get_one_rep_maxes, get_weekly_volume
from fitness.db.lifts import import_lifts
from fitness.db.lifts_history import delete_lift
from fitness.errors import InvalidParameters
from fitness.importers.hevy import lift_from_workout, template_from_json
from tests.fakes.hevy import recorded_templates, recorded_workouts

MUSCLES = {str(t["id"]): t["primary_muscle_group"] for t in recorded_templates()}


def working_sets() -> list[tuple[str, dict[str, object], str]]:
    """(exercise template id, set, workout id) of every non-warm-up set in the fixtures."""
    return [
        (str(exercise["exercise_template_id"]), raw, str(workout["id"]))
        for workout in recorded_workouts()
        for exercise in workout["exercises"]  # type: ignore[attr-defined]
        for raw in exercise["sets"]
        if raw["type"] != "warmup"
    ]


@pytest.fixture
def lifts(db: str) -> None:
    templates = {str(t["id"]): template_from_json(t) for t in recorded_templates()}
    import_lifts([lift_from_workout(w, templates) for w in recorded_workouts()], changed_by="test")


def test_weekly_volume_is_weight_times_reps_of_working_sets(lifts: None) -> None:
    sets = working_sets()
    volume = sum(
        float(s["weight_kg"]) * int(s["reps"])  # type: ignore[arg-type]
        for _, s, _ in sets
        if s["weight_kg"] is not None and s["reps"] is not None
    )
    (week,) = get_weekly_volume(tz="UTC", week_start="monday").weeks
    assert week.week_start == date(2025, 1, 6)
    assert week.volume_kg == pytest.approx(volume) == pytest.approx(2765.0)
    assert week.working_sets == len(sets) == 8
    assert week.lifts == len({workout for _, _, workout in sets}) == 2


def test_weeks_follow_the_zone_and_the_first_weekday(lifts: None) -> None:
    sunday = get_weekly_volume(tz="UTC", week_start="sunday").weeks
    assert [w.week_start for w in sunday] == [date(2025, 1, 5)]
    # 17:02 UTC on Monday 6 January is Tuesday 7 January in Auckland (UTC+13).
    auckland = get_weekly_volume(tz="Pacific/Auckland", week_start="monday").weeks
    assert [w.week_start for w in auckland] == [date(2025, 1, 6)]
    later = get_weekly_volume(date(2025, 1, 7), date(2025, 1, 31), tz="UTC").weeks
    assert [(w.working_sets, w.lifts) for w in later] == [(3, 1)]  # only the legs


def test_sets_per_muscle_group_count_working_sets_by_primary_group(lifts: None) -> None:
    expected = Counter(MUSCLES[template] for template, _, _ in working_sets())
    rows = get_muscle_group_sets(tz="UTC").weeks
    assert {r.muscle_group: r.working_sets for r in rows} == dict(expected)
    assert [r.muscle_group for r in rows][0] == "chest"  # most sets first


def test_the_best_one_rep_max_is_epleys_estimate_from_the_best_set(lifts: None) -> None:
    best: dict[str, float] = {}
    for template, s, _ in working_sets():
        if s["weight_kg"] and s["reps"]:
            w, r = float(s["weight_kg"]), int(s["reps"])  # type: ignore[arg-type]
            best[template] = max(best.get(template, 0.0), w if r == 1 else w * (1 + r / 30))
    answer = get_one_rep_maxes(tz="UTC")
    assert answer.formula == "epley"
    got = {m.exercise_template_id: m.estimated_one_rep_max_kg for m in answer.exercises}
    assert got == pytest.approx(best)
    bench = next(m for m in answer.exercises if m.exercise == "Bench Press (Barbell)")
    assert (bench.weight_kg, bench.reps, bench.day) == (80.0, 8, date(2025, 1, 6))
    assert bench.estimated_one_rep_max_kg == pytest.approx(80 * (1 + 8 / 30))


def test_deleted_lifts_are_left_out(lifts: None) -> None:
    delete_lift("hevy_b459cba5-cd6d-463c-abd6-54f8eafcadcb", "me")
    (week,) = get_weekly_volume(tz="UTC").weeks
    assert (week.volume_kg, week.lifts) == (1000.0, 1)
    assert [m.exercise for m in get_one_rep_maxes().exercises] == ["Squat (Barbell)"]


def test_bad_parameters_are_refused_naming_them(db: str) -> None:
    with pytest.raises(InvalidParameters) as refused:
        get_weekly_volume(date(2025, 2, 1), date(2025, 1, 1), tz="Mars/Olympus", week_start="x")
    assert set(refused.value.errors) == {"tz", "week_start", "end"}
