"""The values the library hands out: frozen dataclasses, one per kind of row.

Rows come straight from queries into these classes (`fitness.db._rows.model_row`), so a
field name here is a column name (or alias) in the SQL that fills it. Each field's type is
its rule (fitness.rules): the same annotations validate values (`validate_run_fields`) and
give the API its response shapes and their JSON Schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Final, Literal, get_type_hints

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from fitness.rules import (
    MAX_HEART_RATE,
    MIN_HEART_RATE,
    RUN_SOURCES,
    RUN_TYPES,
    Distance,
    DistanceUnit,
    Duration,
    HeartRate,
    Identifier,
    RaceDistance,
    RaceName,
    RacePlace,
    RaceTime,
    RunName,
    RunNotes,
    RunSource,
    RunType,
    StartTime,
    Timestamp,
    as_utc,
    field_problems,
)

__all__ = [
    "MAX_HEART_RATE",
    "MIN_HEART_RATE",
    "RUN_SOURCES",
    "RUN_TYPES",
    "RunSource",
    "RunType",
    "as_utc",
]

ChangeType = Literal["original", "edit", "deletion", "restore", "duplicate", "merge"]
SyncStatus = Literal["synced", "failed", "pending"]
CalendarState = Literal["missing", "current", "stale", "failed"]
CredentialSource = Literal["environment", "consent"]
LastSyncOutcome = Literal["ok", "partial", "failed"]
ConsentFlow = Literal["browser", "terminal"]

# The fields a run's data is made of, and the ones a user may change.
DATA_FIELDS: Final = (
    "datetime_utc",
    "type",
    "distance",
    "duration",
    "source",
    "avg_heart_rate",
    "shoe_id",
    "name",
    "notes",
)
EDITABLE_FIELDS: Final = (
    "distance",
    "duration",
    "avg_heart_rate",
    "type",
    "shoe_id",
    "datetime_utc",
    "name",
    "notes",
)
PROTECTED_FIELDS: Final = ("id", "source")
# What a version records beyond the editable fields: which run a run is a duplicate of, and
# which runs are duplicates of it (changed by marking a duplicate, never by an edit).
LINK_FIELDS: Final = ("duplicate_of", "duplicate_ids")
# A race the run was (set and cleared together, never by an edit): columns of runs and
# runs_history, in this order.
RACE_FIELDS: Final = (
    "race_name",
    "race_distance",
    "race_time",
    "race_place",
    "race_field_size",
)
RECORDED_FIELDS: Final = EDITABLE_FIELDS + LINK_FIELDS + RACE_FIELDS

# How the API shows these classes: attribute docstrings become descriptions, and every
# field is present in every answer (so the document marks them all required).
SHAPE: Final = ConfigDict(
    use_attribute_docstrings=True, json_schema_serialization_defaults_required=True
)


def _normalise_utc(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None:
            object.__setattr__(obj, name, as_utc(value, name))


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class Race:
    """A race a run was: the event, its official distance and chip time, the placing.

    >>> Race(name="Berlin Marathon", distance=26.2188, time=10_800, place=1234).place
    1234
    """

    name: RaceName
    """The event (`Berlin Marathon 2025`)."""
    distance: RaceDistance
    """The official distance, in miles (a marathon is 26.2188)."""
    time: RaceTime
    """The official (chip) time, in seconds."""
    place: RacePlace | None = None
    """Overall placing, 1 for the winner."""
    field_size: RacePlace | None = None
    """How many finished; not fewer than `place`."""

    def problems(self) -> dict[str, str]:
        """What is wrong with each field, as `{field: message}` (empty if it can be stored)."""
        try:
            _RACE_VALUES.validate_python({name: getattr(self, name) for name in _RACE_NAMES})
        except ValidationError as error:
            return field_problems(error, _RACE_VALUES)
        if self.place is not None and self.field_size is not None and self.place > self.field_size:
            return {"place": "must not be more than field_size"}
        return {}


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One run as it is now. `distance` in miles, `duration` in seconds.

    `name` and `notes` are what the runner wrote (an activity's title, a workout's notes),
    None when the source had none.

    >>> Run(id="strava_1", datetime_utc=datetime(2025, 5, 6, 7, tzinfo=UTC),
    ...     type="Outdoor Run", distance=5.0, duration=2400, source="Strava").version
    1
    """

    id: str
    """`strava_<activity id>`, `mmf_<workout id>`: the same record always gets the same id."""
    datetime_utc: StartTime
    type: RunType
    distance: Distance
    duration: Duration
    source: RunSource
    """Where the run was imported from; it never changes."""
    avg_heart_rate: HeartRate | None = None
    shoe_id: Identifier | None = None
    """The id of the shoe it was run in."""
    shoe_name: str | None = None
    """That shoe's name."""
    name: RunName | None = None
    """The run's title, as its source names it (Strava's activity name)."""
    notes: RunNotes | None = None
    """What the runner wrote about it."""
    version: int = 1
    """The current version (1 is the original import); also the run's ETag."""
    last_edited_at: Timestamp | None = None
    last_edited_by: str | None = None
    deleted_at: Timestamp | None = None
    """Set when the run is soft-deleted."""
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    duplicate_of: str | None = None
    """The run this one is a duplicate of: then it is hidden from lists and totals."""
    duplicate_ids: list[str] = field(default_factory=list)
    """The runs marked duplicates of this one: the other sources it stands for."""
    race_name: str | None = None
    """The race the run was (its event name); null when it was no race."""
    race_distance: float | None = None
    """The race's official distance, in miles."""
    race_time: float | None = None
    """The race's official (chip) time, in seconds."""
    race_place: int | None = None
    """Overall placing in the race."""
    race_field_size: int | None = None
    """How many finished the race."""

    @property
    def race(self) -> Race | None:
        """The run's race, or None."""
        if self.race_name is None:
            return None
        return Race(
            name=self.race_name,
            distance=self.race_distance,  # type: ignore[arg-type]
            time=self.race_time,  # type: ignore[arg-type]
            place=self.race_place,
            field_size=self.race_field_size,
        )

    def __post_init__(self) -> None:
        _normalise_utc(
            self, "datetime_utc", "last_edited_at", "deleted_at", "created_at", "updated_at"
        )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        """Deleted, or a duplicate of another run: not in lists, totals or the calendar."""
        return self.deleted_at is not None or self.duplicate_of is not None


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class RunDetail(Run):
    """A run as it is now, with its shoe's name and its calendar event."""

    calendar_state: CalendarState = "missing"
    """`missing`: no calendar event; `current`: the event shows this version; `stale`: the
    run changed since; `failed`: the last sync failed."""
    google_event_id: str | None = None
    synced_version: int | None = None
    """The version the calendar event shows."""
    synced_at: Timestamp | None = None
    sync_error: str | None = None


