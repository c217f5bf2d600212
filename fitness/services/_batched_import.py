"""What every file import shares: one transaction, runs written in batches, every record
accounted for, strict mode and dry runs.

An import (MapMyFitness CSV, Strava archive, activity files) reads its source record by
record and hands each to a `BatchedImport`: a run, a ride, another activity, or an error.
Runs and rides are written `batch_size` at a time inside one transaction; a run (or ride)
whose id an earlier record of the same import had is counted as a repeat (the earlier one
is kept); strict mode writes nothing once a record is bad; a dry run rolls everything
back. So, unless strict mode aborted, inserted + already stored (runs and rides) +
repeated + other activities + errors = records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from typing import Final, Generic, TypeVar

from psycopg import Connection

from fitness.db.bikes import bikes_for_names
from fitness.db.connection import transaction
from fitness.db.rides import import_rides
from fitness.db.runs import IMPORT_BATCH_SIZE, import_runs
from fitness.models import Run
from fitness.ride_models import Ride

# Beyond this many, bad records (and repeats, and warnings) are counted but not listed: a
# file of garbage must not turn into a response of unbounded size.
MAX_REPORTED_ERRORS: Final = 1_000
# How many distinct other activity types a summary names (with their counts).
MAX_REPORTED_ACTIVITY_TYPES: Final = 50

Place = TypeVar("Place", int, str)
"""Where a record is: a line of a CSV file (the header is line 1), or a file's name."""
Error = TypeVar("Error")
Warning_ = TypeVar("Warning_")


@dataclass
class BatchedImport(Generic[Place, Error, Warning_]):
    """One import in progress: its tally, and the runs waiting to be written."""

    conn: Connection
    changed_by: str
    strict: bool
    batch_size: int = IMPORT_BATCH_SIZE
    records: int = 0
    inserted: int = 0
    skipped_existing: int = 0
    skipped_other_activities: int = 0
    other_activity_types: Counter[str] = field(default_factory=Counter)
    shoes_created: list[str] = field(default_factory=list)
    errors: list[Error] = field(default_factory=list)
    error_count: int = 0
    repeated: int = 0
    repeats: list[tuple[Place, str, Place]] = field(default_factory=list)
    warnings: list[Warning_] = field(default_factory=list)
    _first_place: dict[str, Place] = field(default_factory=dict)
    _batch: list[Run] = field(default_factory=list)
    rides_inserted: int = 0
    rides_skipped_existing: int = 0
    _rides: list[tuple[Ride, str | None]] = field(default_factory=list)

    @property
    def aborted(self) -> bool:
        """Strict mode has seen a bad record: nothing will be written."""
        return self.strict and self.error_count > 0

    def add_run(self, place: Place, run: Run, warning: Warning_ | None = None) -> None:
        """A record that is a run; a later record with the same run id is a repeat."""
        self.records += 1
        kept = self._first_place.setdefault(run.id, place)
        if kept != place:
            self.repeated += 1
            if len(self.repeats) < MAX_REPORTED_ERRORS:
                self.repeats.append((place, run.id, kept))
            return
        if warning is not None and len(self.warnings) < MAX_REPORTED_ERRORS:
            self.warnings.append(warning)
        if self.aborted:
            return
        self._batch.append(run)
        if len(self._batch) >= self.batch_size:
            self.flush()

    def add_ride(self, place: Place, ride: Ride, bike_name: str | None = None) -> None:
        """A record that is a ride, ridden on the bike named `bike_name` (created if new);
        a later record with the same ride id is a repeat."""
        self.records += 1
        kept = self._first_place.setdefault(f"ride {ride.id}", place)
        if kept != place:
            self.repeated += 1
            if len(self.repeats) < MAX_REPORTED_ERRORS:
                self.repeats.append((place, ride.id, kept))
            return
        if not self.aborted:
            self._rides.append((ride, bike_name))
            if len(self._rides) >= self.batch_size:
                self.flush()

    def add_other_activity(self, activity_type: str) -> None:
        """A record that is not a run (a walk, a ride...): counted, never an error."""
        self.records += 1
        self.skipped_other_activities += 1
        if (
            activity_type in self.other_activity_types
            or len(self.other_activity_types) < MAX_REPORTED_ACTIVITY_TYPES
        ):
            self.other_activity_types[activity_type] += 1

    def add_error(self, error: Error) -> None:
        """A record that cannot be imported."""
        self.records += 1
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)
        if self.strict:
            self._batch.clear()
            self._rides.clear()

    def add_shoes_created(self, names: list[str] | tuple[str, ...]) -> None:
        self.shoes_created.extend(names)

    def flush(self) -> None:
        """Write the runs waiting, unless strict mode has seen a bad record."""
        if self._batch and not self.aborted:
            imported = import_runs(self._batch, changed_by=self.changed_by, conn=self.conn)
            self.inserted += imported.inserted
            self.skipped_existing += imported.skipped_existing
            self.shoes_created.extend(imported.shoes_created)
        if self._rides and not self.aborted:
            bikes = bikes_for_names({name for _, name in self._rides if name}, conn=self.conn)
            rides = [
                replace(ride, bike_id=bikes.get(name)) if name else ride
                for ride, name in self._rides
            ]
            stored = import_rides(rides, changed_by=self.changed_by, conn=self.conn)
            self.rides_inserted += stored.inserted
            self.rides_skipped_existing += stored.skipped_existing
        self._batch = []
        self._rides = []

    def sorted_shoes_created(self) -> tuple[str, ...]:
        return () if self.aborted else tuple(sorted(set(self.shoes_created)))


@contextmanager
def batched_import(
    *,
    changed_by: str,
    dry_run: bool,
    strict: bool,
    batch_size: int = IMPORT_BATCH_SIZE,
) -> Iterator[BatchedImport]:  # type: ignore[type-arg]
    """A `BatchedImport` inside one transaction, committed at the end unless `dry_run` or
    strict mode saw a bad record (then rolled back: nothing is written).

    The caller adds every record, then leaves the block; an exception from inside rolls
    back and propagates.
    """
    with suppress(_RollBack), transaction() as conn:
        tally: BatchedImport = BatchedImport(  # type: ignore[type-arg]
            conn=conn, changed_by=changed_by, strict=strict, batch_size=batch_size
        )
        yield tally
        tally.flush()
        if dry_run or tally.aborted:
            raise _RollBack


class _RollBack(Exception):
    """Raised inside the import's transaction to end it without committing."""
