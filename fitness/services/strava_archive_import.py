"""Import Strava's bulk export: the runs of its `activities.csv`, their shoes, and what their
activity files add (heart rate, treadmill), in one transaction.

The archive is read member by member (never extracted, never held in memory): the CSV row by
row, each run's activity file when the CSV leaves something to learn from it. Runs get
`strava_<activity id>`, the id the API sync gives them, so the archive and the API converge
on one row whichever comes first, and a run already stored (edited or not) is left as it is.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Final, Literal

from psycopg import Connection

from fitness.db.connection import retry_on_disconnect
from fitness.db.runs import IMPORT_BATCH_SIZE
from fitness.db.shoes import create_missing_shoes, get_existing_shoes_by_names
from fitness.errors import InvalidImport
from fitness.ids import shoe_name_key
from fitness.importers._csv import RowError, RowWarning, SkippedActivity
from fitness.importers.activity_files import (
    ActivityFileError,
    FileActivity,
    read_activity_file,
)
from fitness.importers.strava_archive import (
    METRES_PER_MILE,
    ArchiveActivity,
    ArchiveRide,
    ArchiveShoe,
    Layout,
    StravaActivities,
    read_shoes_csv,
)
from fitness.models import Run
from fitness.ride_models import Ride
from fitness.rules import (
    MAX_HEART_RATE,
    MAX_RIDE_KILOJOULES,
    MAX_RIDE_POWER_WATTS,
    MIN_HEART_RATE,
)
from fitness.services._archives import Archive, CountingReader, ZipArchive, is_zip, open_archive
from fitness.services._batched_import import BatchedImport, batched_import

logger = logging.getLogger(__name__)

ACTIVITIES_CSV: Final = "activities.csv"
SHOES_CSV: Final = "shoes.csv"
PROGRESS_EVERY_ROWS: Final = 100
# Rows a 2019 export (distances in the account's unit only) is read ahead to find that unit
# from the activity files.
UNIT_PROBE_FILES: Final = 20

ArchiveProgress = Callable[[int, int, int], None]
"""`progress(rows_read, csv_bytes_read, csv_bytes_total)`."""


@dataclass(frozen=True, slots=True)
class RepeatedActivity:
    """A row whose activity an earlier row of the file already had (the earlier is kept)."""

    line: int
    run_id: str
    kept_line: int


@dataclass(frozen=True, slots=True)
class StravaArchiveImportResult:
    """What a Strava archive import did (or, with `dry_run`, would do).

    Every row of `activities.csv` is accounted for: unless `aborted`, `inserted +
    skipped_existing + repeated_in_file + skipped_other_activities + error_count == rows`.
    `other_activity_types` counts the other activities by their type as the file names it
    (so a run type this version does not know shows up there). `shoes_created` names new
    shoes, from `shoes.csv` and the runs' gear; `warnings` rows imported without what their
    activity file would have added (a file missing from the archive or unreadable);
    `files_read` how many activity files were opened. `layout` is the generation of
    `activities.csv` (2018, 2019 or 2020) and `distance_unit` the unit its distances were
    read in (`m` whenever it has them in metres). `aborted` means strict mode found bad
    rows, so nothing was written.
    """

    inserted: int
    skipped_existing: int
    skipped_other_activities: int
    shoes_created: tuple[str, ...]
    errors: tuple[RowError, ...]
    error_count: int
    rows: int
    repeated_in_file: int = 0
    repeats: tuple[RepeatedActivity, ...] = ()
    warnings: tuple[RowWarning, ...] = ()
    other_activity_types: dict[str, int] = field(default_factory=dict)
    files_read: int = 0
    layout: Layout | None = None
    distance_unit: Literal["m", "km", "mi"] | None = None
    dry_run: bool = False
    aborted: bool = False
    rides_inserted: int = 0
    rides_skipped_existing: int = 0


def import_strava_archive(
    path: str | Path,
    *,
    dry_run: bool = False,
    strict: bool = False,
    progress: ArchiveProgress | None = None,
    batch_size: int = IMPORT_BATCH_SIZE,
) -> StravaArchiveImportResult:
    """Import the Strava export at `path`: the `export_*.zip`, its unpacked folder, or an
    `activities.csv` alone.

    Runs (Run, Trail Run, Virtual Run, in the account's language) become runs; other
    activities are counted by type and skipped. A run's activity file is read when the CSV
    lacks its heart rate or does not say whether it was run indoors (a FIT treadmill run
    becomes a `Treadmill Run`). Shoes: every shoe of `shoes.csv` (retired ones too) and
    every run's gear become shoes, found by name among the existing ones first, so a shoe
    the Strava sync made is reused (see `_ShoeMatcher`). All in one transaction; `dry_run`
    writes nothing; `strict` writes nothing if a row is bad.

    Raises `InvalidImport` when the archive is unusable: not a zip or folder, no
    `activities.csv`, a CSV that is not Strava's or not UTF-8.
    """
    location = Path(path)
    if location.is_file():
        with location.open("rb") as source:
            return import_strava_archive_stream(
                source, dry_run=dry_run, strict=strict, progress=progress, batch_size=batch_size
            )
    with _closing(open_archive(location)) as archive:
        return _import(archive, dry_run, strict, progress, batch_size)


def import_strava_archive_stream(
    source: BinaryIO,
    *,
    dry_run: bool = False,
    strict: bool = False,
    progress: ArchiveProgress | None = None,
    batch_size: int = IMPORT_BATCH_SIZE,
) -> StravaArchiveImportResult:
    """`import_strava_archive` on a seekable binary stream: a zip, or an `activities.csv`."""
    if is_zip(source):
        with _closing(ZipArchive(source)) as archive:
            return _import(archive, dry_run, strict, progress, batch_size)
    with _closing(_SingleFile(source)) as archive:
        return _import(archive, dry_run, strict, progress, batch_size)


# Retried here, where the whole import is one transaction and every member of the archive
# is opened afresh: a lost connection before the commit reads the archive again.
@retry_on_disconnect
def _import(
    archive: Archive,
    dry_run: bool,
    strict: bool,
    progress: ArchiveProgress | None,
    batch_size: int,
) -> StravaArchiveImportResult:
    root = _export_root(archive)
    reader = _ArchiveReader(archive, root)
    unit = reader.account_unit()
    shoes = reader.shoes()
    with (
        reader.activities_csv() as (text, counter, total),
        batched_import(
            changed_by="strava archive import",
            dry_run=dry_run,
            strict=strict,
            batch_size=batch_size,
        ) as tally,
    ):
        matcher = _ShoeMatcher(tally.conn, shoes)
        tally.add_shoes_created(matcher.created)
        activities = StravaActivities(text, distance_unit=unit)
        for row in activities:
            if isinstance(row, RowError):
                tally.add_error(row)
            elif isinstance(row, SkippedActivity):
                tally.add_other_activity(row.activity_type)
            elif isinstance(row, ArchiveRide):
                _add_ride(tally, reader, row)
            else:
                _add_activity(tally, reader, matcher, row)
            if progress is not None and tally.records % PROGRESS_EVERY_ROWS == 0:
                progress(tally.records, counter.bytes_read, total)
    if progress is not None:
        progress(tally.records, total, total)
    layout = activities.layout
    result = _result(tally, reader.files_read, layout, unit, dry_run)
    logger.info(
        "Strava archive import%s: %s runs inserted, %s already stored, %s other activities, "
        "%s bad rows",
        " (dry run, nothing written)" if dry_run or result.aborted else "",
        result.inserted,
        result.skipped_existing,
        result.skipped_other_activities,
        result.error_count,
    )
    return result


def _add_activity(
    tally: BatchedImport,  # type: ignore[type-arg]
    reader: _ArchiveReader,
    matcher: _ShoeMatcher,
    activity: ArchiveActivity,
) -> None:
    run = activity.run
    warning: RowWarning | None = None
    wants_file = activity.is_run is None or not activity.type_known or run.avg_heart_rate is None
    if activity.activity_file and wants_file:
        found = reader.activity_file(activity.activity_file)
        if isinstance(found, FileActivity):
            if activity.is_run is None and found.is_ride:
                # A type in a language without a word list: the file says it was a ride.
                tally.add_ride(activity.line, _ride_of(activity, found), activity.gear)
                return
            if activity.is_run is None and not found.is_run:
                tally.add_other_activity(activity.activity_type)
                return
            run = _with_file(run, activity, found)
        else:
            if activity.is_run is None:
                tally.add_other_activity(activity.activity_type)
                return
            warning = RowWarning(
                activity.line,
                f"{activity.activity_file} {found}; the run is imported from activities.csv alone",
            )
    elif activity.is_run is None:
        tally.add_other_activity(activity.activity_type)
        return
    if activity.gear:
        run = matcher.with_shoe(run, activity.gear)
    tally.add_run(activity.line, run, warning)


def _add_ride(
    tally: BatchedImport,  # type: ignore[type-arg]
    reader: _ArchiveReader,
    row: ArchiveRide,
) -> None:
    """A ride, with the power, work and indoor flag its activity file adds (when it has
    them), on the bike its gear cell names (created if new)."""
    ride = row.ride
    if row.activity_file:
        found = reader.activity_file(row.activity_file)
        if isinstance(found, FileActivity):
            ride = _ride_with_file(ride, found)
    tally.add_ride(row.line, ride, row.gear)


def _ride_with_file(ride: Ride, found: FileActivity) -> Ride:
    """The ride with what its file measured: indoor, power and work (the file's own, over
    the CSV's estimates), and the heart rate when the CSV had none."""
    changes: dict[str, object] = {"indoor": ride.indoor or found.is_indoor}
    if found.avg_power is not None and 0 <= found.avg_power <= MAX_RIDE_POWER_WATTS:
        changes["avg_power"] = round(found.avg_power, 1)
    if found.kilojoules is not None and 0 <= found.kilojoules <= MAX_RIDE_KILOJOULES:
        changes["kilojoules"] = round(found.kilojoules, 1)
    if ride.avg_heart_rate is None and found.avg_heart_rate is not None:
        rate = round(found.avg_heart_rate, 1)
        if MIN_HEART_RATE <= rate <= MAX_HEART_RATE:
            changes["avg_heart_rate"] = rate
    return replace(ride, **changes)  # type: ignore[arg-type]


def _ride_of(activity: ArchiveActivity, found: FileActivity) -> Ride:
    """A row read as a maybe-run that its file says is a ride, as that ride."""
    run = activity.run
    assert found.ride_type is not None
    ride = Ride(
        id=run.id,
        datetime_utc=run.datetime_utc,
        type=found.ride_type,
        distance=run.distance,
        duration=run.duration,
        source=run.source,
        avg_heart_rate=run.avg_heart_rate,
        avg_power=activity.avg_power,
        kilojoules=activity.kilojoules,
        name=run.name,
        notes=run.notes,
    )
    return _ride_with_file(ride, found)


def _with_file(run: Run, activity: ArchiveActivity, found: FileActivity) -> Run:
    """The row's run, with what its file adds: treadmill when the type did not say, and the
    heart rate when the CSV had none."""
    changes: dict[str, object] = {}
    if not activity.type_known and found.is_indoor:
        changes["type"] = "Treadmill Run"
    if activity.run.avg_heart_rate is None and found.avg_heart_rate is not None:
        rate = round(found.avg_heart_rate, 1)
        if MIN_HEART_RATE <= rate <= MAX_HEART_RATE:
            changes["avg_heart_rate"] = rate
    return replace(run, **changes) if changes else run  # type: ignore[arg-type]


class _ArchiveReader:
    """The members of one export, found under its root folder."""

    def __init__(self, archive: Archive, root: str) -> None:
        self._archive = archive
        self._root = root
        self.files_read = 0

    @contextmanager
    def activities_csv(self) -> Iterator[tuple[io.TextIOWrapper, CountingReader, int]]:
        name = self._root + ACTIVITIES_CSV
        total = self._archive.size(name)
        with self._archive.open(name) as member:
            counter = CountingReader(member)
            text = io.TextIOWrapper(io.BufferedReader(counter), encoding="utf-8-sig", newline="")
            try:
                yield text, counter, total
            finally:
                text.detach()

    def shoes(self) -> list[ArchiveShoe]:
        name = self._root + SHOES_CSV
        if name not in self._archive.names():
            return []
        with self._archive.open(name) as member:
            text = io.TextIOWrapper(member, encoding="utf-8-sig", errors="replace", newline="")
            try:
                return read_shoes_csv(text)
            finally:
                text.detach()

    def activity_file(self, file_name: str) -> FileActivity | str:
        """The file's (first running, else first) activity, or why it cannot be read."""
        name = self._root + file_name.strip().lstrip("/")
        try:
            with self._archive.open(name) as member:
                self.files_read += 1
                activities = read_activity_file(member)
        except KeyError:
            return "is not in the archive"
        except ActivityFileError as error:
            return str(error)
        except OSError as error:
            return f"cannot be read ({error})"
        return next((found for found in activities if found.is_run), activities[0])

    def account_unit(self) -> Literal["km", "mi"] | None:
        """The account's unit, for a 2019 export whose distances have no column in metres:
        found by comparing the CSV's distance of a run with its activity file's."""
        with self.activities_csv() as (text, _, _):
            activities = StravaActivities(text, distance_unit="km")
            probed = 0
            for row in activities:
                if activities.layout != "2019" or probed >= UNIT_PROBE_FILES:
                    return None
                if not isinstance(row, ArchiveActivity) or not row.activity_file:
                    continue
                if row.run.distance <= 0:
                    continue
                probed += 1
                found = self.activity_file(row.activity_file)
                if isinstance(found, FileActivity) and found.distance_metres:
                    as_km = float(row.run.distance) * float(METRES_PER_MILE)
                    ratio = found.distance_metres / as_km
                    # Miles read as kilometres are 1.609 times short of the file's distance.
                    return "mi" if abs(ratio - 1.609344) < abs(ratio - 1) else "km"
        return None


class _ShoeMatcher:
    """The shoes of one import, matched by name: the archive has no gear ids.

    A name matches the existing shoe with the same name key (`fitness.ids.shoe_name_key`:
    case, spacing and punctuation aside), whoever made it; the Strava sync names a shoe by
    its nickname, else brand and model, and that form is tried first, then `<brand>
    <model> <nickname>`, `<brand> <model>` and the nickname alone, which are the forms an
    activity's gear cell takes. A shoe found nowhere is created under the sync's form of
    its name, so a later sync adopts it (a new gear id takes the shoe with its name) rather
    than making a second one.
    """

    def __init__(self, conn: Connection, shoes: list[ArchiveShoe]) -> None:
        self._conn = conn
        self._ids: dict[str, str] = {}
        self.created: list[str] = []
        if not shoes:
            return
        candidates = {name for shoe in shoes for name in shoe.names}
        existing = get_existing_shoes_by_names(candidates, conn=conn)
        missing: dict[str, ArchiveShoe] = {}
        for shoe in shoes:
            found = next((existing[name] for name in shoe.names if name in existing), None)
            if found is None:
                missing.setdefault(shoe.name, shoe)
            else:
                self._remember(shoe, found)
        if missing:
            ids, self.created = create_missing_shoes(list(missing), conn=conn)
            for name, shoe in missing.items():
                self._remember(shoe, ids[name])

    def with_shoe(self, run: Run, gear: str) -> Run:
        """`run` in the shoe `gear` names (created with the run if no shoe has the name)."""
        shoe_id = self._ids.get(shoe_name_key(gear))
        if shoe_id is not None:
            return replace(run, shoe_id=shoe_id)
        return replace(run, shoe_name=ArchiveShoe(gear, "", "").name)

    def _remember(self, shoe: ArchiveShoe, shoe_id: str) -> None:
        for name in shoe.names:
            self._ids.setdefault(shoe_name_key(name), shoe_id)


class _SingleFile:
    """An `activities.csv` on its own, as an archive of one member."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source

    def names(self) -> list[str]:
        return [ACTIVITIES_CSV]

    def open(self, name: str) -> BinaryIO:
        if name != ACTIVITIES_CSV:
            raise KeyError(name)
        self._source.seek(0)
        return _Unclosed(self._source)  # type: ignore[return-value]

    def size(self, name: str) -> int:
        self._source.seek(0, io.SEEK_END)
        size = self._source.tell()
        self._source.seek(0)
        return size

    def close(self) -> None:
        return None


class _Unclosed(io.BufferedReader):
    """A stream whose owner closes it: closing this wrapper leaves it open."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__(CountingReader(source))

    def close(self) -> None:
        self.detach()


def _export_root(archive: Archive) -> str:
    """The folder of the archive holding `activities.csv` (`""` at the top, or
    `export_123/` when the export was zipped inside a folder)."""
    candidates = [name for name in archive.names() if name.rsplit("/", 1)[-1] == ACTIVITIES_CSV]
    if not candidates:
        raise InvalidImport(
            "the archive has no activities.csv: is it Strava's export (export_<number>.zip)?"
        )
    best = min(candidates, key=lambda name: name.count("/"))
    return best[: -len(ACTIVITIES_CSV)]


@contextmanager
def _closing(archive: Archive) -> Iterator[Archive]:
    try:
        yield archive
    finally:
        archive.close()


def _result(
    tally: BatchedImport,  # type: ignore[type-arg]
    files_read: int,
    layout: Layout | None,
    unit: Literal["km", "mi"] | None,
    dry_run: bool,
) -> StravaArchiveImportResult:
    aborted = tally.aborted
    return StravaArchiveImportResult(
        inserted=0 if aborted else tally.inserted,
        skipped_existing=0 if aborted else tally.skipped_existing,
        skipped_other_activities=tally.skipped_other_activities,
        shoes_created=tally.sorted_shoes_created(),
        errors=tuple(tally.errors),
        error_count=tally.error_count,
        rows=tally.records,
        repeated_in_file=tally.repeated,
        repeats=tuple(RepeatedActivity(*repeat) for repeat in tally.repeats),
        warnings=() if aborted else tuple(tally.warnings),
        other_activity_types=dict(tally.other_activity_types.most_common()),
        files_read=files_read,
        layout=layout,
        distance_unit=unit if layout == "2019" else ("m" if layout else None),
        dry_run=dry_run,
        aborted=aborted,
        rides_inserted=0 if aborted else tally.rides_inserted,
        rides_skipped_existing=0 if aborted else tally.rides_skipped_existing,
    )
