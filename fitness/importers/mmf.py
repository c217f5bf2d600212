"""MapMyFitness CSV exports turned into runs, one row at a time, without reading the file whole.

Pure: reads only the text stream it is given. Each data row becomes a run, a skipped
activity (walks, rides...) or a row error with its line number; the caller decides what to
write.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Final, TextIO, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fitness.errors import InvalidImport
from fitness.ids import mmf_run_id, shoe_id_from_name
from fitness.models import Run, RunType, validate_run_fields

T = TypeVar("T")

SOURCE: Final = "MapMyFitness"
ACTIVITY_TYPES: Final[dict[str, RunType]] = {
    "run": "Outdoor Run",
    "indoor run / jog": "Treadmill Run",
}
WORKOUT_DATE: Final = "Workout Date"
ACTIVITY_TYPE: Final = "Activity Type"
DISTANCE: Final = "Distance (mi)"
DURATION: Final = "Workout Time (seconds)"
HEART_RATE: Final = "Avg Heart Rate"
NOTES: Final = "Notes"
LINK: Final = "Link"
REQUIRED_COLUMNS: Final = (WORKOUT_DATE, ACTIVITY_TYPE, DISTANCE, DURATION, LINK)
OPTIONAL_COLUMNS: Final = (HEART_RATE, NOTES)
# A physical line longer than this is garbage, not an export: it is skipped (and reported)
# rather than read into memory. csv's own field limit (128 KiB) bounds a quoted field.
MAX_LINE_CHARS: Final = 1_000_000
MAX_SHOE_NAME_CHARS: Final = 100

_MONTHS: Final = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MMF_DATE = re.compile(r"^([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SHOES = re.compile(r"\bshoes:[ \t]*([^\r\n]*)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class MMFRun:
    """A row that is a run; `run.shoe_name` is the shoe named in its notes, if any."""

    line: int
    run: Run


@dataclass(frozen=True, slots=True)
class SkippedActivity:
    """A row that is not a run (a walk, a ride...): counted, never an error."""

    line: int
    activity_type: str


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that cannot be imported, at its physical line (the header is line 1)."""

    line: int
    message: str


MMFRow = MMFRun | SkippedActivity | RowError


def timezone_named(name: str) -> ZoneInfo:
    """The IANA timezone `name` ("Europe/Berlin"); anything else is an `InvalidImport`."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidImport(
            f"unknown timezone {name!r}: use an IANA name such as Europe/Berlin or UTC"
        ) from None


def parse_mmf_csv(stream: TextIO, timezone: str | ZoneInfo = "UTC") -> Iterator[MMFRow]:
    """Yield one `MMFRun`, `SkippedActivity` or `RowError` per data row of an MMF export.

    `stream` should be opened with `newline=""` (quoted notes may hold line breaks) and
    `encoding="utf-8-sig"`; a BOM left in is ignored anyway. Rows are read lazily, so a
    file of any length is parsed in constant memory. A missing required column, an empty
    file or text that is not UTF-8 raise `InvalidImport` (the file as a whole is unusable);
    blank lines are ignored.

    A run's `datetime_utc` is noon of its workout date in `timezone`, converted to UTC:
    the export has dates only, and noon keeps the date the same in any nearby zone.
    """
    zone = timezone if isinstance(timezone, ZoneInfo) else timezone_named(timezone)
    lines = _BoundedLines(stream)
    reader = csv.reader(lines)
    columns: dict[str, int] | None = None
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            yield RowError(start, f"unreadable CSV: {error}")
            continue
        except UnicodeDecodeError as error:
            raise InvalidImport(
                f"the file is not UTF-8 text (byte 0x{error.object[error.start]:02x} after "
                f"line {reader.line_num}); export it again from MapMyFitness"
            ) from None
        if lines.overlong_between(start, reader.line_num):
            yield RowError(start, f"line is longer than {MAX_LINE_CHARS:,} characters")
            continue
        if not any(cell.replace("\ufeff", "").strip() for cell in cells):
            continue
        if columns is None:
            columns = _columns(cells)
            continue
        yield _parse_row(start, cells, columns, zone)
    if columns is None:
        raise InvalidImport("the file is empty: expected a MapMyFitness CSV export")


def parse_workout_date(text: str) -> date:
    """`May 6, 2025`, `Jan. 14, 2025`, `Sept. 24, 2024` (or ISO `2025-05-06`) as a date."""
    value = " ".join(text.split())
    if match := _MMF_DATE.match(value):
        month = _MONTHS.get(match.group(1).lower())
        if month is not None:
            return date(int(match.group(3)), month, int(match.group(2)))
    elif match := _ISO_DATE.match(value):
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    raise ValueError(f"unrecognised date {text!r} (expected e.g. 'May 6, 2025')")


def shoe_name_from_notes(notes: str) -> str | None:
    """The shoe in `Shoes: <name>` inside a workout's notes, or None."""
    match = _SHOES.search(notes)
    if not match:
        return None
    name = match.group(1).strip().rstrip(".,;").strip()
    return name or None


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        found.setdefault(cell.replace("\ufeff", "").strip().lower(), index)
    missing = [name for name in REQUIRED_COLUMNS if name.lower() not in found]
    if missing:
        raise InvalidImport(
            f"the CSV has no {', '.join(repr(name) for name in missing)} column"
            f"{'s' if len(missing) > 1 else ''}; is it a MapMyFitness workout export?"
        )
    return {
        name: found[name.lower()]
        for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
        if name.lower() in found
    }


