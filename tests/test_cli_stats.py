"""`fitness stats ...`: the statistics as a user reads them, against real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fitness.cli import main
from fitness.db.rides import import_rides
from fitness.db.runs import bulk_create_runs
from fitness.db.shoes import create_shoe
from fitness.db.stats import get_shoe_wear
from tests.factories import RideFactory, RunFactory


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def cells(out: str) -> list[list[str]]:
    """The data rows of the tables printed, as lists of cell texts."""
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in out.splitlines()
        if line.startswith("│")
    ]


@pytest.fixture
def log(db: str, runs: RunFactory) -> None:
    create_shoe("Hoka Clifton 9")
    bulk_create_runs(
        [
            runs.make(datetime_utc=datetime(2024, 1, 1, 7, tzinfo=UTC), distance=3.0,
                      duration=1500.0, shoe_id="hoka_clifton_9"),
            runs.make(datetime_utc=datetime(2024, 1, 2, 7, tzinfo=UTC), distance=6.2,
                      duration=3100.0, avg_heart_rate=None),
            runs.make(datetime_utc=datetime(2024, 1, 9, 7, tzinfo=UTC), distance=10.0,
                      duration=5400.0),
        ]
    )  # fmt: skip


@pytest.mark.parametrize(
    "command", ["totals", "rolling", "load", "records", "shoes", "shoe-limits"]
)
def test_every_stats_command_has_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    status, out, _ = run_cli(capsys, "stats", command, "--help")
    assert status == 0
    assert out.startswith(f"usage: fitness stats {command}")


def test_weekly_totals_are_a_table_with_a_total_row(
    log: None, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(
        capsys, "stats", "totals", "--start", "2024-01-01", "--end", "2024-01-21"
    )
    assert (status, err) == (0, "")
    assert cells(out) == [
        ["2024-01-01", "9.20", "1:16:40", "2", "8:20"],
        ["2024-01-08", "10.00", "1:30:00", "1", "9:00"],
        ["2024-01-15", "0.00", "0:00:00", "0", "—"],
        ["total", "19.20", "2:46:40", "3", "8:41"],
    ]


def test_km_and_sunday_weeks(log: None, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(
        capsys, "stats", "totals", "--units", "km", "--week-start", "sunday",
        "--start", "2024-01-01", "--end", "2024-01-06",
    )  # fmt: skip
    assert status == 0
    assert "distance (km)" in out and "pace (/km)" in out
    assert cells(out)[0][:2] == ["2023-12-31", "14.81"]  # 9.2 mi


def test_records_and_load_and_rolling_show_their_figures(
    log: None, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run_cli(capsys, "stats", "records")
    assert status == 0
    assert "│ longest run " in out and "10.00 mi" in out
    assert "fastest 10 km" in out
    assert "2 days" in out and "2024-01-01 to 2024-01-02" in out
    assert ["Eddington number", "3 mi, 3 km", "", ""] in cells(out)
    assert ["longest week", "10.00 mi in 1 run", "2024-01-08", ""] in cells(out)
    assert ["longest month", "19.20 mi in 3 runs", "2024-01-01", ""] in cells(out)

    status, out, _ = run_cli(
        capsys, "stats", "load", "--start", "2024-01-01", "--end", "2024-01-14"
    )
    assert status == 0
    rows = cells(out)
    assert rows[1][:2] == ["2024-01-02", "0"]  # no heart rate: no TRIMP
    assert rows[1][-1] == "1"  # one run without heart rate
    assert ["2024-01-08", "10.00", "9.20", "+9%", ""] in rows

    status, out, _ = run_cli(
        capsys, "stats", "rolling", "--window", "2", "--start", "2024-01-02", "--end", "2024-01-03"
    )
    assert status == 0
    assert cells(out) == [["2024-01-02", "9.20"], ["2024-01-03", "6.20"]]


@pytest.mark.parametrize(
    ("argv", "first", "last", "periods"),
    [
        (["totals", "--period", "day"], ["2023-12-13", "0.00"], ["2024-01-09", "10.00"], 28),
        (["totals"], ["2023-10-16", "0.00"], ["2024-01-08", "10.00"], 13),
        (["totals", "--period", "month"], ["2023-01-01", "0.00"], ["2024-01-01", "19.20"], 13),
        (["rolling"], ["2023-12-13", "0.00"], ["2024-01-09", "10.00"], 28),
        (["load"], ["2023-12-13", "0"], ["2024-01-09", "125"], 28),
    ],
)
def test_end_without_start_shows_the_recent_window_ending_then(
    log: None,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    first: list[str],
    last: list[str],
    periods: int,
) -> None:
    # The 28 days, 12 weeks or 12 months up to --end, as they are up to today without it
    # (a window starting mid-week or mid-month shows that whole period too).
    status, out, err = run_cli(capsys, "stats", *argv, "--end", "2024-01-09")
    assert (status, err) == (0, "")
    rows = cells(out)
    shown = [row[:2] for row in rows if len(row) == len(rows[0]) and row[0] != "total"]
    assert (shown[0], shown[-1], len(shown)) == (first, last, periods)


def test_as_of_before_the_import_shows_an_empty_log(
    log: None, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    status, out, _ = run_cli(capsys, "stats", "records", "--as-of", before)
    assert status == 0
    assert "longest run" not in out
    assert ["Eddington number", "0 mi, 0 km", "", ""] in cells(out)


def test_shoe_limits_in_km_then_shoes_shows_them(
    log: None, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run_cli(
        capsys, "stats", "shoe-limits", "hoka_clifton_9", "--warning", "400", "--maximum", "800",
        "--units", "km",
    )  # fmt: skip
    assert (status, out) == (
        0,
        "hoka_clifton_9: starts at 0.00, warns at 400.00, worn out at 800.00 km\n",
    )
    (wear,) = get_shoe_wear()
    assert wear.maximum_mileage == pytest.approx(800 / 1.609344)
    status, out, _ = run_cli(capsys, "stats", "shoes")
    assert status == 0
    assert cells(out)[0][:6] == ["Hoka Clifton 9", "1", "3.00", "494.10", "248.55", "497.10"]
    status, out, _ = run_cli(capsys, "stats", "shoes", "--monthly")
    assert "2024-01-01 to 2024-01-01" in out and "2024-01" in out


def test_sport_chooses_runs_rides_or_both(log: None, capsys: pytest.CaptureFixture[str]) -> None:
    import_rides(
        [
            RideFactory().make(
                datetime_utc=datetime(2024, 1, 2, 17, tzinfo=UTC), distance=20.0,
                duration=3600.0, avg_heart_rate=125.0,
            )
        ]
    )  # fmt: skip
    week = ("--start", "2024-01-01", "--end", "2024-01-07")

    _, runs_only, _ = run_cli(capsys, "stats", "totals", *week)
    _, rides, _ = run_cli(capsys, "stats", "totals", *week, "--sport", "ride")
    status, both, _ = run_cli(capsys, "stats", "totals", *week, "--sport", "all")

    assert status == 0
    assert cells(runs_only)[0][:4] == ["2024-01-01", "9.20", "1:16:40", "2"]
    assert cells(rides)[0][:4] == ["2024-01-01", "20.00", "1:00:00", "1"]
    assert cells(both)[0][:4] == ["2024-01-01", "29.20", "2:16:40", "3"]
    assert "runs and rides" in both and "activities" in both

    _, rolled, _ = run_cli(
        capsys, "stats", "rolling", "--window", "1", *week[:2], "--end", "2024-01-02",
        "--sport", "all",
    )  # fmt: skip
    assert cells(rolled) == [["2024-01-01", "3.00"], ["2024-01-02", "26.20"]]

    # Training load counts the ride by default (60 minutes at half the heart-rate reserve:
    # 60 x 0.5 x 0.64 x e^0.96 = 50), and not with --sport run.
    _, load, _ = run_cli(capsys, "stats", "load", *week)
    _, run_load, _ = run_cli(capsys, "stats", "load", *week, "--sport", "run")
    assert cells(load)[1][:2] == ["2024-01-02", "50"]
    assert cells(run_load)[1][:2] == ["2024-01-02", "0"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["stats", "totals", "--tz", "Mars/Base"], "fitness: error: invalid parameters: tz: "),
        (["stats", "rolling", "--window", "0"], "fitness: error: invalid parameters: window: "),
        (
            ["stats", "totals", "--start", "2024-02-01", "--end", "2024-01-01"],
            "fitness: error: invalid parameters: end: must not be before start",
        ),
        (["stats", "load", "--max-hr", "50"], "fitness: error: invalid parameters: heart_rate"),
        (
            ["stats", "rolling", "--end", "1899-12-31"],
            "fitness: error: invalid parameters: end: must be from 1900-01-01",
        ),
        (["stats", "shoe-limits", "nope", "--warning", "1"], "fitness: error: shoe 'nope'"),
    ],
)
def test_bad_values_are_one_line_errors(
    log: None, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, err = run_cli(capsys, *argv)
    assert (status, out) == (1, "")
    assert err.startswith(message)
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["stats", "totals", "--as-of", "2024-01-01T10:00"],
        ["stats", "totals", "--start", "yesterday"],
        ["stats", "totals", "--period", "fortnight"],
        ["stats", "records", "--units", "furlongs"],
        ["stats", "totals", "--sport", "swim"],
        ["stats", "records", "--sport", "ride"],
    ],
)
def test_malformed_arguments_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    status, out, err = run_cli(capsys, *argv)
    assert (status, out) == (2, "")
    assert len(err.strip().splitlines()) == 1
