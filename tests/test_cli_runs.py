"""`fitness runs add`, as a user runs it."""

from __future__ import annotations

import pytest

from fitness.cli import main
from fitness.db.runs import get_run_by_id


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_runs_add_stores_a_run_and_says_what_it_stored(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(
        capsys, "runs", "add", "--start", "2025-05-06T07:30+02:00", "--distance", "10",
        "--units", "km", "--duration", "50:00", "--heart-rate", "151", "--type", "treadmill",
    )  # fmt: skip

    assert status == 0, err
    assert out == (
        "added manual_20250506T053000Z: 6.21 mi in 0:50:00, treadmill run, "
        "started 2025-05-06 05:30Z, 151 bpm\n"
    )
    run = get_run_by_id("manual_20250506T053000Z")
    assert run is not None and run.type == "Treadmill Run" and run.duration == 3000


def test_runs_add_mistakes_are_one_line(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("runs", "add", "--start", "2025-05-06T07:30Z", "--distance", "5", "--duration")
    assert run_cli(capsys, *argv, "1:02:03")[0] == 0

    status, _, err = run_cli(capsys, *argv, "1:02:03")
    assert (status, err.count("\n")) == (1, 1)
    assert "already exists" in err
    status, _, err = run_cli(capsys, *argv, "an hour")
    assert status == 2 and "not a duration" in err
