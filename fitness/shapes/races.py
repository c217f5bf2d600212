"""What the race routes and pages take: a run's race, with who set it and why."""

from __future__ import annotations

from fitness.models import Race
from fitness.rules import (
    DistanceUnit,
    RaceDistanceInUnits,
    RaceName,
    RacePlace,
    RaceTime,
    distance_in_miles,
)
from fitness.shapes.runs import ChangeNote


class RaceSet(ChangeNote):
    """The race a run was: the event, its official distance (in `units`) and chip time, and
    optionally the overall placing and how many finished."""

    name: RaceName
    """The event, e.g. `Berlin Marathon 2025`."""
    distance: RaceDistanceInUnits
    """The official distance, in `units` (miles by default): a marathon is 26.2188 mi or
    42.195 km."""
    units: DistanceUnit = "mi"
    """The unit of `distance`: `mi` (default) or `km` (converted to miles exactly)."""
    time: RaceTime
    """The official (chip) time, in seconds."""
    place: RacePlace | None = None
    """Overall placing (1 is the winner)."""
    field_size: RacePlace | None = None
    """How many finished (not fewer than `place`)."""

    def race(self) -> Race:
        """The race as the library takes it: the distance in miles."""
        return Race(
            name=self.name,
            distance=distance_in_miles(self.distance, self.units),
            time=self.time,
            place=self.place,
            field_size=self.field_size,
        )
