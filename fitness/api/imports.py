"""The import routes: a MapMyFitness CSV export (`POST /mmf/upload-csv`), Strava's bulk export
(`POST /imports/strava-archive`) and activity files (`POST /imports/files`), each uploaded as
multipart form data.

Uploads are spooled to disk by the multipart parser and read from there by the import (an
archive member by member), so an upload never sits in memory whole.
"""

from __future__ import annotations

from typing import Final

from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from fitness.api.openapi import paths_of
from fitness.api.operations import Operations, read_form
from fitness.importers.mmf import timezone_named
from fitness.server.problems import problem
from fitness.services.activity_files_import import (
    ActivityFilesImportResult,
    Upload,
    import_activity_files,
)
from fitness.services.mmf_import import MMFImportResult, import_mmf_csv
from fitness.services.strava_archive_import import (
    StravaArchiveImportResult,
    import_strava_archive_stream,
)
from fitness.shapes.imports import ActivityFilesUpload, MmfUpload, StravaArchiveUpload

# Far beyond any real export (ten years of daily runs is ~1 MB); the file is on disk, not
# in memory, so this bounds disk use and import time, not memory. The app enforces it on
# every request body as it streams in (fitness.server.limits), chunked or not.
MAX_UPLOAD_BYTES: Final = 200 * 1024 * 1024

api = Operations(tag="imports")


@api.post(
    "/mmf/upload-csv",
    form=MmfUpload,
    response=MMFImportResult,
    errors=(413,),
    problem_responses={422: "UnprocessableImport"},
    operation_id="uploadMmfCsv",
)
async def upload_mmf_csv(request: Request) -> MMFImportResult | Response:
    """Import a MapMyFitness CSV export

    Runs already stored are skipped, so uploading the same export again adds nothing. Bad
    rows are reported with their line numbers and the others are imported, unless `strict`
    (then a 422 `import-rejected` carrying the same report, and nothing written). A file that
    cannot be read at all (no required column, not UTF-8, an unknown timezone) is a 422."""
    async with read_form(request, MmfUpload) as form:
        if form.timezone is not None:
            timezone_named(form.timezone)
        result = await run_in_threadpool(
            import_mmf_csv,
            form.file.file,
            timezone=form.timezone,
            dry_run=form.dry_run,
            strict=form.strict,
        )
    return _rejected(result, "rows") if result.aborted else result


@api.post(
    "/imports/strava-archive",
    form=StravaArchiveUpload,
    response=StravaArchiveImportResult,
    errors=(413,),
    problem_responses={422: "UnprocessableImport"},
    operation_id="importStravaArchive",
)
async def upload_strava_archive(request: Request) -> StravaArchiveImportResult | Response:
    """Import Strava's bulk export

    The export_*.zip (or its activities.csv alone): runs become `strava_<activity id>`, the
    ids the Strava sync gives, so the archive and the sync never duplicate a run; runs
    already stored are skipped. Headers and dates in any of Strava's languages; shoes from
    shoes.csv and each run's gear; heart rate and treadmill runs from the activity files
    when activities.csv lacks them. Bad rows are listed by line and the others imported,
    unless `strict` (then a 422 `import-rejected` carrying the report, nothing written). An
    archive without activities.csv, or a CSV that is not Strava's, is a 422."""
    async with read_form(request, StravaArchiveUpload) as form:
        result = await run_in_threadpool(
            import_strava_archive_stream, form.file.file, dry_run=form.dry_run, strict=form.strict
        )
    return _rejected(result, "rows") if result.aborted else result


@api.post(
    "/imports/files",
    form=ActivityFilesUpload,
    response=ActivityFilesImportResult,
    errors=(413,),
    problem_responses={422: "UnprocessableImport"},
    operation_id="importActivityFiles",
)
async def upload_activity_files(request: Request) -> ActivityFilesImportResult | Response:
    """Import activity files

    FIT, GPX and TCX files (gzipped or not), or zip archives of them, one `files` part each.
    A run's id is its start (`file_<UTC start>`), so another export of an activity already
    stored is skipped. Files that cannot be read are listed by name and the others imported,
    unless `strict` (then a 422 `import-rejected` carrying the report, nothing written)."""
    async with read_form(request, ActivityFilesUpload) as form:
        uploads = [
            Upload(part.filename or f"upload {number}", part.file)
            for number, part in enumerate(form.files, start=1)
        ]
        result = await run_in_threadpool(
            import_activity_files, uploads, dry_run=form.dry_run, strict=form.strict
        )
    return _rejected(result, "files") if result.aborted else result


def _rejected(result: object, what: str) -> Response:
    """The 422 of a strict import that found bad records: the report, nothing written."""
    report = TypeAdapter(type(result)).dump_python(result, mode="json")
    return problem(
        422,
        f"{report['error_count']} {what} cannot be imported, so nothing was (strict mode). "
        "See `errors` for each one.",
        slug="import-rejected",
        **report,
    )


routes, paths = api.routes(), paths_of(api)
