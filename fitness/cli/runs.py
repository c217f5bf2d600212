"""`fitness runs add`: enter a run by hand."""

from __future__ import annotations

import argparse
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from fitness.cli._common import AddCommand, Subcommands, command_group, prepare_database
from fitness.config import get_settings
from fitness.models import RunDetail
from fitness.services.manual_runs import add_manual_run

_CLOCK = re.compile(r"^(?:(\d+):)?([0-5]?\d):([0-5]\d(?:\.\d+)?)$")
_TYPES = {"outdoor": "Outdoor Run", "treadmill": "Treadmill Run"}


def add(commands: Subcommands) -> None:
    command_group(
        commands,
        "runs",
        RUNS_COMMANDS,
        "ACTION",
        help="enter a run by hand",
        description="Runs entered by hand (source Manual), versioned like any import.",
    )


def _add_add(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "add",
        help="enter a run by hand",
        description=(
            "Store a run entered by hand, with an `original` version. Its id is "
            "manual_<UTC start>, so entering the same start twice is refused. --start without "
            "an offset is in FITNESS_TIMEZONE."
        ),
    )
    parser.add_argument(
        "--start",
        required=True,
        type=_start,
        metavar="DATETIME",
        help="when it started, e.g. 2025-05-06T07:30+02:00",
    )
    parser.add_argument(
        "--distance", required=True, type=float, help="how far, in --units (default miles)"
    )
    parser.add_argument("--units", choices=("mi", "km"), default="mi", help="default: mi")
    parser.add_argument(
        "--duration",
        required=True,
        type=parse_duration,
        metavar="TIME",
        help="how long: H:MM:SS, MM:SS or seconds",
    )
    parser.add_argument("--heart-rate", type=float, metavar="BPM", help="average heart rate")
    parser.add_argument("--type", choices=tuple(_TYPES), default="outdoor", help="default: outdoor")
    parser.add_argument("--shoe", metavar="SHOE_ID", help="the id of the shoe it was run in")
    parser.add_argument("--name", help="its title")
    parser.add_argument("--notes", help="what to remember about it")
    parser.set_defaults(handler=_add)


def _add(args: argparse.Namespace) -> int:
    start: datetime = args.start
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo(get_settings().timezone))
    prepare_database()
    run = add_manual_run(
        start,
        args.distance,
        args.duration,
        units=args.units,
        avg_heart_rate=args.heart_rate,
        type=_TYPES[args.type],  # type: ignore[arg-type]
        shoe_id=args.shoe,
        name=args.name,
        notes=args.notes,
        changed_by="cli",
    )
    print(f"added {run.id}: {_summary(run)}")
    return 0


def _summary(run: RunDetail) -> str:
    minutes, seconds = divmod(round(run.duration), 60)
    hours, minutes = divmod(minutes, 60)
    parts = [
        f"{run.distance:.2f} mi in {hours}:{minutes:02}:{seconds:02}",
        run.type.lower(),
        f"started {run.datetime_utc:%Y-%m-%d %H:%M}Z",
    ]
    if run.avg_heart_rate is not None:
        parts.append(f"{run.avg_heart_rate:g} bpm")
    if run.shoe_name:
        parts.append(f"in {run.shoe_name}")
    return ", ".join(parts)


def _start(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date-time such as 2025-05-06T07:30+02:00: {text!r}"
        ) from None


def parse_duration(text: str) -> float:
    """Seconds from `H:MM:SS`, `MM:SS` or a number of seconds (argparse's type for times)."""
    match = _CLOCK.match(text.strip())
    if match:
        hours, minutes, seconds = match.groups()
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a duration such as 1:02:03, 45:00 or 2700 (seconds): {text!r}"
        ) from None


RUNS_COMMANDS: list[AddCommand] = [_add_add]
