"""Build MapMyFitness CSV exports for tests: realistic rows, override only what matters."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Mapping

HEADER = (
    "Date Submitted",
    "Workout Date",
    "Activity Type",
    "Calories Burned (kCal)",
    "Distance (mi)",
    "Workout Time (seconds)",
    "Avg Pace (min/mi)",
    "Max Pace (min/mi)",
    "Avg Speed (mi/h)",
    "Max Speed (mi/h)",
    "Avg Heart Rate",
    "Steps",
    "Notes",
    "Source",
    "Link",
)
SAMPLE_EXPORT = "tests/fixtures/mmf_export_sample.csv"

_workout_ids = itertools.count(8_600_000_001)


def mmf_row(**overrides: str) -> dict[str, str]:
    """One row of an export: a 5 km outdoor run with a fresh workout id.

    Override columns by name, ignoring case and punctuation: `Activity_Type="Walk"`,
    `Distance_mi="6.2"`, or `**{"Distance (mi)": "-1"}`.
    """
    values = {
        "Date Submitted": "May 6, 2025",
        "Workout Date": "May 6, 2025",
        "Activity Type": "Run",
        "Calories Burned (kCal)": "325",
        "Distance (mi)": "3.11",
        "Workout Time (seconds)": "1680",
        "Avg Pace (min/mi)": "9.0",
        "Max Pace (min/mi)": "7.6",
        "Avg Speed (mi/h)": "6.67",
        "Max Speed (mi/h)": "7.9",
        "Avg Heart Rate": "148",
        "Steps": "5130",
        "Notes": "",
        "Source": "Map My Run iPhone",
        "Link": f"https://www.mapmyfitness.com/workout/{next(_workout_ids)}",
    }
    by_key = {_key(column): column for column in values}
    for name, value in overrides.items():
        column = by_key.get(_key(name))
        if column is None:
            raise KeyError(f"no MMF column {name!r}")
        values[column] = value
    return values


def mmf_csv(
    rows: Iterable[Mapping[str, str]],
    header: Iterable[str] = HEADER,
    *,
    bom: bool = True,
    newline: str = "\r\n",
) -> str:
    """The text of an export with `rows` under `header` (columns not in a row are empty)."""
    columns = list(header)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return ("\ufeff" if bom else "") + buffer.getvalue()


def _key(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())
