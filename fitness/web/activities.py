"""The pages every versioned kind of activity shares (runs, rides, lifts): one activity with
its history, its edit form, deleting it, and restoring a version after a confirmation; and
the filtered list of runs or rides.

An `Activity` names the library functions of one kind (fitness.db.runs_history,
fitness.db.rides, fitness.db.lifts_history) and its page template; `activity_routes` makes
the pages from it, so every kind is served by this one module rather than a copy each. An
`ActivityList` does the same for a list page (`list_route`, template `activities.html`).

Every write carries the version the form was made from, as the API's If-Match does, so an
edit made meanwhile is never overwritten unseen: on a `VersionConflict` the page shows what
changed meanwhile beside the user's own input, which is kept, and a second save applies it
over the new version.
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
from fitness.errors import InvalidUpdate, VersionConflict, VersionNotFound
from fitness.shapes import Query
from fitness.shapes.pages import RunPageQuery
from fitness.shapes.runs import ChangeNote
from fitness.web.forms import (
    PageRefused,
    query_values,
    read_form,
    seconds_text,
    validate,
    zoned_text,
)
from fitness.web.rendering import render

CHANGED_BY: Final = "web"
# The times a form takes as the runner's local time (a datetime-local input).
ZONED_FIELDS: Final = frozenset({"datetime_utc", "end_utc"})
HISTORY_PAGE_SIZE: Final = 20
# The versions listed beside a conflict (the net change is always shown whole).
CONFLICT_VERSIONS_SHOWN: Final = 10


@dataclass(frozen=True, slots=True)
class EditForm:
    """A kind's edit form: the `fields` it edits (in the form as a person types them, a
    `duration` as h:mm:ss and the `ZONED_FIELDS` in the runner's zone), the request `shape`
    that validates them as the API does, the library's `update(id, updates, changed_by,
    change_reason, expected_version)`, and `values(item or version, zone)`: the fields as
    the form shows them (text that, saved unchanged, changes nothing)."""

    fields: tuple[str, ...]
    shape: type[ChangeNote]
    update: Callable[..., Any]
    values: Callable[[Any, str], dict[str, str]]


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
    edit: EditForm | None = None
    extra: Callable[[], Mapping[str, Any]] = dict
    """More for the template (the library's answers only: the shoes or bikes to choose)."""

    @property
    def noun(self) -> str:
        return self.kind.noun

    def path(self, item_id: str) -> str:
        return f"/app/{self.plural}/{quote(item_id, safe='')}"


@dataclass(frozen=True, slots=True)
class ActivityList:
    """A kind's list page at `/app/<plural>`: its filters (`query`, a page shape of
    fitness.shapes.pages), the library's page of what they match (`page(**filters, tz=)`,
    newest first, with `next_cursor`), and what the filter form offers: the gear to choose
    from (`gear_field`, `gear_label`, `gears()`), the types and the sources."""

    plural: str
    title: str
    query: type[Query]
    page: Callable[..., Any]
    gear_field: str
    gear_label: str
    gears: Callable[[], Any]
    types: tuple[str, ...]
    sources: tuple[str, ...]
    duplicates: bool = False
    """Whether the form offers to show duplicates too (runs)."""


def list_route(listing: ActivityList) -> Route:
    """GET `/<plural>`: the filter form and a page of what it matches; bad filters are said
    beside their fields (422) and list nothing."""

    async def list_page(request: Request) -> Response:
        settings: Settings = request.app.state.settings
        values = query_values(request)
        query, errors = validate(listing.query, values)
        gears = await run_in_threadpool(listing.gears)
        page = None
        if query is not None:
            filters = query.model_dump(exclude={"units", "tz"})
            page = await run_in_threadpool(listing.page, **filters, tz=settings.timezone)
        context = {
            "title": listing.title,
            "listing": listing,
            "units": (query.units if query else None) or settings.units,  # type: ignore[attr-defined]
            "filters": {name: value for name, value in values.items() if name != "cursor"},
            "request_cursor": "cursor" in values,
            "errors": errors,
            "page": page,
            "items": getattr(page, listing.plural) if page is not None else (),
            "gears": gears,
        }
        return render(request, "activities.html", context, status=422 if errors else 200)

    return Route(f"/{listing.plural}", list_page, methods=["GET"])


def activity_routes(activity: Activity) -> list[Route]:
    """The pages of one activity at `/<plural>/{id}`: GET shows it; POST `/delete`
    soft-deletes it; GET `/versions/{version}/restore` asks to confirm and POST restores."""
    notices = {
        "saved": "Saved.",
        "unchanged": "Nothing changed, so no new version was written.",
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

    async def edit(request: Request) -> Response:
        settings: Settings = request.app.state.settings
        form = activity.edit
        assert form is not None
        item_id = _item_id(activity, request)
        fields = await read_form(request)
        expected = _version(fields.pop("version", ""))
        typed = {name: fields.pop(name, "") for name in (*form.fields, "change_reason")}
        values = {**typed, **fields, "changed_by": CHANGED_BY}
        if "duration" in typed:
            values["duration"] = seconds_text(typed["duration"])
        for name in ZONED_FIELDS & typed.keys():
            values[name] = zoned_text(typed[name], settings.timezone)
        change, errors = validate(form.shape, values)
        again = {"form": typed, "version": expected}
        if change is None:
            return await _activity_page(request, activity, item_id, **again, errors=errors)
        try:
            item = await run_in_threadpool(
                form.update,
                item_id,
                change.given(*form.fields),
                **change.note(),
                expected_version=expected,
            )
        except InvalidUpdate as error:
            return await _activity_page(request, activity, item_id, **again, errors=error.errors)
        except VersionConflict as conflict:
            return await _activity_page(request, activity, item_id, **again, conflict=conflict)
        return _back_to(activity, item_id, "saved" if item.version != expected else "unchanged")

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
    editing = [Route(one, edit, methods=["POST"])] if activity.edit else []
    return [
        Route(one, show, methods=["GET"]),
        *editing,
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
    form: Mapping[str, str] | None = None,
    version: int | None = None,
    errors: Mapping[str, str] | None = None,
    conflict: VersionConflict | None = None,
    delete_errors: Mapping[str, str] | None = None,
    delete_conflict: VersionConflict | None = None,
    notice: str | None = None,
) -> Response:
    """An activity's page; after a refused edit, with the user's `form` input (made from
    `version`) and what was wrong, or what changed meanwhile."""
    settings: Settings = request.app.state.settings
    item, history, extra = await asyncio.gather(
        run_in_threadpool(activity.get, item_id),
        run_in_threadpool(
            activity.history, item_id, limit=HISTORY_PAGE_SIZE, cursor=history_cursor
        ),
        run_in_threadpool(activity.extra),
    )
    if item is None:
        raise activity.kind.not_found(item_id)
    edit = activity.edit
    meanwhile: dict[str, Any] | None = None
    if edit is not None and conflict is not None and version is not None and form is not None:
        meanwhile = await run_in_threadpool(_changes_meanwhile, activity, item_id, version, item)
        meanwhile["yours"] = _yours(edit, form, meanwhile["base"], settings.timezone)
        now = edit.values(item, settings.timezone)
        form = {
            name: meanwhile["yours"].get(name, now.get(name, value)) for name, value in form.items()
        }
    status = 200
    if errors or delete_errors:
        status = 422
    if conflict or delete_conflict:
        status = 409
    if form is None and edit is not None:
        form = edit.values(item, settings.timezone)
    context = {
        "title": activity.label(item),
        "item": item,
        activity.noun: item,
        "noun": activity.noun,
        "back": activity.path(item_id),
        "units": units or settings.units,
        "history": history,
        "form": dict(form or {}),
        # After a conflict the form is at the current version: saving again is deliberate.
        "version": item.version if version is None or conflict else version,
        "errors": errors or {},
        "meanwhile": meanwhile,
        "delete_errors": delete_errors or {},
        "delete_conflict": delete_conflict,
        "notice": notice,
        **extra,
    }
    return render(request, activity.template, context, status=status)


def _changes_meanwhile(activity: Activity, item_id: str, since: int, item: Any) -> dict[str, Any]:
    """What the versions after `since` changed, net and one by one (newest first), and the
    version the form was made from (`base`, None if there is no such version)."""
    try:
        before = activity.version(item_id, since)
    except VersionNotFound:
        before = None
    now = activity.version(item_id, item.version)
    shown = min(item.version - since, CONFLICT_VERSIONS_SHOWN)
    versions = activity.history(item_id, limit=max(shown, 1))
    return {
        "since": since,
        "base": before,
        "changes": history_entry(activity.kind, now, before).changes if before else {},
        "versions": [entry for entry in versions.versions if entry.version_number > since],
    }


def _yours(edit: EditForm, typed: Mapping[str, str], base: Any, zone: str) -> dict[str, str]:
    """The fields the user changed in a form made from `base`. After a conflict the form
    keeps these and shows every other field as the activity now is, so that saving again
    writes the user's changes and undoes no one else's."""
    shown = edit.values(base, zone) if base is not None else {}
    return {name: value for name, value in typed.items() if value != shown.get(name)}


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


def duration_input(seconds: float) -> str:
    """A duration as an edit form shows it: h:mm:ss when whole seconds; otherwise the exact
    number, so that saving the form unchanged changes nothing."""
    if seconds != int(seconds):
        return repr(seconds)
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def plain(value: float) -> str:
    """A number as an edit form shows it: `150` for a whole number, else exact."""
    return str(int(value)) if value == int(value) else repr(value)
