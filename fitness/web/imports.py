"""The import page: upload a MapMyFitness CSV export, Strava's bulk export or activity
files, see the dry run's report, then import for real and watch its progress (the same
services as the API: fitness.services.mmf_import, strava_archive_import,
activity_files_import).

The uploaded files are kept on the server between the dry run and the import (so the person
does not choose them twice), in a temporary directory of this process, for
`UPLOAD_LIFETIME` and at most `MAX_PENDING_UPLOADS` at a time; the import runs in the
background, and its page refreshes itself (no script needed) until the report is there.
Both belong to the session that uploaded the files.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fitness.config import Settings
from fitness.errors import InvalidImport
from fitness.importers.mmf import timezone_named
from fitness.rules import field_problems
from fitness.services.activity_files_import import import_activity_files
from fitness.services.mmf_import import import_mmf_file
from fitness.services.strava_archive_import import import_strava_archive
from fitness.shapes import Form
from fitness.shapes.imports import ActivityFilesUpload, MmfUpload, StravaArchiveUpload
from fitness.web.forms import CSRF_FIELD, PageRefused, check_csrf, read_form
from fitness.web.rendering import render
from fitness.web.sessions import session_of

logger = logging.getLogger(__name__)

UPLOAD_LIFETIME_SECONDS: Final = 3600.0
MAX_PENDING_UPLOADS: Final = 5
MAX_JOBS_KEPT: Final = 20
REFRESH_SECONDS: Final = 1
_UNSAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ImportKind:
    """One kind of upload the page takes: its form, what it counts, and its import.

    `run(files, options, dry_run, progress)` imports the stored files; `progress(n)` is told
    how many of `counted` were read so far, and the answer has `inserted`, `error_count`.
    """

    slug: str
    form: type[Form]
    counted: str
    run: Callable[[Sequence[Path], dict[str, Any], bool, Callable[[int], None] | None], Any]


def _mmf(files: Sequence[Path], options: dict[str, Any], dry_run: bool, progress: Any) -> Any:
    return import_mmf_file(files[0], dry_run=dry_run, progress=progress, **options)


def _archive(files: Sequence[Path], options: dict[str, Any], dry_run: bool, progress: Any) -> Any:
    def rows_read(rows: int, _read: int, _total: int) -> None:
        progress(rows)

    return import_strava_archive(
        files[0], dry_run=dry_run, progress=rows_read if progress else None, **options
    )


def _files(files: Sequence[Path], options: dict[str, Any], dry_run: bool, progress: Any) -> Any:
    def files_read(done: int, _total: int) -> None:
        progress(done)

    return import_activity_files(
        files, dry_run=dry_run, progress=files_read if progress else None, **options
    )


KINDS: Final = {
    kind.slug: kind
    for kind in (
        ImportKind("mmf", MmfUpload, "rows", _mmf),
        ImportKind("strava-archive", StravaArchiveUpload, "rows", _archive),
        ImportKind("files", ActivityFilesUpload, "files", _files),
    )
}


@dataclass
class PendingUpload:
    """Files whose dry run was shown, waiting to be imported."""

    upload_id: str
    session_id: str
    kind: ImportKind
    directory: Path
    files: list[Path]
    filename: str
    options: dict[str, Any]
    expected: int
    created: float = field(default_factory=time.monotonic)

    @property
    def strict(self) -> bool:
        return bool(self.options.get("strict"))


@dataclass
class ImportJob:
    """An import running in the background: how far it has read, then its report or error."""

    job_id: str
    session_id: str
    filename: str
    counted: str
    expected: int
    read: int = 0
    result: Any = None
    error: str | None = None
    task: asyncio.Task[None] | None = None

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None


class Imports:
    """The pending uploads and import jobs of one app."""

    def __init__(self) -> None:
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        self.uploads: dict[str, PendingUpload] = {}
        self.jobs: dict[str, ImportJob] = {}

    def store(self, uploads: Sequence[UploadFile]) -> tuple[Path, list[Path]]:
        """Copy uploaded files to a directory of their own, under their own (safe) names:
        an activity file's extension tells its format when it is read again."""
        if self._directory is None:
            self._directory = tempfile.TemporaryDirectory(prefix="fitness-uploads-")
        directory = Path(self._directory.name) / secrets.token_urlsafe(16)
        directory.mkdir()
        paths = []
        for number, upload in enumerate(uploads, start=1):
            name = _UNSAFE_NAME.sub("_", upload.filename or "")[-100:].lstrip(".") or "upload"
            path = directory / f"{number:04d}-{name}"
            upload.file.seek(0)
            with open(path, "wb") as target:
                shutil.copyfileobj(upload.file, target)
            paths.append(path)
        return directory, paths

    def keep(self, pending: PendingUpload) -> PendingUpload:
        """Remember a checked upload until it is imported (or expires)."""
        self._expire()
        self.uploads[pending.upload_id] = pending
        while len(self.uploads) > MAX_PENDING_UPLOADS:
            self._forget(next(iter(self.uploads)))
        return pending

    def take(self, upload_id: str, session_id: str) -> PendingUpload | None:
        """The pending upload, removed from the pending ones; None if unknown or expired."""
        self._expire()
        pending = self.uploads.get(upload_id)
        if pending is None or pending.session_id != session_id:
            return None
        del self.uploads[upload_id]
        return pending

    def start(self, pending: PendingUpload) -> ImportJob:
        """Import the pending upload in the background; the job says how far it got."""
        job = ImportJob(
            secrets.token_urlsafe(16),
            pending.session_id,
            pending.filename,
            pending.kind.counted,
            pending.expected,
        )
        self.jobs[job.job_id] = job
        finished = [job_id for job_id, kept in self.jobs.items() if kept.done]
        # The oldest finished reports go first; running imports are never forgotten.
        for job_id in finished[: max(len(self.jobs) - MAX_JOBS_KEPT, 0)]:
            del self.jobs[job_id]
        job.task = asyncio.create_task(_run(job, pending))
        return job

    def job(self, job_id: str, session_id: str) -> ImportJob | None:
        job = self.jobs.get(job_id)
        return job if job is not None and job.session_id == session_id else None

    def _expire(self) -> None:
        now = time.monotonic()
        for upload_id, pending in list(self.uploads.items()):
            if now - pending.created > UPLOAD_LIFETIME_SECONDS:
                self._forget(upload_id)

    def _forget(self, upload_id: str) -> None:
        shutil.rmtree(self.uploads.pop(upload_id).directory, ignore_errors=True)


