"""Runs entered by hand: source `Manual`, an `original` version like any import, and an id
made from the start (`manual_<UTC start>`), so entering the same run twice is refused
instead of making a second one."""

from __future__ import annotations

from datetime import datetime

from fitness.db.runs import create_run
from fitness.errors import InvalidUpdate
from fitness.ids import manual_run_id
from fitness.models import Run, RunDetail, RunType, validate_run_fields
from fitness.rules import distance_in_miles

SOURCE = "Manual"


def add_manual_run(
    datetime_utc: datetime,
    distance: float,
    duration: float,
    *,
    units: str = "mi",
    avg_heart_rate: float | None = None,
    type: RunType = "Outdoor Run",
    shoe_id: str | None = None,
    name: str | None = None,
    notes: str | None = None,
    changed_by: str = "manual",
) -> RunDetail:
    """Store a run entered by hand and return it as it now is (version 1).

    `datetime_utc` is the start with its offset (any zone: stored in UTC), `distance` in
    `units` (`mi`, the default, or `km`, converted exactly), `duration` in seconds,
    `avg_heart_rate` in bpm; `shoe_id` names an existing shoe. Its id is
    `manual_<start, UTC>` (`fitness.ids.manual_run_id`). `InvalidUpdate` names each value
    out of bounds; `RunExists` when a run already has that id (the same start, to the
    second).

    >>> add_manual_run(datetime(2025, 5, 6, 7, 30, tzinfo=ZoneInfo("Europe/Berlin")),
    ...                10, 3000, units="km").id   # doctest: +SKIP
    'manual_20250506T053000Z'
    """
    values: dict[str, object] = {
        "datetime_utc": datetime_utc,
        "distance": distance,
        "duration": duration,
        "avg_heart_rate": avg_heart_rate,
        "type": type,
        "shoe_id": shoe_id,
        "name": name,
        "notes": notes,
    }
    problems = {}
    try:
        values["distance"] = distance_in_miles(distance, units)
    except ValueError as error:
        problems["distance"] = str(error)
    problems = {**validate_run_fields(values), **problems}
    if problems:
        raise InvalidUpdate(problems)
    run = Run(id=manual_run_id(datetime_utc), source=SOURCE, **values)  # type: ignore[arg-type]
    return create_run(run, changed_by=changed_by)
