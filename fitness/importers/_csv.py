"""What every CSV export shares: rows read one at a time with bounded lines, numbers as exports
write them, and the records a row becomes (a run, another activity, an error).

Pure: reads only the text stream it is given.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final, TextIO

from fitness.errors import InvalidImport

# A physical line longer than this is garbage, not an export: it is skipped (and reported)
# rather than read into memory. csv's own field limit (128 KiB) bounds a quoted field.
MAX_LINE_CHARS: Final = 1_000_000
# A number with commas as thousands separators ("1,234.5"); any other comma is a decimal one.
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")


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


@dataclass(frozen=True, slots=True)
class RowWarning:
    """Part of a row that could not be used, although its run was."""

    line: int
    message: str


def csv_rows(
    stream: TextIO, *, header_width: int | None = None, source: str
) -> Iterator[tuple[int, list[str]] | RowError]:
    """Each non-blank row of the CSV text `stream` as `(line, cells)`, `line` being the
    physical line it starts on; an unreadable row (a broken quote, a line longer than
    `MAX_LINE_CHARS`) is a `RowError` instead.

    Text that is not UTF-8 raises `InvalidImport`, telling the user to export it again from
    `source` ("MapMyFitness").
    """
    lines = _BoundedLines(stream)
    reader = csv.reader(lines)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield RowError(start, f"unreadable CSV: {error}")
            continue
        except UnicodeDecodeError as error:
            raise InvalidImport(
                f"the file is not UTF-8 text (byte 0x{error.object[error.start]:02x} after "
                f"line {reader.line_num}); export it again from {source}"
            ) from None
        if lines.overlong_between(start, reader.line_num):
            yield RowError(start, f"line is longer than {MAX_LINE_CHARS:,} characters")
            continue
        if not any(cell.replace("\ufeff", "").strip() for cell in cells):
            continue
        yield start, cells


def width_error(line: int, cells: list[str], width: int) -> RowError | None:
    """The error of a row with more or fewer fields than the header's `width`, or None."""
    if len(cells) == width:
        return None
    return RowError(
        line,
        f"has {len(cells)} fields where the header has {width} (a value with a comma that "
        "lost its quotes?)",
    )


def parse_number(text: str) -> Decimal:
    """A decimal number as exports write it: `1234.5`, `1,234.5`, or with a decimal comma
    (`7,31`, `1.234,5`) as some locales do; `ValueError` for anything else."""
    if not text:
        raise ValueError("is empty")
    plain = text.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    if "," in plain:
        if _THOUSANDS.fullmatch(plain) or plain.rfind(".") > plain.rindex(","):
            plain = plain.replace(",", "")
        else:
            plain = plain.replace(".", "").replace(",", ".")
    try:
        value = Decimal(plain)
    except InvalidOperation:
        raise ValueError(f"{excerpt(text)} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{excerpt(text)} is not a finite number")
    return value


def excerpt(text: str, limit: int = 60) -> str:
    """`text` quoted, cut to `limit` characters: safe to show in a message."""
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
