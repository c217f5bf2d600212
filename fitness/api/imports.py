"""`POST /mmf/upload-csv`: import a MapMyFitness CSV export uploaded as multipart form data.

The upload is spooled to disk by the multipart parser and streamed into the import
(fitness.services.mmf_import), so an export of any length never sits in memory whole.
"""

from __future__ import annotations

from typing import Final, NoReturn

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fitness.api.errors import ApiError, invalid, problem
from fitness.api.openapi import json_response, problems, protected, ref
from fitness.api.routing import route
from fitness.errors import UnknownFields
from fitness.importers.mmf import timezone_named
from fitness.services.mmf_import import MAX_REPORTED_ERRORS, MMFImportResult, import_mmf_csv

# Far beyond any real export (ten years of daily runs is ~1 MB); the file is on disk, not
# in memory, so this bounds disk use and import time, not memory.
MAX_UPLOAD_BYTES: Final = 200 * 1024 * 1024
_FIELDS: Final = ("file", "timezone", "dry_run", "strict")


async def upload_mmf_csv(request: Request) -> Response:
    """Import the runs of the uploaded export; 200 with what was imported and each bad row."""
    _check_declared_size(request)
    async with request.form(max_files=1, max_fields=len(_FIELDS)) as form:
        unknown = [name for name in form if name not in _FIELDS]
        if unknown:
            raise UnknownFields(unknown)
        errors: dict[str, str] = {}
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            errors["file"] = "is required: the CSV export, as a file in the multipart field `file`"
        timezone = _text(form.get("timezone"), "timezone", errors)
        dry_run = _flag(form.get("dry_run"), "dry_run", errors)
        strict = _flag(form.get("strict"), "strict", errors)
        if errors:
            raise invalid(errors)
        assert isinstance(upload, UploadFile)
        if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
            _too_large()
        if timezone is not None:
            timezone_named(timezone)
        result = await run_in_threadpool(
            import_mmf_csv, upload.file, timezone=timezone, dry_run=dry_run, strict=strict
        )
    if result.aborted:
        return _rejected(result)
    return JSONResponse(result.to_dict())


def _check_declared_size(request: Request) -> None:
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        _too_large()


def _too_large() -> NoReturn:
    raise ApiError(
        413,
        f"The upload is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB.",
        slug="content-too-large",
    )


