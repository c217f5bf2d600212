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
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final

from fitness.config import get_settings
from fitness.db.connection import retry_on_disconnect, transaction
from fitness.db.runs import IMPORT_BATCH_SIZE, import_runs
from fitness.importers.mmf import (
    DistanceUnit,
    MMFExport,
    MMFRun,
    RowError,
    RowWarning,
    SkippedActivity,
    timezone_named,
)
from fitness.models import ImportResult, Run

logger = logging.getLogger(__name__)

# Beyond this many, bad rows (and repeats, and warnings) are counted but not listed: a file
# of garbage must not turn into a response of unbounded size.
MAX_REPORTED_ERRORS: Final = 1_000
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
    tally = _Tally()
    try:
        with transaction() as conn:
            batch: list[Run] = []
            for row in export:
                tally.rows += 1
                if isinstance(row, MMFRun):
                    if tally.is_first_copy(row) and not (strict and tally.error_count):
                        batch.append(row.run)
                elif isinstance(row, SkippedActivity):
                    tally.skipped_other_activities += 1
                else:
                    tally.add_error(row)
                if len(batch) >= batch_size:
                    tally.add_imported(import_runs(batch, changed_by="mmf import", conn=conn))
                    batch = []
                if progress is not None and tally.rows % PROGRESS_EVERY_ROWS == 0:
                    progress(tally.rows)
            if batch and not (strict and tally.error_count):
                tally.add_imported(import_runs(batch, changed_by="mmf import", conn=conn))
            if dry_run or (strict and tally.error_count):
                raise _RollBack
    except _RollBack:
        pass
    finally:
        text.detach()
    if progress is not None:
        progress(tally.rows)
    result = tally.result(
        dry_run=dry_run,
        aborted=strict and tally.error_count > 0,
        distance_unit=export.distance_unit,
    )
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


class _RollBack(Exception):
    """Raised inside the import's transaction to end it without committing."""


@dataclass
class _Tally:
    rows: int = 0
    inserted: int = 0
    skipped_existing: int = 0
    skipped_other_activities: int = 0
    shoes_created: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    repeated_in_file: int = 0
    repeats: list[RepeatedWorkout] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)
    first_line: dict[str, int] = field(default_factory=dict)

    def is_first_copy(self, row: MMFRun) -> bool:
        """True for the first row with this workout; a later one is counted as a repeat."""
        kept = self.first_line.setdefault(row.run.id, row.line)
        if kept != row.line:
            self.repeated_in_file += 1
            if len(self.repeats) < MAX_REPORTED_ERRORS:
                self.repeats.append(RepeatedWorkout(row.line, row.run.id, kept))
            return False
        if row.warning is not None and len(self.warnings) < MAX_REPORTED_ERRORS:
            self.warnings.append(RowWarning(row.line, row.warning))
        return True

    def add_error(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    def add_imported(self, imported: ImportResult) -> None:
        self.inserted += imported.inserted
        self.skipped_existing += imported.skipped_existing
        self.shoes_created.extend(imported.shoes_created)

    def result(
        self, *, dry_run: bool, aborted: bool, distance_unit: DistanceUnit | None
    ) -> MMFImportResult:
        return MMFImportResult(
            inserted=0 if aborted else self.inserted,
            skipped_existing=0 if aborted else self.skipped_existing,
            skipped_other_activities=self.skipped_other_activities,
            shoes_created=() if aborted else tuple(sorted(self.shoes_created)),
            errors=tuple(self.errors),
            error_count=self.error_count,
            rows=self.rows,
            dry_run=dry_run,
            aborted=aborted,
            repeated_in_file=self.repeated_in_file,
            repeats=tuple(self.repeats),
            warnings=() if aborted else tuple(self.warnings),
            distance_unit=distance_unit,
        )
