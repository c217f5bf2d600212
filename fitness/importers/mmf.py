"""MapMyFitness CSV exports turned into runs, one row at a time, without reading the file whole.

Pure: reads only the text stream it is given. Each data row becomes a run, a skipped
activity (walks, rides...) or a row error with its line number; the caller decides what to
write. Exports of every MapMy app, of imperial and metric accounts, old and new, are read:
their artefacts (notes written as Python bytes literals, HTML character references, control
characters) are decoded or removed, never stored.
"""

from __future__ import annotations

import ast
import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Final, Literal, TextIO, TypeVar
from zoneinfo import ZoneInfo

from fitness.errors import InvalidImport
from fitness.ids import mmf_run_id, shoe_id_from_name
from fitness.importers._csv import (
    RowError,
    SkippedActivity,
    csv_rows,
    excerpt,
    parse_number,
    width_error,
)
from fitness.models import Run, RunType, validate_run_fields
from fitness.rules import is_zone_name

T = TypeVar("T")

SOURCE: Final = "MapMyFitness"
ACTIVITY_TYPES: Final[dict[str, RunType]] = {
    "run": "Outdoor Run",
    "indoor run / jog": "Treadmill Run",
}
DistanceUnit = Literal["mi", "km"]
WORKOUT_DATE: Final = "Workout Date"
ACTIVITY_TYPE: Final = "Activity Type"
# An imperial account's export has miles, a metric account's kilometres (and paces and
# speeds per km, which are not used).
DISTANCE_COLUMNS: Final[dict[DistanceUnit, str]] = {"mi": "Distance (mi)", "km": "Distance (km)"}
# The key under which a header's columns hold the distance column, whichever its unit.
DISTANCE: Final = "Distance"
DURATION: Final = "Workout Time (seconds)"
HEART_RATE: Final = "Avg Heart Rate"
NOTES: Final = "Notes"
LINK: Final = "Link"
REQUIRED_COLUMNS: Final = (WORKOUT_DATE, ACTIVITY_TYPE, DURATION, LINK)
OPTIONAL_COLUMNS: Final = (HEART_RATE, NOTES)
# The international mile, exactly (1959): kilometres are converted with decimal arithmetic,
# so a distance an export converted from miles comes back as those miles.
KM_PER_MILE: Final = Decimal("1.609344")

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
# A whole cell that is one Python bytes (or unicode) literal, as exports written by
# `str(bytes)` have them: `b'...'`, `b"..."`, with backslash escapes inside. One pattern
# per quote, each unambiguous, so matching stays linear in the cell's length.
_PYTHON_LITERALS = (
    re.compile(r"(?:[bB][rR]?|[rR][bB]|[uU])'(?:\\.|[^\\'])*'", re.DOTALL),
    re.compile(r'(?:[bB][rR]?|[rR][bB]|[uU])"(?:\\.|[^\\"])*"', re.DOTALL),
)
# HTML character references (`&amp;`, `&#39;`, `&#x2019;`), only with their semicolon: a
# bare `&not` in "Fish&notes" is text, not a reference.
_CHARACTER_REFERENCE = re.compile(
    r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
)
# Control characters other than tab and line breaks: PostgreSQL cannot store NUL, and the
# others are debris of a broken encoding, never text a runner typed.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# How Python and pandas write a missing text value.
_MISSING_TEXT: Final = frozenset({"None", "nan", "NaN"})


@dataclass(frozen=True, slots=True)
class MMFRun:
    """A row that is a run; `run.shoe_name` is the shoe named in its notes, if any.

    `warning` says what of the row could not be used although the run can (a `Shoes:`
    line that cannot name a shoe: the run is imported without one, its notes intact).
    """

    line: int
    run: Run
    warning: str | None = None


MMFRow = MMFRun | SkippedActivity | RowError


def timezone_named(name: str) -> ZoneInfo:
    """The IANA timezone `name` ("Europe/Berlin"); anything else is an `InvalidImport`."""
    if not is_zone_name(name.strip()):
        raise InvalidImport(
            f"unknown timezone {name!r}: use an IANA name such as Europe/Berlin or UTC"
        )
    return ZoneInfo(name.strip())


