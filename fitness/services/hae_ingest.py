"""Ingest a Health Auto Export push: its running workouts become runs and its cycling
workouts rides, in one transaction.

Idempotent: a workout already stored (the app pushes overlapping periods) is skipped, so
pushing the same payload twice adds nothing, and a run edited or deleted here is never
changed by a later push. A payload with any bad running workout writes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import IO, Final

from pydantic import with_config

from fitness.db.connection import retry_on_disconnect, transaction
from fitness.db.rides import import_rides
from fitness.db.runs import import_runs
from fitness.importers.hae import read_workouts
from fitness.models import SHAPE

logger = logging.getLogger(__name__)

CHANGED_BY: Final = "health auto export"


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class HAEIngestResult:
    """What a push did: `inserted + skipped_existing` running workouts, `rides_inserted +
    rides_skipped_existing` cycling workouts, `skipped_other` workouts of other kinds
    (walks, strength training)."""

    inserted: int
    """New runs stored."""
    skipped_existing: int
    """Running workouts already stored (edited or deleted ones included), or repeated in
    the push."""
    skipped_other: int
    """Workouts that are neither runs nor rides, counted and not stored."""
    rides_inserted: int = 0
    """New rides stored."""
    rides_skipped_existing: int = 0
    """Cycling workouts already stored, or repeated in the push."""


@retry_on_disconnect
def ingest_hae(body: IO[bytes]) -> HAEIngestResult:
    """Store the running workouts of the Health Auto Export payload `body` (bytes, read as a
    stream) as runs `hae_<workout UUID>`, and its cycling workouts as rides with the same
    ids, each with its `original` version.

    `MalformedPayload` (not JSON, no `data.workouts`) or `InvalidUpdate` (a running workout
    that makes no run, named by its place in the payload) before anything is written.

    >>> ingest_hae(open("tests/fixtures/hae/workouts-v2.json", "rb"))   # doctest: +SKIP
    HAEIngestResult(inserted=3, skipped_existing=0, skipped_other=2)
    """
    workouts = read_workouts(body)
    with transaction() as conn:
        stored = import_runs(workouts.runs, changed_by=CHANGED_BY, conn=conn)
        rides = import_rides(workouts.rides, changed_by=CHANGED_BY, conn=conn)
    result = HAEIngestResult(
        inserted=stored.inserted,
        skipped_existing=len(workouts.runs) - stored.inserted,
        skipped_other=workouts.others,
        rides_inserted=rides.inserted,
        rides_skipped_existing=len(workouts.rides) - rides.inserted,
    )
    logger.info(
        "Health Auto Export push: %s runs stored, %s already stored, %s rides stored, "
        "%s other workouts",
        result.inserted,
        result.skipped_existing,
        result.rides_inserted,
        result.skipped_other,
    )
    return result
