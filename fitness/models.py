"""The values the library hands out: frozen dataclasses, one per kind of row.

Rows come straight from queries into these classes (`psycopg.rows.class_row`), so a field
name here is a column name (or alias) in the SQL that fills it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Final, Literal

RunType = Literal["Outdoor Run", "Treadmill Run"]
RunSource = Literal["MapMyFitness", "Strava"]
ChangeType = Literal["original", "edit", "deletion", "restore"]
SyncStatus = Literal["synced", "failed", "pending"]
CalendarState = Literal["missing", "current", "stale", "failed"]

RUN_TYPES: Final = ("Outdoor Run", "Treadmill Run")
RUN_SOURCES: Final = ("MapMyFitness", "Strava")
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
MIN_HEART_RATE: Final = 20
MAX_HEART_RATE: Final = 250
# A run's title and notes: far beyond what a runner writes (the CSV reader's own field limit
# is 128 KiB), and repeated as CHECK constraints on runs and runs_history.
MAX_RUN_NAME_CHARS: Final = 1_000
MAX_RUN_NOTES_CHARS: Final = 100_000


def as_utc(value: datetime, name: str = "datetime_utc") -> datetime:
    """`value` converted to UTC; a naive datetime is a `ValueError` (its zone is unknowable)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _normalise_utc(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None:
            object.__setattr__(obj, name, as_utc(value, name))


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
    datetime_utc: datetime
    type: RunType
    distance: float
    duration: float
    source: RunSource
    avg_heart_rate: float | None = None
    shoe_id: str | None = None
    shoe_name: str | None = None
    name: str | None = None
    notes: str | None = None
    version: int = 1
    last_edited_at: datetime | None = None
    last_edited_by: str | None = None
    deleted_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        _normalise_utc(
            self, "datetime_utc", "last_edited_at", "deleted_at", "created_at", "updated_at"
        )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunDetail(Run):
    """A run with what a reader wants beside it: its shoe's name and its calendar event.

    `calendar_state` is `missing` (never synced), `current` (synced at this version),
    `stale` (edited since the event was written) or `failed` (the last sync failed).
    """

    calendar_state: CalendarState = "missing"
    google_event_id: str | None = None
    synced_version: int | None = None
    synced_at: datetime | None = None
    sync_error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunVersion:
    """One immutable snapshot in `runs_history`: the run's data as of `version_number`."""

    history_id: int
    run_id: str
    version_number: int
    change_type: ChangeType
    datetime_utc: datetime
    type: RunType
    distance: float
    duration: float
    source: RunSource
    avg_heart_rate: float | None
    shoe_id: str | None
    changed_at: datetime
    changed_by: str | None
    change_reason: str | None
    name: str | None = None
    notes: str | None = None

    def __post_init__(self) -> None:
        _normalise_utc(self, "datetime_utc", "changed_at")

    def data(self) -> dict[str, object]:
        """The editable fields of this snapshot, as an update that would reproduce it."""
        return {name: getattr(self, name) for name in EDITABLE_FIELDS}

    def changes_since(self, previous: RunVersion | None) -> dict[str, dict[str, object]]:
        """The editable fields whose value differs from `previous`: `{field: {"from", "to"}}`.

        Empty for the first version (nothing came before it) and for a deletion, which
        changes no data.
        """
        if previous is None:
            return {}
        before, after = previous.data(), self.data()
        return {
            name: {"from": before[name], "to": after[name]}
            for name in EDITABLE_FIELDS
            if before[name] != after[name]
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Shoe:
    """A shoe with its mileage and run count, computed from the non-deleted runs in it."""

    id: str
    name: str
    retired_at: date | None = None
    notes: str | None = None
    retirement_notes: str | None = None
    deleted_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    mileage: float = 0.0
    run_count: int = 0

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


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


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportResult:
    """What `import_runs` did: new runs inserted, known ids skipped, shoes it had to create."""

    inserted: int
    skipped_existing: int
    shoes_created: tuple[str, ...] = ()


def validate_run_fields(values: dict[str, object]) -> dict[str, str]:
    """What is wrong with each of the given run fields, as `{field: message}` (empty if fine).

    Shared by edits and imports so that the library refuses the same values everywhere,
    before the database's CHECK constraints would. Names it does not know pass unchecked.
    """
    errors: dict[str, str] = {}
    for name, value in values.items():
        check = _FIELD_CHECKS.get(name)
        message = check(value) if check is not None else None
        if message:
            errors[name] = message
    return errors


def run_errors(run: Run) -> dict[str, str]:
    """`validate_run_fields` of every data field of `run` (what an import must check)."""
    errors: dict[str, str] = {}
    for name, check in _FIELD_CHECKS.items():
        message = check(getattr(run, name))
        if message:
            errors[name] = message
    return errors


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _distance_error(value: object) -> str | None:
    if not _is_number(value) or not math.isfinite(value) or value < 0:  # type: ignore[arg-type,operator]
        return "must be a finite number of miles >= 0"
    return None


def _duration_error(value: object) -> str | None:
    if not _is_number(value) or not math.isfinite(value) or value <= 0:  # type: ignore[arg-type,operator]
        return "must be a finite number of seconds > 0"
    return None


def _heart_rate_error(value: object) -> str | None:
    if value is None:
        return None
    if not _is_number(value) or not MIN_HEART_RATE <= value <= MAX_HEART_RATE:  # type: ignore[operator]
        return f"must be null or a number from {MIN_HEART_RATE} to {MAX_HEART_RATE}"
    return None


def _type_error(value: object) -> str | None:
    return None if value in RUN_TYPES else f"must be one of {', '.join(RUN_TYPES)}"


def _source_error(value: object) -> str | None:
    return None if value in RUN_SOURCES else f"must be one of {', '.join(RUN_SOURCES)}"


def _shoe_id_error(value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        return "must be a shoe id or null"
    return None


def _text_error(limit: int) -> Callable[[object], str | None]:
    def text_error(value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > limit:
            return f"must be null or text of at most {limit:,} characters"
        if "\x00" in value:
            return "must not contain NUL characters"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode text"
        return None

    return text_error


def _datetime_error(value: object) -> str | None:
    if not isinstance(value, datetime):
        return "must be a timezone-aware datetime"
    if value.tzinfo is None or value.utcoffset() is None:
        return "must be timezone-aware (include an offset, e.g. Z or +02:00)"
    return None


_FIELD_CHECKS: Final = {
    "distance": _distance_error,
    "duration": _duration_error,
    "avg_heart_rate": _heart_rate_error,
    "type": _type_error,
    "source": _source_error,
    "shoe_id": _shoe_id_error,
    "datetime_utc": _datetime_error,
    "name": _text_error(MAX_RUN_NAME_CHARS),
    "notes": _text_error(MAX_RUN_NOTES_CHARS),
}
