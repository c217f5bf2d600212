"""What the pages take beyond the API's shapes: the units to show, the runs and rides lists'
filters, a run's (ride's, lift's) page's history position."""

from __future__ import annotations

from fitness.rules import Identifier, RunSource, RunType
from fitness.shapes import Query
from fitness.shapes.rides import RideListQuery
from fitness.shapes.runs import RunListQuery
from fitness.stats_models import Units


class UnitsQuery(Query):
    units: Units | None = None
    """`mi` or `km` (default FITNESS_UNITS)."""


class RunsPageQuery(RunListQuery):
    """The runs list: the API's query, its filters, and the units to show."""

    shoe_id: Identifier | None = None
    """Only the runs in this shoe."""
    type: RunType | None = None
    source: RunSource | None = None
    units: Units | None = None


class RunPageQuery(Query):
    """A run's page: where its history starts, and the units to show."""

    history: str | None = None
    """`next_cursor` of the history shown before (opaque)."""
    units: Units | None = None


class RidesPageQuery(RideListQuery):
    """The rides list: the API's query and filters (days in the runner's zone), and the
    units to show."""

    units: Units | None = None
