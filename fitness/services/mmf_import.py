"""Import a MapMyFitness CSV export: parse it row by row, insert new runs in batches.

The whole import is one transaction: it lands completely or not at all. `strict=True`
writes nothing if any row is bad; `dry_run=True` reports what would happen and writes nothing.
Every data row is accounted for: inserted, already stored, repeated in the file, another
activity, or an error.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from fitness.config import get_settings
from fitness.db.connection import retry_on_disconnect
from fitness.db.runs import IMPORT_BATCH_SIZE
from fitness.importers._csv import RowError, RowWarning, SkippedActivity
from fitness.importers.mmf import DistanceUnit, MMFExport, MMFRun, timezone_named
from fitness.services._batched_import import MAX_REPORTED_ERRORS, BatchedImport, batched_import

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_REPORTED_ERRORS",
    "MMFImportResult",
    "RepeatedWorkout",
    "import_mmf_csv",
    "import_mmf_file",
]

PROGRESS_EVERY_ROWS: Final = 1_000

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class RepeatedWorkout:
    """A row whose workout an earlier row of the same file already had.

    The earlier copy, on `kept_line`, is the one imported (or found already stored); this
    one is left out, even where its values differ.
    """

    line: int
    run_id: str
    kept_line: int


@dataclass(frozen=True, slots=True)
class MMFImportResult:
    """What an MMF import did (or, with `dry_run`, would do).

    `inserted` new runs; `skipped_existing` runs already stored (edited or deleted ones
    included); `repeated_in_file` rows repeating a workout an earlier row of the file has
    (`repeats` says which copy was kept); `skipped_other_activities` walks, rides and the
    like; `errors` the bad rows (the first `MAX_REPORTED_ERRORS` of `error_count`). Unless
    `aborted`, `inserted + skipped_existing + repeated_in_file + skipped_other_activities +
    error_count == rows`. `shoes_created` names new shoes; `warnings` rows imported without
    something they had (a `Shoes:` line that names no usable shoe); `distance_unit` is the
    unit of the file's distance column (`mi` or `km`; None if it had no header). `aborted`
    means strict mode found bad rows, so nothing was written.
    """

    inserted: int
    skipped_existing: int
    skipped_other_activities: int
    shoes_created: tuple[str, ...]
    errors: tuple[RowError, ...]
    error_count: int
    rows: int
    dry_run: bool = False
    aborted: bool = False
    repeated_in_file: int = 0
    repeats: tuple[RepeatedWorkout, ...] = ()
    warnings: tuple[RowWarning, ...] = ()
    distance_unit: DistanceUnit | None = None


def import_mmf_file(
    path: str | Path,
    *,
    timezone: str | None = None,
    dry_run: bool = False,
    strict: bool = False,
    progress: Progress | None = None,
) -> MMFImportResult:
    """`import_mmf_csv` on the file at `path`.

    >>> import_mmf_file("tests/fixtures/mmf_export_sample.csv").inserted   # doctest: +SKIP
    59
    """
    with open(path, "rb") as source:
        return import_mmf_csv(
            source, timezone=timezone, dry_run=dry_run, strict=strict, progress=progress
        )


@retry_on_disconnect
def import_mmf_csv(
    source: BinaryIO,
    *,
    timezone: str | None = None,
    dry_run: bool = False,
    strict: bool = False,
    progress: Progress | None = None,
    batch_size: int = IMPORT_BATCH_SIZE,
) -> MMFImportResult:
    """Import the runs of an MMF export read from the binary stream `source` (UTF-8 CSV).

    Runs are dated at local noon in `timezone` (an IANA name; default `MMF_TIMEZONE`).
    Rows are streamed and inserted `batch_size` at a time, all in one transaction; known
    run ids are skipped, so importing the same file again inserts nothing. A workout the
    file has twice is imported from its first row; later rows are counted as repeats. Bad
    rows are reported with their line numbers and do not stop the others, unless `strict`.
    `source` is read forwards only (a pipe will do) and left open. `progress(rows_read)` is
    called every thousand rows and at the end.

    Memory: one batch of runs, and the id and line of each workout read so far (to find
    repeats; about 120 bytes per row).

    Raises `InvalidImport` when the file as a whole is unusable: an unknown timezone, a
    missing required column, an empty file or text that is not UTF-8.
    """
    zone = timezone_named(timezone or get_settings().mmf_timezone)
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    export = MMFExport(text, zone)
    try:
        with batched_import(
            changed_by="mmf import", dry_run=dry_run, strict=strict, batch_size=batch_size
        ) as tally:
            for row in export:
                if isinstance(row, MMFRun):
                    warning = RowWarning(row.line, row.warning) if row.warning else None
                    tally.add_run(row.line, row.run, warning)
                elif isinstance(row, SkippedActivity):
                    tally.add_other_activity(row.activity_type)
                else:
                    tally.add_error(row)
                if progress is not None and tally.records % PROGRESS_EVERY_ROWS == 0:
                    progress(tally.records)
    finally:
        text.detach()
    if progress is not None:
        progress(tally.records)
    result = _result(tally, dry_run=dry_run, distance_unit=export.distance_unit)
    _log(result)
    return result


def _log(result: MMFImportResult) -> None:
    counts = (
        f"{result.skipped_existing} already stored, {result.repeated_in_file} repeated in "
        f"the file, {result.skipped_other_activities} other activities, "
        f"{result.error_count} bad rows"
    )
    if result.aborted:
        logger.info("MMF import aborted (strict, %s bad rows): nothing written", result.error_count)
    elif result.dry_run:
        logger.info(
            "MMF import dry run: would insert %s runs (%s); nothing written",
            result.inserted,
            counts,
        )
    else:
        logger.info("MMF import: %s runs inserted (%s)", result.inserted, counts)


def _result(
    tally: BatchedImport,
    dry_run: bool,
    distance_unit: DistanceUnit | None,  # type: ignore[type-arg]
) -> MMFImportResult:
    aborted = tally.aborted
    return MMFImportResult(
        inserted=0 if aborted else tally.inserted,
        skipped_existing=0 if aborted else tally.skipped_existing,
        skipped_other_activities=tally.skipped_other_activities,
        shoes_created=tally.sorted_shoes_created(),
        errors=tuple(tally.errors),
        error_count=tally.error_count,
        rows=tally.records,
        dry_run=dry_run,
        aborted=aborted,
        repeated_in_file=tally.repeated,
        repeats=tuple(RepeatedWorkout(*repeat) for repeat in tally.repeats),
        warnings=() if aborted else tuple(tally.warnings),
        distance_unit=distance_unit,
    )
