"""The runs pages: the list with its filters, a run with its edit form and its history, and
restoring a version (fitness.db.runs, fitness.db.runs_history).

Every write carries the version the form was made from, as the API's If-Match does, so an
edit made meanwhile is never overwritten unseen: on a `VersionConflict` the page shows what
changed meanwhile beside the user's own input, which is kept, and a second save applies it
over the new version.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fitness.api.parameters import PATH_PARAMETERS
from fitness.config import Settings
from fitness.db import runs as db_runs
from fitness.db import runs_history as db_history
from fitness.db.shoes import get_shoes
from fitness.errors import InvalidUpdate, RunNotFound, VersionConflict, VersionNotFound
from fitness.models import EDITABLE_FIELDS, RunDetail, RunHistory, RunVersion
from fitness.rules import RUN_SOURCES, RUN_TYPES
from fitness.shapes.pages import RunPageQuery, RunsPageQuery
from fitness.shapes.runs import ChangeNote, RunEdit
from fitness.web.forms import (
    PageRefused,
    query_values,
    read_form,
    seconds_text,
    validate,
    zoned_text,
)
from fitness.web.rendering import local_input, render

CHANGED_BY: Final = "web"
HISTORY_PAGE_SIZE: Final = 20
# The versions listed beside a conflict (the net change is always shown whole).
CONFLICT_VERSIONS_SHOWN: Final = 10
NOTICES: Final = {
    "saved": "Saved.",
    "unchanged": "Nothing changed, so no new version was written.",
    "deleted": "Deleted. Restore any version below to bring the run back.",
    "restored": "Restored.",
}


async def list_runs(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    values = query_values(request)
    query, errors = validate(RunsPageQuery, values)
    shoes = await run_in_threadpool(get_shoes)
    page = None
    if query is not None:
        filters = query.model_dump(exclude={"units"})
        page = await run_in_threadpool(db_runs.list_run_details, **filters, tz=settings.timezone)
    context = {
        "title": "Runs",
        "units": (query.units if query else None) or settings.units,
        "filters": {name: value for name, value in values.items() if name != "cursor"},
        "request_cursor": "cursor" in values,
        "errors": errors,
        "page": page,
        "shoes": shoes,
        "run_types": RUN_TYPES,
        "run_sources": RUN_SOURCES,
    }
    return render(request, "runs.html", context, status=422 if errors else 200)


async def show_run(request: Request) -> Response:
    run_id = _run_id(request)
    query, errors = validate(RunPageQuery, query_values(request))
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return await _run_page(
        request,
        run_id,
        history_cursor=query.history if query else None,
        units=query.units if query else None,
        errors=errors,
        notice=notice,
    )


async def edit_run(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    run_id = _run_id(request)
    fields = await read_form(request)
    expected = _version(fields.pop("version", ""))
    typed = {name: fields.pop(name, "") for name in (*EDITABLE_FIELDS, "change_reason")}
    values = {
        **typed,
        **fields,
        "duration": seconds_text(typed["duration"]),
        "datetime_utc": zoned_text(typed["datetime_utc"], settings.timezone),
        "changed_by": CHANGED_BY,
    }
    edit, errors = validate(RunEdit, values)
    if edit is None:
        return await _run_page(request, run_id, form=typed, version=expected, errors=errors)
    try:
        run = await run_in_threadpool(
            db_history.update_run_with_history,
            run_id,
            edit.given(*EDITABLE_FIELDS),
            **edit.note(),
            expected_version=expected,
        )
    except InvalidUpdate as error:
        return await _run_page(request, run_id, form=typed, version=expected, errors=error.errors)
    except VersionConflict as conflict:
        return await _run_page(request, run_id, form=typed, version=expected, conflict=conflict)
    notice = "saved" if run.version != expected else "unchanged"
    return _back_to(run_id, notice)


async def delete_run(request: Request) -> Response:
    run_id = _run_id(request)
    fields = await read_form(request)
    expected = _version(fields.pop("version", ""))
    note, errors = validate(ChangeNote, {**fields, "changed_by": CHANGED_BY})
    if note is None:
        return await _run_page(request, run_id, delete_errors=errors)
    try:
        await run_in_threadpool(
            db_runs.delete_run, run_id, **note.note(), expected_version=expected
        )
    except VersionConflict as conflict:
        return await _run_page(request, run_id, delete_conflict=conflict)
    return _back_to(run_id, "deleted")


async def confirm_restore(request: Request) -> Response:
    run_id, version = _run_id(request), _version_number(request)
    return await _restore_page(request, run_id, version)


async def restore_version(request: Request) -> Response:
    run_id, version = _run_id(request), _version_number(request)
    fields = await read_form(request)
    expected = _version(fields.pop("version", ""))
    note, errors = validate(ChangeNote, {**fields, "changed_by": CHANGED_BY})
    if note is None:
        return await _restore_page(request, run_id, version, errors=errors, status=422)
    try:
        await run_in_threadpool(
            db_history.restore_run_version,
            run_id,
            version,
            **note.note(),
            expected_version=expected,
        )
    except VersionConflict as conflict:
        return await _restore_page(request, run_id, version, conflict=conflict, status=409)
    return _back_to(run_id, "restored")


async def _run_page(
    request: Request,
    run_id: str,
    *,
    history_cursor: str | None = None,
    units: str | None = None,
    form: Mapping[str, str] | None = None,
    version: int | None = None,
    errors: Mapping[str, str] | None = None,
    conflict: VersionConflict | None = None,
    delete_errors: Mapping[str, str] | None = None,
    delete_conflict: VersionConflict | None = None,
    notice: str | None = None,
) -> Response:
    """A run's page; after a refused edit, with the user's `form` input and what was wrong."""
    settings: Settings = request.app.state.settings
    run, history, shoes = await asyncio.gather(
        run_in_threadpool(db_runs.get_run_detail_by_id, run_id, include_deleted=True),
        run_in_threadpool(
            db_history.get_run_history_page, run_id, limit=HISTORY_PAGE_SIZE, cursor=history_cursor
        ),
        run_in_threadpool(get_shoes),
    )
    if run is None:
        raise RunNotFound(run_id)
    meanwhile: dict[str, Any] | None = None
    if conflict is not None and version is not None and form is not None:
        meanwhile = await run_in_threadpool(_changes_meanwhile, run_id, version, run)
        meanwhile["yours"] = _yours(form, meanwhile["base"], settings.timezone)
        now = _form_values(run, settings.timezone)
        form = {
            name: meanwhile["yours"].get(name, now.get(name, value)) for name, value in form.items()
        }
    status = 200
    if errors or delete_errors:
        status = 422
    if conflict or delete_conflict:
        status = 409
    context = {
        "title": run.name or f"Run {run.id}",
        "run": run,
        "units": units or settings.units,
        "history": history,
        "shoes": shoes,
        "run_types": RUN_TYPES,
        "form": dict(form) if form is not None else _form_values(run, settings.timezone),
        # After a conflict the form is at the current version: saving again is deliberate.
        "version": run.version if form is None or conflict else version,
        "errors": errors or {},
        "meanwhile": meanwhile,
        "delete_errors": delete_errors or {},
        "delete_conflict": delete_conflict,
        "notice": notice,
    }
    return render(request, "run.html", context, status=status)


def _changes_meanwhile(run_id: str, since: int, run: RunDetail) -> dict[str, Any]:
    """What the versions after `since` changed, net and one by one (newest first), and the
    version the form was made from (`base`)."""
    before = db_history.get_run_version(run_id, since)
    now = db_history.get_run_version(run_id, run.version)
    shown = min(run.version - since, CONFLICT_VERSIONS_SHOWN)
    versions: RunHistory = db_history.get_run_history_page(run_id, limit=max(shown, 1))
    return {
        "since": since,
        "base": before,
        "changes": now.changes_since(before) if before and now else {},
        "versions": [entry for entry in versions.versions if entry.version_number > since],
    }


def _yours(typed: Mapping[str, str], base: RunVersion | None, zone: str) -> dict[str, str]:
    """The fields the user changed in a form made from `base`. After a conflict the form
    keeps these and shows every other field as the run now is, so that saving again writes
    the user's changes and undoes no one else's."""
    shown = _form_values(base, zone) if base is not None else {}
    return {name: value for name, value in typed.items() if value != shown.get(name)}


async def _restore_page(
    request: Request,
    run_id: str,
    version: int,
    *,
    errors: Mapping[str, str] | None = None,
    conflict: VersionConflict | None = None,
    status: int = 200,
) -> Response:
    settings: Settings = request.app.state.settings
    run = await run_in_threadpool(db_runs.get_run_detail_by_id, run_id, include_deleted=True)
    if run is None:
        raise RunNotFound(run_id)
    target, current = await asyncio.gather(
        run_in_threadpool(db_history.get_run_version, run_id, version),
        run_in_threadpool(db_history.get_run_version, run_id, run.version),
    )
    if target is None:
        raise VersionNotFound(run_id, version)
    context = {
        "title": f"Restore version {version}",
        "item": run,
        "noun": "run",
        "label": run.name or run.id,
        "back": f"/app/runs/{quote(run_id, safe='')}",
        "target": target,
        "changes": target.changes_since(current),
        "units": settings.units,
        "errors": errors or {},
        "conflict": conflict,
    }
    return render(request, "restore.html", context, status=status)


def _form_values(run: RunDetail | RunVersion, zone: str) -> dict[str, str]:
    """The edit form's fields as the run (or a version of it) has them, in the formats a
    person types; `change_reason` is always blank."""
    return {
        "distance": repr(run.distance),
        "duration": _duration_input(run.duration),
        "avg_heart_rate": "" if run.avg_heart_rate is None else _plain(run.avg_heart_rate),
        "type": run.type,
        "shoe_id": run.shoe_id or "",
        "datetime_utc": local_input(run.datetime_utc, zone),
        "name": run.name or "",
        "notes": run.notes or "",
    }


def _duration_input(seconds: float) -> str:
    # h:mm:ss when whole seconds; otherwise the exact number, so that saving the form
    # unchanged changes nothing.
    if seconds != int(seconds):
        return repr(seconds)
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _plain(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def _run_id(request: Request) -> str:
    run_id: str = PATH_PARAMETERS["run_id"].parse(request.path_params["run_id"])
    return run_id


def _version_number(request: Request) -> int:
    version: int = PATH_PARAMETERS["version"].parse(request.path_params["version"])
    return version


def _version(text: str) -> int:
    """The version a form was made from (its hidden `version`), as If-Match carries it."""
    if not text.isdigit() or len(text) > 10:
        raise PageRefused(400, "This form has no version to check against; reload the page.")
    return int(text)


def _back_to(run_id: str, notice: str) -> Response:
    return RedirectResponse(f"/app/runs/{quote(run_id, safe='')}?notice={notice}", status_code=303)


routes = [
    Route("/runs", list_runs, methods=["GET"]),
    Route("/runs/{run_id}", show_run, methods=["GET"]),
    Route("/runs/{run_id}", edit_run, methods=["POST"]),
    Route("/runs/{run_id}/delete", delete_run, methods=["POST"]),
    Route("/runs/{run_id}/versions/{version}/restore", confirm_restore, methods=["GET"]),
    Route("/runs/{run_id}/versions/{version}/restore", restore_version, methods=["POST"]),
]
