"""The values `fitness.db.stats` hands out: frozen dataclasses, one per kind of answer.

Distances are in the answer's `units` (miles or kilometres), durations in seconds, paces in
seconds per mile or kilometre, dates are local days in the answer's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal, TypeAlias

from pydantic import computed_field, with_config

from fitness.models import SHAPE

Period = Literal["day", "week", "month", "year"]
Units = Literal["mi", "km"]
WeekStart = Literal["monday", "sunday"]
# What a statistic counts: runs, rides, or both (issue 16).
Sport = Literal["run", "ride", "all"]

PERIODS: Final = ("day", "week", "month", "year")
UNITS: Final = ("mi", "km")
WEEK_STARTS: Final = ("monday", "sunday")
SPORTS: Final = ("run", "ride", "all")
# A field named `date` would hide the type `date` from its own annotation (as the API reads
# the annotations to encode and document an answer), so it is spelled this way there.
LocalDay: TypeAlias = date


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodTotal:
    """One day, week, month or year: `start` is its first local day.

    `pace` is seconds per unit over the period's activities, None when there were none;
    `runs` counts the activities the answer's `sport` selects (rides too, for `ride`/`all`).
    """

    start: date
    distance: float
    duration: float
    runs: int
    pace: float | None


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class Totals:
    """Every period from the one holding `first_day` to the one holding `last_day`, over
    the activities of `sport` (`run`, `ride` or `all`)."""

    period: Period
    sport: Sport
    units: Units
    tz: str
    week_start: WeekStart
    totals: tuple[PeriodTotal, ...]


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class RollingDay:
    """The distance of the `window` days ending with `date` (it included)."""

    date: LocalDay
    distance: float


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class RollingSums:
    """The rolling distance of the activities of `sport` (`run`, `ride` or `all`)."""

    window: int
    sport: Sport
    units: Units
    tz: str
    days: tuple[RollingDay, ...]


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class ShoeMonth:
    """A shoe's distance in one local month (`month` is its first day)."""

    month: date
    distance: float
    runs: int


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class ShoeMileage:
    """A shoe's use in the log: every month from its first to its last use, gaps as zeros.

    `distance` counts the runs only, not the shoe's starting mileage (see `ShoeWear`).
    """

    shoe_id: str
    name: str
    retired_at: date | None
    distance: float
    runs: int
    first_used: date | None
    last_used: date | None
    months: tuple[ShoeMonth, ...]


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class ShoeWear:
    """How worn a shoe is and when it will need replacing.

    `used` = `starting_mileage` + `run_distance`; `left` = `maximum_mileage` - `used` (below
    zero once past it). `recent_distance` is what the shoe ran in the last 8 weeks (56 days
    up to `today`); a projected date is `today` plus the days that rate needs to reach the
    threshold: None without recent use, for a retired shoe, for a threshold already passed
    (`is_past_warning`, `is_past_maximum`) or one more than a century away.
    """

    shoe_id: str
    name: str
    retired_at: date | None
    starting_mileage: float
    warning_mileage: float
    maximum_mileage: float
    run_distance: float
    runs: int
    used: float
    left: float
    recent_distance: float
    today: date
    projected_warning_date: date | None
    projected_maximum_date: date | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_past_warning(self) -> bool:
        return self.used >= self.warning_mileage

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_past_maximum(self) -> bool:
        return self.used >= self.maximum_mileage


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class LoadDay:
    """One local day of training load.

    `trimp` is the day's Banister TRIMP over the activities the answer's `sport` selects
    (a ride counts as a run does, from its minutes and average heart rate); activities
    without heart rate add nothing and are counted in `runs_without_heart_rate` (rides
    too); `ctl` and `atl` are its 42- and 7-day exponentially weighted averages up to and
    including this day.
    """

    date: LocalDay
    trimp: float
    ctl: float
    atl: float
    runs_without_heart_rate: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tsb(self) -> float:
        """Training stress balance, `ctl - atl`: positive when fresh, negative when tired."""
        return self.ctl - self.atl

    @computed_field  # type: ignore[prop-decorator]
    @property
    def acute_chronic_ratio(self) -> float | None:
        """`atl / ctl` (the EWMA acute:chronic workload ratio); None while `ctl` is 0."""
        return self.atl / self.ctl if self.ctl > 0 else None


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class LoadWeek:
    """A local week's distance against the week before it.

    `growth` is the fractional increase (0.25 = 25% more), None after an empty week;
    `is_big_increase` is True when the week ran more than 10% more than the one before.
    """

    start: date
    distance: float
    previous_distance: float
    growth: float | None
    is_big_increase: bool


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingLoad:
    """Training load per day and week-over-week distance growth, for one date range, over
    the activities of `sport` (`all`, the default, counts rides beside runs)."""

    sport: Sport
    units: Units
    tz: str
    week_start: WeekStart
    resting_hr: float
    max_hr: float
    days: tuple[LoadDay, ...]
    weeks: tuple[LoadWeek, ...]


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """A record set by one run: its id, local day, distance, duration and pace (None for
    a run of no distance)."""

    run_id: str
    date: LocalDay
    distance: float
    duration: float
    pace: float | None


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class BandRecord:
    """The fastest average pace among runs of about `band_distance` (see `BAND_TOLERANCE`)."""

    band: str
    band_distance: float
    run: RunRecord


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodRecord:
    """The week or month with the most distance; `start` is its first local day."""

    start: date
    distance: float
    runs: int


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class Streak:
    """Consecutive local days with at least one run, `first_day` to `last_day` included."""

    days: int
    first_day: date | None
    last_day: date | None


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class Eddington:
    """The largest E such that E days each had at least E miles (or E kilometres)."""

    mi: int
    km: int


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class RaceBest:
    """A race that beat every earlier race over its official distance: the run, its local
    day, the event and the official (chip) time in seconds."""

    run_id: str
    date: LocalDay
    race_name: str
    time: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RaceProgression:
    """Personal bests over one official race distance (in the answer's units), oldest first:
    the first race at that distance, then each race faster than all before it."""

    distance: float
    bests: tuple[RaceBest, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Records:
    """The log's records; every field is None (streaks: 0 days, races: none) for an empty
    log."""

    units: Units
    tz: str
    week_start: WeekStart
    longest_run: RunRecord | None
    fastest: tuple[BandRecord, ...]
    longest_week: PeriodRecord | None
    longest_month: PeriodRecord | None
    current_streak: Streak
    longest_streak: Streak
    eddington: Eddington
    race_progression: tuple[RaceProgression, ...] = ()
    """Per official distance of the runs' races (shortest first, grouped to 0.01 mile)."""


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class ShoeMileageLimits:
    """A shoe's starting mileage and its warning and maximum mileages, in miles."""

    shoe_id: str
    starting_mileage: float
    warning_mileage: float
    maximum_mileage: float
