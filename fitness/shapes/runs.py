"""What the runs routes and pages take: list and history queries, edits, change notes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Final

from pydantic import Field, ValidationInfo, field_validator

from fitness.models import PROTECTED_FIELDS, RunType
from fitness.rules import (
    ChangedBy,
    ChangeReason,
    Day,
    Distance,
    DistanceInUnits,
    DistanceUnit,
    Duration,
    HeartRate,
    Identifier,
    RunName,
    RunNotes,
    StartTimeText,
)
from fitness.shapes import Body, Query

DEFAULT_PAGE_SIZE: Final = 100
MAX_PAGE_SIZE: Final = 1000
DEFAULT_CHANGED_BY: Final = "api"

PageSize = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)]


class IncludeDeleted(Query):
    include_deleted: bool = False
    """Include soft-deleted runs."""


class RunListQuery(IncludeDeleted):
    include_duplicates: bool = False
    """Include runs marked duplicates of another run."""
    start: Day | None = None
    """First UTC day to include (YYYY-MM-DD)."""
    end: Day | None = None
    """Last UTC day to include (YYYY-MM-DD); not before start."""
    limit: PageSize = DEFAULT_PAGE_SIZE
    """Runs per page."""
    cursor: str | None = None
    """`next_cursor` of the previous page (opaque)."""
    units: DistanceUnit = "mi"
    """`km` for distances in kilometres; `mi` (the default, whatever FITNESS_UNITS)."""

    @field_validator("end")
    @classmethod
    def _not_before_start(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if end is not None and start is not None and end < start:
            raise ValueError("must not be before start")
        return end


class HistoryQuery(Query):
    limit: PageSize = DEFAULT_PAGE_SIZE
    """Versions per page."""
    cursor: str | None = None
    """`next_cursor` of the previous page (opaque)."""


class ChangeNote(Body):
    """Who made a change and why; both optional."""

    changed_by: ChangedBy = DEFAULT_CHANGED_BY
    change_reason: ChangeReason | None = None

    def note(self) -> dict[str, str | None]:
        """`changed_by` and `change_reason`, as the library's versioning functions take them."""
        return {"changed_by": self.changed_by, "change_reason": self.change_reason}


class RunEdit(ChangeNote):
    """Any of a run's editable fields, and optionally who changed it and why."""

    protected = PROTECTED_FIELDS

    distance: Distance = None  # type: ignore[assignment]
    duration: Duration = None  # type: ignore[assignment]
    avg_heart_rate: HeartRate | None = None
    type: RunType = None  # type: ignore[assignment]
    shoe_id: Identifier | None = None
    """An existing shoe's id, or null for none."""
    datetime_utc: StartTimeText = None  # type: ignore[assignment]
    name: RunName | None = None
    """The run's title; null for none."""
    notes: RunNotes | None = None
    """What you want to remember about it; null for none."""


class ManualRun(Body):
    """A run entered by hand: when it started (with its offset), how far and how long, and
    optionally its heart rate, type, shoe, name and notes."""

    datetime_utc: StartTimeText
    """When it started, with its offset (`2025-05-06T07:30:00+02:00`); stored in UTC."""
    distance: DistanceInUnits
    """In `units`: miles by default."""
    units: DistanceUnit = "mi"
    """The unit of `distance`: `mi` (default) or `km` (converted to miles exactly)."""
    duration: Duration
    avg_heart_rate: HeartRate | None = None
    type: RunType = "Outdoor Run"
    shoe_id: Identifier | None = None
    """An existing shoe's id."""
    name: RunName | None = None
    notes: RunNotes | None = None
    changed_by: ChangedBy = DEFAULT_CHANGED_BY
    """Who entered it (recorded on its original version)."""


class DuplicatesQuery(Query):
    limit: PageSize = DEFAULT_PAGE_SIZE
    """Pairs per page."""
    cursor: str | None = None
    """`next_cursor` of the previous page (opaque)."""


class DismissDuplicates(Body):
    """Two runs that are not one real run."""

    run_ids: Annotated[list[Identifier], Field(min_length=2, max_length=2)]
    """The two runs' ids, in any order."""
