"""fitness.db.runs: reading runs, importing them idempotently, soft-deleting them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from fitness.db.connection import transaction
from fitness.db.runs import (
    bulk_create_runs,
    delete_run,
    get_all_run_details,
    get_all_runs,
    get_existing_run_ids,
    get_run_by_id,
    get_run_detail_by_id,
    get_run_details_in_date_range,
    get_run_details_page,
    import_runs,
    list_run_details,
)
from fitness.db.runs_history import get_run_history, update_run_with_history
from fitness.db.shoes import create_shoe, get_shoe_by_id
from fitness.db.synced_runs import record_sync
from fitness.errors import InvalidParameters, InvalidUpdate, RunNotFound, VersionConflict
from tests.factories import RunFactory


def test_bulk_create_inserts_runs_with_their_original_version(db: str, runs: RunFactory) -> None:
    batch = runs.many(3)
    assert bulk_create_runs(batch) == 3
    stored = get_all_runs()
    assert [run.id for run in stored] == [run.id for run in batch]
    for original, run in zip(batch, stored, strict=True):
        assert run.version == 1
        assert (run.distance, run.duration, run.datetime_utc) == (
            original.distance,
            original.duration,
            original.datetime_utc,
        )
        [version] = get_run_history(run.id)
        assert version.version_number == 1
        assert version.change_type == "original"
        assert version.distance == original.distance


def test_reimporting_the_same_runs_creates_no_duplicate(db: str, runs: RunFactory) -> None:
    batch = runs.many(5)
    assert bulk_create_runs(batch) == 5
    assert bulk_create_runs(batch) == 0
    assert len(get_all_runs()) == 5
    assert all(len(get_run_history(run.id)) == 1 for run in batch)


def test_reimport_never_overwrites_a_user_edit(db: str, runs: RunFactory) -> None:
    run = runs.make(distance=5.0)
    bulk_create_runs([run])
    update_run_with_history(run.id, {"distance": 5.3}, changed_by="me")
    result = import_runs([run])
    assert result.inserted == 0 and result.skipped_existing == 1
    assert get_run_by_id(run.id).distance == 5.3  # type: ignore[union-attr]


def test_reimport_does_not_resurrect_a_deleted_run(db: str, runs: RunFactory) -> None:
    run = runs.make()
    bulk_create_runs([run])
    delete_run(run.id, changed_by="me")
    assert bulk_create_runs([run]) == 0
    assert get_run_by_id(run.id) is None


def test_import_mixes_new_and_known_runs_and_counts_both(db: str, runs: RunFactory) -> None:
    known, new = runs.many(2), runs.many(3)
    bulk_create_runs(known)
    result = import_runs([*known, *new])
    assert (result.inserted, result.skipped_existing) == (3, 2)


def test_duplicate_ids_within_one_import_keep_the_first(db: str, runs: RunFactory) -> None:
    first = runs.make(id="strava_7", distance=1.0)
    second = runs.make(id="strava_7", distance=2.0)
    assert bulk_create_runs([first, second]) == 1
    assert get_run_by_id("strava_7").distance == 1.0  # type: ignore[union-attr]


def test_import_creates_missing_shoes_from_names(db: str, runs: RunFactory) -> None:
    create_shoe("Brooks Ghost 15")
    batch = [
        runs.make(shoe_name="Brooks Ghost 15"),
        runs.make(shoe_name="Nike Pegasus 40"),
        runs.make(shoe_name="nike pegasus 40"),
    ]
    result = import_runs(batch)
    assert result.shoes_created == ("Nike Pegasus 40",)
    stored = get_all_runs()
    assert [run.shoe_id for run in stored] == [
        "brooks_ghost_15",
        "nike_pegasus_40",
        "nike_pegasus_40",
    ]
    assert stored[1].shoe_name == "Nike Pegasus 40"
    assert get_shoe_by_id("nike_pegasus_40").run_count == 2  # type: ignore[union-attr]


def test_import_in_several_batches_is_still_one_transaction(db: str, runs: RunFactory) -> None:
    good = runs.many(5)
    bad = runs.make(shoe_id="no_such_shoe")
    with pytest.raises(InvalidUpdate):
        import_runs([*good, bad], batch_size=2)
    assert get_all_runs() == []


@pytest.mark.parametrize("distance", [-1.0, 1e-310, 5e-7])
def test_invalid_runs_are_refused_before_anything_is_written(
    db: str, runs: RunFactory, distance: float
) -> None:
    # A vanishing distance too: every pace of it would overflow.
    with pytest.raises(InvalidUpdate) as caught:
        import_runs([runs.make(), runs.make(id="strava_99", distance=distance)])
    assert "strava_99.distance" in caught.value.errors
    assert get_all_runs() == []


def test_import_joins_the_callers_transaction(db: str, runs: RunFactory) -> None:
    with pytest.raises(RuntimeError), transaction() as conn:
        import_runs(runs.many(2), conn=conn)
        raise RuntimeError("the caller changes its mind")
    assert get_all_runs() == []


def test_get_run_by_id_hides_deleted_runs_unless_asked(db: str, runs: RunFactory) -> None:
    run = runs.make()
    bulk_create_runs([run])
    delete_run(run.id, changed_by="me")
    assert get_run_by_id(run.id) is None
    deleted = get_run_by_id(run.id, include_deleted=True)
    assert deleted is not None and deleted.is_deleted
    assert get_run_by_id("strava_does_not_exist") is None


def test_get_all_runs_excludes_deleted_by_default(db: str, runs: RunFactory) -> None:
    batch = runs.many(3)
    bulk_create_runs(batch)
    delete_run(batch[1].id, changed_by="me")
    assert [run.id for run in get_all_runs()] == [batch[0].id, batch[2].id]
    assert len(get_all_runs(include_deleted=True)) == 3


def test_existing_run_ids_include_deleted_runs(db: str, runs: RunFactory) -> None:
    batch = runs.many(2)
    bulk_create_runs(batch)
    delete_run(batch[0].id, changed_by="me")
    assert get_existing_run_ids() == {batch[0].id, batch[1].id}


def test_delete_records_a_deletion_version(db: str, runs: RunFactory) -> None:
    run = runs.make()
    bulk_create_runs([run])
    deleted = delete_run(run.id, changed_by="me", change_reason="duplicate of a treadmill run")
    assert deleted.version == 2 and deleted.is_deleted and deleted.last_edited_by == "me"
    newest = get_run_history(run.id)[0]
    assert newest.change_type == "deletion"
    assert newest.change_reason == "duplicate of a treadmill run"
    assert newest.distance == run.distance


def test_deleting_twice_or_an_unknown_run_is_not_found(db: str, runs: RunFactory) -> None:
    run = runs.make()
    bulk_create_runs([run])
    delete_run(run.id, changed_by="me")
    with pytest.raises(RunNotFound):
        delete_run(run.id, changed_by="me")
    with pytest.raises(RunNotFound):
        delete_run("strava_404", changed_by="me")
    assert len(get_run_history(run.id)) == 2


def test_delete_with_a_stale_expected_version_conflicts(db: str, runs: RunFactory) -> None:
    run = runs.make()
    bulk_create_runs([run])
    update_run_with_history(run.id, {"distance": 1.0}, changed_by="me")
    with pytest.raises(VersionConflict) as caught:
        delete_run(run.id, changed_by="me", expected_version=1)
    assert caught.value.current_version == 2
    assert get_run_by_id(run.id) is not None


def test_date_range_includes_both_end_days_entirely(db: str) -> None:
    factory = RunFactory(start=datetime(2024, 3, 1, 0, 0, tzinfo=UTC))
    edge_runs = [
        factory.make(id="strava_1", datetime_utc=datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)),
        factory.make(id="strava_2", datetime_utc=datetime(2024, 3, 1, 0, 0, tzinfo=UTC)),
        factory.make(id="strava_3", datetime_utc=datetime(2024, 3, 10, 23, 59, 59, tzinfo=UTC)),
        factory.make(id="strava_4", datetime_utc=datetime(2024, 3, 11, 0, 0, tzinfo=UTC)),
    ]
    bulk_create_runs(edge_runs)
    found = get_run_details_in_date_range(date(2024, 3, 1), date(2024, 3, 10))
    assert [run.id for run in found] == ["strava_2", "strava_3"]


def test_date_range_can_include_deleted_runs(db: str, runs: RunFactory) -> None:
    batch = runs.many(3)
    bulk_create_runs(batch)
    delete_run(batch[0].id, changed_by="me")
    start, end = date(2024, 1, 1), date(2024, 1, 31)
    assert len(get_run_details_in_date_range(start, end)) == 2
    assert len(get_run_details_in_date_range(start, end, include_deleted=True)) == 3


def test_date_range_query_uses_the_datetime_index(db: str, raw_conn: psycopg.Connection) -> None:
    factory = RunFactory(start=datetime(2015, 1, 1, 7, tzinfo=UTC))
    bulk_create_runs(factory.many(3000))
    raw_conn.execute("ANALYZE runs")
    query = """
        EXPLAIN (FORMAT JSON)
        SELECT r.id FROM runs AS r
        WHERE r.deleted_at IS NULL
          AND r.datetime_utc >= '2020-01-01' AND r.datetime_utc < '2020-02-01'
        ORDER BY r.datetime_utc, r.id
    """
    plan = str(raw_conn.execute(query).fetchone()[0])  # type: ignore[index]
    assert "runs_datetime_utc_id_idx" in plan


def test_run_details_carry_shoe_name_and_calendar_state(db: str, runs: RunFactory) -> None:
    synced, stale, failed, missing = (
        runs.make(shoe_name="Hoka Clifton 9"),
        runs.make(),
        runs.make(),
        runs.make(),
    )
    bulk_create_runs([synced, stale, failed, missing])
    record_sync(synced.id, 1, "event-1")
    record_sync(stale.id, 1, "event-2")
    update_run_with_history(stale.id, {"distance": 9.9}, changed_by="me")
    record_sync(failed.id, 1, None, sync_status="failed", error_message="calendar said 500")
    details = {detail.id: detail for detail in get_all_run_details()}
    assert details[synced.id].shoe_name == "Hoka Clifton 9"
    assert details[synced.id].calendar_state == "current"
    assert details[synced.id].google_event_id == "event-1"
    assert details[stale.id].calendar_state == "stale"
    assert details[failed.id].calendar_state == "failed"
    assert details[failed.id].sync_error == "calendar said 500"
    assert details[missing.id].calendar_state == "missing"
    assert get_run_detail_by_id(stale.id).synced_version == 1  # type: ignore[union-attr]


def test_pages_walk_newest_first_without_gaps_or_repeats(db: str) -> None:
    factory = RunFactory()
    same_moment = datetime(2024, 6, 1, 7, tzinfo=UTC)
    batch = factory.many(7) + [factory.make(datetime_utc=same_moment) for _ in range(3)]
    bulk_create_runs(batch)
    seen: list[str] = []
    after = None
    while True:
        page = get_run_details_page(limit=3, after=after)
        if not page:
            break
        seen.extend(run.id for run in page)
        after = (page[-1].datetime_utc, page[-1].id)
    expected = sorted(batch, key=lambda run: (run.datetime_utc, run.id), reverse=True)
    assert seen == [run.id for run in expected]


def test_a_page_can_be_bounded_by_dates(db: str, runs: RunFactory) -> None:
    bulk_create_runs(runs.many(40))
    page = get_run_details_page(start=date(2024, 1, 10), end=date(2024, 1, 12), limit=10)
    assert [run.datetime_utc.date() for run in page] == [
        date(2024, 1, 12),
        date(2024, 1, 11),
        date(2024, 1, 10),
    ]
    assert page[0].datetime_utc - page[1].datetime_utc == timedelta(days=1)


def test_a_page_can_be_filtered_by_shoe_type_and_source(db: str, runs: RunFactory) -> None:
    create_shoe("Hoka Clifton 9")
    bulk_create_runs(
        runs.many(3, shoe_id="hoka_clifton_9")
        + runs.many(2, type="Treadmill Run")
        + [runs.make(id=f"mmf_{n}", source="MapMyFitness") for n in range(4)]
        + [runs.make(shoe_id="hoka_clifton_9", type="Treadmill Run", source="MapMyFitness")]
    )

    def ids(**filters: str) -> list[str]:
        pages, cursor = [], None
        while True:
            page = list_run_details(limit=2, cursor=cursor, **filters)  # type: ignore[arg-type]
            pages.extend(run.id for run in page.runs)
            if page.next_cursor is None:
                return pages
            cursor = page.next_cursor

    everything = {run.id: run for run in get_all_runs()}
    for filters in (
        {"shoe_id": "hoka_clifton_9"},
        {"type": "Treadmill Run"},
        {"source": "MapMyFitness"},
        {"shoe_id": "hoka_clifton_9", "type": "Treadmill Run", "source": "MapMyFitness"},
        {"shoe_id": "no_such_shoe"},
    ):
        expected = [
            run.id
            for run in sorted(
                everything.values(), key=lambda run: (run.datetime_utc, run.id), reverse=True
            )
            if all(getattr(run, name) == value for name, value in filters.items())
        ]
        assert ids(**filters) == expected, filters
    assert len(ids(shoe_id="hoka_clifton_9")) == 4
    assert ids(shoe_id="no_such_shoe") == []


def test_a_page_bounded_by_dates_takes_the_days_of_a_time_zone(db: str, runs: RunFactory) -> None:
    # 23:30 UTC on the 9th is already the 10th in Berlin; 23:30 UTC on the 10th the 11th.
    late = [runs.make(datetime_utc=datetime(2024, 3, day, 23, 30, tzinfo=UTC)) for day in (9, 10)]
    bulk_create_runs(late)
    day = date(2024, 3, 10)

    in_utc = list_run_details(start=day, end=day).runs
    in_berlin = list_run_details(start=day, end=day, tz="Europe/Berlin").runs

    assert [run.id for run in in_utc] == [late[1].id]
    assert [run.id for run in in_berlin] == [late[0].id]


def test_an_unknown_zone_is_an_invalid_parameter(db: str) -> None:
    for zone in ("Mars/Olympus", "", "x" * 100):
        with pytest.raises(InvalidParameters) as caught:
            list_run_details(tz=zone)
        assert caught.value.errors == {
            "tz": "must be an IANA time zone such as Europe/Berlin or UTC"
        }
