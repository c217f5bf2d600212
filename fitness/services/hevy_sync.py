"""Sync lifts from Hevy: new workouts become lifts, changed ones new versions, deleted ones
`deletion` versions, through Hevy's workout events feed since the last sync.

The lifts, the exercise templates they need and the `sync_metadata` marker (provider
`hevy`) are written in one transaction. The marker is Hevy's own time of the newest change
fetched (a workout's `updated_at`, a deletion's `deleted_at`), never this machine's clock,
and it only moves when every page was fetched: a sync cut short stores what it fetched and
the next one asks for the same window again (applying a change twice changes nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

from fitness.config import get_settings
from fitness.db.api_keys import get_api_key, save_api_key
from fitness.db.connection import retry_on_disconnect, transaction
from fitness.db.exercise_templates import get_exercise_templates, save_exercise_templates
from fitness.db.lifts import import_lifts
from fitness.db.lifts_history import apply_source_changes
from fitness.db.sync_metadata import get_last_synced_at, set_last_synced_at
from fitness.errors import IntegrationError, IntegrationRefused
from fitness.importers.hevy import (
    lift_from_workout,
    lift_id,
    parse_moment,
    template_from_json,
    workout_updated_at,
)
from fitness.integrations.hevy import PROVIDER, HevyClient, HevyRateLimited, Workout
from fitness.lift_models import ExerciseTemplate, Lift
from fitness.rules import Timestamp

logger = logging.getLogger(__name__)

# Who the versions a sync writes are recorded as made by: a lift whose current version
# this wrote may be changed by the next sync; one anybody else changed is left alone.
CHANGED_BY: Final = "hevy sync"
CHANGE_REASON: Final = "changed in Hevy"

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class WorkoutError:
    """A workout Hevy sent that cannot be stored (no start time, a set beyond the rules)."""

    workout_id: str
    message: str


@dataclass(frozen=True, slots=True)
class HevySyncResult:
    """What a sync did.

    `fetched`: workouts and deletions received; `inserted`: new lifts; `updated`: lifts
    given a new version because the workout changed in Hevy; `deleted`: lifts given a
    `deletion` version because the workout was deleted in Hevy; `skipped_existing`: known
    lifts left as they are, either unchanged or because they were changed here (those are
    also listed in `kept_edited`: Hevy's change was not applied, the user's edit stands).
    `last_synced_at`: the marker after the sync. `rate_limited`: Hevy's rate limit stopped
    the sync early (what was fetched is stored, the marker stays): sync again after
    `retry_after` (None when Hevy did not say).
    """

    fetched: int
    inserted: int
    updated: int
    deleted: int
    skipped_existing: int
    kept_edited: list[str] = field(default_factory=list)
    errors: list[WorkoutError] = field(default_factory=list)
    last_synced_at: Timestamp | None = None
    rate_limited: bool = False
    retry_after: Timestamp | None = None


def sync_hevy(
    full_sync: bool = False,
    progress: Progress | None = None,
    *,
    client: HevyClient | None = None,
) -> HevySyncResult:
    """Bring the lifts up to date with the Hevy account of HEVY_API_KEY.

    The key is HEVY_API_KEY, kept encrypted (`api_keys`) once Hevy accepted it, so later
    syncs need it no more; a new HEVY_API_KEY replaces the stored one. The first sync, and
    any with `full_sync=True`, lists every workout (GET /v1/workouts); a full sync also
    reads the deletions since the last sync. Otherwise only the events since the last
    sync's marker are read (GET /v1/workouts/events): each `updated` workout is inserted or
    becomes an `edit` version, each `deleted` one a `deletion` version (never a hard
    delete). A lift the user changed here (edited or deleted: it no longer holds what Hevy
    last sent) is never changed by Hevy: it is counted in `skipped_existing` and listed in
    `kept_edited` (see `apply_source_changes`). Exercise templates are fetched only when a
    workout names one not yet cached. `progress(fetched)` is called after each page.

    Errors: `IntegrationNotConfigured` without HEVY_API_KEY; `CredentialsRejected` (bad
    key), `IntegrationRefused` (no Hevy Pro) and `IntegrationError` (Hevy down after
    retries, an unreadable answer), raised after storing what was fetched before them, with
    the marker left where it was. Hevy's rate limit is no error, as for Strava and Google:
    the result says `rate_limited` and `retry_after`, after storing the same way.
    """
    previous = get_last_synced_at(PROVIDER)
    configured, stored = get_settings().hevy_api_key, get_api_key(PROVIDER)
    fetched = _Fetched()
    failure: IntegrationError | None = None
    templates = get_exercise_templates()
    new_templates: list[ExerciseTemplate] = []
    owned = nullcontext(client) if client is not None else HevyClient(api_key=configured or stored)
    with owned as hevy:
        try:
            if full_sync or previous is None:
                for page in hevy.workout_pages():
                    fetched.add_workouts(page)
                    _report(progress, fetched)
            if previous is not None:
                for events in hevy.event_pages(since=previous):
                    fetched.add_events(events, deletions_only=full_sync)
                    _report(progress, fetched)
            if fetched.template_ids() - templates.keys():
                for page in hevy.template_pages():
                    new_templates += [template_from_json(t) for t in page if t.get("id")]
        except IntegrationError as error:
            failure = error
    templates = {**templates, **{t.id: t for t in new_templates}}
    # A key Hevy answered is kept (encrypted) for the syncs that come without one.
    answered = failure is None or (
        fetched.count > 0 and not isinstance(failure, IntegrationRefused)
    )
    accepted = configured if answered and configured != stored else None
    result = _store(
        fetched, templates, new_templates, previous, complete=failure is None, api_key=accepted
    )
    logger.info(
        "Hevy sync: %s fetched, %s inserted, %s updated, %s deleted, %s known",
        result.fetched,
        result.inserted,
        result.updated,
        result.deleted,
        result.skipped_existing,
    )
    if isinstance(failure, HevyRateLimited):
        logger.info("Hevy sync stopped by the rate limit: %s", failure)
        return replace(result, rate_limited=True, retry_after=failure.retry_after)
    if failure is not None:
        logger.info("Hevy sync stopped after storing what %s items brought", result.fetched)
        raise failure
    return result


@dataclass
class _Fetched:
    """The workouts and deletions of one sync, the latest word on each workout kept."""

    count: int = 0
    workouts: dict[str, Workout] = field(default_factory=dict)
    deletions: set[str] = field(default_factory=set)
    changed_at: dict[str, datetime] = field(default_factory=dict)
    newest: datetime | None = None
    errors: list[WorkoutError] = field(default_factory=list)

    def add_workouts(self, workouts: list[Workout]) -> None:
        for workout in workouts:
            self.count += 1
            workout_id = workout.get("id")
            if not isinstance(workout_id, str) or not workout_id:
                self.errors.append(WorkoutError("?", "a workout without an id"))
                continue
            self._keep(workout_id, workout_updated_at(workout), workout)

    def add_events(self, events: list[dict[str, object]], *, deletions_only: bool) -> None:
        for event in events:
            kind = event.get("type")
            if kind == "updated" and isinstance(event.get("workout"), dict):
                if not deletions_only:
                    self.add_workouts([event["workout"]])  # type: ignore[list-item]
            elif kind == "deleted" and isinstance(event.get("id"), str):
                self.count += 1
                try:
                    at = parse_moment(event.get("deleted_at"), "deleted_at")
                except ValueError:
                    at = None
                self._keep(str(event["id"]), at, None)
            else:
                # Hevy may add kinds of events: an unknown one is reported, not guessed at.
                self.count += 1
                self.errors.append(WorkoutError("?", f"an event of unknown type {kind!r}"))

    def template_ids(self) -> set[str]:
        return {
            str(exercise.get("exercise_template_id"))
            for workout in self.workouts.values()
            for exercise in _exercises(workout)
            if exercise.get("exercise_template_id")
        }

    def _keep(self, workout_id: str, at: datetime | None, workout: Workout | None) -> None:
        # Events may come in any order: the latest word on a workout wins; without a time,
        # the one read last.
        known = self.changed_at.get(workout_id)
        if known is not None and at is not None and at < known:
            return
        if at is not None:
            self.changed_at[workout_id] = at
            if self.newest is None or at > self.newest:
                self.newest = at
        if workout is None:
            self.workouts.pop(workout_id, None)
            self.deletions.add(workout_id)
        else:
            self.deletions.discard(workout_id)
            self.workouts[workout_id] = workout


@retry_on_disconnect
def _store(
    fetched: _Fetched,
    templates: dict[str, ExerciseTemplate],
    new_templates: list[ExerciseTemplate],
    previous: datetime | None,
    *,
    complete: bool,
    api_key: str | None,
) -> HevySyncResult:
    errors = list(fetched.errors)
    lifts: list[Lift] = []
    for workout_id, workout in fetched.workouts.items():
        try:
            lifts.append(lift_from_workout(workout, templates))
        except ValueError as error:
            errors.append(WorkoutError(workout_id, f"workout {error}"))
    marker = previous
    if complete and fetched.newest is not None and (previous is None or fetched.newest > previous):
        marker = fetched.newest
    with transaction() as conn:
        if api_key is not None:
            save_api_key(PROVIDER, api_key, conn=conn)
        save_exercise_templates(new_templates, conn=conn)
        changes = apply_source_changes(
            lifts,
            [lift_id(workout_id) for workout_id in sorted(fetched.deletions)],
            changed_by=CHANGED_BY,
            change_reason=CHANGE_REASON,
            conn=conn,
        )
        inserted = import_lifts(lifts, changed_by=CHANGED_BY, conn=conn)
        if marker is not None and marker != previous:
            set_last_synced_at(PROVIDER, marker, conn=conn)
    return HevySyncResult(
        fetched=fetched.count,
        inserted=len(inserted),
        updated=len(changes.updated),
        deleted=len(changes.deleted),
        skipped_existing=changes.unchanged + len(changes.kept_edited),
        kept_edited=sorted(set(changes.kept_edited)),
        errors=errors,
        last_synced_at=marker,
    )


def _exercises(workout: Workout) -> list[dict[str, object]]:
    exercises = workout.get("exercises")
    if not isinstance(exercises, list):
        return []
    return [e for e in exercises if isinstance(e, dict)]


def _report(progress: Progress | None, fetched: _Fetched) -> None:
    if progress is not None:
        progress(fetched.count)