def _text(value: object, name: str, errors: dict[str, str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = "must be text, not a file"
        return None
    return value.strip() or None


def _flag(value: object, name: str, errors: dict[str, str]) -> bool:
    text = _text(value, name, errors)
    if text is None:
        return False
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    errors[name] = "must be true or false"
    return False


def _rejected(result: MMFImportResult) -> Response:
    return problem(
        422,
        f"{result.error_count} rows cannot be imported, so nothing was (strict mode). "
        "See `errors` for each one.",
        slug="import-rejected",
        **result.to_dict(),
    )


routes = [route("/mmf/upload-csv", POST=upload_mmf_csv)]


# OpenAPI: the operation above and the shapes it answers with.

_ROW_ERRORS: Final = {
    "type": "array",
    "maxItems": MAX_REPORTED_ERRORS,
    "description": f"Bad rows (the first {MAX_REPORTED_ERRORS} of `error_count`).",
    "items": {
        "type": "object",
        "required": ["line", "message"],
        "additionalProperties": False,
        "properties": {
            "line": {
                "type": "integer",
                "minimum": 1,
                "description": "Line of the file where the row starts (the header is line 1).",
            },
            "message": {"type": "string"},
        },
    },
}
_SUMMARY_PROPERTIES: Final = {
    "inserted": {"type": "integer", "minimum": 0, "description": "New runs stored."},
    "skipped_existing": {
        "type": "integer",
        "minimum": 0,
        "description": "Runs already stored (a re-import leaves them, and any edits, alone).",
    },
    "repeated_in_file": {
        "type": "integer",
        "minimum": 0,
        "description": (
            "Rows repeating a workout an earlier row of the file has (see `repeats`). "
            "inserted + skipped_existing + repeated_in_file + skipped_other_activities + "
            "error_count = rows, unless aborted."
        ),
    },
    "skipped_other_activities": {
        "type": "integer",
        "minimum": 0,
        "description": "Walks, rides and other activities that are not runs.",
    },
    "shoes_created": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Names of shoes (from `Shoes: <name>` notes) created by this import.",
    },
    "errors": _ROW_ERRORS,
    "error_count": {"type": "integer", "minimum": 0},
    "rows": {"type": "integer", "minimum": 0, "description": "Data rows read."},
    "repeats": {
        "type": "array",
        "maxItems": MAX_REPORTED_ERRORS,
        "description": "Each repeated row, and the earlier row whose copy was kept.",
        "items": {
            "type": "object",
            "required": ["line", "run_id", "kept_line"],
            "additionalProperties": False,
            "properties": {
                "line": {"type": "integer", "minimum": 1},
                "run_id": {"type": "string"},
                "kept_line": {"type": "integer", "minimum": 1},
            },
        },
    },
    "warnings": {
        **_ROW_ERRORS,
        "description": "Rows imported without part of them (a `Shoes:` line naming no shoe).",
    },
    "distance_unit": {
        "type": ["string", "null"],
        "enum": ["mi", "km", None],
        "description": "The unit of the file's distance column; km are converted to miles.",
    },
    "dry_run": {
        "type": "boolean",
        "description": "True: the counts are what an import would do; nothing was written.",
    },
    "aborted": {"type": "boolean"},
}

paths = {
    "/mmf/upload-csv": {
        "post": {
            "operationId": "uploadMapMyFitnessCsv",
            "summary": "Import a MapMyFitness CSV export",
            "description": (
                "Runs (`Run`, `Indoor Run / Jog`) whose id is new are stored, with the shoe "
                "named by `Shoes: <name>` in their notes; other activities are counted and "
                "skipped; uploading the same file again inserts nothing. Bad rows are listed "
                "with their line and do not stop the others, unless `strict` is true: then "
                "any bad row is a 422 and nothing is written. A file that cannot be an "
                "export (a missing column, not UTF-8, empty) or an unknown timezone is a 422."
            ),
            "tags": ["imports"],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {
                                    "type": "string",
                                    "contentMediaType": "text/csv",
                                    "description": "The CSV export (UTF-8).",
                                },
                                "timezone": {
                                    "type": "string",
                                    "description": (
                                        "IANA timezone of the workout dates (default: "
                                        "MMF_TIMEZONE); a run starts at local noon."
                                    ),
                                    "examples": ["Europe/Berlin"],
                                },
                                "dry_run": {
                                    "type": "string",
                                    "enum": ["true", "false"],
                                    "description": "true: report what would happen, write nothing.",
                                },
                                "strict": {
                                    "type": "string",
                                    "enum": ["true", "false"],
                                    "description": "true: any bad row aborts the whole import.",
                                },
                            },
                        }
                    }
                },
            },
            "responses": protected(
                {
                    "200": json_response("What the import did.", ref("MmfImportSummary")),
                    "422": {
                        "description": (
                            "The file, the timezone or a field is unusable, or (strict) some "
                            "rows are bad: then `errors` lists them and nothing was written."
                        ),
                        "content": {
                            "application/problem+json": {
                                "schema": {
                                    "anyOf": [
                                        ref("Problem"),
                                        ref("ValidationProblem"),
                                        ref("ImportRejectedProblem"),
                                    ]
                                }
                            }
                        },
                    },
                    **problems(400, 413),
                }
            ),
        }
    }
}

schemas = {
    "MmfImportSummary": {
        "type": "object",
        "required": list(_SUMMARY_PROPERTIES),
        "additionalProperties": False,
        "properties": _SUMMARY_PROPERTIES,
    },
    "ImportRejectedProblem": {
        "description": "422 in strict mode: the bad rows; nothing was written.",
        "allOf": [
            ref("Problem"),
            {
                "type": "object",
                "required": ["errors", "error_count", "aborted"],
                "properties": {
                    **_SUMMARY_PROPERTIES,
                    "aborted": {"const": True},
                },
            },
        ],
    },
}
