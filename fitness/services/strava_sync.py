"""Sync runs from Strava: fetch what is new since the last sync, store it, move the marker.

The runs and the `sync_metadata` marker are written in one transaction, and the marker
only moves as far as the activities actually fetched, so a sync cut short by a rate limit
or an outage loses nothing: the next one carries on where it stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from fitness.db.bikes import bikes_for_gear
from fitness.db.connection import retry_on_disconnect, transaction
from fitness.db.oauth_credentials import record_sync_outcome
from fitness.db.rides import import_rides
from fitness.db.runs import import_runs
from fitness.db.shoes import sync_gear_shoes
from fitness.db.sync_metadata import get_last_synced_at, set_last_synced_at
from fitness.errors import IntegrationError, InvalidUpdate
from fitness.importers.strava import (
    is_ride,
    is_run,
    provider_gear,
    ride_from_activity,
    run_from_activity,
    start_time,
)
from fitness.integrations.strava import Activity, StravaClient, StravaRateLimited
from fitness.models import ImportResult, ProviderGear, Run
from fitness.ride_models import Ride
from fitness.rules import Timestamp

logger = logging.getLogger(__name__)

PROVIDER: Final = "strava"
DEFAULT_OVERLAP: Final = timedelta(days=7)
# A full sync still passes `after`: Strava then lists activities oldest first, which is
# what lets a sync cut short keep a marker that nothing unfetched lies behind.
BEGINNING: Final = datetime(1970, 1, 1, tzinfo=UTC)

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ActivityError:
    """A run activity Strava sent that cannot be stored (e.g. it has no duration)."""

    activity_id: str
    message: str


@dataclass(frozen=True, slots=True)
class StravaSyncResult:
    """What a sync did. `rate_limited` means it stopped early; sync again after `retry_after`.

    `fetched` counts every activity received; `inserted` and `skipped_existing` are runs,
    `rides_inserted` and `rides_skipped_existing` rides, `skipped_other_activities` the
    rest (walks, swims...); `last_synced_at` is the marker after the sync (the newest start
    date fetched, never moved backwards); `shoes_changed` says which shoes a rename or a
    retirement of their Strava gear changed.
    """

    fetched: int
    inserted: int
    skipped_existing: int
    skipped_other_activities: int
    shoes_created: tuple[str, ...]
    rate_limited: bool
    retry_after: Timestamp | None
    last_synced_at: Timestamp | None
    errors: tuple[ActivityError, ...] = ()
    shoes_changed: tuple[str, ...] = ()
    rides_inserted: int = 0
    rides_skipped_existing: int = 0


def sync_strava(
    full_sync: bool = False,
    overlap: timedelta = DEFAULT_OVERLAP,
    progress: Progress | None = None,
    *,
    since: date | None = None,
    client: StravaClient | None = None,
) -> StravaSyncResult:
    """Fetch the athlete's activities from Strava and store the runs and rides among them
    (rides with their bikes, found by Strava gear id: fitness.db.bikes).

    Incremental by default: only activities starting after the last sync's marker minus
    `overlap` (late uploads carry older start dates); `full_sync=True` fetches everything;
    `since` fetches every activity started on or after that day (UTC), for runs uploaded
    later than the overlap. Known runs are skipped, so syncing twice changes nothing, and
    the marker never moves back. `progress(fetched)` is called after each page.

    A 429 stops the sync: what was fetched is stored and the result says `rate_limited`
    with `retry_after`. Any other `IntegrationError` (Strava down after retries, a revoked
    authorisation, a grant without activities, a deactivated app) is raised after storing
    what was fetched before it. `InvalidUpdate` for a `since` before 1970 or after today.
    The outcome is remembered for `fitness connections`.
    """
    # A day ahead of UTC is still today somewhere.
    latest = datetime.now(UTC).date() + timedelta(days=1)
    if since is not None and not BEGINNING.date() <= since <= latest:
        raise InvalidUpdate({"since": "must be a day from 1970-01-01 to today"})
    previous = get_last_synced_at(PROVIDER)
    if since is not None:
        after = datetime.combine(since, time.min, UTC) - timedelta(seconds=1)
    else:
        after = BEGINNING if full_sync or previous is None else previous - overlap
    fetched = _Fetched()
    rate_limited: StravaRateLimited | None = None
    failure: IntegrationError | None = None
    # A client passed in stays open (its owner closes it); one made here is closed here.
    owned = nullcontext(client) if client is not None else StravaClient()
    with owned as strava:
        try:
            for page in strava.activity_pages(after=after):
                for activity in page:
                    fetched.add(activity, strava)
                if progress is not None:
                    progress(fetched.count)
        except StravaRateLimited as error:
            rate_limited = error
        except IntegrationError as error:
            failure = error
    imported, rides, shoes_changed, marker = _store(fetched, previous)
    result = StravaSyncResult(
        fetched=fetched.count,
        inserted=imported.inserted,
        skipped_existing=imported.skipped_existing,
        skipped_other_activities=fetched.other_activities,
        shoes_created=imported.shoes_created,
        shoes_changed=shoes_changed,
        rate_limited=rate_limited is not None,
        retry_after=rate_limited.retry_after if rate_limited else None,
        last_synced_at=marker,
        errors=tuple(fetched.errors),
        rides_inserted=rides.inserted,
        rides_skipped_existing=rides.skipped_existing,
    )
    logger.info(
        "Strava sync: %s fetched, %s inserted, %s known%s",
        result.fetched,
        result.inserted,
        result.skipped_existing,
        f", stopped by the rate limit until {result.retry_after}" if rate_limited else "",
    )
    if failure is not None:
        # INFO: the error itself is what the caller reports, on one line.
        logger.info("Strava sync stopped after storing %s activities", fetched.count)
        record_sync_outcome(PROVIDER, "failed", str(failure))
        raise failure
    _remember(result, rate_limited)
    return result


@dataclass
class _Fetched:
    """The activities of one sync, turned into runs as they arrive, with their gear."""

    count: int = 0
    other_activities: int = 0
    runs: list[Run] = field(default_factory=list)
    rides: list[Ride] = field(default_factory=list)
    errors: list[ActivityError] = field(default_factory=list)
    newest: datetime | None = None
    gear: dict[str, ProviderGear] = field(default_factory=dict)
    gear_of_run: dict[str, str] = field(default_factory=dict)
    bikes: dict[str, ProviderGear] = field(default_factory=dict)
    bike_of_ride: dict[str, str] = field(default_factory=dict)

    def add(self, activity: Activity, strava: StravaClient) -> None:
        # Gear is looked up first: if that is rate-limited, this activity counts as not
        # fetched, and the marker stays behind it.
        gear = _gear(activity, strava) if is_run(activity) or is_ride(activity) else None
        self.count += 1
        try:
            if is_run(activity):
                run = run_from_activity(activity)
                self.runs.append(run)
                if gear is not None:
                    self.gear[gear.gear_id] = gear
                    self.gear_of_run[run.id] = gear.gear_id
            elif is_ride(activity):
                ride = ride_from_activity(activity)
                self.rides.append(ride)
                if gear is not None:
                    self.bikes[gear.gear_id] = gear
                    self.bike_of_ride[ride.id] = gear.gear_id
            else:
                self.other_activities += 1
            started = start_time(activity)
        except ValueError as error:
            self.errors.append(ActivityError(str(activity.get("id")), f"activity {error}"))
            return
        if self.newest is None or started > self.newest:
            self.newest = started


def _gear(activity: Activity, strava: StravaClient) -> ProviderGear | None:
    gear_id = activity.get("gear_id")
    if not isinstance(gear_id, str) or not gear_id:
        return None
    return provider_gear(gear_id, strava.get_gear(gear_id))


@retry_on_disconnect
def _store(
    fetched: _Fetched, previous: datetime | None
) -> tuple[ImportResult, ImportResult, tuple[str, ...], datetime | None]:
    nothing = ImportResult(inserted=0, skipped_existing=0)
    if fetched.newest is None and not fetched.runs and not fetched.rides:
        return nothing, nothing, (), previous
    marker = previous
    if fetched.newest is not None and (previous is None or fetched.newest > previous):
        marker = fetched.newest
    with transaction() as conn:
        # Shoes are found by gear id, so a gear renamed on Strava keeps its shoe.
        shoes = sync_gear_shoes(list(fetched.gear.values()), conn=conn)
        runs = [
            replace(run, shoe_id=shoes.shoe_ids.get(fetched.gear_of_run.get(run.id, "")))
            for run in fetched.runs
        ]
        imported = import_runs(runs, changed_by="strava sync", conn=conn)
        bikes = bikes_for_gear(list(fetched.bikes.values()), conn=conn)
        rides = [
            replace(ride, bike_id=bikes.get(fetched.bike_of_ride.get(ride.id, "")))
            for ride in fetched.rides
        ]
        stored_rides = import_rides(rides, changed_by="strava sync", conn=conn)
        if marker is not None and marker != previous:
            set_last_synced_at(PROVIDER, marker, conn=conn)
    created = tuple(sorted({*imported.shoes_created, *shoes.created}))
    return replace(imported, shoes_created=created), stored_rides, shoes.changes, marker


def _remember(result: StravaSyncResult, rate_limited: StravaRateLimited | None) -> None:
    problems = []
    if rate_limited is not None:
        problems.append(str(rate_limited))
    if result.errors:
        problems.append(f"{len(result.errors)} activity(ies) could not be stored")
    if problems:
        record_sync_outcome(PROVIDER, "partial", "; ".join(problems))
    else:
        record_sync_outcome(PROVIDER, "ok")