def _parse_row(line: int, cells: list[str], columns: dict[str, int], zone: ZoneInfo) -> MMFRow:
    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    activity = " ".join(cell(ACTIVITY_TYPE).split())
    if not activity:
        return RowError(line, "Activity Type is empty")
    run_type = ACTIVITY_TYPES.get(activity.lower())
    if run_type is None:
        return SkippedActivity(line, activity)
    try:
        run_id = mmf_run_id(cell(LINK))
    except ValueError:
        return RowError(line, f"Link is not a MapMyFitness workout link: {_excerpt(cell(LINK))}")
    problems: list[str] = []
    workout_date = _parsed(problems, WORKOUT_DATE, cell(WORKOUT_DATE), parse_workout_date)
    distance = _parsed(problems, DISTANCE, cell(DISTANCE), _number)
    duration = _parsed(problems, DURATION, cell(DURATION), _number)
    heart_rate = _parsed(problems, HEART_RATE, cell(HEART_RATE), _optional_number)
    shoe_name = shoe_name_from_notes(cell(NOTES))
    if shoe_name is not None:
        problems.extend(_shoe_problems(shoe_name))
    if problems:
        return RowError(line, "; ".join(problems))
    assert workout_date is not None and distance is not None and duration is not None
    local_noon = datetime.combine(workout_date, time(12), tzinfo=zone)
    # A heart rate of 0 is how some devices say "no reading".
    values: dict[str, object] = {
        "distance": distance,
        "duration": duration,
        "avg_heart_rate": heart_rate or None,
    }
    invalid = validate_run_fields(values)
    if invalid:
        labels = {"distance": DISTANCE, "duration": DURATION, "avg_heart_rate": HEART_RATE}
        return RowError(
            line, "; ".join(f"{labels[name]} {message}" for name, message in invalid.items())
        )
    return MMFRun(
        line,
        Run(
            id=run_id,
            datetime_utc=local_noon.astimezone(UTC),
            type=run_type,
            distance=distance,
            duration=duration,
            source=SOURCE,
            avg_heart_rate=heart_rate or None,
            shoe_name=shoe_name,
        ),
    )


def _parsed(problems: list[str], column: str, text: str, parse: Callable[[str], T]) -> T | None:
    try:
        return parse(text)
    except ValueError as error:
        problems.append(f"{column}: {error}")
        return None


def _number(text: str) -> float:
    if not text:
        raise ValueError("is empty")
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise ValueError(f"{_excerpt(text)} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{_excerpt(text)} is not a finite number")
    return value


def _optional_number(text: str) -> float | None:
    return _number(text) if text else None


def _shoe_problems(name: str) -> list[str]:
    if len(name) > MAX_SHOE_NAME_CHARS:
        return [f"Notes: shoe name is longer than {MAX_SHOE_NAME_CHARS} characters"]
    if "\x00" in name:
        return ["Notes: shoe name contains a NUL character"]
    try:
        shoe_id_from_name(name)
    except ValueError:
        return [f"Notes: shoe name {_excerpt(name)} has no letters or digits"]
    return []


def _excerpt(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


class _BoundedLines:
    """The stream's lines, each read with a length cap; overlong lines become blank ones.

    Line numbers of overlong lines are remembered so the row containing them is reported.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._number = 0
        self._overlong: list[int] = []

    def __iter__(self) -> _BoundedLines:
        return self

    def __next__(self) -> str:
        line = self._stream.readline(MAX_LINE_CHARS + 1)
        if not line:
            raise StopIteration
        self._number += 1
        if len(line) > MAX_LINE_CHARS:
            self._overlong.append(self._number)
            while line and not line.endswith(("\n", "\r")):
                line = self._stream.readline(MAX_LINE_CHARS)
            return "\n"
        return line

    def overlong_between(self, first: int, last: int) -> bool:
        while self._overlong and self._overlong[0] < first:
            self._overlong.pop(0)
        return bool(self._overlong) and self._overlong[0] <= last
