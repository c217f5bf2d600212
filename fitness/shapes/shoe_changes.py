"""What the shoe rename and merge routes and pages take."""

from __future__ import annotations

from fitness.rules import Identifier, ShoeName
from fitness.shapes import Body, Query
from fitness.shapes.runs import ChangeNote


class ShoeRename(Body):
    """A shoe's new name (its id stays; the old name stays one of its `former_names`)."""

    name: ShoeName


class ShoeMergeNote(ChangeNote):
    """Who merged (or unmerged) the shoes and why: recorded on each run version it writes."""


class ShoeMergeChoice(Query):
    """The page's merge form: the shoe to merge into (then confirmed)."""

    kept_shoe_id: Identifier


class ShoeMergeForm(ChangeNote):
    """The confirmed merge: the shoe to keep, and why (recorded on each run version)."""

    kept_shoe_id: Identifier
