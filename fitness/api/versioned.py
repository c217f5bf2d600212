"""The routes every versioned kind shares: edit, delete, history, one version, restore.

`declare_versioned_operations(api, kind)` declares them on a kind's `Operations` (runs,
rides), so `/runs` and `/rides` answer alike from one implementation: every change answers
with the row as it now is and its ETag (`"<version>"`) and honours If-Match; the library
does the versioning (fitness.db._versioned).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from fitness.api.operations import Endpoint, Operations
from fitness.shapes import Body
from fitness.shapes.runs import ChangeNote, HistoryQuery


@dataclass(frozen=True, slots=True)
class VersionedKind:
    """What the shared routes need of a kind: its names, shapes and library functions."""

    noun: str
    """"run": in paths (`/runs/{run_id}`), operation ids (`editRun`) and summaries."""
    gear: str
    """What its gear is called in the edit's description: "shoe", "bike"."""
    detail: type
    history: type
    entry: type
    edit_body: type[Body]
    editable: tuple[str, ...]
    update: Callable[..., Any]
    """`update(id, updates, expected_version=, changed_by=, change_reason=)`"""
    delete: Callable[..., Any]
    """`delete(id, expected_version=, changed_by=, change_reason=)`"""
    history_page: Callable[..., Any]
    """`history_page(id, limit=, cursor=)`"""
    version_entry: Callable[..., Any]
    """`version_entry(id, version)`"""
    restore: Callable[..., Any]
    """`restore(id, version, expected_version=, changed_by=, change_reason=)`"""

    @property
    def id_name(self) -> str:
        return f"{self.noun}_id"

    @property
    def item_path(self) -> str:
        return f"/{self.noun}s/{{{self.id_name}}}"


def change_options(detail: type) -> dict[str, Any]:
    """The options of every operation that writes a new version of a row: If-Match honoured,
    the row as it now is (`detail`) and its ETag answered, and the errors a change meets."""
    return {"if_match": True, "response": detail, "etag": True, "errors": (400, 404, 412, 413, 422)}


def declare_versioned_operations(api: Operations, kind: VersionedKind) -> None:
    """Declare PATCH and DELETE of `/<noun>s/{<noun>_id}`, its `/history`, one version and
    `/restore/{version}` on `api`, in that order."""
    noun, title = kind.noun, kind.noun.capitalize()
    change = change_options(kind.detail)

    async def edit(body: Body, if_match: int | None, **path: str) -> object:
        return await run_in_threadpool(
            kind.update,
            path[kind.id_name],
            body.given(*kind.editable),
            expected_version=if_match,
            **body.note(),  # type: ignore[attr-defined]
        )

    async def delete(body: ChangeNote, if_match: int | None, **path: str) -> object:
        return await run_in_threadpool(
            kind.delete, path[kind.id_name], expected_version=if_match, **body.note()
        )

    async def history(query: HistoryQuery, **path: str) -> object:
        return await run_in_threadpool(kind.history_page, path[kind.id_name], **query.model_dump())

    async def version(version: int, **path: str) -> object:
        return await run_in_threadpool(kind.version_entry, path[kind.id_name], version)

    async def restore(body: ChangeNote, if_match: int | None, version: int, **path: str) -> object:
        return await run_in_threadpool(
            kind.restore, path[kind.id_name], version, expected_version=if_match, **body.note()
        )

    _named(
        edit,
        f"edit_{noun}",
        f"""Edit a {noun} (a new version; none if nothing changes)

    Send any of the editable fields, plus `changed_by` (default `api`) and `change_reason`.
    `id` and `source` are protected (400); unknown fields are a 400 too; invalid values
    (negative distance, unknown type or {kind.gear}, a date-time without offset) a 422
    listing each field.""",
    )
    _named(
        delete,
        f"delete_{noun}",
        f"""Soft-delete a {noun} (a `deletion` version)

    Answers with the deleted {noun}. Restoring an earlier version undoes it.""",
    )
    _named(
        history,
        f"get_{noun}_history",
        f"""Every version of a {noun}, newest first, a page at a time

    Versions of a deleted {noun} are listed too. Each has the `changes` it made.""",
    )
    _named(version, f"get_{noun}_version", f"One version of a {noun}, with what it changed")
    _named(
        restore,
        f"restore_{noun}_version",
        f"""Make a version's data current again (undeletes the {noun})

    Appends a `restore` version whose data equals that version's; history is never
    rewritten.""",
    )

    path = kind.item_path
    api.patch(path, body=kind.edit_body, operation_id=f"edit{title}", **change)(edit)
    api.delete(path, body=ChangeNote, body_required=False, **change)(delete)
    api.get(
        f"{path}/history",
        query=HistoryQuery,
        response=kind.history,
        errors=(400, 404, 422),
        operation_id=f"get{title}History",
        tag="history",
    )(history)
    api.get(
        f"{path}/history/{{version}}",
        response=kind.entry,
        errors=(404, 422),
        operation_id=f"get{title}Version",
        tag="history",
    )(version)
    api.post(
        f"{path}/restore/{{version}}",
        body=ChangeNote,
        body_required=False,
        operation_id=f"restore{title}Version",
        tag="history",
        **change,
    )(restore)


def _named(endpoint: Endpoint, name: str, doc: str) -> None:
    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
