"""What the rides and bikes routes take: the list's filters, edits, a bike's retirement."""

from __future__ import annotations

from datetime import date

from pydantic import ValidationInfo, field_validator

from fitness.ride_models import RIDE_PROTECTED_FIELDS
from fitness.rules import (
    Day,
    Duration,
    HeartRate,
    Identifier,
    Kilojoules,
    Power,
    RideDistance,
    RideSource,
    RideType,
    RunName,
    RunNotes,
    StartTimeText,
)
from fitness.shapes import Body, Query
from fitness.shapes.runs import DEFAULT_PAGE_SIZE, ChangeNote, IncludeDeleted, PageSize


class RideListQuery(IncludeDeleted):
    start: Day | None = None
    """First day to include (YYYY-MM-DD), in `tz`."""
    end: Day | None = None
    """Last day to include (YYYY-MM-DD), in `tz`; not before start."""
    limit: PageSize = DEFAULT_PAGE_SIZE
    """Rides per page."""
    cursor: str | None = None
    """`next_cursor` of the previous page (opaque)."""
    bike_id: Identifier | None = None
    """Only rides on this bike."""
    type: RideType | None = None
    source: RideSource | None = None
    tz: str | None = None
    """The IANA zone of `start` and `end` (default UTC)."""

    @field_validator("end")
    @classmethod
    def _not_before_start(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if end is not None and start is not None and end < start:
            raise ValueError("must not be before start")
        return end


class RideEdit(ChangeNote):
    """Any of a ride's editable fields, and optionally who changed it and why."""

    protected = RIDE_PROTECTED_FIELDS

    distance: RideDistance = None  # type: ignore[assignment]
    duration: Duration = None  # type: ignore[assignment]
    """Moving time in seconds."""
    avg_heart_rate: HeartRate | None = None
    avg_power: Power | None = None
    """Average power in watts; null for none."""
    kilojoules: Kilojoules | None = None
    """Work in kJ; null for none."""
    type: RideType = None  # type: ignore[assignment]
    indoor: bool = None  # type: ignore[assignment]
    """Ridden on a trainer."""
    bike_id: Identifier | None = None
    """An existing bike's id, or null for none."""
    datetime_utc: StartTimeText = None  # type: ignore[assignment]
    name: RunName | None = None
    """The ride's title; null for none."""
    notes: RunNotes | None = None
    """What you want to remember about it; null for none."""


class BikeListQuery(Query):
    retired: bool | None = None
    """true: only retired bikes; false: only bikes in use."""


class BikeRetirement(Body):
    """Retire a bike as of a day, or put it back in use with null."""

    retired_at: Day | None