ChangeValue = Timestamp | float | int | str | list[str] | None
Change = TypedDict("Change", {"from": ChangeValue, "to": ChangeValue})
RecordedField = Literal[RECORDED_FIELDS]  # type: ignore[valid-type]


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class RunVersion:
    """One immutable snapshot of a run: its data as of `version_number`."""

    history_id: Annotated[int, Field(exclude=True)]
    run_id: str
    version_number: int
    """1 is the original import."""
    change_type: ChangeType
    datetime_utc: Timestamp
    type: RunType
    distance: Distance
    duration: Duration
    source: RunSource
    avg_heart_rate: HeartRate | None
    shoe_id: str | None
    changed_at: Timestamp
    changed_by: str | None
    change_reason: str | None
    name: str | None = None
    notes: str | None = None
    duplicate_of: str | None = None
    """The run this one was a duplicate of, as of this version."""
    duplicate_ids: list[str] = field(default_factory=list)
    """The runs that were duplicates of this one, as of this version."""
    race_name: str | None = None
    """The race the run was, as of this version (see RunDetail for the race fields)."""
    race_distance: float | None = None
    race_time: float | None = None
    race_place: int | None = None
    race_field_size: int | None = None

    def __post_init__(self) -> None:
        _normalise_utc(self, "datetime_utc", "changed_at")

    def data(self) -> dict[str, object]:
        """The editable fields of this snapshot, as an update that would reproduce it."""
        return {name: getattr(self, name) for name in EDITABLE_FIELDS}

    def changes_since(self, previous: RunVersion | None) -> dict[str, Change]:
        """The recorded fields whose value differs from `previous`: `{field: {"from", "to"}}`.

        Those are the editable fields, the duplicate links (`duplicate_of`,
        `duplicate_ids`) and the race fields. Empty for the first version (nothing came
        before it) and for a deletion, which changes no data.
        """
        if previous is None:
            return {}
        return {
            name: {"from": getattr(previous, name), "to": getattr(self, name)}  # type: ignore[typeddict-item]
            for name in RECORDED_FIELDS
            if getattr(previous, name) != getattr(self, name)
        }


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry(RunVersion):
    """A snapshot and what it changed from the version before it."""

    changes: dict[RecordedField, Change]
    """`{"field": {"from": old, "to": new}}` for each field that differs from the previous
    version (the editable fields, `duplicate_of`, `duplicate_ids` and the race); empty for the
    original and for deletions."""

    @classmethod
    def of(cls, version: RunVersion, previous: RunVersion | None) -> HistoryEntry:
        """`version` with its changes since `previous` (None for the first version)."""
        values = {name: getattr(version, name) for name in _VERSION_FIELDS}
        return cls(**values, changes=version.changes_since(previous))  # type: ignore[arg-type]


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class RunPage:
    """One page of runs, newest first."""

    runs: list[RunDetail]
    next_cursor: str | None
    """Pass as `cursor` for the next page; null on the last page."""
    units: DistanceUnit = "mi"
    """The unit of every run's `distance` here: `mi` (stored, the default) or `km`."""


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class RunHistory:
    """A run's versions, newest first, each with what it changed."""

    run_id: str
    versions: list[HistoryEntry]
    next_cursor: str | None
    """Pass as `cursor` for older versions; null when the original is on this page."""


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class Shoe:
    """A shoe with its mileage and run count, computed from the non-deleted runs in it."""

    id: str
    """Derived from the name: "Brooks Ghost 15" is `brooks_ghost_15`."""
    name: str
    retired_at: date | None = None
    """Retired as of this day; null while in use."""
    notes: str | None = None
    retirement_notes: str | None = None
    deleted_at: Timestamp | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    mileage: Annotated[float, Field(ge=0)] = 0.0
    """Miles run in it (non-deleted runs)."""
    run_count: Annotated[int, Field(ge=0)] = 0
    former_names: list[str] = field(default_factory=list)
    """Names it had before (renamed, or a shoe merged into it): imports find it by them."""

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class ShoeWithWear(Shoe):
    """A shoe with its mileage limits and how worn it is, all in miles
    (fitness.db.stats.get_shoes_with_wear)."""

    starting_mileage: float
    """Miles it had run before the log."""
    warning_mileage: float
    """Miles at which to start looking for its replacement."""
    maximum_mileage: float
    """Miles at which it is worn out."""
    miles_used: float
    """`starting_mileage` + `mileage`."""
    miles_left: float
    """`maximum_mileage` - `miles_used`; below zero once past the maximum."""
    recent_miles: float
    """Miles run in it in the last 8 weeks (56 days), the rate the projections use."""
    projected_warning_date: date | None
    """The local day it reaches `warning_mileage` at the recent rate; null when retired,
    without recent use, already past it, or more than a century away."""
    projected_maximum_date: date | None
    """The same for `maximum_mileage`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncedRun:
    """The calendar event written for a run, and the run version it shows."""

    id: int
    run_id: str
    run_version: int
    google_event_id: str | None
    synced_at: datetime
    sync_status: SyncStatus
    error_message: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class OAuthCredentials:
    """Tokens for one provider, decrypted. Secrets never appear in `repr` (so not in logs)."""

    provider: str
    client_id: str
    client_secret: str = field(repr=False)
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str = field(default="", repr=False)
    expires_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    granted_scope: tuple[str, ...] | None = None
    source: CredentialSource | None = None
    seed_fingerprint: str | None = field(default=None, repr=False)
    last_refreshed_at: datetime | None = None
    last_sync_at: datetime | None = None
    last_sync_outcome: LastSyncOutcome | None = None
    last_sync_message: str | None = None

    def expires_within(self, seconds: float, now: datetime | None = None) -> bool:
        """True when the access token is missing, has no known expiry, or expires soon."""
        if not self.access_token or self.expires_at is None:
            return True
        now = now or datetime.now(UTC)
        return (self.expires_at - now).total_seconds() <= seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderGear:
    """A piece of gear as a provider (Strava) describes it, for the shoe that stands for it.

    `name` and `retired` are None when the provider no longer has the gear: then only a
    shoe already linked to `gear_id` is found, and nothing about it changes.
    """

    provider: Literal["strava"]
    gear_id: str
    name: str | None = None
    retired: bool | None = None


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class DuplicatePair:
    """Two runs that look like one real run (see fitness.db.duplicates for the rule)."""

    run_ids: list[str]
    """The two runs, the earlier start first."""
    runs: list[Run]
    """Both runs, in the order of `run_ids`."""
    start_difference: float
    """Seconds from the first run's start to the second's."""
    distance_difference: float
    """Miles between their distances."""


@with_config(SHAPE)
@dataclass(frozen=True, slots=True)
class DuplicatePage:
    """Suggested duplicates, the most recent first."""

    pairs: list[DuplicatePair]
    next_cursor: str | None
    """Pass as `cursor` for the next page; null on the last page."""


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class DismissedPair:
    """Two runs the user said are not one real run: never suggested again."""

    run_ids: list[str]
    dismissed_at: Timestamp


@with_config(SHAPE)
@dataclass(frozen=True, slots=True, kw_only=True)
class IngestToken:
    """A token that opens only the ingest routes, as listed: never the token itself."""

    name: str
    created_at: Timestamp
    last_used_at: Timestamp | None = None
    """When it last opened an ingest route; null if never."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OAuthState:
    """A consent in progress, as its callback consumes it: whose, how it was started, and
    the PKCE verifier and redirect URI its code must be exchanged with."""

    provider: str
    flow: ConsentFlow
    redirect_uri: str
    code_verifier: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportResult:
    """What `import_runs` did: new runs inserted, known ids skipped, shoes it had to create."""

    inserted: int
    skipped_existing: int
    shoes_created: tuple[str, ...] = ()


