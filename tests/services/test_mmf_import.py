"""fitness.services.mmf_import: MMF exports imported in one transaction, batch by batch."""

from __future__ import annotations

import io
import logging
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pydantic import TypeAdapter

from fitness.config import reset_settings
from fitness.db.runs import get_all_runs, get_run_by_id
from fitness.db.runs_history import get_run_history, update_run_with_history
from fitness.db.shoes import get_shoes
from fitness.errors import InvalidImport
from fitness.services.mmf_import import (
    MAX_REPORTED_ERRORS,
    MMFImportResult,
    import_mmf_csv,
    import_mmf_file,
)
from tests.importers.mmf_csv import SAMPLE_EXPORT, mmf_csv, mmf_row

SAMPLE_RUNS = 59
SAMPLE_OTHER_ACTIVITIES = 13
SAMPLE_SHOES = [
    "Brooks Ghost 15",
    "Hoka Clifton 9",
    "Nike Air Zoom Pegasus 38",
    "Saucony Endorphin Speed 3",
]


def csv_bytes(*rows: dict[str, str]) -> io.BytesIO:
    return io.BytesIO(mmf_csv(rows).encode())


def count_rows(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    assert row is not None
    return row[0]


def test_the_sample_export_fills_an_empty_database(db: str) -> None:
    result = import_mmf_file(SAMPLE_EXPORT, timezone="America/New_York")
    assert result.inserted == SAMPLE_RUNS
    assert result.skipped_existing == 0
    assert result.skipped_other_activities == SAMPLE_OTHER_ACTIVITIES
    assert list(result.shoes_created) == SAMPLE_SHOES
    assert result.errors == () and not result.aborted
    runs = get_all_runs()
    assert len(runs) == SAMPLE_RUNS
    assert {shoe.name for shoe in get_shoes()} == set(SAMPLE_SHOES)
    assert all(run.datetime_utc.hour in (16, 17) for run in runs)
    assert all(get_run_history(run.id)[0].change_type == "original" for run in runs[:3])


def test_importing_the_sample_again_inserts_nothing(db: str) -> None:
    import_mmf_file(SAMPLE_EXPORT)
    again = import_mmf_file(SAMPLE_EXPORT)
    assert (again.inserted, again.skipped_existing, again.shoes_created) == (0, SAMPLE_RUNS, ())
    assert len(get_all_runs()) == SAMPLE_RUNS


def test_a_reimport_never_undoes_a_users_edit(db: str) -> None:
    row = mmf_row(Distance_mi="3.0", Link="https://www.mapmyfitness.com/workout/42")
    import_mmf_csv(csv_bytes(row))
    update_run_with_history("mmf_42", {"distance": 3.1}, changed_by="me")
    import_mmf_csv(csv_bytes(row))
    assert get_run_by_id("mmf_42").distance == 3.1  # type: ignore[union-attr]


def test_runs_get_their_shoe_created_and_linked(db: str) -> None:
    import_mmf_csv(
        csv_bytes(
            mmf_row(Notes="Shoes: Hoka Clifton 9", Link="https://www.mapmyfitness.com/workout/1"),
            mmf_row(Notes="shoes: Hoka Clifton 9", Link="https://www.mapmyfitness.com/workout/2"),
        )
    )
    assert {run.shoe_id for run in get_all_runs()} == {"hoka_clifton_9"}
    [shoe] = get_shoes()
    assert (shoe.name, shoe.run_count) == ("Hoka Clifton 9", 2)


def test_good_rows_are_imported_and_bad_ones_reported(db: str) -> None:
    result = import_mmf_csv(
        csv_bytes(mmf_row(), mmf_row(Distance_mi="-2"), mmf_row(Activity_Type="Walk"), mmf_row())
    )
    assert (result.inserted, result.skipped_other_activities) == (2, 1)
    assert [(e.line, "Distance (mi)" in e.message) for e in result.errors] == [(3, True)]
    assert shown(result)["errors"] == [{"line": 3, "message": result.errors[0].message}]
    assert len(get_all_runs()) == 2


def test_strict_mode_writes_nothing_when_a_row_is_bad(
    db: str, raw_conn: psycopg.Connection
) -> None:
    rows = [mmf_row(Notes="Shoes: Brooks Ghost 15") for _ in range(12)]
    rows.insert(9, mmf_row(Workout_Date="yesterday"))
    result = import_mmf_csv(csv_bytes(*rows), strict=True, batch_size=5)
    assert result.aborted
    assert (result.inserted, result.shoes_created) == (0, ())
    assert [e.line for e in result.errors] == [11]
    assert count_rows(raw_conn, "runs") == 0
    assert count_rows(raw_conn, "runs_history") == 0
    assert count_rows(raw_conn, "shoes") == 0


def test_strict_mode_imports_a_clean_file(db: str) -> None:
    result = import_mmf_file(SAMPLE_EXPORT, strict=True)
    assert not result.aborted and result.inserted == SAMPLE_RUNS


def test_a_dry_run_reports_what_would_be_inserted_and_writes_nothing(
    db: str, raw_conn: psycopg.Connection
) -> None:
    known = [mmf_row() for _ in range(3)]
    new = [mmf_row(Notes="Shoes: Saucony Ride 17") for _ in range(4)]
    import_mmf_csv(csv_bytes(*known))
    result = import_mmf_csv(csv_bytes(*known, *new, mmf_row(Link="")), dry_run=True)
    assert result.dry_run
    assert (result.inserted, result.skipped_existing) == (4, 3)
    assert list(result.shoes_created) == ["Saucony Ride 17"]
    assert len(result.errors) == 1
    assert count_rows(raw_conn, "runs") == 3
    assert count_rows(raw_conn, "shoes") == 0


def test_batches_give_the_same_result_as_one_big_insert(db: str) -> None:
    result = import_mmf_file(SAMPLE_EXPORT)
    batched_db_result = (result.inserted, result.skipped_existing, result.shoes_created)
    with open(SAMPLE_EXPORT, "rb") as source:
        again = import_mmf_csv(source, batch_size=7)
    assert batched_db_result == (SAMPLE_RUNS, 0, tuple(SAMPLE_SHOES))
    assert (again.inserted, again.skipped_existing) == (0, SAMPLE_RUNS)


def test_duplicate_rows_in_one_file_are_inserted_once_and_counted_as_repeats(db: str) -> None:
    row = mmf_row()
    result = import_mmf_csv(csv_bytes(row, mmf_row(), row), batch_size=2)
    assert (result.inserted, result.skipped_existing, result.repeated_in_file) == (2, 0, 1)
    [repeat] = result.repeats
    assert (repeat.line, repeat.kept_line) == (4, 2)


def test_progress_reports_rows_read(db: str) -> None:
    seen: list[int] = []
    rows = [mmf_row() for _ in range(2_500)]
    import_mmf_csv(csv_bytes(*rows), progress=seen.append)
    assert seen == [1_000, 2_000, 2_500]


def test_the_timezone_defaults_to_mmf_timezone(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMF_TIMEZONE", "Asia/Tokyo")
    reset_settings()
    try:
        import_mmf_csv(csv_bytes(mmf_row(Workout_Date="May 6, 2025")))
    finally:
        reset_settings()
    [run] = get_all_runs()
    assert run.datetime_utc == datetime(2025, 5, 6, 3, tzinfo=UTC)


def test_an_unknown_timezone_is_refused_before_anything_is_read(db: str) -> None:
    source = csv_bytes(mmf_row())
    with pytest.raises(InvalidImport, match="timezone"):
        import_mmf_csv(source, timezone="Europe/Atlantis")
    assert source.tell() == 0


def test_a_missing_column_writes_nothing(db: str) -> None:
    source = io.BytesIO(mmf_csv([mmf_row()], ["Workout Date", "Activity Type", "Link"]).encode())
    with pytest.raises(InvalidImport, match="Distance"):
        import_mmf_csv(source)
    assert get_all_runs() == []


def test_invalid_utf8_deep_in_the_file_rolls_everything_back(db: str) -> None:
    good = mmf_csv([mmf_row() for _ in range(400)]).encode()
    bad = mmf_csv([mmf_row(Notes="Café")], bom=False).split("\r\n", 1)[1].encode("latin-1")
    with pytest.raises(InvalidImport, match="UTF-8"):
        import_mmf_csv(io.BytesIO(good + bad), batch_size=50)
    assert get_all_runs() == []


def test_the_callers_stream_is_left_open(db: str) -> None:
    source = csv_bytes(mmf_row())
    import_mmf_csv(source)
    assert not source.closed


def test_a_file_of_garbage_rows_reports_a_bounded_number_of_errors(db: str) -> None:
    rows = [mmf_row(Link="nope") for _ in range(MAX_REPORTED_ERRORS + 200)]
    result = import_mmf_csv(csv_bytes(*rows))
    assert len(result.errors) == MAX_REPORTED_ERRORS
    assert result.error_count == MAX_REPORTED_ERRORS + 200
    assert result.inserted == 0


def test_importing_a_large_file_holds_one_batch_not_the_file(db: str, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    # Rows of ~1 KB (long notes), as a real export with notes has: what memory holds per
    # row (the ids seen, to find repeats) is then a small part of what the file holds.
    notes = "Easy run along the river. " * 40
    line = mmf_csv(
        [mmf_row(Link="https://www.mapmyfitness.com/workout/{id}", Notes=notes)], bom=False
    )
    line = line.split("\r\n", 1)[1]
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(mmf_csv([]))
        for n in range(10_000):
            out.write(line.replace("{id}", str(5_000_000 + n)))
    size = path.stat().st_size
    import_mmf_csv(csv_bytes(mmf_row()))  # warm up: lazy imports, the pool, prepared plans
    tracemalloc.start()
    try:
        with open(path, "rb") as source:
            result = import_mmf_csv(source, batch_size=200)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.inserted == 10_000
    # What is held is one batch, the ids seen (to find repeats: ~120 bytes a row) and fixed
    # overhead (~0.4 MB), not the file's 11 MB.
    assert peak < size / 4


@pytest.fixture(autouse=True)
def _no_stray_settings() -> Iterator[None]:
    yield
    reset_settings()


CASES = Path(__file__).resolve().parent.parent / "fixtures" / "cases"


def accounted(result: MMFImportResult) -> int:
    return (
        result.inserted
        + result.skipped_existing
        + result.repeated_in_file
        + result.skipped_other_activities
        + result.error_count
    )


def test_a_metric_export_imports_in_miles_and_says_it_was_km(db: str) -> None:
    result = import_mmf_file(CASES / "mmf-metric-export.csv", timezone="UTC")
    assert (result.inserted, result.skipped_other_activities, result.rows) == (2, 1, 3)
    assert result.distance_unit == "km" and shown(result)["distance_unit"] == "km"
    assert {run.id: run.distance for run in get_all_runs()} == {
        "mmf_5425300001": 4.5404,
        "mmf_5410000002": 3.64224,
    }
    assert get_run_by_id("mmf_5410000002").notes == "Muddy lanes"  # type: ignore[union-attr]


def test_bytes_literal_notes_leave_no_artefact_in_stored_data(db: str) -> None:
    result = import_mmf_file(CASES / "mmf-bytes-notes.csv")
    assert result.shoes_created == ("Hoka Clifton 9",)
    [shoe] = get_shoes()
    assert (shoe.id, shoe.name, shoe.run_count) == ("hoka_clifton_9", "Hoka Clifton 9", 2)
    notes = [run.notes for run in get_all_runs()]
    assert notes == ["Hot, dry and slow. Shoes: Hoka Clifton 9", "Shoes: Hoka Clifton 9"]
    assert all("b'" not in text and not text.endswith("'") for text in notes if text)


def test_a_workout_repeated_in_the_file_is_counted_and_the_kept_copy_named(db: str) -> None:
    result = import_mmf_file(CASES / "mmf-repeated-workout.csv")
    assert (result.rows, result.inserted, result.repeated_in_file) == (3, 2, 1)
    assert accounted(result) == result.rows
    assert shown(result)["repeats"] == [{"line": 4, "run_id": "mmf_8613100001", "kept_line": 2}]
    # The first copy (line 2, 4.35 mi) is the one stored; the second (4.53 mi) is not.
    assert get_run_by_id("mmf_8613100001").distance == 4.35  # type: ignore[union-attr]

    again = import_mmf_file(CASES / "mmf-repeated-workout.csv")
    assert (again.inserted, again.skipped_existing, again.repeated_in_file) == (0, 2, 1)
    assert accounted(again) == again.rows


def test_every_data_row_is_accounted_for(db: str) -> None:
    known = mmf_row()
    import_mmf_csv(csv_bytes(known))
    repeated = mmf_row()
    rows = [
        known,
        repeated,
        mmf_row(Activity_Type="Walk"),
        mmf_row(Distance_mi="far"),
        repeated,
        mmf_row(),
        repeated,
        mmf_row(Link="https://example.com/workout/1"),
    ]
    text = mmf_csv(rows) + '"May 6, 2025",Run,3.1\r\n\r\n'
    result = import_mmf_csv(io.BytesIO(text.encode()), batch_size=2)
    assert (result.inserted, result.skipped_existing, result.repeated_in_file) == (2, 1, 2)
    assert (result.skipped_other_activities, result.error_count) == (1, 3)
    assert accounted(result) == result.rows == 9
    assert [(r.line, r.kept_line) for r in result.repeats] == [(6, 3), (8, 3)]


def test_a_run_naming_a_shoe_in_any_script_is_imported_with_its_shoe(db: str) -> None:
    result = import_mmf_csv(
        csv_bytes(
            mmf_row(Notes="Shoes: Кроссовки Привет 2"),
            mmf_row(Notes="Shoes: ナイキ 40"),
            mmf_row(Notes="Shoes: アシックス 40"),
        )
    )
    assert (result.inserted, result.error_count) == (3, 0)
    assert {shoe.name: shoe.id for shoe in get_shoes()} == {
        "Кроссовки Привет 2": "krossovki_privet_2",
        "ナイキ 40": "naiki_40",
        "アシックス 40": "ashitkusu_40",
    }


def test_a_shoes_line_naming_no_usable_shoe_is_a_warning_and_the_run_is_kept(db: str) -> None:
    result = import_mmf_csv(csv_bytes(mmf_row(Notes="Shoes: " + "x" * 120)))
    assert (result.inserted, result.error_count) == (1, 0)
    [warning] = result.warnings
    assert warning.line == 2 and "without one" in warning.message
    [run] = get_all_runs()
    assert run.shoe_id is None and run.notes == "Shoes: " + "x" * 120


def test_notes_are_stored_and_a_reimport_never_overwrites_edited_notes(db: str) -> None:
    row = mmf_row(Notes="Tempo, windy", Link="https://www.mapmyfitness.com/workout/42")
    import_mmf_csv(csv_bytes(row))
    assert get_run_by_id("mmf_42").notes == "Tempo, windy"  # type: ignore[union-attr]
    update_run_with_history("mmf_42", {"notes": "Tempo, very windy", "name": "Tempo"}, "me")
    import_mmf_csv(csv_bytes(row))
    run = get_run_by_id("mmf_42")
    assert run is not None and (run.name, run.notes) == ("Tempo", "Tempo, very windy")


def test_a_dry_run_never_logs_that_it_imported(db: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    import_mmf_file(SAMPLE_EXPORT, dry_run=True)
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "imported" in m.lower() or "inserted" in m.lower()]
    assert any("dry run: would insert 59 runs" in m and "nothing written" in m for m in messages)


def test_a_stream_that_cannot_seek_imports_like_a_file(db: str) -> None:
    rows = [mmf_row() for _ in range(2_500)]
    source = _Pipe(mmf_csv(rows).encode())
    result = import_mmf_csv(source, progress=lambda rows: None)
    assert result.inserted == 2_500


class _Pipe(io.RawIOBase):
    """A read-only stream without seek or tell, as a pipe or /dev/stdin is."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data.read(min(len(buffer), 4096))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def tell(self) -> int:
        raise OSError(29, "Illegal seek")


def shown(result: MMFImportResult) -> dict[str, Any]:
    """The result as the API and the CLI show it."""
    return TypeAdapter(MMFImportResult).dump_python(result, mode="json")
