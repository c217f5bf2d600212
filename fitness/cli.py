"""The `fitness` command: serve the API, look after its database, import and sync runs.

Adding a subcommand takes one function and one line. The function adds a parser to the
subcommands it is given and names a handler; the line registers it in `COMMANDS` (for
`fitness <name>`), `DB_COMMANDS` (`fitness db <name>`), `IMPORT_COMMANDS` (`fitness import
<source>`) or `SYNC_COMMANDS` (`fitness sync <service>`):

    def _add_sync_calendar(commands: Subcommands) -> None:
        parser = commands.add_parser("calendar", help="...", description="...")
        parser.add_argument("--dry-run", action="store_true", help="...")
        parser.set_defaults(handler=_sync_calendar)

    def _sync_calendar(args: argparse.Namespace) -> int:
        ...   # call fitness functions, print the outcome for people, return 0

A handler returns the exit status. It reports failure by raising (FitnessError, a psycopg
error, OSError...): `main` turns any error into one line on stderr and exit status 1, and
usage errors into one line and exit status 2. `--debug` (or FITNESS_DEBUG=1) shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import NoReturn, TypeAlias

import psycopg
from alembic.util import CommandError

from fitness.api.auth import check_settings
from fitness.config import Settings, get_settings
from fitness.db.backup import backup_database, restore_database
from fitness.db.connection import close_pool, connect, database_url, masked_url
from fitness.db.integrity import find_problems
from fitness.db.migrations import current_revision, head_revision, upgrade_to_head
from fitness.errors import ConfigurationError, DatabaseUnavailable, FitnessError
from fitness.services.calendar_sync import sync_all
from fitness.services.mmf_import import import_mmf_csv
from fitness.services.strava_sync import sync_strava

logger = logging.getLogger("fitness.cli")

Subcommands: TypeAlias = "argparse._SubParsersAction[_Parser]"

LOOPBACK_NAMES = ("localhost",)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_ERRORS_SHOWN = 20


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `fitness` command with `argv` (default: the process's arguments).

    Returns the exit status: 0 on success, 1 when the command failed, 2 for a usage error.

    >>> main(["db", "current"])   # doctest: +SKIP
    0001 (head)
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return _status(exit_)
    debug = args.debug or os.environ.get("FITNESS_DEBUG", "").strip() in ("1", "true", "yes")
    _configure_logging(debug)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("fitness: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exit_:
        return _status(exit_)
    except Exception as error:
        if debug:
            raise
        print(f"fitness: error: {_describe(error)}", file=sys.stderr)
        return 1
    finally:
        close_pool()


def build_parser() -> _Parser:
    """The parser of the whole command, with every registered subcommand."""
    parser = _Parser(
        prog="fitness",
        description=(
            "Your running log in PostgreSQL: serve its API, look after its database, "
            "import and sync runs."
        ),
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="log at DEBUG and show tracebacks of errors (also FITNESS_DEBUG=1)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_package_version()}")
    commands = _subcommands(parser, "COMMAND")
    for add in COMMANDS:
        add(commands)
    return parser


# --- fitness serve ------------------------------------------------------------------------


def _add_serve(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve the HTTP API",
        description=(
            "Serve the HTTP API with uvicorn. On the embedded database, migrations are "
            "applied first; a DATABASE_URL database must already be at head "
            "(`fitness db upgrade`). Without FITNESS_API_TOKENS the API is unauthenticated "
            "and serves on loopback only."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    parser.add_argument("--port", type=_port, default=8000, help="port to listen on (%(default)s)")
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    _check_exposure(settings, args.host)
    check_settings(settings)
    _prepare_database(settings)
    uvicorn.run(
        "fitness.api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=1,
        access_log=False,
        log_config=None,
    )
    return 0


def _check_exposure(settings: Settings, host: str) -> None:
    """Refuse to serve an unauthenticated API anywhere but on this machine."""
    if settings.api_tokens:
        return
    if settings.is_prod:
        raise ConfigurationError(
            "FITNESS_API_TOKENS is not set: FITNESS_ENV=prod never serves an unauthenticated API"
        )
    if not _is_loopback(host):
        raise ConfigurationError(
            f"FITNESS_API_TOKENS is not set: without tokens the API serves only on loopback "
            f"(127.0.0.1, ::1, localhost), not on {host}"
        )
    logger.warning(
        "FITNESS_API_TOKENS is not set: the API is unauthenticated and serves on loopback "
        "only (%s)",
        host,
    )


def _prepare_database(settings: Settings | None = None) -> None:
    """Make sure the schema is at head before a command uses the database.

    The embedded database is this user's own, so it is migrated on the spot (a fresh
    machine needs no set-up step); a DATABASE_URL database is only checked, because
    migrating a shared or production database is a decision `fitness db upgrade` makes.
    """
    settings = settings or get_settings()
    if settings.uses_embedded_database:
        upgrade_to_head(database_url(settings))
        logger.info("The embedded database's schema is at head (%s)", head_revision())
    else:
        _require_schema_at_head(settings)


def _require_schema_at_head(settings: Settings) -> None:
    with connect(settings) as conn:
        revision = current_revision(conn=conn)
    head = head_revision()
    if revision != head:
        raise DatabaseUnavailable(
            f"the database schema is at revision {revision or 'none (no schema)'} but this "
            f"fitness needs {head}: run `fitness db upgrade` first"
        )


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between 0 and 65535, not {port}")
    return port


# --- fitness db ---------------------------------------------------------------------------


def _add_db(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "db",
        help="migrate, inspect, back up and restore the database",
        description=(
            "Look after the database in use: DATABASE_URL if set, else the embedded "
            "PostgreSQL in FITNESS_DATA_DIR."
        ),
    )
    db_commands = _subcommands(parser, "DB_COMMAND")
    for add in DB_COMMANDS:
        add(db_commands)


def _add_db_upgrade(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "upgrade",
        help="apply the migrations the database lacks",
        description="Migrate the database to the newest schema (a no-op when it is there).",
    )
    parser.set_defaults(handler=_db_upgrade)


def _db_upgrade(args: argparse.Namespace) -> int:
    url = database_url()
    before = _revision()
    upgrade_to_head(url)
    after = _revision()
    if before == after:
        print(f"already at head ({after})")
    else:
        print(f"upgraded from {before or 'an empty database'} to {after}")
    return 0


def _add_db_current(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "current",
        help="show the schema revision and whether it is at head",
        description="Show the database's schema revision and whether it is the newest.",
    )
    parser.set_defaults(handler=_db_current)


def _db_current(args: argparse.Namespace) -> int:
    revision = _revision()
    head = head_revision()
    if revision == head:
        print(f"{revision} (head)")
    elif revision is None:
        print(f"none: the database has no schema yet (head is {head}; run `fitness db upgrade`)")
    else:
        print(f"{revision} (not at head {head}; run `fitness db upgrade`)")
    return 0


def _add_db_url(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "url",
        help="print the URL of the database in use, password masked",
        description=(
            "Print the connection URL of the database in use (for psql), with any password "
            "masked. For the embedded PostgreSQL this starts it."
        ),
    )
    parser.set_defaults(handler=_db_url)


def _db_url(args: argparse.Namespace) -> int:
    settings = get_settings()
    print(masked_url(database_url(settings)))
    if settings.uses_embedded_database:
        print(
            "(the embedded PostgreSQL runs while a fitness process such as `fitness serve` "
            "uses it)",
            file=sys.stderr,
        )
    return 0


def _add_db_backup(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "backup",
        help="write the whole database to FILE (pg_dump custom format)",
        description=(
            "Write the whole database (schema, data and migration revision) to FILE in "
            "pg_dump's custom format. FILE holds the OAuth credentials: keep it private."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.set_defaults(handler=_db_backup)


def _db_backup(args: argparse.Namespace) -> int:
    backup_database(args.file)
    print(f"backed up to {args.file} ({args.file.stat().st_size:,} bytes)")
    return 0


def _add_db_restore(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "restore",
        help="replace the database's contents with the backup in FILE",
        description=(
            "Restore a backup made by `fitness db backup`, in one transaction: a failed "
            "restore changes nothing. A database that holds data needs --force."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the fitness tables even if the database holds data",
    )
    parser.set_defaults(handler=_db_restore)


def _db_restore(args: argparse.Namespace) -> int:
    revision = restore_database(args.file, force=args.force)
    print(f"restored {args.file} (schema revision {revision})")
    head = head_revision()
    if revision != head:
        print(f"the schema is not at head {head}: run `fitness db upgrade`")
    return 0


def _add_db_check(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "check",
        help="check the run history's integrity",
        description=(
            "Check that every run has its original version, versions are 1..n without "
            "gaps, each run equals its newest snapshot (deletion included) and no calendar "
            "sync record points at a missing run or version. Prints `ok` and exits 0, or "
            "lists the problems and exits 1."
        ),
    )
    parser.set_defaults(handler=_db_check)


def _db_check(args: argparse.Namespace) -> int:
    _prepare_database()
    problems = find_problems()
    if not problems:
        print("ok")
        return 0
    for problem in problems:
        print(f"{problem.kind}: run {problem.run_id} {problem.message}")
    print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found")
    return 1


def _revision() -> str | None:
    with connect() as conn:
        return current_revision(conn=conn)


# --- fitness import -----------------------------------------------------------------------


def _add_import(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "import",
        help="import runs from an export file",
        description="Import runs from a file exported by another service.",
    )
    sources = _subcommands(parser, "SOURCE")
    for add in IMPORT_COMMANDS:
        add(sources)


def _add_import_mmf(commands: Subcommands) -> None:
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
    parser.set_defaults(handler=_import_mmf)


def _import_mmf(args: argparse.Namespace) -> int:
    with open(args.file, "rb") as source:
        _prepare_database()
        size = os.fstat(source.fileno()).st_size
        with _progress("Importing", total=size) as advance:
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
        print(f"nothing imported: {_count(result.error_count, 'bad row')} and --strict")
    else:
        print(
            f"{prefix} {result.inserted} runs ({result.skipped_existing} already stored, "
            f"{result.skipped_other_activities} other activities skipped)"
        )
        if result.shoes_created:
            print(f"new shoes: {', '.join(result.shoes_created)}")
    if result.error_count:
        print(f"{_count(result.error_count, 'row')} could not be imported:")
        for error in result.errors[:MAX_ERRORS_SHOWN]:
            print(f"  line {error.line}: {error.message}")
        if result.error_count > MAX_ERRORS_SHOWN:
            print(f"  ... and {result.error_count - MAX_ERRORS_SHOWN} more")
    return 1 if result.aborted else 0


# --- fitness sync -------------------------------------------------------------------------


def _add_sync(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "sync",
        help="sync with Strava or Google Calendar",
        description="Bring runs in from, or out to, a connected service.",
    )
    services = _subcommands(parser, "SERVICE")
    for add in SYNC_COMMANDS:
        add(services)


def _add_sync_strava(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "strava",
        help="fetch new runs from Strava",
        description=(
            "Fetch the activities started since the last sync (minus a week, for late "
            "uploads) and store the runs among them; runs already stored are left alone. "
            "If Strava's rate limit stops the sync, what was fetched is kept: run it again "
            "after the time it prints. Needs STRAVA_CLIENT_ID, STRAVA_CLIENT_SECRET and "
            "STRAVA_REFRESH_TOKEN (or a connection made through /oauth/strava/authorize)."
        ),
    )
    parser.add_argument(
        "--full", action="store_true", help="ignore the last sync and fetch every activity"
    )
    parser.set_defaults(handler=_sync_strava)


def _sync_strava(args: argparse.Namespace) -> int:
    _prepare_database()
    with _progress("Fetching from Strava", total=None) as advance:
        result = sync_strava(
            full_sync=args.full,
            progress=lambda fetched: advance(fetched, f"{fetched:,} activities"),
        )
    print(
        f"fetched {result.fetched} activities: {result.inserted} new runs, "
        f"{result.skipped_existing} already stored, "
        f"{result.skipped_other_activities} other activities skipped"
    )
    if result.shoes_created:
        print(f"new shoes: {', '.join(result.shoes_created)}")
    for error in result.errors[:MAX_ERRORS_SHOWN]:
        print(f"  activity {error.activity_id}: {error.message}")
    if result.last_synced_at is not None:
        print(f"synced up to {result.last_synced_at.isoformat()}")
    if result.rate_limited and result.retry_after is not None:
        print(
            "stopped early by Strava's rate limit; what was fetched is stored. "
            f"Run it again after {result.retry_after.isoformat()}."
        )
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _add_sync_calendar(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "calendar",
        help="write runs to Google Calendar",
        description=(
            "Bring Google Calendar up to date: create the event of every run that has none, "
            "update the events of runs edited since, and remove the events of deleted runs. "
            "A run that fails is listed and retried by the next sync; if any failed the "
            "exit status is 1. If Google's rate limit stops the sync, what was done is "
            "kept: run it again later. Needs GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and "
            "GOOGLE_REFRESH_TOKEN (or a connection made through /oauth/google/authorize); "
            "GOOGLE_CALENDAR_ID chooses the calendar (default: primary)."
        ),
    )
    parser.set_defaults(handler=_sync_calendar)


def _sync_calendar(args: argparse.Namespace) -> int:
    _prepare_database()
    with _progress("Syncing to Google Calendar", total=None) as advance:
        result = sync_all(progress=lambda done, total: advance(done, f"{done:,}/{total:,} runs"))
    print(
        f"calendar: {_count(result.created, 'event')} created, {result.updated} updated, "
        f"{result.deleted} removed, {result.unchanged} already current"
    )
    if result.failed:
        print(f"{_count(result.failed, 'run')} failed (the next sync retries them):")
        for error in result.errors[:MAX_ERRORS_SHOWN]:
            print(f"  run {error.run_id}: {error.message}")
        if result.failed > MAX_ERRORS_SHOWN:
            print(f"  ... and {result.failed - MAX_ERRORS_SHOWN} more")
    if result.rate_limited:
        when = f"after {result.retry_after.isoformat()}" if result.retry_after else "later"
        print(
            f"stopped early by Google's rate limit with {_count(result.skipped, 'run')} to go; "
            f"run it again {when}."
        )
    return 1 if result.failed else 0


@contextmanager
def _progress(description: str, total: float | None) -> Iterator[Callable[[float, str], None]]:
    """A rich progress bar on a terminal (nothing otherwise); yields `advance(done, note)`."""
    if not sys.stdout.isatty():
        yield lambda done, note: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(description, total=total, note="")
        yield lambda done, note: progress.update(task, completed=done, note=note)


# --- registration -------------------------------------------------------------------------

COMMANDS: list[Callable[[Subcommands], None]] = [
    _add_serve,
    _add_db,
    _add_import,
    _add_sync,
]

DB_COMMANDS: list[Callable[[Subcommands], None]] = [
    _add_db_upgrade,
    _add_db_current,
    _add_db_url,
    _add_db_backup,
    _add_db_restore,
    _add_db_check,
]

IMPORT_COMMANDS: list[Callable[[Subcommands], None]] = [
    _add_import_mmf,
]

SYNC_COMMANDS: list[Callable[[Subcommands], None]] = [
    _add_sync_strava,
    _add_sync_calendar,
]


# --- plumbing -----------------------------------------------------------------------------


def _subcommands(parser: argparse.ArgumentParser, metavar: str) -> Subcommands:
    """Required subcommands of `parser`, each with its own `--help`."""
    return parser.add_subparsers(title="commands", metavar=metavar, required=True)


def _configure_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format=LOG_FORMAT,
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    if not debug:
        # Alembic narrates its setup at INFO; our commands say what changed themselves.
        logging.getLogger("alembic").setLevel(logging.WARNING)


def _describe(error: BaseException) -> str:
    """`error` as one line for people, without a traceback."""
    original = getattr(error, "orig", None)  # SQLAlchemy (under Alembic) wraps psycopg
    if isinstance(original, psycopg.Error):
        error = original
    text = " ".join(str(error).split())
    if isinstance(error, psycopg.OperationalError):
        return f"cannot use the database: {text}"
    if isinstance(error, psycopg.Error):
        return f"database error: {text}"
    if isinstance(error, FitnessError | OSError | CommandError):
        return text or type(error).__name__
    return f"unexpected {type(error).__name__}: {text} (run with --debug for the traceback)"


def _status(exit_: SystemExit) -> int:
    code = exit_.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _package_version() -> str:
    try:
        return version("fitness")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
