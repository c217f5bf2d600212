"""The values the library hands out for lifts (strength workouts): a lift, its exercises and
sets, its versions and its history, and the exercise templates cached from Hevy.

A lift's exercises, with their sets, are one value (`exercises`, stored as JSONB in the lift
row and in each snapshot), so one version always holds the whole workout. Each field's type
is its rule (fitness.rules); the API shows these classes as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Final, Literal, get_type_hints

from psycopg.types.json import Jsonb
from pydantic import Field, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from fitness.models import SHAPE, ChangeType, _normalise_utc
from fitness.rules import (
    MAX_LIFT_EXERCISES,
    MAX_LIFT_SETS,
    LiftText,
    LiftTitle,
    Reps,
    Rpe,
    SetDistance,
    SetDuration,
    SetType,
    StartTime,
    Timestamp,
    WeightKg,
    field_problems,
)

LiftSource = Literal["Hevy"]
# The fields of a lift a user may change; every version records them all.
LIFT_EDITABLE_FIELDS: Final = ("datetime_utc", "end_utc", "title", "description", "exercises")


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class LiftSet:
    """One set of an exercise. Units are Hevy's: kg, metres, seconds."""

    index: Annotated[int, Field(ge=0, le=MAX_LIFT_SETS)]
    type: SetType = "normal"
    """`normal`, `warmup`, `dropset` or `failure`."""
    weight_kg: WeightKg | None = None
    """None for a set without weight (bodyweight, cardio)."""
    reps: Reps | None = None
    distance_meters: SetDistance | None = None
    duration_seconds: SetDuration | None = None
    rpe: Rpe | None = None
    custom_metric: float | None = None
    """Hevy's extra value (floors or steps on a stair machine)."""


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class LiftExercise:
    """One exercise of a lift, its muscle groups (from Hevy's exercise template) and sets."""

    index: Annotated[int, Field(ge=0, le=MAX_LIFT_EXERCISES)]
    title: LiftTitle
    notes: LiftText | None = None
    exercise_template_id: str | None = None
    superset_id: int | None = None
    """Exercises sharing it are done as a superset; None when not in one."""
    primary_muscle_group: str | None = None
    secondary_muscle_groups: list[str] = field(default_factory=list)
    sets: Annotated[list[LiftSet], Field(max_length=MAX_LIFT_SETS)] = field(default_factory=list)


Exercises = Annotated[list[LiftExercise], Field(max_length=MAX_LIFT_EXERCISES)]
EXERCISES: Final = TypeAdapter(Exercises)


def _exercises_as_values(obj: Lift | LiftVersion) -> None:
    # Rows bring the JSONB column as plain dicts: make them the frozen values.
    exercises = obj.exercises
    if any(not isinstance(exercise, LiftExercise) for exercise in exercises):
        object.__setattr__(obj, "exercises", EXERCISES.validate_python(exercises))


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class Lift:
    """One lift (a strength workout) as it is now; `datetime_utc` is its start.

    >>> Lift(id="hevy_b459", datetime_utc=datetime(2025, 1, 6, 17, tzinfo=UTC),  # doctest: +SKIP
    ...      end_utc=None, title="Push", source="Hevy").version
    1
    """

    id: str
    """`hevy_<workout id>`: the same workout always gets the same id."""
    datetime_utc: StartTime
    end_utc: Timestamp | None = None
    title: LiftTitle | None = None
    description: LiftText | None = None
    source: LiftSource = "Hevy"
    exercises: Exercises = field(default_factory=list)
    version: int = 1
    """The current version (1 is the original import); also the lift's ETag."""
    last_edited_at: Timestamp | None = None
    last_edited_by: str | None = None
    deleted_at: Timestamp | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None

    def __post_init__(self) -> None:
        _normalise_utc(
            self,
            "datetime_utc",
            "end_utc",
            "last_edited_at",
            "deleted_at",
            "created_at",
            "updated_at",
        )
        _exercises_as_values(self)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


