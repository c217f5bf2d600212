"""`fitness import strava-archive` and `fitness import files`, run as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from fitness.cli import main
from fitness.db.runs import get_all_runs
from tests.activity_files import FIXTURES, english_export_files, fit_file, gpx_file, strava_export


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("command", ["strava-archive", "files"])
def test_the_import_commands_have_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    status, out, _ = run_cli(capsys, "import", command, "--help")
    assert status == 0 and out.startswith(f"usage: fitness import {command}")


def test_import_strava_archive_prints_what_it_did(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = strava_export(
        tmp_path / "export_12345678.zip", FIXTURES / "activities-en.csv", english_export_files()
    )
    status, out, err = run_cli(capsys, "import", "strava-archive", str(export))
    assert status == 0, err
    assert out.splitlines() == [
        "imported 6 runs (0 already stored, 1 other activity skipped: Walk 1); "
        "5 activity files read",
        "imported 1 ride (0 already stored)",
        "new shoes: Brooks Ghost 12, Hoka Clifton 9, Nike Pegasus 40, Speedy",
    ]
    status, out, _ = run_cli(capsys, "import", "strava-archive", str(export), "--dry-run")
    assert out.startswith("dry run: would import 0 runs (6 already stored")


def test_import_strava_archive_strict_rejects_bad_rows(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = (FIXTURES / "activities-en.csv").read_text(encoding="utf-8")
    export = strava_export(tmp_path / "e.zip", content.replace("Mar 8, 2024, 5:45:10 AM", "x"))
    status, out, _ = run_cli(capsys, "import", "strava-archive", str(export), "--strict")
    assert status == 1
    assert out.startswith("nothing imported: 1 bad row and --strict\n1 row could not be imported:")
    assert "  line 7: date: 'x' has no time of day" in out
    assert get_all_runs() == []


def test_import_strava_archive_of_something_else_is_one_line(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.zip"
    path.write_bytes(b"PK\x03\x04 not really")
    status, out, err = run_cli(capsys, "import", "strava-archive", str(path))
    assert status != 0 and out == ""
    assert err.startswith("fitness: error: ") and err.count("\n") == 1


def test_import_files_prints_what_it_did(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "run.fit").write_bytes(fit_file())
    (tmp_path / "run.gpx").write_bytes(gpx_file())
    (tmp_path / "ride.fit").write_bytes(fit_file(sport="cycling", serial=2))
    (tmp_path / "broken.fit").write_bytes(b"garbage")
    (tmp_path / "notes.txt").write_text("x")
    status, out, err = run_cli(capsys, "import", "files", str(tmp_path))
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        "imported 1 run (0 already stored, 1 repeated, 0 other activities skipped) "
        "from 4 files, 1 other file ignored"
    )
    assert lines[1] == "imported 1 ride (0 already stored)"
    assert lines[2] == "1 activity another file already had (the first file is kept):"
    assert lines[4] == "1 file could not be imported:"
    assert lines[5] == f"  {tmp_path}/broken.fit: is not a FIT, GPX or TCX file"
    status, out, _ = run_cli(capsys, "import", "files", str(tmp_path), "--strict")
    assert status == 1 and out.startswith("nothing imported: 1 bad file and --strict")
