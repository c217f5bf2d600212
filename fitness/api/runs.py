"""The runs routes: list, read, edit, delete, browse history and restore a version.

Every change answers with the run as it now is and its ETag (`"<version>"`), and honours
If-Match; the library does the versioning (fitness.db.runs, fitness.db.runs_history).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fitness.api import parsing
from fitness.api.errors import invalid, malformed
from fitness.api.openapi import (
    ETAG_HEADER,
    IF_MATCH,
    json_body,
    json_response,
    problems,
    protected,
    ref,
)
from fitness.api.routing import route
from fitness.api.serialise import history_json, run_json, version_json
from fitness.db import runs as db_runs
from fitness.db import runs_history as db_history
from fitness.errors import (
    InvalidUpdate,
    ProtectedField,
    RunNotFound,
    UnknownFields,
    VersionNotFound,
)
from fitness.models import (
    EDITABLE_FIELDS,
    MAX_HEART_RATE,
    MAX_RUN_NAME_CHARS,
    MAX_RUN_NOTES_CHARS,
    MIN_HEART_RATE,
    PROTECTED_FIELDS,
    RUN_SOURCES,
    RUN_TYPES,
    RunDetail,
    validate_run_fields,
)

DEFAULT_PAGE_SIZE: Final = 100
MAX_PAGE_SIZE: Final = 1000
DEFAULT_CHANGED_BY: Final = "api"
CHANGE_NOTE_FIELDS: Final = ("changed_by", "change_reason")

_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,2000}")

# How each editable field is read from JSON; `validate_run_fields` then checks the values.
_FIELD_PARSERS: Final = {
    "distance": parsing.number,
    "duration": parsing.number,
    "avg_heart_rate": parsing.optional_number,
    "type": parsing.required_text,
    "shoe_id": parsing.optional_text,
    "datetime_utc": parsing.aware_datetime,
    "name": parsing.optional_text,
    "notes": parsing.optional_text,
}
_NOTE_PARSERS: Final = {
    "changed_by": parsing.non_empty_text,
    "change_reason": parsing.optional_text,
}


async def list_runs(request: Request) -> Response:
    """Runs newest first, one page at a time; `next_cursor` fetches the next page."""
    query = parsing.QueryParameters(request)
    start, end = query.date("start"), query.date("end")
    include_deleted = query.flag("include_deleted")
    limit = query.integer("limit", default=DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    if start and end and start > end:
        query.errors["end"] = "must not be before start"
    query.done()
    cursor = query.text("cursor")
    after = None if cursor is None else decode_cursor(cursor)
    # One row more than asked for says whether there is a next page.
    rows = await run_in_threadpool(
        db_runs.get_run_details_page,
        start=start,
        end=end,
        include_deleted=include_deleted,
        newest_first=True,
        limit=limit + 1,
        after=after,
    )
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1]) if len(rows) > limit else None
    return JSONResponse({"runs": [run_json(run) for run in page], "next_cursor": next_cursor})


async def get_run(request: Request) -> Response:
    """One run with its shoe's name and calendar state; deleted ones need include_deleted."""
    run_id = parsing.path_id(request, "run_id", RunNotFound)
    query = parsing.QueryParameters(request)
    include_deleted = query.flag("include_deleted")
    query.done()
    run = await run_in_threadpool(
        db_runs.get_run_detail_by_id, run_id, include_deleted=include_deleted
    )
    if run is None:
        raise RunNotFound(run_id)
    return run_response(run)


async def patch_run(request: Request) -> Response:
    """Edit some of a run's fields, recording a new version (none if nothing changes)."""
    run_id = parsing.path_id(request, "run_id", RunNotFound)
    expected_version = parsing.expected_version(request)
    body = await parsing.read_json_object(request)
    updates, changed_by, change_reason = parse_edit(body)
    run = await run_in_threadpool(
        db_history.update_run_with_history,
        run_id,
        updates,
        changed_by=changed_by,
        change_reason=change_reason,
        expected_version=expected_version,
    )
    return run_response(run)


