"""`fitness sync <service>`: bring runs in from Strava, or out to Google Calendar."""

from __future__ import annotations

import argparse
from datetime import date, datetime

from fitness.cli._common import (
    MAX_ERRORS_SHOWN,
    AddCommand,
    Subcommands,
    command_group,
    count,
    prepare_database,
    progress,
)
from fitness.services.calendar_sync import sync_all
from fitness.services.hevy_sync import sync_hevy
from fitness.services.strava_sync import sync_strava


def add(commands: Subcommands) -> None:
    command_group(
        commands,
        "sync",
        SYNC_COMMANDS,
        "SERVICE",
        help="sync with Strava, Hevy or Google Calendar",
        description="Bring runs in from, or out to, a connected service.",
    )


def _add_strava(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "strava",
        help="fetch new runs from Strava",
        description=(
            "Fetch the activities started since the last sync (minus a week, for late "
            "uploads) and store the runs among them; runs already stored are left alone. "
            "If Strava's rate limit stops the sync, what was fetched is kept: run it again "
            "after the time it prints. Needs a connection: `fitness connect strava`, or "
            "STRAVA_CLIENT_ID, STRAVA_CLIENT_SECRET and STRAVA_REFRESH_TOKEN."
        ),
    )
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--full", action="store_true", help="ignore the last sync and fetch every activity"
    )
    when.add_argument(
        "--since",
        type=_day,
        metavar="YYYY-MM-DD",
        help=(
            "fetch every activity started on or after this day (UTC): for runs uploaded "
            "to Strava later than the week's overlap"
        ),
    )
    parser.set_defaults(handler=_strava)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date as YYYY-MM-DD") from None


def _strava(args: argparse.Namespace) -> int:
    prepare_database()
    with progress("Fetching from Strava", total=None) as advance:
        result = sync_strava(
            full_sync=args.full,
            since=args.since,
            progress=lambda fetched: advance(fetched, f"{fetched:,} activities"),
        )
    print(
        f"fetched {count(result.fetched, 'activity', 'activities')}: "
        f"{count(result.inserted, 'new run')}, {result.skipped_existing} already stored, "
        f"{count(result.rides_inserted, 'new ride')} ({result.rides_skipped_existing} already "
        f"stored), {count(result.skipped_other_activities, 'other activity', 'other activities')} "
        "skipped"
    )
    if result.shoes_created:
        print(f"new shoes: {', '.join(result.shoes_created)}")
    for change in result.shoes_changed:
        print(f"shoe {change}")
    for error in result.errors[:MAX_ERRORS_SHOWN]:
        print(f"  activity {error.activity_id}: {error.message}")
    if result.last_synced_at is not None:
        print(f"synced up to {result.last_synced_at.isoformat()}")
    if result.rate_limited:
        _stopped_by_rate_limit("Strava", result.retry_after)
    return 0


def _add_hevy(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "hevy",
        help="bring lifts up to date with Hevy",
        description=(
            "Read the workouts changed or deleted in Hevy since the last sync (the first "
            "sync lists every workout): new workouts become lifts, changed ones new "
            "versions, deleted ones deletion versions. A lift you changed here is never "
            "overwritten by Hevy. Needs HEVY_API_KEY, the API key of a Hevy Pro account "
            "(https://hevy.com/settings?developer). If Hevy's rate limit stops the sync, "
            "what was fetched is kept: run it again later."
        ),
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="list every workout again instead of only the changes since the last sync",
    )
    parser.set_defaults(handler=_hevy)


def _hevy(args: argparse.Namespace) -> int:
    prepare_database()
    with progress("Fetching from Hevy", total=None) as advance:
        result = sync_hevy(
            full_sync=args.full,
            progress=lambda fetched: advance(fetched, f"{fetched:,} workouts"),
        )
    print(
        f"fetched {count(result.fetched, 'workout or deletion', 'workouts and deletions')}: "
        f"{count(result.inserted, 'new lift')}, "
        f"{result.updated} updated, {result.deleted} deleted, "
        f"{result.skipped_existing} left as they are"
    )
    for lift_id in result.kept_edited[:MAX_ERRORS_SHOWN]:
        print(f"  {lift_id}: changed here, so Hevy's change was not applied")
    for error in result.errors[:MAX_ERRORS_SHOWN]:
        print(f"  workout {error.workout_id}: {error.message}")
    if result.last_synced_at is not None:
        print(f"synced up to {result.last_synced_at.isoformat()}")
    if result.rate_limited:
        _stopped_by_rate_limit("Hevy", result.retry_after)
    return 0


def _stopped_by_rate_limit(provider: str, retry_after: datetime | None) -> None:
    when = f"after {retry_after.isoformat()}" if retry_after else "in a few minutes"
    print(
        f"stopped early by {provider}'s rate limit; what was fetched is stored. "
        f"Run it again {when}."
    )


def _add_calendar(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "calendar",
        help="write runs to Google Calendar",
        description=(
            "Bring Google Calendar up to date: create the event of every run that has none, "
            "update the events of runs edited since, and remove the events of deleted runs. "
            "A run that fails is listed and retried by the next sync; if any failed the "
            "exit status is 1. If Google's rate limit stops the sync, what was done is "
            "kept: run it again later. An answer refusing the account or the calendar as a "
            "whole stops the sync at once and leaves the runs as they were. Needs a "
            "connection: `fitness connect google`, or GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET "
            "and GOOGLE_REFRESH_TOKEN; GOOGLE_CALENDAR_ID chooses the calendar (default: "
            "primary)."
        ),
    )
    parser.set_defaults(handler=_calendar)


def _calendar(args: argparse.Namespace) -> int:
    prepare_database()
    with progress("Syncing to Google Calendar", total=None) as advance:
        result = sync_all(progress=lambda done, total: advance(done, f"{done:,}/{total:,} runs"))
    print(
        f"calendar: {count(result.created, 'event')} created, {result.updated} updated, "
        f"{result.deleted} removed, {result.unchanged} already current"
    )
    if result.failed:
        print(f"{count(result.failed, 'run')} failed (the next sync retries them):")
        for error in result.errors[:MAX_ERRORS_SHOWN]:
            print(f"  run {error.run_id}: {error.message}")
        if result.failed > MAX_ERRORS_SHOWN:
            print(f"  ... and {result.failed - MAX_ERRORS_SHOWN} more")
    if result.rate_limited:
        when = f"after {result.retry_after.isoformat()}" if result.retry_after else "later"
        print(
            f"stopped early by Google's rate limit with {count(result.skipped, 'run')} to go; "
            f"run it again {when}."
        )
    return 1 if result.failed else 0


SYNC_COMMANDS: list[AddCommand] = [
    _add_strava,
    _add_hevy,
    _add_calendar,
]
