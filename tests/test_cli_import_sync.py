"""`fitness import mmf` and `fitness sync strava`, run as a user runs them (fitness/cli.py)."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fitness.cli import _configure_logging, main
from fitness.config import reset_settings
from fitness.db.runs import get_all_runs
from tests.fakes.strava import FakeStrava, make_activities, running_fake_strava
from tests.importers.mmf_csv import SAMPLE_EXPORT, mmf_csv, mmf_row


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def strava(db: str) -> Iterator[FakeStrava]:
    with running_fake_strava() as fake:
        yield fake


@pytest.mark.parametrize("argv", [["import"], ["import", "mmf"], ["sync"], ["sync", "strava"]])
def test_the_new_commands_have_help(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    status, out, _ = run_cli(capsys, *argv, "--help")
    assert status == 0
    assert out.startswith(f"usage: fitness {' '.join(argv)}")


def test_import_mmf_imports_the_sample_and_prints_a_summary(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(capsys, "import", "mmf", SAMPLE_EXPORT, "--timezone", "UTC")
    assert status == 0, err
    assert "imported 59 runs (0 already stored, 13 other activities skipped)" in out
    assert "new shoes: Brooks Ghost 15, Hoka Clifton 9" in out
    assert len(get_all_runs()) == 59

    status, out, _ = run_cli(capsys, "import", "mmf", SAMPLE_EXPORT)
    assert status == 0
    assert "imported 0 runs (59 already stored" in out


def test_import_mmf_dry_run_writes_nothing(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "import", "mmf", SAMPLE_EXPORT, "--dry-run")
    assert status == 0
    assert "dry run: would import 59 runs" in out
    assert get_all_runs() == []


def test_import_mmf_lists_bad_rows_and_imports_the_rest(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(mmf_csv([mmf_row(), mmf_row(Distance_mi="far"), mmf_row()]), newline="")
    status, out, _ = run_cli(capsys, "import", "mmf", str(path))
    assert status == 0
    assert "imported 2 runs" in out
    assert "1 row could not be imported:\n  line 3: Distance (mi): 'far' is not a number" in out


def test_import_mmf_strict_rejects_a_file_with_bad_rows(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(mmf_csv([mmf_row(), mmf_row(Link="")]), newline="")
    status, out, _ = run_cli(capsys, "import", "mmf", str(path), "--strict")
    assert status == 1
    assert "nothing imported: 1 bad row and --strict" in out
    assert "line 3: Link" in out
    assert get_all_runs() == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (mmf_csv([mmf_row()], ["Workout Date", "Link"]), "'Activity Type'"),
        ("", "empty"),
    ],
)
def test_import_mmf_of_an_unusable_file_is_one_line_and_exit_1(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(content)
    status, _, err = run_cli(capsys, "import", "mmf", str(path))
    assert status == 1
    assert err.startswith("fitness: error:") and message in err
    assert len(err.strip().splitlines()) == 1


def test_import_mmf_of_a_missing_file_is_one_line_and_exit_1(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(capsys, "import", "mmf", "/nonexistent/export.csv")
    assert status == 1
    assert "No such file" in err and len(err.strip().splitlines()) == 1


def test_import_mmf_with_an_unknown_timezone_is_exit_1(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(capsys, "import", "mmf", SAMPLE_EXPORT, "--timezone", "Nowhere/City")
    assert status == 1 and "Nowhere/City" in err


def test_on_a_terminal_the_import_shows_progress_and_still_prints_the_summary(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    status, out, _ = run_cli(capsys, "import", "mmf", SAMPLE_EXPORT)
    assert status == 0
    assert "imported 59 runs" in out


def test_sync_strava_stores_runs_and_prints_a_summary(
    strava: FakeStrava, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(capsys, "sync", "strava")
    assert status == 0, err
    assert (
        "fetched 8 activities: 6 new runs, 0 already stored, 1 new ride (0 already stored), "
        "1 other activity skipped"
    ) in out
    assert "synced up to 2025-01-09T12:00:00+00:00" in out
    assert len(get_all_runs()) == 6

    status, out, _ = run_cli(capsys, "sync", "strava", "--full")
    assert status == 0 and "0 new runs, 6 already stored" in out
    assert strava.api_requests("/athlete/activities")[-1].query["after"] == "0"


def test_sync_strava_stopped_by_the_rate_limit_says_when_to_run_again(
    strava: FakeStrava, capsys: pytest.CaptureFixture[str]
) -> None:
    strava.api.activities = make_activities(300)
    strava.api.rate_limit_after(1)
    status, out, _ = run_cli(capsys, "sync", "strava")
    assert status == 0
    assert "200 new runs" in out
    assert "stopped early by Strava's rate limit" in out and "Run it again after" in out


def test_sync_strava_without_strava_configured_is_one_line_and_exit_1(
    strava: FakeStrava, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRAVA_CLIENT_SECRET")
    reset_settings()
    status, _, err = run_cli(capsys, "sync", "strava")
    assert status == 1
    assert "STRAVA_CLIENT_SECRET" in err and len(err.strip().splitlines()) == 1


def test_import_mmf_on_a_fresh_machine_creates_the_embedded_database_first(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["FITNESS_DATA_DIR"] = str(tmp_path / "data")
    command = [sys.executable, "-m", "fitness.cli", "import", "mmf", str(SAMPLE_EXPORT)]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "imported 59 runs" in first.stdout
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert "imported 0 runs (59 already stored" in again.stdout


def test_import_mmf_refuses_a_database_url_whose_schema_is_not_at_head(
    make_database: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    session_url = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = make_database()
    reset_settings()
    try:
        code, _, err = run_cli(capsys, "import", "mmf", str(SAMPLE_EXPORT))
    finally:
        if session_url is None:
            os.environ.pop("DATABASE_URL")
        else:
            os.environ["DATABASE_URL"] = session_url
        reset_settings()
    assert code == 1
    assert "fitness db upgrade" in err


CASES = Path(__file__).resolve().parent / "fixtures" / "cases"


def fitness_command(*argv: str) -> list[str]:
    return [sys.executable, "-m", "fitness.cli", *argv]


@pytest.mark.parametrize("name", ["-", "/dev/stdin"])
def test_import_mmf_from_a_pipe_streams_like_a_file(db: str, tmp_path: Path, name: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text(mmf_csv([mmf_row() for _ in range(2_500)]), newline="")
    with open(path, "rb") as export:
        cat = subprocess.Popen(["cat"], stdin=export, stdout=subprocess.PIPE)
        done = subprocess.run(
            fitness_command("import", "mmf", name),
            stdin=cat.stdout,
            capture_output=True,
            text=True,
            timeout=120,
        )
        cat.wait()
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("imported 2500 runs (0 already stored, 0 other activities")
    assert done.stderr == ""
    assert len(get_all_runs()) == 2_500


def test_commands_are_quiet_by_default_and_verbose_shows_the_log(db: str) -> None:
    quiet = subprocess.run(
        fitness_command("import", "mmf", SAMPLE_EXPORT, "--dry-run"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert "imported" not in quiet.stdout
    assert quiet.stdout.startswith("dry run: would import 59 runs")
    assert "nothing written" in quiet.stdout.splitlines()[0]

    verbose = subprocess.run(
        fitness_command("--verbose", "import", "mmf", SAMPLE_EXPORT, "--dry-run"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert " INFO fitness.services.mmf_import: MMF import dry run: would insert 59" in (
        verbose.stderr
    )
    assert "imported" not in verbose.stderr.lower()
    assert get_all_runs() == []


def test_import_mmf_of_a_metric_export_says_the_unit(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(capsys, "import", "mmf", str(CASES / "mmf-metric-export.csv"))
    assert status == 0, err
    assert out == (
        "imported 2 runs (0 already stored, 1 other activity skipped); "
        "distances in km, converted to miles\n"
    )


def test_import_mmf_says_which_copy_of_a_repeated_workout_it_kept(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run_cli(capsys, "import", "mmf", str(CASES / "mmf-repeated-workout.csv"))
    assert status == 0
    assert out == (
        "imported 2 runs (0 already stored, 1 repeated in the file, 0 other activities "
        "skipped); distances in miles\n"
        "1 row repeated a workout of an earlier row (the earlier row is the one kept):\n"
        "  line 4: mmf_8613100001, kept from line 2\n"
    )


def test_import_mmf_lists_rows_imported_without_their_shoe(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(mmf_csv([mmf_row(Notes="Shoes: " + "x" * 120)]), newline="")
    status, out, _ = run_cli(capsys, "import", "mmf", str(path))
    assert status == 0
    assert "1 row imported without part of it:\n  line 2: Notes: 'Shoes: xxx" in out


def test_log_lines_go_to_the_stderr_of_the_moment_one_line_each(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure_logging(debug=False, verbose=False)
    replaced = io.StringIO()
    monkeypatch.setattr(sys, "stderr", replaced)  # as rich's progress bar does
    logging.getLogger("fitness.test").warning("first line\nsecond line")
    logging.getLogger("fitness.test").info("not shown without --verbose")
    assert replaced.getvalue().endswith("WARNING fitness.test: first line | second line\n")
    assert "not shown" not in replaced.getvalue()
