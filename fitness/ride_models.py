"""The values the library hands out for rides and bikes: frozen dataclasses, one per row.

As in fitness.models, a field name is a column name, and each field's type is its rule
(fitness.rules): `validate_ride_fields` checks values with the same annotations the API's
shapes and the OpenAPI document derive from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Final, Literal, get_type_hints

from pydantic import Field, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from fitness.models import SHAPE, Change, ChangeType, _normalise_utc
from fitness.rules import (
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
    StartTime,
    Timestamp,
    field_problems,
)

# The fields a ride's data is made of, and the ones a user may change (in the API's order).
RIDE_DATA_FIELDS: Final = (
    "datetime_utc",
    "type",
    "indoor",
    "distance",
    "duration",
    "source",
    "avg_heart_rate",
    "avg_power",
    "kilojoules",
    "bike_id",
    "name",
    "notes",
)
RIDE_EDITABLE_FIELDS: Final = (
    "distance",
    "duration",
    "avg_heart_rate",
    "avg_power",
    "kilojoules",
    "type",
    "indoor",
    "bike_id",
    "datetime_utc",
    "name",
    "notes",
)
RIDE_PROTECTED_FIELDS: Final = ("id", "source")
RideField = Literal[RIDE_EDITABLE_FIELDS]  # type: ignore[valid-type]


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class Ride:
    """One ride as it is now. `distance` in miles, `duration` (moving time) in seconds.

    >>> Ride(id="strava_2", datetime_utc=datetime(2025, 5, 6, 7, tzinfo=UTC),
    ...      type="Road Ride", distance=30.0, duration=5400, source="Strava").version
    1
    """

    id: str
    """`strava_<activity id>`, `file_<UTC start>`, `hae_<workout uuid>`: the same record
    always gets the same id."""
    datetime_utc: StartTime
    type: RideType
    indoor: bool = False
    """Ridden on a trainer (Strava's `trainer`, an indoor workout)."""
    distance: RideDistance
    duration: Duration
    """Moving time, in seconds (elapsed time when the source has no moving time)."""
    source: RideSource
    """Where the ride was imported from; it never changes."""
    avg_heart_rate: HeartRate | None = None
    avg_power: Power | None = None
    """Average power in watts, when a power meter (or the trainer) measured it."""
    kilojoules: Kilojoules | None = None
    """The work done, in kJ, when measured."""
    bike_id: Identifier | None = None
    """The id of the bike it was ridden on."""
    bike_name: str | None = None
    """That bike's name."""
    name: RunName | None = None
    """The ride's title, as its source names it."""
    notes: RunNotes | None = None
    """What the rider wrote about it."""
    version: int = 1
    """The current version (1 is the original import); also the ride's ETag."""
    last_edited_at: Timestamp | None = None
    last_edited_by: str | None = None
    deleted_at: Timestamp | None = None
    """Set when the ride is soft-deleted."""
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None

    def __post_init__(self) -> None:
        _normalise_utc(
            self, "datetime_utc", "last_edited_at", "deleted_at", "created_at", "updated_at"
        )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class RideVersion:
    """One immutable snapshot of a ride: its data as of `version_number`."""

    history_id: Annotated[int, Field(exclude=True)]
    ride_id: str
    version_number: int
    """1 is the original import."""
    change_type: ChangeType
    datetime_utc: Timestamp
    type: RideType
    indoor: bool
    distance: RideDistance
    duration: Duration
    source: RideSource
    avg_heart_rate: HeartRate | None
    avg_power: Power | None
    kilojoules: Kilojoules | None
    bike_id: str | None
    name: str | None
    notes: str | None
    changed_at: Timestamp
    changed_by: str | None
    change_reason: str | None

    def __post_init__(self) -> None:
        _normalise_utc(self, "datetime_utc", "changed_at")


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class RideHistoryEntry(RideVersion):
    """A snapshot of a ride and what it changed from the version before it."""

    changes: dict[RideField, Change]
    """`{"field": {"from": old, "to": new}}` for each editable field that differs from the
    previous version; empty for the original and for deletions."""


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class RidePage:
    """One page of rides, newest first."""

    rides: list[Ride]
    next_cursor: str | None
    """Pass as `cursor` for the next page; null on the last page."""


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class RideHistory:
    """A ride's versions, newest first, each with what it changed."""

    ride_id: str
    versions: list[RideHistoryEntry]
    next_cursor: str | None
    """Pass as `cursor` for older versions; null when the original is on this page."""


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class Bike:
    """A bike with its distance and ride count, computed from its non-deleted rides."""

    id: str
    """Derived from the name: "Canyon Endurace" is `canyon_endurace`."""
    name: str
    strava_gear_id: str | None = None
    """The Strava gear id (`b12345`) it stands for, when it came from Strava."""
    retired_at: date | None = None
    distance: float = 0.0
    """Miles ridden on it."""
    ride_count: int = 0
    last_ridden_at: datetime | None = None


def validate_ride_fields(values: dict[str, object]) -> dict[str, str]:
    """What is wrong with each of the given ride fields, as `{field: message}` (empty if
    fine); the rules are the types of `Ride`'s fields. Names it does not know pass."""
    try:
        _RIDE_VALUES.validate_python(values)
    except ValidationError as error:
        return field_problems(error, _RIDE_VALUES)
    return {}


def ride_errors(ride: Ride) -> dict[str, str]:
    """`validate_ride_fields` of every data field of `ride` (what an import must check)."""
    return validate_ride_fields({name: getattr(ride, name) for name in RIDE_DATA_FIELDS})


_RIDE_HINTS: Final = get_type_hints(Ride, include_extras=True)
_RIDE_VALUES: Final = TypeAdapter(
    TypedDict(  # type: ignore[operator]
        "RideValues", {name: _RIDE_HINTS[name] for name in RIDE_DATA_FIELDS}, total=False
    )
)
