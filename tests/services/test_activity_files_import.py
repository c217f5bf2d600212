"""fitness.services.activity_files_import: files, folders and zips of FIT, GPX and TCX."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from fitness.db.rides import get_ride_by_id
from fitness.db.runs import get_all_runs, get_run_by_id
from fitness.db.runs_history import update_run_with_history
from fitness.errors import InvalidImport
from fitness.services.activity_files_import import (
    ActivityFilesImportResult,
    Upload,
    import_activity_files,
)
from tests.activity_files import START, fit_file, gpx_file, gz, tcx_file, zipped


def accounted(result: ActivityFilesImportResult) -> int:
    return (
        result.inserted
        + result.skipped_existing
        + result.rides_inserted
        + result.rides_skipped_existing
        + result.repeated_in_import
        + result.skipped_other_activities
        + result.error_count
    )


def day(n: int) -> object:
    return START + timedelta(days=n)


@pytest.fixture
def watch(tmp_path: Path) -> Path:
    """A watch's export folder: runs in every format, a ride, a broken file, other files."""
    folder = tmp_path / "GARMIN" / "Activity"
    folder.mkdir(parents=True)
    (folder / "run.fit").write_bytes(fit_file())
    (folder / "treadmill.fit").write_bytes(
        fit_file(day(1), sub_sport="treadmill", positions=False)  # type: ignore[arg-type]
    )
    (folder / "ride.fit").write_bytes(fit_file(day(2), sport="cycling"))  # type: ignore[arg-type]
    (folder / "phone.gpx.gz").write_bytes(gz(gpx_file(day(3), heart_rate=None)))  # type: ignore[arg-type]
    (folder / "old.tcx").write_bytes(tcx_file(day(4)))  # type: ignore[arg-type]
    (folder / "broken.fit").write_bytes(fit_file(day(5))[:-40])  # type: ignore[arg-type]
    (tmp_path / "GARMIN" / "Settings.json").write_text("{}")
    return tmp_path / "GARMIN"


def test_a_folder_of_activity_files_at_any_depth(db: str, watch: Path) -> None:
    result = import_activity_files([watch])
    assert (result.inserted, result.skipped_other_activities, result.error_count) == (4, 0, 1)
    assert result.rides_inserted == 1
    assert (result.files, result.ignored_files, result.activities) == (6, 1, 6)
    assert accounted(result) == result.activities
    assert result.other_activity_types == {}
    ride = get_ride_by_id("file_20240306T060102Z")
    assert ride is not None and (ride.source, ride.type) == ("Activity File", "Road Ride")
    [error] = result.errors
    assert error.file.endswith("broken.fit") and "truncated" in error.message
    runs = {run.id: run for run in get_all_runs()}
    assert all(run.source == "Activity File" for run in runs.values())
    assert runs["file_20240305T060102Z"].type == "Treadmill Run"
    assert runs["file_20240307T060102Z"].avg_heart_rate is None


def test_importing_again_or_another_export_of_the_same_run_adds_nothing(
    db: str, watch: Path, tmp_path: Path
) -> None:
    import_activity_files([watch])
    update_run_with_history("file_20240304T060102Z", {"distance": 3.2}, changed_by="me")
    other_export = tmp_path / "Morning_Run.gpx"
    other_export.write_bytes(gpx_file())
    again = import_activity_files([watch, other_export])
    assert (again.inserted, again.skipped_existing, again.repeated_in_import) == (0, 4, 1)
    assert len(get_all_runs()) == 4
    assert get_run_by_id("file_20240304T060102Z").distance == 3.2  # type: ignore[union-attr]


def test_a_fit_and_a_gpx_of_one_activity_in_one_import_are_one_run(db: str, tmp_path: Path) -> None:
    (tmp_path / "a.fit").write_bytes(fit_file())
    (tmp_path / "b.gpx").write_bytes(gpx_file())
    result = import_activity_files([tmp_path / "a.fit", tmp_path / "b.gpx"])
    assert (result.inserted, result.repeated_in_import) == (1, 1)
    [repeat] = result.repeats
    assert repeat.file.endswith("b.gpx") and repeat.kept_file.endswith("a.fit")


def test_zips_and_zips_inside_zips_are_read_member_by_member(db: str, tmp_path: Path) -> None:
    inner = zipped({"UploadedFiles_0-_Part1/1.fit": fit_file(), "2.tcx": tcx_file(day(1))})  # type: ignore[arg-type]
    outer = tmp_path / "export.zip"
    outer.write_bytes(
        zipped({"DI_CONNECT/uploaded.zip": inner, "3.gpx": gpx_file(day(2)), "a.jpg": b"x"})  # type: ignore[arg-type]
    )
    result = import_activity_files([outer])
    assert (result.inserted, result.files, result.ignored_files) == (3, 3, 1)
    assert {run.id for run in get_all_runs()} == {
        "file_20240304T060102Z",
        "file_20240305T060102Z",
        "file_20240306T060102Z",
    }


def test_a_file_named_explicitly_is_read_whatever_its_name(db: str, tmp_path: Path) -> None:
    path = tmp_path / "download"
    path.write_bytes(fit_file())
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not an activity")
    result = import_activity_files([path, bogus])
    assert result.inserted == 1
    [error] = result.errors
    assert error.file == str(bogus) and "not a FIT, GPX or TCX file" in error.message


def test_strict_writes_nothing_and_dry_run_writes_nothing(
    db: str, watch: Path, raw_conn: psycopg.Connection
) -> None:
    strict = import_activity_files([watch], strict=True)
    assert strict.aborted and strict.inserted == 0 and strict.error_count == 1
    dry = import_activity_files([watch], dry_run=True)
    assert dry.dry_run and dry.inserted == 4
    assert raw_conn.execute("SELECT count(*) FROM runs").fetchone() == (0,)


def test_uploads_single_files_and_zips(db: str) -> None:
    uploads = [
        Upload("run.fit", io.BytesIO(fit_file())),
        Upload("more.zip", io.BytesIO(zipped({"a.gpx": gpx_file(day(1))}))),  # type: ignore[arg-type]
    ]
    result = import_activity_files(uploads)
    assert result.inserted == 2 and result.errors == ()


def test_a_path_that_does_not_exist_is_refused_whole(db: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidImport, match="neither a file nor a folder"):
        import_activity_files([tmp_path / "missing.fit"])


def test_a_damaged_nested_zip_is_an_error_naming_it(db: str, tmp_path: Path) -> None:
    outer = tmp_path / "export.zip"
    outer.write_bytes(zipped({"inner.zip": b"PK\x03\x04 broken", "1.fit": fit_file()}))
    result = import_activity_files([outer])
    assert result.inserted == 1
    [error] = result.errors
    assert error.file.endswith("inner.zip") and "cannot be read" in error.message
