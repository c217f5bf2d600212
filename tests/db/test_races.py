"""fitness.db.races: a run's race, set and cleared as versions; race PBs in the records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from fitness.db.races import clear_run_race, get_races, set_run_race
from fitness.db.runs import delete_run, get_run_detail_by_id, import_runs
from fitness.db.runs_history import (
    get_run_history_page,
    mark_duplicate,
    restore_run_version,
    update_run_with_history,
)
from fitness.db.stats import get_records
from fitness.errors import InvalidUpdate, RunNotFound, VersionConflict
from fitness.models import Race
from tests.factories import RunFactory

MARATHON = 42.195 / 1.609344
TEN_K = 10 / 1.609344


def race(**overrides: object) -> Race:
    values: dict[str, object] = {
        "name": "Berlin Marathon 2024",
        "distance": MARATHON,
        "time": 3 * 3600 + 12 * 60,
        "place": 1234,
        "field_size": 40_000,
    }
    values.update(overrides)
    return Race(**values)  # type: ignore[arg-type]


def test_setting_a_race_is_a_new_edit_version_listing_its_fields(db: str, runs: RunFactory) -> None:
    run = runs.make()
    import_runs([run])

    raced = set_run_race(run.id, race(), changed_by="me", change_reason="it was a race")

    assert (raced.version, raced.race_name, raced.race_time) == (2, "Berlin Marathon 2024", 11520)
    assert (raced.race_distance, raced.race_place, raced.race_field_size) == (
        MARATHON,
        1234,
        40_000,
    )
    assert get_run_detail_by_id(run.id) == raced
    newest = get_run_history_page(run.id).versions[0]
    assert (newest.change_type, newest.change_reason) == ("edit", "it was a race")
    assert newest.changes["race_name"] == {"from": None, "to": "Berlin Marathon 2024"}
    assert newest.changes["race_place"] == {"from": None, "to": 1234}
    assert set(newest.changes) == {
        "race_name",
        "race_distance",
        "race_time",
        "race_place",
        "race_field_size",
    }


def test_the_same_race_again_writes_no_version_and_a_change_writes_one(
    db: str, runs: RunFactory
) -> None:
    run = runs.make()
    import_runs([run])
    set_run_race(run.id, race(), changed_by="me")
    assert set_run_race(run.id, race(), changed_by="me").version == 2

    changed = set_run_race(run.id, race(time=11500.0), changed_by="me")

    assert changed.version == 3
    assert get_run_history_page(run.id).versions[0].changes == {
        "race_time": {"from": 11520.0, "to": 11500.0}
    }


def test_clearing_a_race_is_a_version_and_restore_brings_it_back(db: str, runs: RunFactory) -> None:
    run = runs.make()
    import_runs([run])
    set_run_race(run.id, race(), changed_by="me")

    cleared = clear_run_race(run.id, changed_by="me")
    assert (cleared.version, cleared.race_name, cleared.race_place) == (3, None, None)
    assert clear_run_race(run.id, changed_by="me").version == 3

    restored = restore_run_version(run.id, 2, changed_by="me")
    assert (restored.version, restored.race) == (4, race())


def test_an_edit_keeps_the_race(db: str, runs: RunFactory) -> None:
    run = runs.make()
    import_runs([run])
    set_run_race(run.id, race(), changed_by="me")

    edited = update_run_with_history(run.id, {"distance": 26.3}, changed_by="me")

    assert edited.race == race()
    assert get_run_history_page(run.id).versions[0].race_name == "Berlin Marathon 2024"


def test_if_match_is_honoured_and_deleted_runs_have_no_race(db: str, runs: RunFactory) -> None:
    run, gone = runs.many(2)
    import_runs([run, gone])
    with pytest.raises(VersionConflict):
        set_run_race(run.id, race(), changed_by="me", expected_version=2)
    assert set_run_race(run.id, race(), changed_by="me", expected_version=1).version == 2
    delete_run(gone.id, changed_by="me")
    with pytest.raises(RunNotFound):
        set_run_race(gone.id, race(), changed_by="me")
    with pytest.raises(RunNotFound):
        set_run_race("strava_404", race(), changed_by="me")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"distance": 0.0}, "distance"),
        ({"distance": 1000.5}, "distance"),
        ({"time": 0.0}, "time"),
        ({"time": float("nan")}, "time"),
        ({"time": 14 * 24 * 3600 + 1.0}, "time"),
        ({"place": 0}, "place"),
        ({"place": 10, "field_size": 9}, "place"),
        ({"field_size": 1_000_001}, "field_size"),
    ],
)
def test_a_race_out_of_bounds_is_refused_before_anything_is_written(
    db: str, runs: RunFactory, overrides: dict[str, object], field: str
) -> None:
    run = runs.make()
    import_runs([run])
    with pytest.raises(InvalidUpdate) as caught:
        set_run_race(run.id, race(**overrides), changed_by="me")
    assert set(caught.value.errors) == {field}
    assert get_run_detail_by_id(run.id).version == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "assignment",
    [
        "race_name = 'x'",
        "race_distance = 3.1, race_time = 1000",
        "race_place = 3",
        "race_name = 'x', race_distance = 3.1, race_time = 1000, race_place = 5, "
        "race_field_size = 4",
        "race_name = 'x', race_distance = 0, race_time = 1000",
    ],
)
def test_the_database_refuses_an_incomplete_or_impossible_race(
    raw_conn: psycopg.Connection, runs: RunFactory, assignment: str
) -> None:
    run = runs.make()
    import_runs([run])
    with pytest.raises(psycopg.errors.CheckViolation):
        raw_conn.execute(f"UPDATE runs SET {assignment} WHERE id = %s", (run.id,))  # type: ignore[arg-type]


def test_races_lists_the_races_oldest_first_without_deleted_or_duplicate_runs(
    db: str, runs: RunFactory
) -> None:
    first, second, deleted, duplicate, plain = runs.many(5)
    import_runs([first, second, deleted, duplicate, plain])
    for run in (second, first, deleted, duplicate):
        set_run_race(run.id, race(name=f"Race {run.id}"), changed_by="me")
    delete_run(deleted.id, changed_by="me")
    mark_duplicate(duplicate.id, plain.id, changed_by="me")

    assert [run.id for run in get_races()] == [first.id, second.id]


def test_records_show_the_pb_progression_per_official_distance(db: str) -> None:
    start = datetime(2024, 3, 1, 8, tzinfo=UTC)
    factory = RunFactory(start=start)
    runs = factory.many(7)
    import_runs(runs)
    # (run, official distance, chip time): 10 km races in date order, one marathon.
    plan = [
        (runs[0], TEN_K, 3000.0),  # first 10 km: a best
        (runs[1], TEN_K, 3100.0),  # slower
        (runs[2], MARATHON, 12000.0),  # first marathon
        (runs[3], TEN_K, 2900.0),  # a new best
        (runs[4], TEN_K, 2900.0),  # equals it: no new best
        (runs[5], TEN_K, 2800.0),  # a new best, but deleted below
        (runs[6], TEN_K, 2850.0),  # beats 2900 once the deleted run does not count
    ]
    for run, distance, time in plan:
        set_run_race(run.id, race(name=f"Race {run.id}", distance=distance, time=time), "me")
    before_delete = datetime.now(UTC)
    delete_run(runs[5].id, changed_by="me")

    progression = get_records(tz="UTC").race_progression

    assert [round(p.distance, 2) for p in progression] == [round(TEN_K, 2), round(MARATHON, 2)]
    assert [(b.run_id, b.time) for b in progression[0].bests] == [
        (runs[0].id, 3000.0),
        (runs[3].id, 2900.0),
        (runs[6].id, 2850.0),
    ]
    assert progression[0].bests[0].date == (start).date()
    assert progression[0].bests[0].race_name == f"Race {runs[0].id}"
    assert [(b.run_id, b.time) for b in progression[1].bests] == [(runs[2].id, 12000.0)]

    as_of = get_records(tz="UTC", as_of=before_delete).race_progression
    assert [b.run_id for b in as_of[0].bests] == [runs[0].id, runs[3].id, runs[5].id]
    # Each distance is the first race's own, in either unit: a 10 km race is 10.00 km, not
    # its 0.01-mile group's 6.21 mi (9.99 km).
    assert progression[0].distance == pytest.approx(TEN_K)
    in_km = get_records(tz="UTC", units="km").race_progression
    assert [p.distance for p in in_km] == [pytest.approx(10.0), pytest.approx(42.195)]


def test_records_as_of_before_a_race_was_set_do_not_show_it(db: str, runs: RunFactory) -> None:
    run = runs.make()
    import_runs([run])
    before = datetime.now(UTC)
    set_run_race(run.id, race(), changed_by="me")
    assert get_records(tz="UTC", as_of=before).race_progression == ()
    assert len(get_records(tz="UTC", as_of=before + timedelta(hours=1)).race_progression) == 1
