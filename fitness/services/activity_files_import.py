"""Import activity files: FIT, GPX and TCX files, gzipped or not, alone, in folders or in zip
archives (a watch's export, another app's), all in one transaction.

Each file is read on its own (a zip member by member, never extracted whole); every activity
a file records is accounted for: inserted, already stored, repeated (another file of this
import had it: a FIT and the GPX made from it), another sport, or an error naming the file.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO, Final

from fitness.db.connection import retry_on_disconnect
from fitness.db.runs import IMPORT_BATCH_SIZE
from fitness.errors import InvalidImport
from fitness.importers.activity_files import (
    ActivityFileError,
    read_activity_file,
    ride_from_file_activity,
    run_from_file_activity,
)
from fitness.services._archives import Archive, FolderArchive, ZipArchive, is_zip
from fitness.services._batched_import import BatchedImport, batched_import

logger = logging.getLogger(__name__)

# The names an activity file has in a folder or an archive (other files there, a watch's
# settings or an app's photos, are counted and left alone).
ACTIVITY_FILE_SUFFIXES: Final = (".fit", ".gpx", ".tcx", ".fit.gz", ".gpx.gz", ".tcx.gz")
# Zips inside zips (Garmin's account export holds its FIT files so) are opened this deep.
MAX_ZIP_DEPTH: Final = 3

FilesProgress = Callable[[int, int], None]
"""`progress(files_read, files_found)`."""


@dataclass(frozen=True, slots=True)
class FileError:
    """A file that cannot be imported (or an activity in it that cannot be a run)."""

    file: str
    message: str


@dataclass(frozen=True, slots=True)
class RepeatedFile:
    """An activity another file of the same import already had (the earlier one is kept)."""

    file: str
    run_id: str
    kept_file: str


@dataclass(frozen=True, slots=True)
class ActivityFilesImportResult:
    """What an activity-file import did (or, with `dry_run`, would do).

    Every activity found is accounted for: unless `aborted`, `inserted + skipped_existing
    + rides_inserted + rides_skipped_existing + repeated_in_import + skipped_other_activities
    + error_count == activities` (a file
    that cannot be read counts as one activity, in error). `files` is how many activity
    files were read; `ignored_files` how many other files the folders and archives held.
    `other_activity_types` counts other activities by the sport their file names.
    `aborted` means strict mode found a bad file, so nothing was written.
    """

    inserted: int
    skipped_existing: int
    skipped_other_activities: int
    shoes_created: tuple[str, ...]
    errors: tuple[FileError, ...]
    error_count: int
    activities: int
    files: int
    ignored_files: int = 0
    repeated_in_import: int = 0
    repeats: tuple[RepeatedFile, ...] = ()
    other_activity_types: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    aborted: bool = False
    rides_inserted: int = 0
    rides_skipped_existing: int = 0


@dataclass(frozen=True, slots=True)
class Upload:
    """A file given as a stream (an upload): its name, and its content, seekable."""

    name: str
    stream: BinaryIO


@retry_on_disconnect
def import_activity_files(
    paths: Sequence[str | Path | Upload],
    *,
    dry_run: bool = False,
    strict: bool = False,
    progress: FilesProgress | None = None,
    batch_size: int = IMPORT_BATCH_SIZE,
) -> ActivityFilesImportResult:
    """Import the activity files at `paths`: files, folders (at any depth) or zip archives,
    or `Upload`s.

    A file named explicitly is read whatever its name (content tells FIT, GPX and TCX
    apart); in folders and archives, files named `*.fit`, `*.gpx`, `*.tcx` (and `.gz`) are
    read and zips opened, other files are counted in `ignored_files`. Runs get
    `file_<start in UTC>` (see fitness.importers.activity_files), so another export of an
    activity already stored is skipped; rides are imported likewise (with average power and
    kJ when the file has them). Other sports are counted. A file that cannot be
    read is an error naming it; the others are imported, unless `strict`. One transaction;
    `dry_run` writes nothing.

    Raises `InvalidImport` for a path that does not exist.
    """
    with ExitStack() as stack:
        walker = _Walker(stack)
        for path in paths:
            walker.add(path)
        total = len(walker.sources)
        with batched_import(
            changed_by="activity file import", dry_run=dry_run, strict=strict, batch_size=batch_size
        ) as tally:
            for done, (name, opener) in enumerate(walker.sources, start=1):
                _import_file(tally, name, opener)
                if progress is not None:
                    progress(done, total)
    result = _result(tally, total, walker.ignored, dry_run)
    logger.info(
        "Activity file import%s: %s files, %s runs inserted, %s already stored, %s rides "
        "inserted, %s repeated, %s other activities, %s errors",
        " (dry run, nothing written)" if dry_run or result.aborted else "",
        result.files,
        result.inserted,
        result.skipped_existing,
        result.rides_inserted,
        result.repeated_in_import,
        result.skipped_other_activities,
        result.error_count,
    )
    return result


def _import_file(
    tally: BatchedImport,  # type: ignore[type-arg]
    name: str,
    opener: Callable[[], IO[bytes]],
) -> None:
    try:
        with opener() as stream:
            activities = read_activity_file(stream)  # type: ignore[arg-type]
    except ActivityFileError as error:
        tally.add_error(FileError(name, str(error)))
        return
    except (OSError, KeyError) as error:
        tally.add_error(FileError(name, f"cannot be read ({error})"))
        return
    for activity in activities:
        try:
            if activity.is_run:
                tally.add_run(name, run_from_file_activity(activity))
            elif activity.is_ride:
                tally.add_ride(name, ride_from_file_activity(activity))
            else:
                tally.add_other_activity(activity.sport)
        except ValueError as error:
            tally.add_error(FileError(name, str(error)))


class _Walker:
    """The activity files found under the paths given: (name, opener) pairs."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self.sources: list[tuple[str, Callable[[], IO[bytes]]]] = []
        self.ignored = 0

    def add(self, path: str | Path | Upload) -> None:
        if isinstance(path, Upload):
            # From its start: a retry after a lost connection reads every upload again.
            path.stream.seek(0)
            if is_zip(path.stream):
                self._archive(ZipArchive(path.stream), f"{path.name}:", depth=1)
            else:
                stream = path.stream
                self.sources.append((path.name, lambda: _Borrowed(stream)))
            return
        location = Path(path)
        if location.is_dir():
            self._archive(FolderArchive(location), f"{location}/", depth=0)
        elif location.is_file():
            with location.open("rb") as probe:
                zipped = is_zip(probe)
            if zipped:
                self._archive(ZipArchive(location), f"{location}:", depth=1)
            else:
                self.sources.append((str(location), lambda: location.open("rb")))
        else:
            raise InvalidImport(f"{str(path)!r} is neither a file nor a folder")

    def _archive(self, archive: Archive, prefix: str, depth: int) -> None:
        self._stack.callback(archive.close)
        for member in archive.names():
            lower = member.casefold()
            if lower.endswith(ACTIVITY_FILE_SUFFIXES):
                self.sources.append((prefix + member, _member_opener(archive, member)))
            elif lower.endswith(".zip") and depth < MAX_ZIP_DEPTH:
                self._nested(archive, member, f"{prefix}{member}:", depth + 1)
            else:
                self.ignored += 1

    def _nested(self, archive: Archive, member: str, prefix: str, depth: int) -> None:
        # A zip is read from its end: a member is copied to a temporary file (on disk, one
        # at a time) rather than decompressed again for every seek.
        copy = self._stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
        try:
            with archive.open(member) as source:
                shutil.copyfileobj(source, copy)
            copy.seek(0)
            nested = ZipArchive(copy)
        except (OSError, InvalidImport, KeyError) as error:
            self.sources.append((prefix.rstrip(":"), _failing(f"cannot be read ({error})")))
            return
        self._archive(nested, prefix, depth)


