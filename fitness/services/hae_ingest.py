"""Ingest a Health Auto Export push: its running workouts become runs, in one transaction.

Idempotent: a workout already stored (the app pushes overlapping periods) is skipped, so
pushing the same payload twice adds nothing, and a run edited or deleted here is never
changed by a later push. A payload with any bad running workout writes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import IO, Final

from pydantic import with_config

from fitness.db.runs import import_runs
from fitness.importers.hae import read_workouts
from fitness.models import SHAPE

logger = logging.getLogger(__name__)

CHANGED_BY: Final = "health auto export"


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class HAEIngestResult:
    """What a push did: `inserted + skipped_existing` running workouts, `skipped_other`
    workouts of other kinds (walks, rides, strength training)."""

    inserted: int
    """New runs stored."""
    skipped_existing: int
    """Running workouts already stored (edited or deleted ones included), or repeated in
    the push."""
    skipped_other: int
    """Workouts that are not runs, counted and not stored."""


def ingest_hae(body: IO[bytes]) -> HAEIngestResult:
    """Store the running workouts of the Health Auto Export payload `body` (bytes, read as a
    stream) as runs `hae_<workout UUID>` with their `original` versions.

    `MalformedPayload` (not JSON, no `data.workouts`) or `InvalidUpdate` (a running workout
    that makes no run, named by its place in the payload) before anything is written.

    >>> ingest_hae(open("tests/fixtures/hae/workouts-v2.json", "rb"))   # doctest: +SKIP
    HAEIngestResult(inserted=3, skipped_existing=0, skipped_other=2)
    """
    workouts = read_workouts(body)
    stored = import_runs(workouts.runs, changed_by=CHANGED_BY)
    result = HAEIngestResult(
        inserted=stored.inserted,
        skipped_existing=len(workouts.runs) - stored.inserted,
        skipped_other=workouts.others,
    )
    logger.info(
        "Health Auto Export push: %s runs stored, %s already stored, %s other workouts",
        result.inserted,
        result.skipped_existing,
        result.skipped_other,
    )
    return result
