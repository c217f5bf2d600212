"""What the shoes routes and pages take: the list's filter, a new shoe, a shoe's changes, its
mileage limits, and both at once (the API's PATCH)."""

from __future__ import annotations

from fitness.rules import Day, ShoeName, ShoeNotes, StartingMileage, ThresholdMileage
from fitness.shapes import Body, Query


class ShoeListQuery(Query):
    retired: bool | None = None
    """true: only retired shoes; false: only active ones."""


class ShoeCreate(Body):
    """A new shoe: its name (the id is made from it) and notes."""

    name: ShoeName
    """Must contain a letter or digit (the id is made from it)."""
    notes: ShoeNotes | None = None


class ShoeUpdate(Body):
    """Any of: retire (a date) or unretire (null), and the notes."""

    retired_at: Day | None = None
    """Retire as of this date; null to unretire."""
    retirement_notes: ShoeNotes | None = None
    notes: ShoeNotes | None = None


class ShoeLimits(Body):
    """Any of a shoe's starting, warning and maximum mileage, in miles."""

    starting_mileage: StartingMileage = None  # type: ignore[assignment]
    """What it had run before the log."""
    warning_mileage: ThresholdMileage = None  # type: ignore[assignment]
    """When to start looking for its replacement (not above the maximum)."""
    maximum_mileage: ThresholdMileage = None  # type: ignore[assignment]
    """When it is worn out."""


class ShoeEdit(ShoeUpdate, ShoeLimits):
    """Any of: retire (a date) or unretire (null), the notes, and the starting, warning and
    maximum mileage (miles)."""
