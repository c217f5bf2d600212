"""The `fitness` command: serve the API, look after its database, import and sync runs, and
answer questions about them.

One module per command group: `serve.py` (`fitness serve`), `db.py` (`fitness db ...`),
`imports.py` (`fitness import <source>`), `sync.py` (`fitness sync <service>`), `stats.py`
(`fitness stats <statistic>`), `connections.py` (`fitness connections`, `connect`,
`disconnect`), `runs.py` (`fitness runs add`), `races.py` (`fitness races ...`),
`shoes.py` (`fitness shoes rename|undelete|merge|unmerge`), `duplicates.py` (`fitness
duplicates [mark|dismiss]`), `tokens.py` (`fitness tokens ...`); what they share is in
`_common.py`.
Adding a subcommand takes one function and one line: the function adds a parser to the
subcommands it is given and names a handler; the line registers it in its group's list
(`DB_COMMANDS`, `IMPORT_COMMANDS`, `SYNC_COMMANDS`, `STATS_COMMANDS`), or in
`COMMANDS` below for a new group:

    def _add_calendar(commands: Subcommands) -> None:
        parser = commands.add_parser("calendar", help="...", description="...")
        parser.add_argument("--dry-run", action="store_true", help="...")
        parser.set_defaults(handler=_calendar)

    def _calendar(args: argparse.Namespace) -> int:
        ...   # call fitness functions, print the outcome for people, return 0

A handler returns the exit status. It reports failure by raising (FitnessError, a psycopg
error, OSError...): `main` turns any error into one line on stderr and exit status 1, and
usage errors into one line and exit status 2. `--debug` (or FITNESS_DEBUG=1) shows the
traceback instead.

Commands are quiet: they print what they did on stdout and only warnings and errors on
stderr. `--verbose` shows the INFO log, `--debug` the DEBUG log; `fitness serve`, whose log
is its output, logs at INFO by default (its parser sets `logs_by_default`). Log lines are
one line each, and go to whatever `sys.stderr` is when they are written, so a progress bar
that redirects stderr prints them above itself instead of through it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TextIO

import psycopg
from alembic.util import CommandError

from fitness.cli import (
    connections,
    db,
    duplicates,
    imports,
    lifts,
    races,
    runs,
    secrets,
    serve,
    shoes,
    stats,
    sync,
    tokens,
)
from fitness.cli._common import AddCommand, Parser, subcommands
from fitness.db.connection import close_pool
from fitness.errors import FitnessError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

COMMANDS: list[AddCommand] = [
    serve.add,
    db.add,
    imports.add,
    runs.add,
    races.add,
    shoes.add,
    duplicates.add,
    sync.add,
    stats.add,
    lifts.add,
    secrets.add,
    connections.add,
    tokens.add,
]


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
    _configure_logging(debug, args.verbose or getattr(args, "logs_by_default", False))
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


def build_parser() -> Parser:
    """The parser of the whole command, with every registered subcommand."""
    parser = Parser(
        prog="fitness",
        description=(
            "Your running log in PostgreSQL: serve its API, look after its database, "
            "import and sync runs, and answer questions about them."
        ),
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="log at DEBUG and show tracebacks of errors (also FITNESS_DEBUG=1)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show the INFO log on stderr")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_package_version()}")
    commands = subcommands(parser, "COMMAND")
    for add in COMMANDS:
        add(commands)
    return parser


def _configure_logging(debug: bool, verbose: bool) -> None:
    handler = _StderrHandler()
    handler.setFormatter(
        logging.Formatter(LOG_FORMAT, "%Y-%m-%dT%H:%M:%S")
        if debug
        else _OneLineFormatter(LOG_FORMAT, "%Y-%m-%dT%H:%M:%S")
    )
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING)
    if not debug:
        # Alembic narrates its setup at INFO; our commands say what changed themselves.
        logging.getLogger("alembic").setLevel(logging.WARNING)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the `sys.stderr` of the moment, not the one at set-up: rich's progress bar
    replaces it while it runs, and prints what is written there above the bar."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """`StreamHandler` sets its stream; this handler always looks it up instead."""


class _OneLineFormatter(logging.Formatter):
    """A record on one line: line breaks in messages (and tracebacks) become ` | `."""

    def format(self, record: logging.LogRecord) -> str:
        return " | ".join(line for line in super().format(record).splitlines() if line.strip())


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