def _member_opener(archive: Archive, member: str) -> Callable[[], IO[bytes]]:
    return lambda: archive.open(member)


def _failing(message: str) -> Callable[[], IO[bytes]]:
    def opener() -> IO[bytes]:
        raise ActivityFileError(message)

    return opener


class _Borrowed:
    """An upload's stream, rewound, left open when the `with` block that reads it ends."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def __enter__(self) -> BinaryIO:
        self._stream.seek(0)
        return self._stream

    def __exit__(self, *_: object) -> None:
        return None


def _result(
    tally: BatchedImport,  # type: ignore[type-arg]
    files: int,
    ignored: int,
    dry_run: bool,
) -> ActivityFilesImportResult:
    aborted = tally.aborted
    return ActivityFilesImportResult(
        inserted=0 if aborted else tally.inserted,
        skipped_existing=0 if aborted else tally.skipped_existing,
        skipped_other_activities=tally.skipped_other_activities,
        shoes_created=(),
        errors=tuple(tally.errors),
        error_count=tally.error_count,
        activities=tally.records,
        files=files,
        ignored_files=ignored,
        repeated_in_import=tally.repeated,
        repeats=tuple(RepeatedFile(*repeat) for repeat in tally.repeats),
        other_activity_types=dict(tally.other_activity_types.most_common()),
        dry_run=dry_run,
        aborted=aborted,
        rides_inserted=0 if aborted else tally.rides_inserted,
        rides_skipped_existing=0 if aborted else tally.rides_skipped_existing,
    )
