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
from fitness.services.activity_files_import import (
    ActivityFilesImportResult,
    import_activity_files,
)
from fitness.services.mmf_import import MMFImportResult, import_mmf_csv
from fitness.services.strava_archive_import import (
    StravaArchiveImportResult,
    import_strava_archive,
)

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
    _print_rows(
        result,
        repeated="a workout of an earlier row (the earlier row is the one kept)",
        warned=f"{count(len(result.warnings), 'row')} imported without part of it",
    )


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


def _add_strava_archive(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "strava-archive",
        help="import Strava's bulk export (export_*.zip)",
        description=(
            "Import the runs of Strava's bulk export (Settings, My Account, Download or Delete "
            "Your Account): the export_*.zip, its unpacked folder, or its activities.csv. "
            "Runs get the ids the Strava sync gives them, so the two never duplicate a run; "
            "runs already stored are left as they are. Headers and dates in any of Strava's "
            "languages; shoes from shoes.csv and each run's gear; heart rate and treadmill "
            "runs from the activity files when activities.csv lacks them. Other activities "
            "are counted and skipped. Exit status 1 when --strict rejected the file."
        ),
    )
    parser.add_argument("path", metavar="PATH", help="the export zip, or its unpacked folder")
    _add_write_options(parser)
    parser.set_defaults(handler=_strava_archive)


def _strava_archive(args: argparse.Namespace) -> int:
    prepare_database()
    with progress("Importing", total=1.0) as advance:
        result = import_strava_archive(
            args.path,
            dry_run=args.dry_run,
            strict=args.strict,
            progress=lambda rows, done, total: advance(
                done / total if total else 0, f"{rows:,} activities"
            ),
        )
    _print_archive_summary(result)
    return 1 if result.aborted else 0


def _print_archive_summary(result: StravaArchiveImportResult) -> None:
    if result.aborted:
        print(f"nothing imported: {count(result.error_count, 'bad row')} and --strict")
    else:
        counts = [f"{result.skipped_existing} already stored"]
        if result.repeated_in_file:
            counts.append(f"{result.repeated_in_file} repeated in the file")
        counts.append(_others(result.skipped_other_activities, result.other_activity_types))
        verb = "dry run: would import" if result.dry_run else "imported"
        print(
            f"{verb} {count(result.inserted, 'run')} ({', '.join(counts)}); "
            f"{count(result.files_read, 'activity file')} read"
            + ("; nothing written" if result.dry_run else "")
        )
        _print_rides(verb, result.rides_inserted, result.rides_skipped_existing)
        if result.shoes_created:
            print(f"new shoes: {', '.join(result.shoes_created)}")
    _print_rows(
        result,
        repeated="an activity of an earlier row (the earlier row is kept)",
        warned=f"{count(len(result.warnings), 'run')} imported without what its activity file adds",
    )


def _add_files(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "files",
        help="import activity files (FIT, GPX, TCX)",
        description=(
            "Import runs and rides from activity files: FIT, GPX and TCX, gzipped or not, or "
            "folders and zip archives of them (a watch's or another app's export). An "
            "activity's id is its start time (file_<UTC start>), so importing a file again, "
            "or another export of the same activity, adds nothing. Treadmill runs, indoor "
            "rides, distance, timer time, heart rate, a ride's power and work come from the "
            "file. Files that cannot be read are listed; the others are "
            "imported unless --strict. Exit status 1 when --strict rejected the import."
        ),
    )
    parser.add_argument(
        "paths", metavar="PATH", nargs="+", help="activity files, folders or zip archives"
    )
    _add_write_options(parser)
    parser.set_defaults(handler=_files)


def _files(args: argparse.Namespace) -> int:
    prepare_database()
    with progress("Importing", total=1.0) as advance:
        result = import_activity_files(
            args.paths,
            dry_run=args.dry_run,
            strict=args.strict,
            progress=lambda done, total: advance(done / total, f"{done:,} of {total:,} files"),
        )
    _print_files_summary(result)
    return 1 if result.aborted else 0


def _print_files_summary(result: ActivityFilesImportResult) -> None:
    if result.aborted:
        print(f"nothing imported: {count(result.error_count, 'bad file')} and --strict")
    else:
        counts = [f"{result.skipped_existing} already stored"]
        if result.repeated_in_import:
            counts.append(f"{result.repeated_in_import} repeated")
        counts.append(_others(result.skipped_other_activities, result.other_activity_types))
        verb = "dry run: would import" if result.dry_run else "imported"
        ignored = (
            f", {count(result.ignored_files, 'other file')} ignored" if result.ignored_files else ""
        )
        print(
            f"{verb} {count(result.inserted, 'run')} ({', '.join(counts)}) from "
            f"{count(result.files, 'file')}{ignored}"
            + ("; nothing written" if result.dry_run else "")
        )
        _print_rides(verb, result.rides_inserted, result.rides_skipped_existing)
    _print_lines(
        f"{count(result.repeated_in_import, 'activity', 'activities')} another file already "
        "had (the first file is kept):",
        result.repeated_in_import,
        [f"{r.file}: {r.run_id}, kept from {r.kept_file}" for r in result.repeats],
    )
    _print_lines(
        f"{count(result.error_count, 'file')} could not be imported:",
        result.error_count,
        [f"{e.file}: {e.message}" for e in result.errors],
    )


def _add_write_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="report what would be imported, write nothing"
    )
    parser.add_argument("--strict", action="store_true", help="import nothing if any is bad")


def _others(number: int, types: dict[str, int]) -> str:
    words = count(number, "other activity", "other activities") + " skipped"
    if types:
        shown = ", ".join(f"{kind} {n}" for kind, n in list(types.items())[:5])
        words += f": {shown}" + (", ..." if len(types) > 5 else "")
    return words


def _print_rows(
    result: MMFImportResult | StravaArchiveImportResult, *, repeated: str, warned: str
) -> None:
    """A CSV import's rows by line: those that repeated `repeated`, those imported with a
    warning (under the heading `warned`), and those refused."""
    _print_lines(
        f"{count(result.repeated_in_file, 'row')} repeated {repeated}:",
        result.repeated_in_file,
        [f"line {r.line}: {r.run_id}, kept from line {r.kept_line}" for r in result.repeats],
    )
    _print_lines(
        f"{warned}:",
        len(result.warnings),
        [f"line {w.line}: {w.message}" for w in result.warnings],
    )
    _print_lines(
        f"{count(result.error_count, 'row')} could not be imported:",
        result.error_count,
        [f"line {e.line}: {e.message}" for e in result.errors],
    )


def _print_rides(verb: str, inserted: int, skipped_existing: int) -> None:
    if inserted or skipped_existing:
        print(f"{verb} {count(inserted, 'ride')} ({skipped_existing} already stored)")


def _print_lines(heading: str, total: int, lines: list[str]) -> None:
    if not total:
        return
    print(heading)
    for line in lines[:MAX_ERRORS_SHOWN]:
        print(f"  {line}")
    _more(total)


IMPORT_COMMANDS: list[AddCommand] = [
    _add_mmf,
    _add_strava_archive,
    _add_files,
]
