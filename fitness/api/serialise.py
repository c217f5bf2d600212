"""Turning the library's dataclasses into the JSON the API answers with.

Field names are the dataclasses' own (so a script and an API client see the same names);
timestamps are ISO 8601 with their UTC offset, dates `YYYY-MM-DD`. The exact shapes are
described in fitness/api/openapi.py.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime

from fitness.models import RunDetail, RunVersion, Shoe

JsonValue = str | int | float | bool | None | dict[str, "JsonValue"] | list["JsonValue"]

# Internal row ids say nothing to a client.
_HIDDEN_VERSION_FIELDS = frozenset({"history_id"})


def run_json(run: RunDetail) -> dict[str, JsonValue]:
    """A run with its shoe's name and calendar state (the `RunDetail` schema)."""
    return {f.name: json_value(getattr(run, f.name)) for f in fields(run)}


def version_json(
    version: RunVersion, previous: RunVersion | None = None, *, with_changes: bool = False
) -> dict[str, JsonValue]:
    """One snapshot of a run; `with_changes` adds what differs from `previous`."""
    body = {
        f.name: json_value(getattr(version, f.name))
        for f in fields(version)
        if f.name not in _HIDDEN_VERSION_FIELDS
    }
    if with_changes:
        body["changes"] = {
            name: {"from": json_value(change["from"]), "to": json_value(change["to"])}
            for name, change in version.changes_since(previous).items()
        }
    return body


def history_json(versions: list[RunVersion]) -> list[dict[str, JsonValue]]:
    """Versions newest first, each with its `changes` from the version before it."""
    older = [*versions[1:], None]
    return [
        version_json(version, previous, with_changes=True)
        for version, previous in zip(versions, older, strict=True)
    ]


def shoe_json(shoe: Shoe) -> dict[str, JsonValue]:
    """A shoe with its mileage and run count (the `Shoe` schema)."""
    return {f.name: json_value(getattr(shoe, f.name)) for f in fields(shoe)}


def json_value(value: object) -> JsonValue:
    """`value` as JSON: datetimes and dates become ISO 8601 strings."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value  # type: ignore[return-value]
