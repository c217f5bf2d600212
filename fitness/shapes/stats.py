"""What the statistics routes take: the range, time zone, units, week start and moment of
a question (fitness.db.stats checks the rest: that the zone exists, that end is not before
start, that the range is at most a century)."""

from __future__ import annotations

from fitness.rules import AsOf, BeatsPerMinute, RollingWindow, StatsDay, ZoneName
from fitness.shapes import Query
from fitness.stats_models import Period, Sport, Units, WeekStart


class StatsQuery(Query):
    """What every statistic takes."""

    tz: ZoneName | None = None
    """IANA time zone of the local days (default FITNESS_TIMEZONE)."""
    units: Units | None = None
    """`mi` or `km` for every distance and pace (default FITNESS_UNITS)."""
    as_of: AsOf | None = None
    """The log as it stood at this moment, with its offset (`2025-05-06T07:00:00Z`)."""


class RangeQuery(StatsQuery):
    """A statistic over a range of local days."""

    start: StatsDay | None = None
    """First local day (default: the first run's)."""
    end: StatsDay | None = None
    """Last local day (default: today, or the last run's day if later)."""


class TotalsQuery(RangeQuery):
    period: Period = "week"
    """`day`, `week`, `month` or `year`."""
    sport: Sport = "run"
    """What counts: `run`, `ride` or `all` (runs and rides)."""
    week_start: WeekStart | None = None
    """`monday` or `sunday` (default FITNESS_WEEK_START)."""


class RollingQuery(RangeQuery):
    window: RollingWindow = 7
    """Days in each sum (7, 28 and 365 are the usual ones)."""
    sport: Sport = "run"
    """What counts: `run`, `ride` or `all` (runs and rides)."""


class TrainingLoadQuery(RangeQuery):
    sport: Sport = "all"
    """What counts: `all` (runs and rides, each from its heart rate), `run` or `ride`."""
    week_start: WeekStart | None = None
    """`monday` or `sunday` (default FITNESS_WEEK_START), for the weekly growth."""
    resting_hr: BeatsPerMinute | None = None
    """Resting heart rate (default FITNESS_RESTING_HR)."""
    max_hr: BeatsPerMinute | None = None
    """Maximum heart rate (default FITNESS_MAX_HR)."""


class RecordsQuery(StatsQuery):
    week_start: WeekStart | None = None
    """`monday` or `sunday` (default FITNESS_WEEK_START), for the longest week."""


class ShoeStatsQuery(StatsQuery):
    retired: bool | None = None
    """true: only retired shoes; false: only active ones."""
