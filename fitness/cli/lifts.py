"""`fitness lifts ...`: the lifts synced from Hevy and their statistics, as tables.

Each subcommand calls one library function (fitness.db.lifts, fitness.db.lift_stats) and
prints its answer; weights are kilograms, weeks local to --tz (default FITNESS_TIMEZONE).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import date

from rich.console import Console
from rich.table import Table

from fitness.cli._common import AddCommand, Subcommands, command_group, prepare_database
from fitness.db import lift_stats
from fitness.db.lifts import list_lifts
from fitness.stats_models import WEEK_STARTS


def add(commands: Subcommands) -> None:
    command_group(
        commands,
        "lifts",
        LIFTS_COMMANDS,
        "ANSWER",
        help="lifts from Hevy: list, weekly volume, sets per muscle group, one-rep maxes",
        description=(
            "Lifts synced from Hevy (`fitness sync hevy`) and answers about them, each "
            "computed by one SQL statement over the lifts not deleted. Weights are kg; "
            "warm-up sets never count."
        ),
    )


def _add_list(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "list", help="the latest lifts", description="The latest lifts, newest first."
    )
    parser.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    parser.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    prepare_database()
    table = _table("Lifts", "id", "start (UTC)", "title", "exercises", "sets", "version")
    for lift in list_lifts(limit=max(1, args.limit)).lifts:
        table.add_row(
            lift.id,
            lift.datetime_utc.strftime("%Y-%m-%d %H:%M"),
            lift.title or "",
            str(len(lift.exercises)),
            str(sum(len(e.sets) for e in lift.exercises)),
            str(lift.version),
        )
    _print(table)
    return 0


def _add_volume(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "volume",
        help="weekly volume (kg × reps), working sets and lifts",
        description="Each week's volume: Σ weight × reps over working sets (warm-ups left out).",
    )
    _arguments(parser, weeks=True)
    parser.set_defaults(handler=_volume)


def _volume(args: argparse.Namespace) -> int:
    prepare_database()
    answer = lift_stats.get_weekly_volume(
        args.start, args.end, tz=args.tz, week_start=args.week_start
    )
    table = _table(f"Volume per week ({answer.tz})", "week", "volume kg", "sets", "lifts")
    for week in answer.weeks:
        table.add_row(
            week.week_start.isoformat(),
            f"{week.volume_kg:,.1f}",
            str(week.working_sets),
            str(week.lifts),
        )
    _print(table)
    return 0


def _add_muscle_groups(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "muscle-groups",
        help="working sets per muscle group per week",
        description=(
            "Working sets per primary muscle group (of Hevy's exercise template) per week."
        ),
    )
    _arguments(parser, weeks=True)
    parser.set_defaults(handler=_muscle_groups)


def _muscle_groups(args: argparse.Namespace) -> int:
    prepare_database()
    answer = lift_stats.get_muscle_group_sets(
        args.start, args.end, tz=args.tz, week_start=args.week_start
    )
    table = _table(f"Sets per muscle group ({answer.tz})", "week", "muscle group", "sets")
    shown: date | None = None
    for row in answer.weeks:
        week = "" if row.week_start == shown else row.week_start.isoformat()
        shown = row.week_start
        table.add_row(week, row.muscle_group, str(row.working_sets))
    _print(table)
    return 0


def _add_one_rep_max(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "one-rep-max",
        help="best estimated one-rep max per exercise (Epley)",
        description=(
            "The best estimated one-rep max of each exercise by Epley's formula: "
            "weight × (1 + reps / 30), a single's own weight."
        ),
    )
    _arguments(parser, weeks=False)
    parser.set_defaults(handler=_one_rep_max)


def _one_rep_max(args: argparse.Namespace) -> int:
    prepare_database()
    answer = lift_stats.get_one_rep_maxes(args.start, args.end, tz=args.tz)
    table: Table = _table("Best estimated 1RM (Epley)", "exercise", "1RM kg", "set", "day")
    for best in answer.exercises:
        table.add_row(
            best.exercise,
            f"{best.estimated_one_rep_max_kg:.1f}",
            f"{best.weight_kg:g} kg × {best.reps}",
            best.day.isoformat(),
        )
    _print(table)
    return 0


def _arguments(parser: argparse.ArgumentParser, *, weeks: bool) -> None:
    parser.add_argument(
        "--tz", metavar="ZONE", help="IANA time zone of the days (default FITNESS_TIMEZONE)"
    )
    parser.add_argument("--start", type=_day_argument, metavar="YYYY-MM-DD", help="first day")
    parser.add_argument("--end", type=_day_argument, metavar="YYYY-MM-DD", help="last day")
    if weeks:
        parser.add_argument(
            "--week-start",
            choices=WEEK_STARTS,
            help="first day of a week (default FITNESS_WEEK_START)",
        )


def _day_argument(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    return table


def _print(table: Table) -> None:
    # Piped output keeps whole lines (rich would fold tables to 80 columns).
    width = None if sys.stdout.isatty() else max(shutil.get_terminal_size().columns, 160)
    Console(width=width, highlight=False).print(table)


LIFTS_COMMANDS: list[AddCommand] = [_add_list, _add_volume, _add_muscle_groups, _add_one_rep_max]
