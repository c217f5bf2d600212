"""The pages every versioned kind of activity other than runs shares: one activity with its
history, deleting it, and restoring a version after a confirmation (rides, lifts).

An `Activity` names the library functions of one kind (fitness.db.rides,
fitness.db.lifts_history) and its page template; `activity_routes` makes the pages from it,
so rides and lifts are served by this one module rather than a copy each. Like the runs
pages (fitness/web/runs.py), every write carries the version the page was made from, as the
API's If-Match does: a change made meanwhile is a `VersionConflict` shown on the page, and
nothing is written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fitness.api.parameters import PATH_PARAMETERS
from fitness.config import Settings
from fitness.db._versioned import Kind, history_entry
from fitness.errors import VersionConflict
from fitness.shapes.pages import RunPageQuery
from fitness.shapes.runs import ChangeNote
from fitness.web.forms import PageRefused, query_values, read_form, validate
from fitness.web.rendering import render

CHANGED_BY: Final = "web"
HISTORY_PAGE_SIZE: Final = 20


@dataclass(frozen=True, slots=True)
class Activity:
    """One kind of versioned activity as the pages show it.

    `get(id)` is the activity as it now is, deleted or not, or None; `history(id, limit=,
    cursor=)` a page of its versions newest first; `version(id, n)` one version with its
    `changes` (`VersionNotFound`); `delete(id, changed_by, change_reason, expected_version)`
    and `restore(id, n, changed_by, change_reason, expected_version)` the library's writes.
    """

    kind: Kind
    plural: str
    """The path under /app: `rides`."""
    id_parameter: str
    """The path parameter of fitness.api.parameters naming one: `ride_id`."""
    template: str
    get: Callable[[str], Any]
    history: Callable[..., Any]
    version: Callable[[str, int], Any]
    delete: Callable[..., Any]
    restore: Callable[..., Any]
    label: Callable[[Any], str]
    """What the page calls one (its name or title, else its kind and start)."""
    extra: Callable[[Any], Mapping[str, Any]] = lambda item: {}
    """More for the template, from the activity (the library's answers only)."""

    @property
    def noun(self) -> str:
        return self.kind.noun

    def path(self, item_id: str) -> str:
        return f"/app/{self.plural}/{quote(item_id, safe='')}"


def activity_routes(activity: Activity) -> list[Route]:
    """The pages of one activity at `/<plural>/{id}`: GET shows it; POST `/delete`
    soft-deletes it; GET `/versions/{version}/restore` asks to confirm and POST restores."""
    notices = {
        "deleted": f"Deleted. Restore any version below to bring the {activity.noun} back.",
        "restored": "Restored.",
    }

    async def show(request: Request) -> Response:
        item_id = _item_id(activity, request)
        query, errors = validate(RunPageQuery, query_values(request))
        return await _activity_page(
            request,
            activity,
            item_id,
            history_cursor=query.history if query else None,
            units=query.units if query else None,
            errors=errors,
            notice=notices.get(request.query_params.get("notice", "")),
        )

    async def delete(request: Request) -> Response:
        item_id = _item_id(activity, request)
        fields = await read_form(request)
        expected = _version(fields.pop("version", ""))
        note, errors = validate(ChangeNote, {**fields, "changed_by": CHANGED_BY})
        if note is None:
            return await _activity_page(request, activity, item_id, delete_errors=errors)
        try:
            await run_in_threadpool(
                activity.delete, item_id, **note.note(), expected_version=expected
            )
        except VersionConflict as conflict:
            return await _activity_page(request, activity, item_id, delete_conflict=conflict)
        return _back_to(activity, item_id, "deleted")

    async def confirm_restore(request: Request) -> Response:
        item_id, version = _item_id(activity, request), _version_number(request)
        return await _restore_page(request, activity, item_id, version)

    async def restore(request: Request) -> Response:
        item_id, version = _item_id(activity, request), _version_number(request)
        fields = await read_form(request)
        expected = _version(fields.pop("version", ""))
        note, errors = validate(ChangeNote, {**fields, "changed_by": CHANGED_BY})
        if note is None:
            return await _restore_page(request, activity, item_id, version, errors=errors)
        try:
            await run_in_threadpool(
                activity.restore, item_id, version, **note.note(), expected_version=expected
            )
        except VersionConflict as conflict:
            return await _restore_page(request, activity, item_id, version, conflict=conflict)
        return _back_to(activity, item_id, "restored")

    one = f"/{activity.plural}/{{{activity.id_parameter}}}"
    return [
        Route(one, show, methods=["GET"]),
        Route(f"{one}/delete", delete, methods=["POST"]),
        Route(f"{one}/versions/{{version}}/restore", confirm_restore, methods=["GET"]),
        Route(f"{one}/versions/{{version}}/restore", restore, methods=["POST"]),
    ]


async def _activity_page(
    request: Request,
    activity: Activity,
    item_id: str,
    *,
    history_cursor: str | None = None,
    units: str | None = None,
    errors: Mapping[str, str] | None = None,
    delete_errors: Mapping[str, str] | None = None,
    delete_conflict: VersionConflict | None = None,
    notice: str | None = None,
) -> Response:
    settings: Settings = request.app.state.settings
    item = await run_in_threadpool(activity.get, item_id)
    if item is None:
        raise activity.kind.not_found(item_id)
    history = await run_in_threadpool(
        activity.history, item_id, limit=HISTORY_PAGE_SIZE, cursor=history_cursor
    )
    status = 200
    if errors or delete_errors:
        status = 422
    if delete_conflict:
        status = 409
    context = {
        "title": activity.label(item),
        "item": item,
        "noun": activity.noun,
        "back": activity.path(item_id),
        "units": units or settings.units,
        "history": history,
        "errors": errors or {},
        "delete_errors": delete_errors or {},
        "delete_conflict": delete_conflict,
        "notice": notice,
        **activity.extra(item),
    }
    return render(request, activity.template, context, status=status)


async def _restore_page(
    request: Request,
    activity: Activity,
    item_id: str,
    version: int,
    *,
    errors: Mapping[str, str] | None = None,
    conflict: VersionConflict | None = None,
) -> Response:
    settings: Settings = request.app.state.settings
    item = await run_in_threadpool(activity.get, item_id)
    if item is None:
        raise activity.kind.not_found(item_id)
    target, current = await asyncio.gather(
        run_in_threadpool(activity.version, item_id, version),
        run_in_threadpool(activity.version, item_id, item.version),
    )
    context = {
        "title": f"Restore version {version}",
        "item": item,
        "noun": activity.noun,
        "label": activity.label(item),
        "back": activity.path(item_id),
        "target": target,
        # What the restore changes: the target's fields against the current version's.
        "changes": history_entry(activity.kind, target, current).changes,
        "units": settings.units,
        "errors": errors or {},
        "conflict": conflict,
    }
    status = 409 if conflict else 422 if errors else 200
    return render(request, "restore.html", context, status=status)


def _item_id(activity: Activity, request: Request) -> str:
    parameter = PATH_PARAMETERS[activity.id_parameter]
    item_id: str = parameter.parse(request.path_params[activity.id_parameter])
    return item_id


def _version_number(request: Request) -> int:
    version: int = PATH_PARAMETERS["version"].parse(request.path_params["version"])
    return version


def _version(text: str) -> int:
    """The version a form was made from (its hidden `version`), as If-Match carries it."""
    if not text.isdigit() or len(text) > 10:
        raise PageRefused(400, "This form has no version to check against; reload the page.")
    return int(text)


def _back_to(activity: Activity, item_id: str, notice: str) -> Response:
    return RedirectResponse(f"{activity.path(item_id)}?notice={notice}", status_code=303)