ChangeValue = Timestamp | str | list[LiftExercise] | None
Change = TypedDict("Change", {"from": ChangeValue, "to": ChangeValue})
LiftField = Literal[LIFT_EDITABLE_FIELDS]  # type: ignore[valid-type]


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class LiftVersion:
    """One immutable snapshot of a lift: its data as of `version_number`."""

    history_id: Annotated[int, Field(exclude=True)]
    lift_id: str
    version_number: int
    change_type: ChangeType
    datetime_utc: Timestamp
    end_utc: Timestamp | None
    title: str | None
    description: str | None
    source: LiftSource
    exercises: list[LiftExercise]
    changed_at: Timestamp
    changed_by: str | None
    change_reason: str | None

    def __post_init__(self) -> None:
        _normalise_utc(self, "datetime_utc", "end_utc", "changed_at")
        _exercises_as_values(self)


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class LiftHistoryEntry(LiftVersion):
    """A snapshot and what it changed from the version before it."""

    changes: dict[LiftField, Change]
    """`{"field": {"from": old, "to": new}}` for each editable field that differs from the
    previous version; empty for the original and for deletions."""

    @classmethod
    def of(cls, version: LiftVersion, previous: LiftVersion | None) -> LiftHistoryEntry:
        """`version` with its changes since `previous` (None for the first version)."""
        changes = (
            {}
            if previous is None
            else {
                name: {"from": getattr(previous, name), "to": getattr(version, name)}
                for name in LIFT_EDITABLE_FIELDS
                if getattr(previous, name) != getattr(version, name)
            }
        )
        values = {name: getattr(version, name) for name in LiftVersion.__dataclass_fields__}
        return cls(**values, changes=changes)  # type: ignore[arg-type]


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class LiftPage:
    """One page of lifts, newest first."""

    lifts: list[Lift]
    next_cursor: str | None
    """Pass as `cursor` for the next page; null on the last page."""


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class LiftHistory:
    """A lift's versions, newest first, each with what it changed."""

    lift_id: str
    versions: list[LiftHistoryEntry]
    next_cursor: str | None
    """Pass as `cursor` for older versions; null when the original is on this page."""


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class ExerciseTemplate:
    """An exercise as Hevy's catalogue describes it (cached in `exercise_templates`)."""

    id: str
    title: str
    primary_muscle_group: str | None = None
    secondary_muscle_groups: list[str] = field(default_factory=list)
    is_custom: bool = False


LIFT: Final = TypeAdapter(Lift)
_LIFT_HINTS: Final = get_type_hints(Lift, include_extras=True)
_LIFT_VALUES: Final = TypeAdapter(
    TypedDict(  # type: ignore[operator]
        "LiftValues", {name: _LIFT_HINTS[name] for name in LIFT_EDITABLE_FIELDS}, total=False
    )
)


def validate_lift_fields(values: dict[str, object]) -> dict[str, str]:
    """What is wrong with each of the given lift fields, as `{field: message}` (empty if
    fine); the rules are the types of `Lift`'s fields (fitness.rules). `exercises` may come
    as `psycopg.types.json.Jsonb` (how an edit sends them to the database)."""
    plain = {
        name: value.obj if isinstance(value, Jsonb) else value for name, value in values.items()
    }
    try:
        checked = _LIFT_VALUES.validate_python(plain)
    except ValidationError as error:
        return field_problems(error, _LIFT_VALUES)
    return end_before_start(checked.get("datetime_utc"), checked.get("end_utc"))


def end_before_start(start: datetime | None, end: datetime | None) -> dict[str, str]:
    """`{"end_utc": problem}` when a lift would end before it started, else empty."""
    if start is not None and end is not None and end < start:
        return {"end_utc": END_BEFORE_START}
    return {}


END_BEFORE_START: Final = "must not be before the start"


EPLEY: Final = "epley"
"""Epley's estimate of a one-rep max: weight × (1 + reps / 30); a single is its weight."""


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class WeekVolume:
    """One local week's lifting: volume and how many working sets and lifts."""

    week_start: date
    volume_kg: float
    """Σ weight (kg) × reps over the week's working sets (warm-ups left out)."""
    working_sets: int
    lifts: int


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class LiftVolume:
    """Weekly volume, oldest week first (only weeks with lifts)."""

    tz: str
    week_start: str
    """The weekday weeks start on: `monday` or `sunday`."""
    weeks: list[WeekVolume]


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class MuscleGroupWeek:
    """How many working sets trained one primary muscle group in one local week."""

    week_start: date
    muscle_group: str
    """Hevy's primary muscle group of the exercise (`chest`, `quadriceps`), or `unknown`."""
    working_sets: int


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class MuscleGroupSets:
    """Working sets per muscle group per week, oldest week first, most sets first."""

    tz: str
    week_start: str
    weeks: list[MuscleGroupWeek]


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class OneRepMax:
    """An exercise's best estimated one-rep max, and the set it comes from."""

    exercise_template_id: str | None
    exercise: str
    """The exercise's title (as the lift names it)."""
    estimated_one_rep_max_kg: float
    weight_kg: float
    reps: int
    day: date
    """The local day of the lift the set was in."""
    lift_id: str


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class OneRepMaxes:
    """The best estimated one-rep max of every exercise lifted with weight."""

    formula: str
    """`epley`: weight × (1 + reps / 30), a single's own weight (Epley 1985)."""
    tz: str
    exercises: list[OneRepMax]
