"""`fitness duplicates [mark|dismiss]`, as a user runs it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fitness.cli import main
from fitness.db.runs import get_all_runs, import_runs
from fitness.models import Run

START = datetime(2025, 5, 6, 5, 31, 12, tzinfo=UTC)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def twins(db: str) -> None:
    import_runs(
        [
            Run(id=run_id, source=source, datetime_utc=START, type="Outdoor Run",
                distance=distance, duration=3088.0)
            for run_id, source, distance in (
                ("strava_101", "Strava", 6.21), ("hae_8f3c", "Apple Health", 6.23)
            )
        ]
    )  # fmt: skip


def test_list_mark_and_dismiss(twins: None, capsys: pytest.CaptureFixture[str]) -> None:
    status, listed, err = run_cli(capsys, "duplicates")
    assert status == 0, err
    assert listed.splitlines()[0] == "1 suggested duplicate:"
    assert "hae_8f3c" in listed and "strava_101" in listed and "(+0 s, 0.02 mi apart)" in listed

    status, marked, _ = run_cli(capsys, "duplicates", "mark", "hae_8f3c", "strava_101")
    assert status == 0
    assert (
        marked
        == "hae_8f3c is now a duplicate of strava_101 (version 2; restore version 1 to undo)\n"
    )
    assert [run.id for run in get_all_runs()] == ["strava_101"]
    assert run_cli(capsys, "duplicates")[1] == "no suggested duplicates\n"

    status, _, err = run_cli(capsys, "duplicates", "mark", "hae_8f3c", "strava_101")
    assert status == 1 and err.startswith("fitness: error: run 'hae_8f3c' is already a duplicate")


def test_marking_the_reverse_never_suggests_a_run_as_its_own_duplicate(
    twins: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "duplicates", "mark", "hae_8f3c", "strava_101")[0] == 0

    status, out, err = run_cli(capsys, "duplicates", "mark", "strava_101", "hae_8f3c")

    assert (status, out, err.count("\n")) == (1, "", 1)
    assert "'strava_101' a duplicate of 'strava_101'" not in err


def test_dismiss(twins: None, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "duplicates", "dismiss", "strava_101", "hae_8f3c")
    assert (status, out) == (
        0,
        "hae_8f3c and strava_101 will not be suggested as duplicates again\n",
    )
    assert run_cli(capsys, "duplicates")[1] == "no suggested duplicates\n"
