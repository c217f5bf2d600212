"""The import page: upload a MapMyFitness CSV export, see the dry run's row report, then
import it for real and watch its progress (fitness.services.mmf_import).

The uploaded file is kept on the server between the dry run and the import (so the person
does not choose it twice), in a temporary directory of this process, for
`UPLOAD_LIFETIME` and at most `MAX_PENDING_UPLOADS` at a time; the import runs in the
background, and its page refreshes itself (no script needed) until the report is there.
Both belong to the session that uploaded the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

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
from fitness.services.mmf_import import MMFImportResult, import_mmf_csv, import_mmf_file
from fitness.shapes.imports import MmfUpload
from fitness.web.forms import CSRF_FIELD, PageRefused, check_csrf, read_form
from fitness.web.rendering import render
from fitness.web.sessions import session_of

logger = logging.getLogger(__name__)

UPLOAD_LIFETIME_SECONDS: Final = 3600.0
MAX_PENDING_UPLOADS: Final = 5
MAX_JOBS_KEPT: Final = 20
REFRESH_SECONDS: Final = 1
_ID_CHARS: Final = 22


@dataclass
class PendingUpload:
    """A file whose dry run was shown, waiting to be imported."""

    upload_id: str
    session_id: str
    path: Path
    filename: str
    timezone: str | None
    strict: bool
    rows: int
    created: float = field(default_factory=time.monotonic)


@dataclass
class ImportJob:
    """An import running in the background: how far it has read, then its report or error."""

    job_id: str
    session_id: str
    filename: str
    rows_expected: int
    rows_read: int = 0
    result: MMFImportResult | None = None
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

    def keep(
        self, upload: UploadFile, session_id: str, form: MmfUpload, rows: int
    ) -> PendingUpload:
        """Copy the uploaded file where it stays until imported (or expired)."""
        self._expire()
        if self._directory is None:
            self._directory = tempfile.TemporaryDirectory(prefix="fitness-uploads-")
        upload_id = secrets.token_urlsafe(16)
        path = Path(self._directory.name) / upload_id
        upload.file.seek(0)
        with open(path, "wb") as target:
            shutil.copyfileobj(upload.file, target)
        pending = PendingUpload(
            upload_id,
            session_id,
            path,
            (upload.filename or "upload.csv")[:200],
            form.timezone,
            form.strict,
            rows,
        )
        self.uploads[upload_id] = pending
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
            secrets.token_urlsafe(16), pending.session_id, pending.filename, pending.rows
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
        pending = self.uploads.pop(upload_id)
        with contextlib.suppress(FileNotFoundError):
            pending.path.unlink()


async def _run(job: ImportJob, pending: PendingUpload) -> None:
    def progress(rows: int) -> None:
        job.rows_read = rows

    try:
        job.result = await run_in_threadpool(
            import_mmf_file,
            pending.path,
            timezone=pending.timezone,
            strict=pending.strict,
            progress=progress,
        )
    except InvalidImport as error:
        job.error = str(error)
    except Exception as error:
        # No one awaits this task: log here, and tell the page.
        logger.error("Import of %s failed", job.filename, exc_info=error)
        job.error = "The import failed on our side; it has been logged, and nothing was written."
    finally:
        with contextlib.suppress(FileNotFoundError):
            pending.path.unlink()


async def import_page(request: Request) -> Response:
    return _form_page(request)


async def check_file(request: Request) -> Response:
    """The dry run of an uploaded export: its row report, and a button to import it."""
    imports = _imports(request)
    async with request.form(max_files=1, max_fields=len(MmfUpload.model_fields) + 1) as form:
        check_csrf(request, form.get(CSRF_FIELD))
        values = {name: value for name, value in form.items() if name != CSRF_FIELD and value != ""}
        try:
            upload = MmfUpload.model_validate(values)
            if upload.timezone is not None:
                timezone_named(upload.timezone)
        except ValidationError as error:
            return _form_page(request, errors=field_problems(error, MmfUpload), status=422)
        except InvalidImport as error:
            return _form_page(request, errors={"timezone": str(error)}, status=422)
        try:
            report = await run_in_threadpool(_dry_run, upload)
        except InvalidImport as error:
            return _form_page(request, errors={"file": str(error)}, status=422)
        pending = await run_in_threadpool(
            imports.keep, upload.file, session_of(request).session_id, upload, report.rows
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
            errors={
                "file": "That upload has expired or was imported already: choose the file again."
            },
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


def _dry_run(upload: MmfUpload) -> MMFImportResult:
    upload.file.file.seek(0)
    return import_mmf_csv(
        upload.file.file, timezone=upload.timezone, dry_run=True, strict=upload.strict
    )


def _form_page(
    request: Request, *, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    settings: Settings = request.app.state.settings
    context = {
        "title": "Import",
        "errors": errors or {},
        "default_timezone": settings.mmf_timezone,
    }
    return render(request, "import.html", context, status=status)


def _imports(request: Request) -> Imports:
    imports: Imports = request.app.state.imports
    return imports


routes = [
    Route("/import", import_page, methods=["GET"]),
    Route("/import", check_file, methods=["POST"]),
    Route("/import/{upload_id}", start_import, methods=["POST"]),
    Route("/import/jobs/{job_id}", show_job, methods=["GET"]),
]
