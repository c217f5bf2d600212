"""One run per real run (fitness/db/duplicates.py, fitness/db/runs_history.py): suggestions,
dismissals, marking a duplicate in both histories, hiding it everywhere, undoing it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from fitness.db import stats
from fitness.db.duplicates import dismiss_duplicate_pair, get_duplicate_suggestions
from fitness.db.integrity import find_problems
from fitness.db.runs import delete_run, get_all_runs, get_run_by_id, import_runs, list_run_details
from fitness.db.runs_history import (
    get_run_history,
    get_run_history_page,
    mark_duplicate,
    restore_run_version,
)
from fitness.db.shoes import create_shoe, get_shoe_by_id
from fitness.errors import DuplicateConflict, RunNotFound, VersionConflict
from fitness.models import Run

MORNING = datetime(2025, 5, 6, 5, 31, 12, tzinfo=UTC)


def run(run_id: str, source: str, start: datetime = MORNING, **values: object) -> Run:
    fields: dict[str, object] = {"type": "Outdoor Run", "distance": 6.2, "duration": 3088.0}
    fields.update(values)
    return Run(id=run_id, source=source, datetime_utc=start, **fields)  # type: ignore[arg-type]


@pytest.fixture
def same_run_twice(db: str) -> tuple[str, str]:
    """The same morning run from the Strava API and from Apple Health, in one shoe."""
    create_shoe("Hoka Clifton 9")
    import_runs(
        [
            run("strava_101", "Strava", distance=6.21, shoe_id="hoka_clifton_9"),
            run("hae_8f3c2a1e", "Apple Health", MORNING + timedelta(seconds=4), distance=6.226,
                shoe_id="hoka_clifton_9"),
        ]
    )  # fmt: skip
    return "hae_8f3c2a1e", "strava_101"


def suggested() -> list[list[str]]:
    return [pair.run_ids for pair in get_duplicate_suggestions().pairs]


def test_the_same_run_from_two_sources_is_suggested(same_run_twice: tuple[str, str]) -> None:
    [pair] = get_duplicate_suggestions().pairs

    assert pair.run_ids == ["strava_101", "hae_8f3c2a1e"]
    assert [r.id for r in pair.runs] == pair.run_ids
    assert pair.start_difference == 4.0
    assert pair.distance_difference == pytest.approx(0.016)


@pytest.mark.parametrize(
    ("other", "is_suggested"),
    [
        # A start typed 20 minutes off, inside the 51-minute run: still its time.
        (run("manual_1", "Manual", MORNING + timedelta(minutes=20)), True),
        # Right after the run ends, give or take 15 minutes.
        (run("manual_1", "Manual", MORNING + timedelta(minutes=51 + 14)), True),
        (run("manual_1", "Manual", MORNING + timedelta(minutes=51 + 16)), False),
        # 5% of the longer distance, or 0.1 mile.
        (run("manual_1", "Manual", distance=6.2 * 1.05), True),
        (run("manual_1", "Manual", distance=6.2 * 1.06), False),
        (run("manual_1", "Manual", distance=0.9, duration=300.0), False),
        # MapMyFitness knows only the day: its runs sit at local noon, spanning the day.
        (run("mmf_1", "MapMyFitness", datetime(2025, 5, 6, 12, tzinfo=UTC)), True),
        (run("mmf_1", "MapMyFitness", datetime(2025, 5, 7, 12, tzinfo=UTC)), False),
        # One source never sends one run twice (its ids are the source's own).
        (run("hae_2", "Apple Health", MORNING + timedelta(minutes=1)), False),
    ],
)
def test_the_suggestion_rule_and_its_tolerances(db: str, other: Run, is_suggested: bool) -> None:
    import_runs([run("hae_1", "Apple Health", duration=51 * 60.0), other])
    assert bool(suggested()) is is_suggested


def test_a_dismissed_pair_is_never_suggested_again(same_run_twice: tuple[str, str]) -> None:
    duplicate, kept = same_run_twice

    first = dismiss_duplicate_pair(duplicate, kept)
    again = dismiss_duplicate_pair(kept, duplicate)

    assert first.run_ids == ["hae_8f3c2a1e", "strava_101"] == again.run_ids
    assert again.dismissed_at == first.dismissed_at
    assert suggested() == []
    with pytest.raises(RunNotFound):
        dismiss_duplicate_pair(kept, "strava_nope")


def test_marking_records_versions_in_both_histories_and_hides_the_duplicate(
    same_run_twice: tuple[str, str],
) -> None:
    duplicate, kept = same_run_twice

    marked = mark_duplicate(duplicate, kept, changed_by="me", change_reason="same run")

    assert (marked.duplicate_of, marked.version) == (kept, 2)
    kept_run = get_run_by_id(kept)
    assert kept_run is not None and (kept_run.duplicate_ids, kept_run.version) == ([duplicate], 2)
    dup_history = get_run_history_page(duplicate).versions
    kept_history = get_run_history_page(kept).versions
    assert (dup_history[0].change_type, dup_history[0].changes) == (
        "duplicate", {"duplicate_of": {"from": None, "to": kept}}
    )  # fmt: skip
    assert (kept_history[0].change_type, kept_history[0].changes) == (
        "merge", {"duplicate_ids": {"from": [], "to": [duplicate]}}
    )  # fmt: skip
    assert kept_history[0].change_reason == "same run"
    # Hidden from lists, totals and shoe mileage; found by id; nothing deleted.
    assert [r.id for r in get_all_runs()] == [kept]
    assert [r.id for r in list_run_details().runs] == [kept]
    assert len(list_run_details(include_duplicates=True).runs) == 2
    assert get_run_by_id(duplicate) is not None
    [week] = stats.get_totals("day", date(2025, 5, 6), date(2025, 5, 6)).totals
    assert (week.runs, week.distance) == (1, 6.21)
    shoe = get_shoe_by_id("hoka_clifton_9")
    assert shoe is not None and (shoe.run_count, shoe.mileage) == (1, 6.21)
    assert suggested() == []
    assert find_problems() == []


def test_totals_as_of_before_the_marking_count_both(same_run_twice: tuple[str, str]) -> None:
    duplicate, kept = same_run_twice
    before = datetime.now(UTC)
    mark_duplicate(duplicate, kept, changed_by="me")

    [then] = stats.get_totals("day", date(2025, 5, 6), date(2025, 5, 6), as_of=before).totals
    assert then.runs == 2


def test_restoring_the_version_before_the_marking_undoes_it(
    same_run_twice: tuple[str, str],
) -> None:
    duplicate, kept = same_run_twice
    mark_duplicate(duplicate, kept, changed_by="me")

    restored = restore_run_version(duplicate, 1, changed_by="me")

    assert (restored.duplicate_of, restored.version) == (None, 3)
    kept_run = get_run_by_id(kept)
    assert kept_run is not None and (kept_run.duplicate_ids, kept_run.version) == ([], 3)
    assert [v.change_type for v in get_run_history(kept)] == ["merge", "merge", "original"]
    assert len(get_all_runs()) == 2
    assert find_problems() == []
    # Restoring the marking again marks it again.
    again = restore_run_version(duplicate, 2, changed_by="me")
    assert again.duplicate_of == kept
    assert get_run_by_id(kept).duplicate_ids == [duplicate]  # type: ignore[union-attr]
    assert find_problems() == []


@pytest.mark.parametrize(
    ("marking", "problem"),
    [
        (("strava_101", "strava_101"), "cannot be a duplicate of itself"),
        (("manual_3", "hae_8f3c2a1e"), "is itself a duplicate of 'strava_101'"),
        (("strava_101", "manual_3"), "are duplicates of 'strava_101'"),
        (("hae_8f3c2a1e", "manual_3"), "already a duplicate of 'strava_101'"),
        # The reverse of the marking: never "mark it a duplicate of itself instead".
        (("strava_101", "hae_8f3c2a1e"), "is a duplicate of 'strava_101'; to keep 'hae_8f3c2a1e'"),
    ],
)
def test_markings_that_would_break_the_rules_are_refused(
    same_run_twice: tuple[str, str], marking: tuple[str, str], problem: str
) -> None:
    import_runs([run("manual_3", "Manual", MORNING + timedelta(minutes=2))])
    mark_duplicate("hae_8f3c2a1e", "strava_101", changed_by="me")

    with pytest.raises(DuplicateConflict, match=problem):
        mark_duplicate(*marking, changed_by="me")
    assert find_problems() == []


def test_deleted_runs_and_stale_versions_are_refused(same_run_twice: tuple[str, str]) -> None:
    duplicate, kept = same_run_twice
    delete_run(kept, changed_by="me")
    with pytest.raises(RunNotFound):
        mark_duplicate(duplicate, kept, changed_by="me")
    restore_run_version(kept, 1, changed_by="me")
    with pytest.raises(VersionConflict):
        mark_duplicate(duplicate, kept, changed_by="me", expected_version=7)
    assert get_run_by_id(kept).duplicate_ids == []  # type: ignore[union-attr]


def test_undoing_while_the_kept_run_is_deleted_is_refused_until_it_is_back(
    same_run_twice: tuple[str, str],
) -> None:
    duplicate, kept = same_run_twice
    mark_duplicate(duplicate, kept, changed_by="me")
    delete_run(kept, changed_by="me")

    with pytest.raises(DuplicateConflict, match="is deleted; restore 'strava_101' first"):
        restore_run_version(duplicate, 1, changed_by="me")
    restore_run_version(kept, 2, changed_by="me")
    assert restore_run_version(duplicate, 1, changed_by="me").duplicate_of is None
    assert find_problems() == []


def test_db_check_finds_links_written_behind_the_librarys_back(
    same_run_twice: tuple[str, str], raw_conn: psycopg.Connection
) -> None:
    duplicate, kept = same_run_twice
    raw_conn.execute("UPDATE runs SET duplicate_of = %s WHERE id = %s", (kept, duplicate))

    kinds = {(problem.kind, problem.run_id) for problem in find_problems()}

    assert ("duplicates_mismatch", kept) in kinds
    assert ("data_mismatch", duplicate) in kinds