async def _run(job: ImportJob, pending: PendingUpload) -> None:
    def progress(read: int) -> None:
        job.read = read

    try:
        job.result = await run_in_threadpool(
            pending.kind.run, pending.files, pending.options, False, progress
        )
    except InvalidImport as error:
        job.error = str(error)
    except Exception as error:
        # No one awaits this task: log here, and tell the page.
        logger.error("Import of %s failed", job.filename, exc_info=error)
        job.error = "The import failed on our side; it has been logged, and nothing was written."
    finally:
        shutil.rmtree(pending.directory, ignore_errors=True)


async def import_page(request: Request) -> Response:
    return _form_page(request)


async def check_files(request: Request) -> Response:
    """The dry run of an upload: its report, and a button to import it."""
    kind = KINDS.get(request.path_params["kind"])
    if kind is None:
        raise PageRefused(404, "There is no such kind of import.")
    fields = len(kind.form.model_fields) + 1
    async with request.form(max_files=kind.form.max_files, max_fields=fields) as form:
        check_csrf(request, form.get(CSRF_FIELD))
        values = {
            name: value for name, value in kind.form.values_of(form).items() if name != CSRF_FIELD
        }
        try:
            upload = kind.form.model_validate(values)
            if getattr(upload, "timezone", None) is not None:
                timezone_named(upload.timezone)
        except ValidationError as error:
            return _form_page(request, kind, errors=field_problems(error, kind.form), status=422)
        except InvalidImport as error:
            return _form_page(request, kind, errors={"timezone": str(error)}, status=422)
        files = upload.files if isinstance(upload, ActivityFilesUpload) else [upload.file]
        directory, paths = await run_in_threadpool(_imports(request).store, files)
    options = upload.model_dump(exclude={"file", "files", "dry_run"})
    try:
        report = await run_in_threadpool(kind.run, paths, options, True, None)
    except InvalidImport as error:
        shutil.rmtree(directory, ignore_errors=True)
        field_name = "files" if kind.form is ActivityFilesUpload else "file"
        return _form_page(request, kind, errors={field_name: str(error)}, status=422)
    names = [file.filename or "upload" for file in files]
    pending = _imports(request).keep(
        PendingUpload(
            secrets.token_urlsafe(16),
            session_of(request).session_id,
            kind,
            directory,
            paths,
            (names[0] if len(names) == 1 else f"{len(names)} files")[:200],
            options,
            report.files if kind.counted == "files" else report.rows,
        )
    )
    context = {"title": "Import: dry run", "report": report, "pending": pending}
    return render(request, "import_report.html", context)


async def start_import(request: Request) -> Response:
    imports = _imports(request)
    await read_form(request)
    upload_id = request.path_params["upload_id"]
    pending = imports.take(upload_id, session_of(request).session_id)
    if pending is None:
        return _form_page(
            request,
            errors={"upload": "That upload has expired or was imported already: choose it again."},
            status=410,
        )
    job = imports.start(pending)
    return RedirectResponse(f"/app/import/jobs/{job.job_id}", status_code=303)


async def show_job(request: Request) -> Response:
    job = _imports(request).job(request.path_params["job_id"], session_of(request).session_id)
    if job is None:
        raise PageRefused(
            404, "There is no such import (imports are kept until the server restarts)."
        )
    context = {"title": f"Import of {job.filename}", "job": job, "refresh": REFRESH_SECONDS}
    return render(request, "import_job.html", context)


def _form_page(
    request: Request,
    kind: ImportKind | None = None,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    settings: Settings = request.app.state.settings
    context = {
        "title": "Import",
        "kind": kind.slug if kind else None,
        "errors": errors or {},
        "default_timezone": settings.mmf_timezone,
    }
    return render(request, "import.html", context, status=status)


def _imports(request: Request) -> Imports:
    imports: Imports = request.app.state.imports
    return imports


routes = [
    Route("/import", import_page, methods=["GET"]),
    Route("/import/jobs/{job_id}", show_job, methods=["GET"]),
    Route("/import/uploads/{upload_id}", start_import, methods=["POST"]),
    Route("/import/{kind}", check_files, methods=["POST"]),
]