def parse_mmf_csv(stream: TextIO, timezone: str | ZoneInfo = "UTC") -> Iterator[MMFRow]:
    """Yield one `MMFRun`, `SkippedActivity` or `RowError` per data row of an MMF export.

    `iter(MMFExport(stream, timezone))`: see `MMFExport` for what is read and how.
    """
    return iter(MMFExport(stream, timezone))


class MMFExport:
    """A MapMyFitness CSV export being read: iterate over it for its rows.

    `stream` should be opened with `newline=""` (quoted notes may hold line breaks) and
    `encoding="utf-8-sig"`; a BOM left in is ignored anyway. Rows are read lazily, so a
    file of any length is parsed in constant memory. A missing required column, an empty
    file or text that is not UTF-8 raise `InvalidImport` (the file as a whole is unusable);
    an unknown timezone raises it at once. Blank lines are ignored; a row with more or fewer
    fields than the header is a `RowError`, whatever its activity.

    `distance_unit` is `mi` or `km` once the header has been read (None before): the unit
    of the export's distance column (`Distance (mi)` or `Distance (km)`). Kilometres are
    converted to miles exactly (1 mi = 1.609344 km).

    A run's `datetime_utc` is noon of its workout date in `timezone`, converted to UTC:
    the export has dates only, and noon keeps the date the same in any nearby zone. Its
    `notes` are the row's notes with export artefacts decoded (`clean_text`).
    """

    def __init__(self, stream: TextIO, timezone: str | ZoneInfo = "UTC") -> None:
        self._stream = stream
        self._zone = timezone if isinstance(timezone, ZoneInfo) else timezone_named(timezone)
        self.distance_unit: DistanceUnit | None = None

    def __iter__(self) -> Iterator[MMFRow]:
        header: _Header | None = None
        for row in csv_rows(self._stream, source="MapMyFitness"):
            if isinstance(row, RowError):
                yield row
                continue
            start, cells = row
            if header is None:
                header = _Header.read(cells)
                self.distance_unit = header.distance_unit
                continue
            if error := width_error(start, cells, header.width):
                yield error
                continue
            yield _parse_row(start, cells, header, self._zone)
        if header is None:
            raise InvalidImport("the file is empty: expected a MapMyFitness CSV export")


