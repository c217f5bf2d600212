"""`fitness races list|set|clear`: the races runs were, set and cleared as new versions."""

from __future__ import annotations

import argparse

from fitness.cli._common import AddCommand, Subcommands, command_group, prepare_database
from fitness.cli.runs import parse_duration
from fitness.db import races as db_races
from fitness.models import Race, RunDetail
from fitness.rules import MAX_DISTANCE_KM, MAX_DISTANCE_MILES, distance_in_miles


def add(commands: Subcommands) -> None:
    command_group(
        commands,
        "races",
        RACES_COMMANDS,
        "ACTION",
        help="the races runs were: list, set, clear",
        description=(
            "A run can carry a race: the event, its official distance and chip time, the "
            "placing. Setting or clearing one is a new version of the run."
        ),
    )


def _add_list(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "list",
        help="list the races, oldest first",
        description="The runs that were races, oldest first (not deleted, no duplicates).",
    )
    parser.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    prepare_database()
    races = db_races.get_races()
    for run in races:
        print(f"{run.datetime_utc:%Y-%m-%d}  {run.id}  {_summary(run)}")
    if not races:
        print("no races")
    return 0


def _add_set(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "set",
        help="record the race a run was",
        description="Record the race a run was (replacing any it had), as a new version.",
    )
    parser.add_argument("run_id", metavar="RUN_ID")
    parser.add_argument("--name", required=True, help="the event, e.g. 'Berlin Marathon 2025'")
    distance = parser.add_argument(
        "--distance",
        required=True,
        type=float,
        help="official distance, in --units: more than 0, at most 1,000 mi (1,609.344 km)",
    )
    parser.add_argument("--units", choices=("mi", "km"), default="mi", help="default: mi")
    parser.add_argument(
        "--time",
        required=True,
        type=parse_duration,
        metavar="TIME",
        help="official (chip) time: H:MM:SS, MM:SS or seconds",
    )
    parser.add_argument("--place", type=int, help="overall placing")
    parser.add_argument("--field-size", type=int, metavar="N", help="how many finished")
    parser.add_argument("--reason", help="why (recorded on the version)")
    parser.add_check(lambda args: _check_distance(distance, args.distance, args.units))
    parser.set_defaults(handler=_set)


def _set(args: argparse.Namespace) -> int:
    race = Race(
        name=args.name,
        distance=distance_in_miles(args.distance, args.units),
        time=args.time,
        place=args.place,
        field_size=args.field_size,
    )
    prepare_database()
    run = db_races.set_run_race(args.run_id, race, changed_by="cli", change_reason=args.reason)
    print(f"{run.id} (version {run.version}): {_summary(run)}")
    return 0


def _add_clear(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "clear",
        help="the run was no race: clear it",
        description="Clear a run's race, as a new version (none if it had no race).",
    )
    parser.add_argument("run_id", metavar="RUN_ID")
    parser.add_argument("--reason", help="why (recorded on the version)")
    parser.set_defaults(handler=_clear)


def _clear(args: argparse.Namespace) -> int:
    prepare_database()
    run = db_races.clear_run_race(args.run_id, changed_by="cli", change_reason=args.reason)
    print(f"{run.id} (version {run.version}): no race")
    return 0


def _check_distance(option: argparse.Action, distance: float, units: str) -> None:
    """A race's distance, in `units`, is more than 0 and at most 1,000 miles."""
    most = MAX_DISTANCE_KM if units == "km" else MAX_DISTANCE_MILES
    if not 0 < distance <= most:
        raise argparse.ArgumentError(
            option,
            f"a race distance must be more than 0 and at most {MAX_DISTANCE_MILES:,.0f} mi "
            f"({MAX_DISTANCE_KM:,} km), not {distance:.15g} {units}",
        )


def _summary(run: RunDetail) -> str:
    race = run.race
    if race is None:
        return "no race"
    whole = round(race.time)
    clock = f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    text = f"{race.name}, {race.distance:.2f} mi in {clock}"
    if race.place is not None:
        text += f", place {race.place}"
        if race.field_size is not None:
            text += f" of {race.field_size}"
    return text


RACES_COMMANDS: list[AddCommand] = [_add_list, _add_set, _add_clear]