async def delete_run(request: Request) -> Response:
    """Soft-delete a run, recording a `deletion` version; restoring a version undoes it."""
    run_id = parsing.path_id(request, "run_id", RunNotFound)
    expected_version = parsing.expected_version(request)
    body = await parsing.read_json_object(request, required=False)
    changed_by, change_reason = parse_change_note(body)
    run = await run_in_threadpool(
        db_runs.delete_run,
        run_id,
        changed_by=changed_by,
        change_reason=change_reason,
        expected_version=expected_version,
    )
    return run_response(run)


async def get_history(request: Request) -> Response:
    """Every version of a run, newest first, each with what it changed."""
    run_id = parsing.path_id(request, "run_id", RunNotFound)
    versions = await run_in_threadpool(db_history.get_run_history, run_id)
    if not versions:
        raise RunNotFound(run_id)
    return JSONResponse({"run_id": run_id, "versions": history_json(versions)})


async def get_version(request: Request) -> Response:
    """One snapshot of a run."""
    run_id = parsing.path_id(request, "run_id", RunNotFound)
    version_number = version_path(request)
    version = await run_in_threadpool(db_history.get_run_version, run_id, version_number)
    if version is None:
        raise VersionNotFound(run_id, version_number)
    return JSONResponse(version_json(version))


async def restore_version(request: Request) -> Response:
    """Make a version's data current again, as a new `restore` version (undeleting the run)."""
    run_id = parsing.path_id(request, "run_id", RunNotFound)
    version_number = version_path(request)
    expected_version = parsing.expected_version(request)
    body = await parsing.read_json_object(request, required=False)
    changed_by, change_reason = parse_change_note(body)
    run = await run_in_threadpool(
        db_history.restore_run_version,
        run_id,
        version_number,
        changed_by=changed_by,
        change_reason=change_reason,
        expected_version=expected_version,
    )
    return run_response(run)


def run_response(run: RunDetail) -> Response:
    """The run as JSON, with its version as ETag."""
    return JSONResponse(run_json(run), headers={"ETag": parsing.etag(run.version)})


def parse_edit(body: Mapping[str, object]) -> tuple[dict[str, object], str, str | None]:
    """A PATCH body as (updates, changed_by, change_reason), or the error that fits.

    Protected fields, then unknown ones, are a 400 naming them; bad values a 422 listing
    every field that is wrong.
    """
    fields = [name for name in body if name not in CHANGE_NOTE_FIELDS]
    protected_fields = [name for name in fields if name in PROTECTED_FIELDS]
    if protected_fields:
        raise ProtectedField(protected_fields)
    unknown = [name for name in fields if name not in EDITABLE_FIELDS]
    if unknown:
        raise UnknownFields(unknown)
    updates, errors = parsing.parse_fields(body, _FIELD_PARSERS)
    errors |= validate_run_fields(updates)
    note, note_errors = parsing.parse_fields(body, _NOTE_PARSERS)
    errors |= note_errors
    if errors:
        raise InvalidUpdate(errors)
    return updates, _changed_by(note), _change_reason(note)


def parse_change_note(body: Mapping[str, object]) -> tuple[str, str | None]:
    """The optional `changed_by` and `change_reason` of a delete or restore body."""
    unknown = [name for name in body if name not in CHANGE_NOTE_FIELDS]
    if unknown:
        raise UnknownFields(unknown)
    note, errors = parsing.parse_fields(body, _NOTE_PARSERS)
    if errors:
        raise InvalidUpdate(errors)
    return _changed_by(note), _change_reason(note)


def version_path(request: Request) -> int:
    """The `{version}` path parameter: a whole number from 1; else a 422."""
    raw: str = request.path_params["version"]
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= parsing.MAX_VERSION:
        raise invalid({"version": f"must be a whole number from 1 to {parsing.MAX_VERSION}"})
    return int(raw)