def clean_text(text: str) -> str:
    r"""A cell's text without the artefacts exports leave in it, stripped.

    A cell that is one Python bytes literal (`b'Shoes: Hoka Clifton 9'`, `b'it\'s'`,
    `b'Caf\xc3\xa9'`) is decoded (UTF-8, else Windows-1252), as is a `u'...'` literal;
    HTML character references (`&amp;`, `&#39;`) become their characters; control
    characters other than tab and line breaks are removed and line breaks become `\n`.

    >>> clean_text("b'Hot &amp; humid\\nShoes: Hoka Clifton 9'")
    'Hot & humid\nShoes: Hoka Clifton 9'
    """
    text = text.strip()
    if text[:1] in "bBuUrR" and text[-1:] in "'\"":
        text = _decoded_literal(text).strip()
    if "&" in text:
        text = _CHARACTER_REFERENCE.sub(lambda match: html.unescape(match.group()), text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_CHARACTERS.sub("", text).strip()


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


@dataclass(frozen=True, slots=True)
class _Header:
    """Where each column used is, the distance unit, and how many fields a row has."""

    columns: dict[str, int]
    distance_unit: DistanceUnit
    width: int

    @classmethod
    def read(cls, cells: list[str]) -> _Header:
        found: dict[str, int] = {}
        for index, cell in enumerate(cells):
            found.setdefault(cell.replace("\ufeff", "").strip().lower(), index)
        units = [unit for unit, name in DISTANCE_COLUMNS.items() if name.lower() in found]
        missing = [name for name in REQUIRED_COLUMNS if name.lower() not in found]
        if not units:
            missing.insert(2, DISTANCE_COLUMNS["mi"])
        if missing:
            raise InvalidImport(
                f"the CSV has no {', '.join(repr(name) for name in missing)} column"
                f"{'s' if len(missing) > 1 else ''}"
                f"{' (nor ' + repr(DISTANCE_COLUMNS['km']) + ')' if not units else ''}; "
                "is it a MapMyFitness workout export?"
            )
        # An export has one of the two; should one have both, miles are the original.
        unit = units[0]
        columns = {
            name: found[name.lower()]
            for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
            if name.lower() in found
        }
        columns[DISTANCE] = found[DISTANCE_COLUMNS[unit].lower()]
        return cls(columns=columns, distance_unit=unit, width=len(cells))


def _parse_row(line: int, cells: list[str], header: _Header, zone: ZoneInfo) -> MMFRow:
    def cell(name: str) -> str:
        index = header.columns.get(name)
        return clean_text(cells[index]) if index is not None else ""

    distance_column = DISTANCE_COLUMNS[header.distance_unit]
    activity = " ".join(cell(ACTIVITY_TYPE).split())
    if not activity:
        return RowError(line, "Activity Type is empty")
    run_type = ACTIVITY_TYPES.get(activity.lower())
    if run_type is None:
        return SkippedActivity(line, activity)
    try:
        run_id = mmf_run_id(cell(LINK))
    except ValueError:
        return RowError(line, f"Link is not a MapMyFitness workout link: {excerpt(cell(LINK))}")
    problems: list[str] = []
    workout_date = _parsed(problems, WORKOUT_DATE, cell(WORKOUT_DATE), parse_workout_date)
    distance = _parsed(problems, distance_column, cell(DISTANCE), parse_number)
    duration = _parsed(problems, DURATION, cell(DURATION), parse_number)
    heart_rate = _parsed(problems, HEART_RATE, cell(HEART_RATE), _optional_number)
    notes = cell(NOTES)
    if notes in _MISSING_TEXT:
        notes = ""
    if problems:
        return RowError(line, "; ".join(problems))
    assert workout_date is not None and distance is not None and duration is not None
    miles = distance / KM_PER_MILE if header.distance_unit == "km" else distance
    local_noon = datetime.combine(workout_date, time(12), tzinfo=zone)
    # A heart rate of 0 is how some devices say "no reading".
    values: dict[str, object] = {
        "distance": float(miles),
        "duration": float(duration),
        "avg_heart_rate": float(heart_rate) if heart_rate else None,
        "notes": notes or None,
    }
    invalid = validate_run_fields(values)
    if invalid:
        labels = {
            "distance": distance_column,
            "duration": DURATION,
            "avg_heart_rate": HEART_RATE,
            "notes": NOTES,
        }
        return RowError(
            line, "; ".join(f"{labels[name]} {message}" for name, message in invalid.items())
        )
    shoe_name = shoe_name_from_notes(notes)
    warning = _shoe_problem(shoe_name) if shoe_name is not None else None
    return MMFRun(
        line,
        Run(
            id=run_id,
            datetime_utc=local_noon.astimezone(UTC),
            type=run_type,
            source=SOURCE,
            shoe_name=None if warning else shoe_name,
            **values,  # type: ignore[arg-type]
        ),
        warning,
    )


def _parsed(problems: list[str], column: str, text: str, parse: Callable[[str], T]) -> T | None:
    try:
        return parse(text)
    except ValueError as error:
        problems.append(f"{column}: {error}")
        return None


def _optional_number(text: str) -> Decimal | None:
    return parse_number(text) if text else None


def _shoe_problem(name: str) -> str | None:
    """Why `name` cannot name a shoe, as a row warning; None if it can."""
    try:
        shoe_id_from_name(name)
    except ValueError as error:
        return (
            f"Notes: {excerpt('Shoes: ' + name)} cannot name a shoe ({error}); the run is "
            "imported without one"
        )
    return None


def _decoded_literal(text: str) -> str:
    """The text of a Python bytes or unicode literal making up all of `text`, or `text`."""
    if not any(pattern.fullmatch(text) for pattern in _PYTHON_LITERALS):
        return text
    # A line break inside the quotes is an escape that an editor turned into a real one.
    source = text.replace("\r", "\\r").replace("\n", "\\n")
    try:
        value = ast.literal_eval(source)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
    if isinstance(value, str):
        return value
    if not isinstance(value, bytes):
        return text
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("cp1252", errors="replace")
