"""fitness.services.strava_archive_import: a whole Strava export in, in one transaction."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from fitness.db.rides import get_ride_by_id
from fitness.db.runs import get_all_runs, get_run_by_id, import_runs
from fitness.db.runs_history import update_run_with_history
from fitness.db.shoes import get_shoes, sync_gear_shoes
from fitness.errors import InvalidImport
from fitness.importers.strava import provider_gear
from fitness.services.strava_archive_import import (
    StravaArchiveImportResult,
    import_strava_archive,
)
from tests.activity_files import (
    FIXTURES,
    english_export_files,
    fit_file,
    gpx_file,
    gz,
    strava_export,
)

ENGLISH_RUNS = 6


def accounted(result: StravaArchiveImportResult) -> int:
    return (
        result.inserted
        + result.skipped_existing
        + result.rides_inserted
        + result.rides_skipped_existing
        + result.repeated_in_file
        + result.skipped_other_activities
        + result.error_count
    )


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return strava_export(
        tmp_path / "export_12345678.zip", FIXTURES / "activities-en.csv", english_export_files()
    )


def test_an_english_export_imports_its_runs_shoes_and_what_the_files_add(
    db: str, export: Path
) -> None:
    result = import_strava_archive(export)
    assert (result.inserted, result.skipped_other_activities, result.error_count) == (6, 1, 0)
    assert result.rides_inserted == 1
    assert result.other_activity_types == {"Walk": 1}
    ride = get_ride_by_id("strava_11000000003")
    assert ride is not None and (ride.type, ride.source, ride.name) == (
        "Road Ride",
        "Strava",
        "Lunch Ride",
    )
    assert result.rows == 8 == accounted(result)
    assert result.layout == "2020" and result.distance_unit == "m"
    # shoes.csv's shoes, retired or unused ones too, under the names the Strava sync uses.
    assert result.shoes_created == (
        "Brooks Ghost 12",
        "Hoka Clifton 9",
        "Nike Pegasus 40",
        "Speedy",
    )
    runs = {run.id: run for run in get_all_runs()}
    assert len(runs) == ENGLISH_RUNS and all(run.source == "Strava" for run in runs.values())
    # The FIT file says treadmill and gives the heart rate the CSV lacked.
    treadmill = runs["strava_11000000002"]
    assert (treadmill.type, treadmill.avg_heart_rate) == ("Treadmill Run", 162)
    # The gear cell names the shoe by brand and model; the shoe is its nickname's.
    assert treadmill.shoe_name == "Speedy"
    assert runs["strava_11000000001"].type == "Outdoor Run"
    assert runs["strava_11000000001"].shoe_id == "nike_pegasus_40"
    # A GPX without heart rate: none, and the run is imported all the same.
    assert runs["strava_11000000004"].avg_heart_rate is None
    assert runs["strava_11000000008"].avg_heart_rate == 141  # from the .gpx.gz
    assert runs["strava_11000000005"].type == "Treadmill Run"  # Virtual Run
    assert runs["strava_11000000007"].notes == "Manual entry: watch died"


def test_importing_the_export_again_inserts_nothing(db: str, export: Path) -> None:
    import_strava_archive(export)
    again = import_strava_archive(export)
    assert (again.inserted, again.skipped_existing, again.shoes_created) == (0, ENGLISH_RUNS, ())
    assert len(get_all_runs()) == ENGLISH_RUNS and len(get_shoes()) == 4


def test_the_archive_and_the_api_sync_converge_on_one_run_never_undoing_an_edit(
    db: str, export: Path, runs: object
) -> None:
    synced = runs.make(id="strava_11000000001", distance=4.99)  # type: ignore[attr-defined]
    import_runs([synced])
    update_run_with_history("strava_11000000001", {"distance": 5.01}, changed_by="me")
    result = import_strava_archive(export)
    assert result.skipped_existing == 1 and result.inserted == ENGLISH_RUNS - 1
    assert get_run_by_id("strava_11000000001").distance == 5.01  # type: ignore[union-attr]


def test_a_shoe_the_api_sync_made_is_reused_not_made_twice(db: str, export: Path) -> None:
    gear = {"name": "Speedy", "nickname": "Speedy", "brand_name": "Saucony"}
    made = sync_gear_shoes([provider_gear("g42", gear)]).shoe_ids["g42"]
    result = import_strava_archive(export)
    assert "Speedy" not in result.shoes_created
    assert get_run_by_id("strava_11000000002").shoe_id == made  # type: ignore[union-attr]
    assert [shoe.name for shoe in get_shoes()].count("Speedy") == 1
    # And the other way round: a later sync adopts the archive's shoe by its name.
    later = sync_gear_shoes([provider_gear("g7", {"name": "Hoka Clifton 9"})])
    assert later.created == () and later.shoe_ids["g7"] == "hoka_clifton_9"


@pytest.mark.parametrize(
    ("fixture", "runs_expected", "others"),
    [
        ("activities-de.csv", 2, {}),
        ("activities-fr.csv", 2, {"Natation": 1}),
        ("activities-es.csv", 2, {"Caminata": 1}),
        ("activities-2018.csv", 1, {}),
    ],
)
def test_localized_and_older_exports(
    db: str, tmp_path: Path, fixture: str, runs_expected: int, others: dict[str, int]
) -> None:
    result = import_strava_archive(strava_export(tmp_path / "export.zip", FIXTURES / fixture))
    assert (result.inserted, result.other_activity_types, result.errors) == (
        runs_expected,
        others,
        (),
    )


def test_a_2019_export_finds_the_accounts_unit_from_an_activity_file(
    db: str, tmp_path: Path
) -> None:
    files = {"activities/15000000001.gpx": gpx_file(seconds=2795, metres=8046.72)}
    export = strava_export(tmp_path / "export.zip", FIXTURES / "activities-2019.csv", files)
    result = import_strava_archive(export)
    assert (result.layout, result.distance_unit, result.inserted) == ("2019", "mi", 1)
    assert get_run_by_id("strava_15000000001").distance == 5.0  # type: ignore[union-attr]


def test_an_unpacked_folder_and_an_export_zipped_inside_a_folder(db: str, tmp_path: Path) -> None:
    folder = strava_export(
        tmp_path / "export", FIXTURES / "activities-en.csv", english_export_files()
    )
    assert import_strava_archive(folder, dry_run=True).inserted == ENGLISH_RUNS
    nested = strava_export(
        tmp_path / "nested.zip",
        FIXTURES / "activities-en.csv",
        english_export_files(),
        folder="export_12345678/",
    )
    result = import_strava_archive(nested)
    assert result.inserted == ENGLISH_RUNS and result.files_read == 5  # 4 runs', 1 ride's


def test_activities_csv_alone_imports_what_it_says(db: str) -> None:
    result = import_strava_archive(FIXTURES / "activities-en.csv")
    assert result.inserted == ENGLISH_RUNS and result.files_read == 0
    assert get_run_by_id("strava_11000000002").type == "Outdoor Run"  # type: ignore[union-attr]


def test_a_missing_or_damaged_activity_file_is_a_warning_and_the_run_still_imported(
    db: str, tmp_path: Path
) -> None:
    files = english_export_files()
    del files["activities/11000000002.fit.gz"]
    files["activities/11000000001.fit.gz"] = b"\x1f\x8bnot gzip"
    export = strava_export(tmp_path / "export.zip", FIXTURES / "activities-en.csv", files)
    result = import_strava_archive(export)
    assert result.inserted == ENGLISH_RUNS
    messages = {warning.line: warning.message for warning in result.warnings}
    assert "is not a readable gzip file" in messages[2]
    assert "activities/11000000002.fit.gz is not in the archive" in messages[3]


def test_a_type_this_version_does_not_know_is_decided_by_its_activity_file(
    db: str, tmp_path: Path
) -> None:
    content = (FIXTURES / "activities-en.csv").read_text(encoding="utf-8")
    content = (
        content.replace(",Run,Easy 8k", ",Juoksu,Easy 8k")
        .replace(",Walk,", ",Kävely,")
        .replace(",Lunch Ride,Ride,", ",Lunch Ride,Pyöräily,")
    )
    export = strava_export(tmp_path / "export.zip", content, english_export_files())
    result = import_strava_archive(export)
    assert get_run_by_id("strava_11000000001") is not None  # its FIT file says running
    assert get_ride_by_id("strava_11000000003") is not None  # its GPX file says cycling
    assert result.other_activity_types == {"Kävely": 1}  # no file to ask


def test_dry_run_and_strict_write_nothing(
    db: str, export: Path, tmp_path: Path, raw_conn: psycopg.Connection
) -> None:
    dry = import_strava_archive(export, dry_run=True)
    assert dry.dry_run and dry.inserted == ENGLISH_RUNS
    content = (FIXTURES / "activities-en.csv").read_text(encoding="utf-8")
    broken = content.replace("Mar 8, 2024, 5:45:10 AM", "someday")
    strict = import_strava_archive(
        strava_export(tmp_path / "broken.zip", broken, english_export_files()), strict=True
    )
    assert strict.aborted and strict.inserted == 0 and strict.error_count == 1
    assert raw_conn.execute("SELECT count(*) FROM runs").fetchone() == (0,)
    assert raw_conn.execute("SELECT count(*) FROM shoes").fetchone() == (0,)


def test_bad_rows_are_listed_and_the_others_imported(db: str, tmp_path: Path) -> None:
    content = (FIXTURES / "activities-en.csv").read_text(encoding="utf-8")
    broken = content.replace("Mar 8, 2024, 5:45:10 AM", "someday")
    result = import_strava_archive(strava_export(tmp_path / "b.zip", broken))
    assert result.inserted == ENGLISH_RUNS - 1 and accounted(result) == result.rows
    [error] = result.errors
    assert error.line == 7 and "someday" in error.message


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"profile.csv": b"Athlete ID\n1\n"}, "no activities.csv"),
        ({"activities.csv": b"Workout Date,Activity Type\n"}, "not Strava's activities.csv"),
        ({"activities.csv": "Activity ID,Café\n".encode("latin-1")}, "not UTF-8"),
    ],
)
def test_an_unusable_archive_is_refused_whole(
    db: str, tmp_path: Path, members: dict[str, bytes], message: str
) -> None:
    import zipfile

    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(InvalidImport, match=message):
        import_strava_archive(path)
    assert get_all_runs() == []


def test_a_run_repeated_in_the_file_is_counted_once(db: str, tmp_path: Path) -> None:
    lines = (FIXTURES / "activities-en.csv").read_text(encoding="utf-8").splitlines(True)
    content = "".join([*lines, lines[1]])
    result = import_strava_archive(strava_export(tmp_path / "r.zip", content))
    assert result.repeated_in_file == 1 and accounted(result) == result.rows == 9
    [repeat] = result.repeats
    assert (repeat.run_id, repeat.kept_line) == ("strava_11000000001", 2)


def test_progress_reports_rows_and_bytes(db: str, export: Path) -> None:
    seen: list[tuple[int, int, int]] = []
    import_strava_archive(export, progress=lambda *report: seen.append(report))
    rows, done, total = seen[-1]
    assert rows == 8 and done == total > 0


def test_a_treadmill_fit_file_makes_an_untyped_run_a_treadmill_run(db: str, tmp_path: Path) -> None:
    files = {"activities/11000000001.fit.gz": fit_file(sub_sport="indoor_running", positions=False)}
    export = strava_export(tmp_path / "e.zip", FIXTURES / "activities-en.csv", files)
    import_strava_archive(export)
    assert get_run_by_id("strava_11000000001").type == "Treadmill Run"  # type: ignore[union-attr]


def test_a_czech_export_reads_its_numbers_by_position(db: str, tmp_path: Path) -> None:
    # No list of headers knows Czech: the heart rate and power columns are found where the
    # machine block keeps them (its types, Běh and Jízda, are in the word lists).
    files = {
        "activities/16000000002.gpx": gpx_file(
            datetime(2024, 1, 3, 7, 30, tzinfo=UTC), seconds=2350, metres=8046.7
        ),
        "activities/16000000003.fit.gz": gz(
            fit_file(
                datetime(2026, 9, 6, 11, 18, 40, tzinfo=UTC),
                seconds=6490,
                metres=33227.2,
                sport="cycling",
                sub_sport="road",
                heart_rate=None,
            )
        ),
    }
    export = strava_export(tmp_path / "export.zip", FIXTURES / "activities-cs.csv", files)
    result = import_strava_archive(export)
    assert (result.inserted, result.rides_inserted, result.errors) == (2, 1, ())
    assert result.other_activity_types == {}
    without_file = get_run_by_id("strava_16000000001")
    assert without_file is not None and without_file.avg_heart_rate == 150.0
    run = get_run_by_id("strava_16000000002")
    assert run is not None and run.avg_heart_rate == 152.0  # the CSV's, not the file's 150
    ride = get_ride_by_id("strava_16000000003")
    assert ride is not None
    assert (ride.type, ride.avg_heart_rate, ride.avg_power) == ("Road Ride", 109.0, 98.0)
    assert ride.name == "Odpolední jízda" and round(ride.distance, 2) == 20.65


def test_a_rides_power_and_work_come_from_the_csv_when_its_file_has_none(
    db: str, tmp_path: Path
) -> None:
    rows = list(csv.reader(io.StringIO((FIXTURES / "activities-en.csv").read_text("utf-8"))))
    ride_row = rows[3]  # the Lunch Ride, whose file is a GPX track (no power)
    assert ride_row[3] == "Ride"
    ride_row[rows[0].index("Average Watts")] = "187.0"
    ride_row[rows[0].index("Total Work")] = "673200"  # joules
    content = io.StringIO()
    csv.writer(content).writerows(rows)
    export = strava_export(tmp_path / "export.zip", content.getvalue(), english_export_files())
    import_strava_archive(export)
    ride = get_ride_by_id("strava_11000000003")
    assert ride is not None and (ride.avg_power, ride.kilojoules) == (187.0, 673.2)
