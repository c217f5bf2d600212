"""What every `fitness` subcommand shares: its parser class, progress bars, and the rule that
a command's database is at the newest schema before it is used."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn, TypeAlias

from fitness.config import Settings, get_settings
from fitness.db.connection import connect, database_url
from fitness.db.migrations import current_revision, head_revision, upgrade_to_head
from fitness.errors import DatabaseUnavailable

logger = logging.getLogger("fitness.cli")

MAX_ERRORS_SHOWN = 20


class Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line on stderr (exit status 2).

    `add_check` adds what a `type=` cannot do: a value read against another option's (a
    distance against its --units); the check's `argparse.ArgumentError` is a usage error too.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._checks: list[Callable[[argparse.Namespace], None]] = []

    def add_check(self, check: Callable[[argparse.Namespace], None]) -> None:
        """Call `check(args)` once this parser has parsed its arguments."""
        self._checks.append(check)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        for check in self._checks:
            try:
                check(parsed)
            except argparse.ArgumentError as error:
                self.error(str(error))
        return parsed, extras

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


Subcommands: TypeAlias = "argparse._SubParsersAction[Parser]"
AddCommand: TypeAlias = Callable[[Subcommands], None]


def subcommands(parser: argparse.ArgumentParser, metavar: str) -> Subcommands:
    """Required subcommands of `parser`, each with its own `--help`."""
    return parser.add_subparsers(title="commands", metavar=metavar, required=True)


def command_group(
    commands: Subcommands, name: str, members: list[AddCommand], metavar: str, **parser_args: str
) -> None:
    """`fitness <name> <member>`: a group of subcommands, each added by one of `members`."""
    parser = commands.add_parser(name, **parser_args)
    group = subcommands(parser, metavar)
    for add in members:
        add(group)


def prepare_database(settings: Settings | None = None) -> None:
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
        require_schema_at_head(settings)


def require_schema_at_head(settings: Settings) -> None:
    """`DatabaseUnavailable` unless the database's schema is the newest this fitness knows."""
    with connect(settings) as conn:
        revision = current_revision(conn=conn)
    head = head_revision()
    if revision != head:
        raise DatabaseUnavailable(
            f"the database schema is at revision {revision or 'none (no schema)'} but this "
            f"fitness needs {head}: run `fitness db upgrade` first"
        )


@contextmanager
def progress(description: str, total: float | None) -> Iterator[Callable[[float, str], None]]:
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
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(description, total=total, note="")
        yield lambda done, note: bar.update(task, completed=done, note=note)


def count(number: int, noun: str, plural: str | None = None) -> str:
    """`1 run`, `2 runs` (`plural` for nouns that do not take an s)."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
