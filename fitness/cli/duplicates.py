"""`fitness duplicates`: list suggested duplicates, mark one run a duplicate of another, or
dismiss a suggestion (fitness.db.duplicates, fitness.db.runs_history.mark_duplicate)."""

from __future__ import annotations

import argparse

from fitness.cli._common import AddCommand, Subcommands, count, prepare_database, subcommands
from fitness.db.duplicates import dismiss_duplicate_pair, get_duplicate_suggestions
from fitness.db.runs_history import mark_duplicate
from fitness.models import Run

MAX_PAIRS_SHOWN = 100


def add(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "duplicates",
        help="suggested duplicates: one real run stored from two sources",
        description=(
            "Without an action, list pairs of runs from two sources that look like one real "
            "run: their times overlap, give or take 15 minutes (a MapMyFitness run spans its "
            "whole day), and their distances differ by at most 5%% (or 0.1 mile). Nothing is "
            "ever merged or deleted by itself: `mark` hides one run as a duplicate of the "
            "other (undo it by restoring its earlier version), `dismiss` stops suggesting a "
            "pair."
        ),
    )
    parser.set_defaults(handler=_list)
    actions = subcommands(parser, "ACTION")
    actions.required = False
    for add_action in DUPLICATES_COMMANDS:
        add_action(actions)


def _list(args: argparse.Namespace) -> int:
    prepare_database()
    page = get_duplicate_suggestions(limit=MAX_PAIRS_SHOWN)
    if not page.pairs:
        print("no suggested duplicates")
        return 0
    more = " (the most recent; mark or dismiss them to see more)" if page.next_cursor else ""
    print(f"{count(len(page.pairs), 'suggested duplicate')}{more}:")
    for pair in page.pairs:
        first, second = pair.runs
        print(f"  {_line(first)}")
        apart = f"+{pair.start_difference:.0f} s, {pair.distance_difference:.2f} mi apart"
        print(f"  {_line(second)}  ({apart})")
    print("mark one: fitness duplicates mark RUN_ID KEPT_ID; or: fitness duplicates dismiss A B")
    return 0


def _line(run: Run) -> str:
    return (
        f"{run.id:<44} {run.source:<12} {run.datetime_utc:%Y-%m-%d %H:%M}Z {run.distance:6.2f} mi"
    )


def _add_mark(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "mark",
        help="mark RUN_ID a duplicate of KEPT_ID",
        description=(
            "Mark RUN_ID a duplicate of KEPT_ID: a version in both runs' history; RUN_ID is "
            "then hidden from lists and totals. Undo it by restoring RUN_ID's version from "
            "before the marking."
        ),
    )
    parser.add_argument("run_id", metavar="RUN_ID", help="the duplicate")
    parser.add_argument("kept_id", metavar="KEPT_ID", help="the run to keep")
    parser.add_argument("--reason", help="why (recorded in both histories)")
    parser.set_defaults(handler=_mark)


def _mark(args: argparse.Namespace) -> int:
    prepare_database()
    marked = mark_duplicate(args.run_id, args.kept_id, "cli", args.reason)
    print(
        f"{marked.id} is now a duplicate of {args.kept_id} (version {marked.version}; restore "
        f"version {marked.version - 1} to undo)"
    )
    return 0


def _add_dismiss(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "dismiss",
        help="never suggest these two runs as duplicates again",
        description="Say two runs are not one real run: they are never suggested again.",
    )
    parser.add_argument("run_ids", nargs=2, metavar="RUN_ID")
    parser.set_defaults(handler=_dismiss)


def _dismiss(args: argparse.Namespace) -> int:
    prepare_database()
    dismissed = dismiss_duplicate_pair(*args.run_ids)
    print(f"{' and '.join(dismissed.run_ids)} will not be suggested as duplicates again")
    return 0


DUPLICATES_COMMANDS: list[AddCommand] = [_add_mark, _add_dismiss]
