"""`fitness import <source> FILE`: bring runs in from a file another service exported."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from fitness.cli._common import (
    MAX_ERRORS_SHOWN,
    AddCommand,
    Subcommands,
    command_group,
    count,
    prepare_database,
    progress,
)
from fitness.services.mmf_import import import_mmf_csv


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
            "activities are skipped). Runs already stored are left as they are, so importing "
            "the same file again adds nothing. Bad rows are listed with their line numbers; "
            "the good rows are imported unless --strict. Exit status 1 when --strict "
            "rejected the file."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE")
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
    with open(args.file, "rb") as source:
        prepare_database()
        size = os.fstat(source.fileno()).st_size
        with progress("Importing", total=size) as advance:
            result = import_mmf_csv(
                source,
                timezone=args.timezone,
                dry_run=args.dry_run,
                strict=args.strict,
                # The position in the file (read ahead by a buffer at most) measures progress.
                progress=lambda rows: advance(source.tell(), f"{rows:,} rows"),
            )
    prefix = "dry run: would import" if result.dry_run else "imported"
    if result.aborted:
        print(f"nothing imported: {count(result.error_count, 'bad row')} and --strict")
    else:
        print(
            f"{prefix} {result.inserted} runs ({result.skipped_existing} already stored, "
            f"{result.skipped_other_activities} other activities skipped)"
        )
        if result.shoes_created:
            print(f"new shoes: {', '.join(result.shoes_created)}")
    if result.error_count:
        print(f"{count(result.error_count, 'row')} could not be imported:")
        for error in result.errors[:MAX_ERRORS_SHOWN]:
            print(f"  line {error.line}: {error.message}")
        if result.error_count > MAX_ERRORS_SHOWN:
            print(f"  ... and {result.error_count - MAX_ERRORS_SHOWN} more")
    return 1 if result.aborted else 0


IMPORT_COMMANDS: list[AddCommand] = [
    _add_mmf,
]
