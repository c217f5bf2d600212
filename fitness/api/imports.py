"""`POST /mmf/upload-csv`: import a MapMyFitness CSV export uploaded as multipart form data.

The upload is spooled to disk by the multipart parser and streamed into the import
(fitness.services.mmf_import), so an export of any length never sits in memory whole.
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
from fitness.services.mmf_import import MMFImportResult, import_mmf_csv
from fitness.shapes.imports import MmfUpload

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
    if result.aborted:
        return problem(
            422,
            f"{result.error_count} rows cannot be imported, so nothing was (strict mode). "
            "See `errors` for each one.",
            slug="import-rejected",
            **_REPORT.dump_python(result, mode="json"),
        )
    return result


_REPORT: Final = TypeAdapter(MMFImportResult)

routes, paths = api.routes(), paths_of(api)
