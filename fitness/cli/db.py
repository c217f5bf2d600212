"""`fitness db ...`: migrate, inspect, back up, restore and check the database in use."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fitness.cli._common import AddCommand, Subcommands, command_group, count, prepare_database
from fitness.config import get_settings
from fitness.db.backup import backup_database, restore_database
from fitness.db.catalog import find_schema_drift
from fitness.db.connection import connect, database_url, masked_url
from fitness.db.integrity import find_problems
from fitness.db.migrations import (
    current_revision,
    head_revision,
    known_revisions,
    upgrade_to_head,
)


def add(commands: Subcommands) -> None:
    command_group(
        commands,
        "db",
        DB_COMMANDS,
        "DB_COMMAND",
        help="migrate, inspect, back up and restore the database",
        description=(
            "Look after the database in use: DATABASE_URL if set, else the embedded "
            "PostgreSQL in FITNESS_DATA_DIR."
        ),
    )


def _add_upgrade(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "upgrade",
        help="apply the migrations the database lacks",
        description="Migrate the database to the newest schema (a no-op when it is there).",
    )
    parser.set_defaults(handler=_upgrade)


def _upgrade(args: argparse.Namespace) -> int:
    url = database_url()
    before = _revision()
    upgrade_to_head(url)
    after = _revision()
    if before == after:
        print(f"already at head ({after})")
    else:
        print(f"upgraded from {before or 'an empty database'} to {after}")
    return 0


def _add_current(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "current",
        help="show the schema revision and whether it is at head",
        description=(
            "Show the database's schema revision and whether it is the newest. Exits 0 only "
            "at head; 1 when the database has no schema, is behind head (run `fitness db "
            "upgrade`) or is at a revision this fitness does not know."
        ),
    )
    parser.set_defaults(handler=_current)


def _current(args: argparse.Namespace) -> int:
    revision = _revision()
    head = head_revision()
    if revision == head:
        print(f"{revision} (head)")
        return 0
    if revision is None:
        print(f"none: the database has no schema yet (head is {head}; run `fitness db upgrade`)")
    elif revision in known_revisions():
        print(f"{revision} (not at head {head}; run `fitness db upgrade`)")
    else:
        print(
            f"{revision} (unknown to this fitness, whose head is {head}: a newer fitness made it)"
        )
    return 1


def _add_url(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "url",
        help="print the URL of the database in use, password masked",
        description=(
            "Print the connection URL of the database in use (for psql), with any password "
            "masked. For the embedded PostgreSQL this starts it."
        ),
    )
    parser.set_defaults(handler=_url)


def _url(args: argparse.Namespace) -> int:
    settings = get_settings()
    print(masked_url(database_url(settings)))
    if settings.uses_embedded_database:
        print(
            "(the embedded PostgreSQL runs while a fitness process such as `fitness serve` "
            "uses it)",
            file=sys.stderr,
        )
    return 0


def _add_backup(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "backup",
        help="write the whole database to FILE (pg_dump custom format)",
        description=(
            "Write the whole database (schema, data and migration revision) to FILE in "
            "pg_dump's custom format. FILE holds the OAuth credentials: keep it private. "
            "An existing FILE is kept unless --force; a failed backup never leaves a "
            "partial FILE."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument("--force", action="store_true", help="replace FILE if it exists")
    parser.set_defaults(handler=_backup)


def _backup(args: argparse.Namespace) -> int:
    backup_database(args.file, force=args.force)
    print(f"backed up to {args.file} ({args.file.stat().st_size:,} bytes)")
    return 0


def _add_restore(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "restore",
        help="replace the database's contents with the backup in FILE",
        description=(
            "Restore a backup made by `fitness db backup`: its data is loaded into the "
            "schema this fitness's migrations build at the backup's revision, then migrated "
            "to head, in one transaction (a failed restore changes nothing). Nothing of the "
            "file is run: a file holding anything but fitness's tables and their data (a "
            "function, a trigger, another table...) is refused, naming what it holds. A "
            "database that holds data needs --force."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the fitness tables even if the database holds data",
    )
    parser.set_defaults(handler=_restore)


def _restore(args: argparse.Namespace) -> int:
    restored = restore_database(args.file, force=args.force)
    rows = ", ".join(f"{number:,} {table}" for table, number in restored.rows.items())
    migrated = (
        f"migrated to {restored.revision}"
        if restored.revision != restored.backup_revision
        else "at head"
    )
    print(
        f"restored {args.file}: {rows} (backup at schema revision {restored.backup_revision}, "
        f"{migrated})"
    )
    return 0


def _add_check(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "check",
        help="check the run history's integrity and the schema",
        description=(
            "Check that every run has its original version, versions are 1..n without "
            "gaps, each run equals its newest snapshot (deletion included) and no calendar "
            "sync record points at a missing run or version; and that the schema (tables, "
            "columns, constraints, indexes, triggers, functions, policies, rules, event "
            "triggers) is exactly what the migrations build at its revision. Prints `ok` "
            "and exits 0, or lists the problems and exits 1."
        ),
    )
    parser.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    prepare_database()
    problems = find_problems()
    drift = find_schema_drift()
    if not problems and not drift:
        print("ok")
        return 0
    for problem in problems:
        print(f"{problem.kind}: {problem.noun} {problem.run_id} {problem.message}")
    for difference in drift:
        print(f"schema: {difference.message}")
    print(f"{count(len(problems) + len(drift), 'problem')} found")
    return 1


def _revision() -> str | None:
    with connect() as conn:
        return current_revision(conn=conn)


DB_COMMANDS: list[AddCommand] = [
    _add_upgrade,
    _add_current,
    _add_url,
    _add_backup,
    _add_restore,
    _add_check,
]
