"""`fitness races ...` and `fitness shoes ...`, as a user runs them."""

from __future__ import annotations

import pytest

from fitness.cli import main
from fitness.db.runs import get_run_by_id, import_runs
from fitness.db.shoes import create_shoe, delete_shoe_by_id, get_shoe_by_id
from tests.factories import RunFactory


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_races_set_list_and_clear(
    db: str, runs: RunFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    run = runs.make()
    import_runs([run])

    status, out, err = run_cli(
        capsys, "races", "set", run.id, "--name", "Parkrun #12", "--distance", "5",
        "--units", "km", "--time", "20:34", "--place", "7", "--field-size", "300",
    )  # fmt: skip

    assert status == 0, err
    assert out == f"{run.id} (version 2): Parkrun #12, 3.11 mi in 0:20:34, place 7 of 300\n"
    assert get_run_by_id(run.id).race_time == 1234  # type: ignore[union-attr]
    assert run_cli(capsys, "races", "list")[1] == (
        f"2024-01-01  {run.id}  Parkrun #12, 3.11 mi in 0:20:34, place 7 of 300\n"
    )
    assert run_cli(capsys, "races", "clear", run.id)[1] == f"{run.id} (version 3): no race\n"
    assert run_cli(capsys, "races", "list")[1] == "no races\n"


def test_races_mistakes_are_one_line(
    db: str, runs: RunFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    run = runs.make()
    import_runs([run])
    argv = ("races", "set", run.id, "--name", "X", "--distance", "3.1", "--time")
    status, _, err = run_cli(capsys, *argv, "20:00", "--place", "0")
    assert (status, err.count("\n")) == (1, 1) and "place" in err
    status, _, err = run_cli(capsys, *argv, "soon")
    assert status == 2 and "not a duration" in err
    status, _, err = run_cli(capsys, "races", "set", "strava_404", *argv[3:], "20:00")
    assert status == 1 and "not found" in err


@pytest.mark.parametrize(
    ("distance", "units"),
    [
        ("5000", "km"),
        ("1609.345", "km"),
        ("0", "km"),
        ("1000.001", "mi"),
        ("-1", "mi"),
        ("nan", "mi"),
    ],
)
def test_a_race_distance_beyond_its_bounds_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], distance: str, units: str
) -> None:
    status, out, err = run_cli(
        capsys, "races", "set", "strava_1", "--name", "X", "--distance", distance,
        "--units", units, "--time", "20:00",
    )  # fmt: skip
    assert (status, out) == (2, "")
    assert err == (
        "fitness races set: error: argument --distance: a race distance must be more than 0 "
        f"and at most 1,000 mi (1,609.344 km), not {distance} {units} "
        "(see `fitness races set --help`)\n"
    )


@pytest.mark.parametrize(("distance", "units"), [("1609.344", "km"), ("1000", "mi")])
def test_a_race_of_1000_miles_is_allowed(
    db: str, runs: RunFactory, capsys: pytest.CaptureFixture[str], distance: str, units: str
) -> None:
    run = runs.make()
    import_runs([run])
    status, out, err = run_cli(
        capsys, "races", "set", run.id, "--name", "Across", "--distance", distance,
        "--units", units, "--time", "200:00:00",
    )  # fmt: skip
    assert (status, err) == (0, "")
    assert out == f"{run.id} (version 2): Across, 1000.00 mi in 200:00:00\n"


def test_shoes_rename_merge_unmerge_and_undelete(
    db: str, runs: RunFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    kept, twin = create_shoe("Nike Pegasus 40"), create_shoe("Pegasus Forty")
    in_twin, kept_run = runs.make(shoe_id=twin.id), runs.make(shoe_id=kept.id)
    import_runs([in_twin, kept_run])

    assert run_cli(capsys, "shoes", "rename", kept.id, "Peggy")[1] == (
        "nike_pegasus_40 is now 'Peggy' (former names: Nike Pegasus 40)\n"
    )
    status, out, err = run_cli(capsys, "shoes", "merge", twin.id, kept.id, "--reason", "same")
    assert status == 0, err
    assert out == (
        "merged pegasus_forty into nike_pegasus_40: 1 run moved; Peggy now has 2 runs, "
        f"{in_twin.distance + kept_run.distance:.2f} mi\n"
    )
    status, _, err = run_cli(capsys, "shoes", "undelete", twin.id)
    assert status == 1 and "unmerge" in err
    assert run_cli(capsys, "shoes", "unmerge", twin.id)[1] == (
        "unmerged pegasus_forty from nike_pegasus_40: 1 run moved back\n"
    )
    assert get_shoe_by_id(twin.id).run_count == 1  # type: ignore[union-attr]

    delete_shoe_by_id(twin.id)
    status, out, _ = run_cli(capsys, "shoes", "undelete", twin.id)
    assert (status, out) == (
        0,
        f"pegasus_forty (Pegasus Forty) is back: 1 run, {in_twin.distance:.2f} mi\n",
    )
