"""What the lifts routes take: the list query, an edit and the statistics' queries (the
change notes and history queries are the runs routes' own, fitness.shapes.runs)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from fitness.lift_models import LiftExercise
from fitness.rules import MAX_LIFT_EXERCISES, Day, LiftText, LiftTitle, StartTimeText
from fitness.shapes import Query
from fitness.shapes.runs import DEFAULT_PAGE_SIZE, ChangeNote, IncludeDeleted, PageSize
from fitness.stats_models import WeekStart


class LiftListQuery(IncludeDeleted):
    limit: PageSize = DEFAULT_PAGE_SIZE
    """Lifts per page."""
    cursor: str | None = None
    """`next_cursor` of the previous page (opaque)."""


class LiftEdit(ChangeNote):
    """Any of a lift's editable fields, and optionally who changed it and why."""

    protected = ("id", "source")

    datetime_utc: StartTimeText = None  # type: ignore[assignment]
    """When the lift started."""
    end_utc: StartTimeText | None = None
    """When it ended; null for not known."""
    title: LiftTitle | None = None
    description: LiftText | None = None
    exercises: Annotated[list[LiftExercise], Field(max_length=MAX_LIFT_EXERCISES)] = None  # type: ignore[assignment]
    """The whole workout: every exercise with its sets (kg, metres, seconds), replacing
    what there was."""


class OneRepMaxQuery(Query):
    start: Day | None = None
    """First local day counted (YYYY-MM-DD); default: every lift."""
    end: Day | None = None
    """Last local day counted."""
    tz: str | None = None
    """IANA time zone of the days (default FITNESS_TIMEZONE)."""


class LiftStatsQuery(OneRepMaxQuery):
    week_start: WeekStart | None = None
    """First day of a week: `monday` or `sunday` (default FITNESS_WEEK_START)."""