def encode_cursor(run: RunDetail) -> str:
    """An opaque cursor pointing just after `run` in newest-first order."""
    key = json.dumps([run.datetime_utc.isoformat(), run.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(key.encode("utf-8")).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The `(datetime_utc, id)` key inside a cursor from `encode_cursor`; else a 400."""
    try:
        if not _CURSOR.fullmatch(cursor):
            raise ValueError("not base64url")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
        if not (isinstance(key, list) and len(key) == 2 and all(isinstance(k, str) for k in key)):
            raise ValueError("not a cursor key")
        moment, run_id = parsing.aware_datetime(key[0]), parsing.required_text(key[1])
    except (ValueError, binascii.Error, RecursionError):
        raise malformed("The cursor is not one this API handed out.") from None
    return moment, run_id


def _changed_by(note: Mapping[str, object]) -> str:
    changed_by = note.get("changed_by")
    return changed_by if isinstance(changed_by, str) else DEFAULT_CHANGED_BY


def _change_reason(note: Mapping[str, object]) -> str | None:
    reason = note.get("change_reason")
    return reason if isinstance(reason, str) else None


routes = [
    route("/runs", GET=list_runs),
    route("/runs/{run_id}", GET=get_run, PATCH=patch_run, DELETE=delete_run),
    route("/runs/{run_id}/history", GET=get_history),
    route("/runs/{run_id}/history/{version}", GET=get_version),
    route("/runs/{run_id}/restore/{version}", POST=restore_version),
]


# OpenAPI: the operations above and the shapes they answer with.

_RUN_ID: Final = {
    "name": "run_id",
    "in": "path",
    "required": True,
    "description": "The run's id, e.g. `strava_1234567890` or `mmf_8622076198`.",
    "schema": {"type": "string", "minLength": 1},
}
_VERSION: Final = {
    "name": "version",
    "in": "path",
    "required": True,
    "description": "A version number of the run (1 is the original import).",
    "schema": {"type": "integer", "minimum": 1, "maximum": parsing.MAX_VERSION},
}
_INCLUDE_DELETED: Final = {
    "name": "include_deleted",
    "in": "query",
    "required": False,
    "description": "Include soft-deleted runs.",
    "schema": {"type": "boolean", "default": False},
}
_RUN_RESPONSE: Final = json_response("The run as it now is.", ref("RunDetail"), ETAG_HEADER)
_CHANGE_NOTE_BODY: Final = json_body(ref("ChangeNote"), required=False)


def _nullable(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {**schema, "type": [schema["type"], "null"]}


_TIMESTAMP: Final = {"type": "string", "format": "date-time"}
_RUN_DATA: Final = {
    "datetime_utc": {**_TIMESTAMP, "description": "When the run started, in UTC."},
    "type": {"type": "string", "enum": list(RUN_TYPES)},
    "distance": {"type": "number", "minimum": 0, "description": "Miles."},
    "duration": {"type": "number", "exclusiveMinimum": 0, "description": "Seconds."},
    "source": {"type": "string", "enum": list(RUN_SOURCES)},
    "avg_heart_rate": {
        "type": ["number", "null"],
        "minimum": MIN_HEART_RATE,
        "maximum": MAX_HEART_RATE,
    },
    "shoe_id": {"type": ["string", "null"]},
    "name": {
        "type": ["string", "null"],
        "maxLength": MAX_RUN_NAME_CHARS,
        "description": "The activity's title, as the runner wrote it.",
    },
    "notes": {
        "type": ["string", "null"],
        "maxLength": MAX_RUN_NOTES_CHARS,
        "description": "The runner's notes on the run.",
    },
}

paths = {
    "/runs": {
        "get": {
            "operationId": "listRuns",
            "summary": "Runs, newest first, keyset-paginated",
            "tags": ["runs"],
            "parameters": [
                {
                    "name": "start",
                    "in": "query",
                    "required": False,
                    "description": "First UTC day to include (YYYY-MM-DD).",
                    "schema": {"type": "string", "format": "date"},
                },
                {
                    "name": "end",
                    "in": "query",
                    "required": False,
                    "description": "Last UTC day to include (YYYY-MM-DD); not before start.",
                    "schema": {"type": "string", "format": "date"},
                },
                _INCLUDE_DELETED,
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "description": "Runs per page.",
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_PAGE_SIZE,
                        "default": DEFAULT_PAGE_SIZE,
                    },
                },
                {
                    "name": "cursor",
                    "in": "query",
                    "required": False,
                    "description": "`next_cursor` of the previous page (opaque).",
                    "schema": {"type": "string"},
                },
            ],
            "responses": protected(
                {
                    "200": json_response("One page of runs.", ref("RunPage")),
                    **problems(400, 422),
                }
            ),
        }
    },
    "/runs/{run_id}": {
        "parameters": [_RUN_ID],
        "get": {
            "operationId": "getRun",
            "summary": "One run, with its shoe's name and calendar state",
            "tags": ["runs"],
            "parameters": [_INCLUDE_DELETED],
            "responses": protected(
                {
                    "200": json_response("The run.", ref("RunDetail"), ETAG_HEADER),
                    **problems(404, 422),
                }
            ),
        },
        "patch": {
            "operationId": "editRun",
            "summary": "Edit a run (a new version; none if nothing changes)",
            "description": (
                "Send any of the editable fields, plus `changed_by` (default `api`) and "
                "`change_reason`. `id` and `source` are protected (400); unknown fields are "
                "a 400 too; invalid values (negative distance, unknown type or shoe, a "
                "date-time without offset) a 422 listing each field."
            ),
            "tags": ["runs"],
            "parameters": [IF_MATCH],
            "requestBody": json_body(ref("RunEdit")),
            "responses": protected({"200": _RUN_RESPONSE, **problems(400, 404, 412, 413, 422)}),
        },
        "delete": {
            "operationId": "deleteRun",
            "summary": "Soft-delete a run (a `deletion` version)",
            "description": "Answers with the deleted run. Restoring an earlier version undoes it.",
            "tags": ["runs"],
            "parameters": [IF_MATCH],
            "requestBody": _CHANGE_NOTE_BODY,
            "responses": protected({"200": _RUN_RESPONSE, **problems(400, 404, 412, 413, 422)}),
        },
    },
    "/runs/{run_id}/history": {
        "get": {
            "operationId": "getRunHistory",
            "summary": "Every version of a run, newest first",
            "description": "Versions of a deleted run are listed too.",
            "tags": ["history"],
            "parameters": [_RUN_ID],
            "responses": protected(
                {"200": json_response("The run's versions.", ref("RunHistory")), **problems(404)}
            ),
        }
    },
    "/runs/{run_id}/history/{version}": {
        "get": {
            "operationId": "getRunVersion",
            "summary": "One version of a run",
            "tags": ["history"],
            "parameters": [_RUN_ID, _VERSION],
            "responses": protected(
                {"200": json_response("The snapshot.", ref("RunVersion")), **problems(404, 422)}
            ),
        }
    },
    "/runs/{run_id}/restore/{version}": {
        "post": {
            "operationId": "restoreRunVersion",
            "summary": "Make a version's data current again (undeletes the run)",
            "description": (
                "Appends a `restore` version whose data equals that version's; history is "
                "never rewritten."
            ),
            "tags": ["history"],
            "parameters": [_RUN_ID, _VERSION, IF_MATCH],
            "requestBody": _CHANGE_NOTE_BODY,
            "responses": protected({"200": _RUN_RESPONSE, **problems(400, 404, 412, 413, 422)}),
        }
    },
}

schemas = {
    "RunDetail": {
        "type": "object",
        "description": "A run as it is now, with its shoe's name and its calendar event.",
        "required": [
            "id",
            *_RUN_DATA,
            "shoe_name",
            "version",
            "last_edited_at",
            "last_edited_by",
            "deleted_at",
            "created_at",
            "updated_at",
            "calendar_state",
            "google_event_id",
            "synced_version",
            "synced_at",
            "sync_error",
        ],
        "properties": {
            "id": {"type": "string"},
            **_RUN_DATA,
            "shoe_name": {"type": ["string", "null"]},
            "version": {"type": "integer", "minimum": 1, "description": "Also the ETag."},
            "last_edited_at": _nullable(_TIMESTAMP),
            "last_edited_by": {"type": ["string", "null"]},
            "deleted_at": _nullable(_TIMESTAMP),
            "created_at": _TIMESTAMP,
            "updated_at": _TIMESTAMP,
            "calendar_state": {
                "type": "string",
                "enum": ["missing", "current", "stale", "failed"],
                "description": (
                    "`missing`: no calendar event; `current`: the event shows this version; "
                    "`stale`: the run changed since; `failed`: the last sync failed."
                ),
            },
            "google_event_id": {"type": ["string", "null"]},
            "synced_version": {"type": ["integer", "null"]},
            "synced_at": _nullable(_TIMESTAMP),
            "sync_error": {"type": ["string", "null"]},
        },
    },
    "RunPage": {
        "type": "object",
        "required": ["runs", "next_cursor"],
        "properties": {
            "runs": {"type": "array", "items": ref("RunDetail")},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` for the next page; null on the last page.",
            },
        },
    },
    "RunEdit": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **{name: _RUN_DATA[name] for name in EDITABLE_FIELDS},
            "shoe_id": {
                "type": ["string", "null"],
                "minLength": 1,
                "description": "An existing shoe's id, or null for none.",
            },
            "changed_by": {"type": "string", "minLength": 1, "default": DEFAULT_CHANGED_BY},
            "change_reason": {"type": ["string", "null"]},
        },
    },
    "ChangeNote": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "changed_by": {"type": "string", "minLength": 1, "default": DEFAULT_CHANGED_BY},
            "change_reason": {"type": ["string", "null"]},
        },
    },
    "RunVersion": {
        "type": "object",
        "description": "One immutable snapshot of a run.",
        "required": [
            "run_id",
            "version_number",
            "change_type",
            *_RUN_DATA,
            "changed_at",
            "changed_by",
            "change_reason",
        ],
        "properties": {
            "run_id": {"type": "string"},
            "version_number": {"type": "integer", "minimum": 1},
            "change_type": {
                "type": "string",
                "enum": ["original", "edit", "deletion", "restore"],
            },
            **_RUN_DATA,
            "changed_at": _TIMESTAMP,
            "changed_by": {"type": ["string", "null"]},
            "change_reason": {"type": ["string", "null"]},
        },
    },
    "HistoryVersion": {
        "description": "A snapshot and what it changed from the version before it.",
        "allOf": [
            ref("RunVersion"),
            {
                "type": "object",
                "required": ["changes"],
                "properties": {
                    "changes": {
                        "type": "object",
                        "description": (
                            '`{"field": {"from": old, "to": new}}` for each field that differs '
                            "from the previous version; empty for the original and deletions."
                        ),
                        "propertyNames": {"enum": list(EDITABLE_FIELDS)},
                        "additionalProperties": {
                            "type": "object",
                            "required": ["from", "to"],
                            "properties": {"from": {}, "to": {}},
                        },
                    }
                },
            },
        ],
    },
    "RunHistory": {
        "type": "object",
        "required": ["run_id", "versions"],
        "properties": {
            "run_id": {"type": "string"},
            "versions": {"type": "array", "items": ref("HistoryVersion")},
        },
    },
}
