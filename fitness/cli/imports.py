"""`fitness import <source> FILE`: bring runs in from a file another service exported."""

from __future__ import annotations

import argparse
import io
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, BinaryIO, Final

from fitness.cli._common import (
    MAX_ERRORS_SHOWN,
    AddCommand,
    Subcommands,
    command_group,
    count,
    prepare_database,
    progress,
)
from fitness.services.mmf_import import MMFImportResult, import_mmf_csv

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


def add(commands: Subcommands) -> None:
    command_group(
        commands,
        "import",
        IMPORT_COMMANDS,
        "SOURCE",
        help="import runs from an export file",
        description="Import runs from a file exported by another service.",
    )


def _add_mmf(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "mmf",
        help="import a MapMyFitness CSV export",
        description=(
            "Import the runs of a MapMyFitness CSV export (Run and Indoor Run / Jog; other "
            "activities are skipped), from any MapMy app, in miles or kilometres. Runs already "
            "stored are left as they are, so importing the same file again adds nothing; a "
            "workout the file has twice is imported from its first row. Bad rows are listed "
            "with their line numbers; the good rows are imported unless --strict. FILE - "
            "reads standard input. Exit status 1 when --strict rejected the file."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="the export, or - for standard input")
    parser.add_argument(
        "--timezone",
        metavar="TZ",
        help="IANA timezone of the workout dates, e.g. Europe/Berlin (default: MMF_TIMEZONE)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="report what would be imported, write nothing"
    )
    parser.add_argument("--strict", action="store_true", help="import nothing if any row is bad")
    parser.set_defaults(handler=_mmf)


def _mmf(args: argparse.Namespace) -> int:
    with _open_input(args.file) as source:
        prepare_database()
        reader = _CountingReader(source)
        with progress("Importing", total=_size(source)) as advance:
            result = import_mmf_csv(
                io.BufferedReader(reader),
                timezone=args.timezone,
                dry_run=args.dry_run,
                strict=args.strict,
                progress=lambda rows: advance(reader.bytes_read, f"{rows:,} rows"),
            )
    _print_summary(result)
    return 1 if result.aborted else 0


def _print_summary(result: MMFImportResult) -> None:
    if result.aborted:
        print(f"nothing imported: {count(result.error_count, 'bad row')} and --strict")
    else:
        counts = [f"{result.skipped_existing} already stored"]
        if result.repeated_in_file:
            counts.append(f"{result.repeated_in_file} repeated in the file")
        counts.append(
            f"{count(result.skipped_other_activities, 'other activity', 'other activities')} "
            "skipped"
        )
        verb = "dry run: would import" if result.dry_run else "imported"
        unit = _UNITS.get(result.distance_unit or "")
        print(
            f"{verb} {count(result.inserted, 'run')} ({', '.join(counts)})"
            + (f"; {unit}" if unit else "")
            + ("; nothing written" if result.dry_run else "")
        )
        if result.shoes_created:
            print(f"new shoes: {', '.join(result.shoes_created)}")
    if result.repeated_in_file:
        print(
            f"{count(result.repeated_in_file, 'row')} repeated a workout of an earlier row "
            "(the earlier row is the one kept):"
        )
        for repeat in result.repeats[:MAX_ERRORS_SHOWN]:
            print(f"  line {repeat.line}: {repeat.run_id}, kept from line {repeat.kept_line}")
        _more(result.repeated_in_file)
    if result.warnings:
        print(f"{count(len(result.warnings), 'row')} imported without part of it:")
        for warning in result.warnings[:MAX_ERRORS_SHOWN]:
            print(f"  line {warning.line}: {warning.message}")
        _more(len(result.warnings))
    if result.error_count:
        print(f"{count(result.error_count, 'row')} could not be imported:")
        for error in result.errors[:MAX_ERRORS_SHOWN]:
            print(f"  line {error.line}: {error.message}")
        _more(result.error_count)


_UNITS: Final = {"mi": "distances in miles", "km": "distances in km, converted to miles"}


def _more(total: int) -> None:
    if total > MAX_ERRORS_SHOWN:
        print(f"  ... and {total - MAX_ERRORS_SHOWN} more")


@contextmanager
def _open_input(name: str) -> Iterator[BinaryIO]:
    """The file named `name` opened for reading bytes, or standard input for `-`."""
    if name == "-":
        yield sys.stdin.buffer
        return
    with open(name, "rb") as source:
        yield source


def _size(source: BinaryIO) -> int | None:
    """The size of a regular file; None for a pipe or a terminal, whose end is unknown."""
    try:
        status = os.fstat(source.fileno())
    except (OSError, io.UnsupportedOperation):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


class _CountingReader(io.RawIOBase):
    """`source`, counting the bytes read from it: progress that also works on a pipe, where
    `tell()` raises "Illegal seek"."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        data = self._source.read(len(memoryview(buffer)))
        memoryview(buffer)[: len(data)] = data
        self.bytes_read += len(data)
        return len(data)


IMPORT_COMMANDS: list[AddCommand] = [
    _add_mmf,
]
