"""`fitness stats ...`: totals, rolling sums, training load, records and shoes, as tables.

Each subcommand calls one function of fitness.db.stats and prints its answer; distances are
in --units (default FITNESS_UNITS), days are local to --tz (default FITNESS_TIMEZONE), and
--as-of shows the log as it stood at that moment.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import date, datetime, timedelta

from rich.console import Console
from rich.table import Table

from fitness.cli._common import (
    AddCommand,
    Parser,
    Subcommands,
    command_group,
    count,
    prepare_database,
)
from fitness.config import get_settings
from fitness.db import stats
from fitness.db.shoes import set_shoe_mileage_limits
from fitness.rules import KM_PER_MILE
from fitness.stats_models import PERIODS, SPORTS, UNITS, WEEK_STARTS

# Without --start, a command shows this many local days up to --end, or up to today without
# --end (totals: per period).
RECENT_DAYS = {"day": 28, "week": 12 * 7, "month": 365, "rolling": 28, "load": 28}
NO_DATA = "—"


def add(commands: Subcommands) -> None:
    command_group(
        commands,
        "stats",
        STATS_COMMANDS,
        "STATISTIC",
        help="totals, trends, training load, records and shoe wear",
        description=(
            "Answers about the log, each computed by one SQL statement: distance per period, "
            "rolling sums, training load, records and shoe wear. Deleted runs never count. "
            "Distances are in --units (default FITNESS_UNITS), days local to --tz (default "
            "FITNESS_TIMEZONE); --as-of shows the log as it stood then."
        ),
    )


def _add_totals(commands: Subcommands) -> None:
    parser = _parser(
        commands,
        "totals",
        "distance, time, runs and pace per day, week, month or year",
        "Distance, time, run count and average pace per period, every period in the range "
        "present (empty ones as zeros). Without --start: the 28 days, 12 weeks or 12 months "
        "up to --end (default today), or every year.",
    )
    parser.add_argument("--period", choices=PERIODS, default="week", help="default: week")
    _range_arguments(parser)
    _week_start_argument(parser)
    _sport_argument(parser, "run")
    parser.set_defaults(handler=_totals)


def _totals(args: argparse.Namespace) -> int:
    prepare_database()
    start = args.start
    if start is None and args.period != "year":
        start = _recent_start(args, RECENT_DAYS[args.period])
    answer = stats.get_totals(
        args.period,
        start,
        args.end,
        tz=args.tz,
        week_start=args.week_start,
        units=args.units,
        as_of=args.as_of,
        sport=args.sport,
    )
    unit = answer.units
    table = _table(
        f"{args.period} totals ({_SPORT_TITLES[answer.sport]}, {answer.tz})",
        args.period,
        f"distance ({unit})",
        "time",
        "runs" if answer.sport == "run" else "activities",
        f"pace (/{unit})",
    )
    for total in answer.totals:
        table.add_row(
            total.start.isoformat(),
            _distance(total.distance),
            _clock(total.duration),
            str(total.runs),
            _pace(total.pace),
        )
    distance = sum(total.distance for total in answer.totals)
    duration = sum(total.duration for total in answer.totals)
    table.add_section()
    table.add_row(
        "total",
        _distance(distance),
        _clock(duration),
        str(sum(total.runs for total in answer.totals)),
        _pace(duration / distance if distance else None),
    )
    _print(table)
    return 0


def _add_rolling(commands: Subcommands) -> None:
    parser = _parser(
        commands,
        "rolling",
        "distance of the last N days, for every day",
        "For every day in the range, the distance of the N days ending with it. Without "
        "--start: the 28 days up to --end (default today).",
    )
    parser.add_argument(
        "--window", type=int, default=7, metavar="N", help="days in each sum (default 7)"
    )
    _range_arguments(parser)
    _sport_argument(parser, "run")
    parser.set_defaults(handler=_rolling)


def _rolling(args: argparse.Namespace) -> int:
    prepare_database()
    start = args.start or _recent_start(args, RECENT_DAYS["rolling"])
    answer = stats.get_rolling_sums(
        args.window,
        start,
        args.end,
        tz=args.tz,
        units=args.units,
        as_of=args.as_of,
        sport=args.sport,
    )
    table = _table(
        f"{answer.window}-day distance ({_SPORT_TITLES[answer.sport]}, {answer.tz})",
        "day",
        f"distance ({answer.units})",
    )
    for day in answer.days:
        table.add_row(day.date.isoformat(), _distance(day.distance))
    _print(table)
    return 0


def _add_load(commands: Subcommands) -> None:
    parser = _parser(
        commands,
        "load",
        "training load per day: TRIMP, CTL, ATL, TSB, acute:chronic",
        "Banister's TRIMP per day from each run's average heart rate (runs without one add "
        "nothing and are counted), its 42-day (CTL) and 7-day (ATL) exponentially weighted "
        "averages, TSB = CTL - ATL and the acute:chronic ratio ATL/CTL; then each week's "
        "distance against the week before, flagged when it grew more than 10%. Heart rates "
        "default to FITNESS_RESTING_HR and FITNESS_MAX_HR. Without --start: the 28 days up "
        "to --end (default today). "
        "Rides count as runs do (--sport all, the default): from their minutes and heart rate.",
    )
    _range_arguments(parser)
    _week_start_argument(parser)
    _sport_argument(parser, "all")
    parser.add_argument("--resting-hr", type=float, metavar="BPM", help="resting heart rate")
    parser.add_argument("--max-hr", type=float, metavar="BPM", help="maximum heart rate")
    parser.set_defaults(handler=_load)


def _load(args: argparse.Namespace) -> int:
    prepare_database()
    start = args.start or _recent_start(args, RECENT_DAYS["load"])
    answer = stats.get_training_load(
        start,
        args.end,
        tz=args.tz,
        week_start=args.week_start,
        units=args.units,
        resting_hr=args.resting_hr,
        max_hr=args.max_hr,
        as_of=args.as_of,
        sport=args.sport,
    )
    days = _table(
        f"training load ({_SPORT_TITLES[answer.sport]}, {answer.tz}; "
        f"heart rate {answer.resting_hr:g}-{answer.max_hr:g})",
        "day",
        "TRIMP",
        "CTL",
        "ATL",
        "TSB",
        "ATL/CTL",
        "runs without HR",
    )
    for day in answer.days:
        ratio = day.acute_chronic_ratio
        days.add_row(
            day.date.isoformat(),
            f"{day.trimp:.0f}",
            f"{day.ctl:.1f}",
            f"{day.atl:.1f}",
            f"{day.tsb:+.1f}",
            NO_DATA if ratio is None else f"{ratio:.2f}",
            str(day.runs_without_heart_rate or ""),
        )
    weeks = _table(
        "weekly distance",
        "week",
        f"distance ({answer.units})",
        "week before",
        "change",
        "",
    )
    for week in answer.weeks:
        weeks.add_row(
            week.start.isoformat(),
            _distance(week.distance),
            _distance(week.previous_distance),
            NO_DATA if week.growth is None else f"{week.growth:+.0%}",
            "over +10%" if week.is_big_increase else "",
        )
    _print(days, weeks)
    return 0


def _add_records(commands: Subcommands) -> None:
    parser = _parser(
        commands,
        "records",
        "longest run, fastest paces, longest week and month, streaks, Eddington",
        "The log's records: longest run; fastest average pace at 5 km, 10 km, half marathon "
        "and marathon (runs within 3% of the distance); longest week and month; current and "
        "longest streak of days with a run; the Eddington number in miles and kilometres.",
    )
    _common_arguments(parser)
    _week_start_argument(parser)
    parser.set_defaults(handler=_records)


def _records(args: argparse.Namespace) -> int:
    prepare_database()
    answer = stats.get_records(
        tz=args.tz, week_start=args.week_start, units=args.units, as_of=args.as_of
    )
    unit = answer.units
    table = _table(f"records ({answer.tz})", "record", "", "when", "run")
    run = answer.longest_run
    if run is not None:
        table.add_row(
            "longest run", f"{_distance(run.distance)} {unit}", run.date.isoformat(), run.run_id
        )
    for band in answer.fastest:
        table.add_row(
            f"fastest {band.band}",
            f"{_pace(band.run.pace)} /{unit} ({_distance(band.run.distance)} {unit} in "
            f"{_clock(band.run.duration)})",
            band.run.date.isoformat(),
            band.run.run_id,
        )
    for name, record in (("week", answer.longest_week), ("month", answer.longest_month)):
        if record is not None:
            table.add_row(
                f"longest {name}",
                f"{_distance(record.distance)} {unit} in {count(record.runs, 'run')}",
                record.start.isoformat(),
                "",
            )
    for name, streak in (("current", answer.current_streak), ("longest", answer.longest_streak)):
        when = ""
        if streak.first_day is not None and streak.last_day is not None:
            when = f"{streak.first_day.isoformat()} to {streak.last_day.isoformat()}"
        table.add_row(f"{name} streak", count(streak.days, "day"), when, "")
    table.add_row("Eddington number", f"{answer.eddington.mi} mi, {answer.eddington.km} km", "", "")
    for progression in answer.race_progression:
        for best in progression.bests:
            table.add_row(
                f"race PB {_distance(progression.distance)} {unit}",
                f"{_clock(best.time)} ({best.race_name})",
                best.date.isoformat(),
                best.run_id,
            )
    _print(table)
    return 0


def _add_shoes(commands: Subcommands) -> None:
    parser = _parser(
        commands,
        "shoes",
        "miles used and left per shoe, and when each needs replacing",
        "Per shoe: runs, distance used (starting mileage + runs), distance left before its "
        "maximum, its last 8 weeks' distance, and the days it will reach its warning and "
        "maximum mileage at that rate (none for a retired or idle shoe, or a threshold "
        "passed). --monthly shows each shoe's distance per month instead.",
    )
    _common_arguments(parser)
    parser.add_argument(
        "--monthly", action="store_true", help="distance per month and first/last use"
    )
    retired = parser.add_mutually_exclusive_group()
    retired.add_argument(
        "--active", dest="retired", action="store_false", default=None, help="active only"
    )
    retired.add_argument("--retired", dest="retired", action="store_true", help="retired only")
    parser.set_defaults(handler=_shoes)


def _shoes(args: argparse.Namespace) -> int:
    prepare_database()
    if args.monthly:
        return _shoe_months(args)
    wear = stats.get_shoe_wear(args.retired, tz=args.tz, units=args.units, as_of=args.as_of)
    table = _table(
        f"shoes ({args.units or get_settings().units})",
        "shoe",
        "runs",
        "used",
        "left",
        "warn at",
        "max",
        "last 8 weeks",
        "warning",
        "replace by",
    )
    for shoe in wear:
        status = "retired" if shoe.retired_at else ""
        table.add_row(
            shoe.name + (f" ({status})" if status else ""),
            str(shoe.runs),
            _distance(shoe.used),
            _distance(shoe.left),
            _distance(shoe.warning_mileage),
            _distance(shoe.maximum_mileage),
            _distance(shoe.recent_distance),
            "passed" if shoe.is_past_warning else _day(shoe.projected_warning_date),
            "passed" if shoe.is_past_maximum else _day(shoe.projected_maximum_date),
        )
    _print(table)
    return 0


def _shoe_months(args: argparse.Namespace) -> int:
    shoes = stats.get_shoe_mileage(args.retired, tz=args.tz, units=args.units, as_of=args.as_of)
    unit = args.units or get_settings().units
    table = _table(f"shoe distance per month ({unit})", "shoe", "month", "distance", "runs")
    for shoe in shoes:
        table.add_row(
            shoe.name,
            f"{_day(shoe.first_used)} to {_day(shoe.last_used)}",
            _distance(shoe.distance),
            str(shoe.runs),
        )
        for month in shoe.months:
            table.add_row(
                "", month.month.strftime("%Y-%m"), _distance(month.distance), str(month.runs)
            )
        table.add_section()
    _print(table)
    return 0


def _add_shoe_limits(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "shoe-limits",
        help="set a shoe's starting, warning and maximum mileage",
        description=(
            "Set a shoe's starting mileage (what it had before the log) and the mileages at "
            "which it warns and is worn out (defaults 0, 300 and 500 miles), in --units. "
            "Options not given keep their values."
        ),
    )
    parser.add_argument("shoe_id", metavar="SHOE_ID")
    parser.add_argument("--starting", type=float, metavar="DISTANCE")
    parser.add_argument("--warning", type=float, metavar="DISTANCE")
    parser.add_argument("--maximum", type=float, metavar="DISTANCE")
    parser.add_argument("--units", choices=UNITS, help="of the distances (default mi)")
    parser.set_defaults(handler=_shoe_limits)


def _shoe_limits(args: argparse.Namespace) -> int:
    prepare_database()
    per_mile = KM_PER_MILE if args.units == "km" else 1.0

    def miles(value: float | None) -> float | None:
        return None if value is None else value / per_mile

    limits = set_shoe_mileage_limits(
        args.shoe_id,
        starting_mileage=miles(args.starting),
        warning_mileage=miles(args.warning),
        maximum_mileage=miles(args.maximum),
    )
    unit = args.units or "mi"
    print(
        f"{limits.shoe_id}: starts at {_distance(limits.starting_mileage * per_mile)}, warns at "
        f"{_distance(limits.warning_mileage * per_mile)}, worn out at "
        f"{_distance(limits.maximum_mileage * per_mile)} {unit}"
    )
    return 0


def _parser(commands: Subcommands, name: str, summary: str, description: str) -> Parser:
    return commands.add_parser(name, help=summary, description=description)


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--units", choices=UNITS, help="mi or km (default FITNESS_UNITS)")
    parser.add_argument(
        "--tz", metavar="ZONE", help="IANA time zone of the days (default FITNESS_TIMEZONE)"
    )
    parser.add_argument(
        "--as-of",
        type=_moment,
        metavar="DATETIME",
        help="the log as it stood then, e.g. 2025-01-31T18:00:00+01:00 (default: now)",
    )


def _range_arguments(parser: argparse.ArgumentParser) -> None:
    _common_arguments(parser)
    parser.add_argument("--start", type=_day_argument, metavar="YYYY-MM-DD", help="first day")
    parser.add_argument(
        "--end", type=_day_argument, metavar="YYYY-MM-DD", help="last day (default today)"
    )


def _week_start_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--week-start", choices=WEEK_STARTS, help="first day of a week (default FITNESS_WEEK_START)"
    )


# What the tables' titles say each --sport counts.
_SPORT_TITLES = {"run": "runs", "ride": "rides", "all": "runs and rides"}


def _sport_argument(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--sport",
        choices=SPORTS,
        default=default,
        help=f"what counts: runs, rides or all (default {default})",
    )


def _day_argument(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date-time: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no UTC offset: add one, e.g. {text}Z or {text}+01:00"
        )
    return moment


def _recent_start(args: argparse.Namespace, days: int) -> date | None:
    """The first of the `days` local days ending with --end, or with today without it; not
    before the first day statistics cover. None for an --end they do not cover, which the
    statistic then refuses naming --end alone."""
    last = args.end or stats.local_today(args.tz, args.as_of)
    if not stats.EARLIEST_DATE <= last <= stats.LATEST_DATE:
        return None
    return max(stats.EARLIEST_DATE, last - timedelta(days=days - 1))


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    return table


def _print(*tables: Table) -> None:
    # Piped output keeps whole lines (rich would fold tables to 80 columns).
    width = None if sys.stdout.isatty() else max(shutil.get_terminal_size().columns, 160)
    console = Console(width=width, highlight=False)
    for table in tables:
        console.print(table)


def _distance(value: float) -> str:
    return f"{value:,.2f}"


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _pace(seconds: float | None) -> str:
    if seconds is None:
        return NO_DATA
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _day(value: date | None) -> str:
    return NO_DATA if value is None else value.isoformat()


STATS_COMMANDS: list[AddCommand] = [
    _add_totals,
    _add_rolling,
    _add_load,
    _add_records,
    _add_shoes,
    _add_shoe_limits,
]