def validate_run_fields(values: dict[str, object]) -> dict[str, str]:
    """What is wrong with each of the given run fields, as `{field: message}` (empty if fine).

    Shared by edits and imports so that the library refuses the same values everywhere,
    before the database's CHECK constraints would; the rules are the types of `Run`'s
    fields (fitness.rules). Names it does not know pass unchecked.
    """
    try:
        _RUN_VALUES.validate_python(values)
    except ValidationError as error:
        return field_problems(error, _RUN_VALUES)
    return {}


def run_errors(run: Run) -> dict[str, str]:
    """`validate_run_fields` of every data field of `run` (what an import must check)."""
    return validate_run_fields({name: getattr(run, name) for name in DATA_FIELDS})


_RACE_NAMES: Final = ("name", "distance", "time", "place", "field_size")
_RACE_HINTS: Final = get_type_hints(Race, include_extras=True)
_RACE_VALUES: Final = TypeAdapter(
    TypedDict(  # type: ignore[operator]
        "RaceValues", {name: _RACE_HINTS[name] for name in _RACE_NAMES}
    )
)
_VERSION_FIELDS: Final = tuple(
    name for name in RunVersion.__dataclass_fields__ if name != "changes"
)
_RUN_HINTS: Final = get_type_hints(Run, include_extras=True)
_RUN_VALUES: Final = TypeAdapter(
    TypedDict(  # type: ignore[operator]
        "RunValues", {name: _RUN_HINTS[name] for name in DATA_FIELDS}, total=False
    )
)
