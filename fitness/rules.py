"""The rules every value the log stores obeys, declared once, as `Annotated` types.

The library checks values with them (`fitness.models.validate_run_fields`), the API
validates requests with them, the OpenAPI document shows them (minimum, maximum, enum,
maxLength), and the CHECK constraints of the migrations repeat them in the database as the
last line of defence (tests/db/test_bounds.py proves the two agree). Error messages are
derived from the same declaration (`field_problems`), so each bound is written once.

The bounds are those a real run can meet, and they keep every sum the log computes finite:
a run covers at most 1,000 miles (the longest multi-day races) in at most 14 days, at an
average heart rate from 20 to 250 bpm, and starts no earlier than 1970 and no later than a
day from now (a clock a little ahead, or a run logged at midnight in another zone).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Final, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
)

MAX_DISTANCE_MILES: Final = 1000.0
# A distance is 0 or at least a millionth of a mile (1.6 mm; in km, a millionth of a km): a
# pace or a week's growth divided by a vanishing distance overflows a double (PostgreSQL
# raises an error where Python gives an infinity that JSON cannot carry).
DISTANCE_RESOLUTION: Final = 1e-6
KM_PER_MILE: Final = 1.609344
MAX_DISTANCE_KM: Final = 1609.344
MAX_DURATION_SECONDS: Final = 14 * 24 * 3600
MIN_HEART_RATE: Final = 20
MAX_HEART_RATE: Final = 250
EARLIEST_START: Final = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_ALLOWANCE: Final = timedelta(days=1)
EARLIEST_DAY: Final = date(1970, 1, 1)
LATEST_DAY: Final = date(2199, 12, 31)
MAX_VERSION: Final = 2**31 - 1  # runs.version is a PostgreSQL integer
MAX_ID_CHARS: Final = 200
# Shoe names and ids are unique, so indexed: PostgreSQL cannot index a value much over 2 kB,
# and a longer name is a mistake, not a shoe.
MAX_SHOE_NAME_CHARS: Final = 100
MAX_CHANGED_BY_CHARS: Final = 100
MAX_CHANGE_REASON_CHARS: Final = 1000
MAX_SHOE_NOTES_CHARS: Final = 2000
# A run's title and notes: far beyond what a runner writes (the CSV reader's own field limit
# is 128 KiB).
MAX_RUN_NAME_CHARS: Final = 1_000
MAX_RUN_NOTES_CHARS: Final = 100_000
MAX_INGEST_TOKEN_NAME_CHARS: Final = 100
# A shoe's mileages: far beyond any shoe, and finite for every sum.
MAX_SHOE_MILEAGE: Final = 100_000.0
# What a statistic may be asked about (fitness.db.stats): days from 1900 (a log reaching
# back before its runs) to 2199, a range of at most a century of days, rolling windows up to
# ten years, and a time zone name no longer than any IANA name.
EARLIEST_STATS_DAY: Final = date(1900, 1, 1)
MAX_STATS_RANGE_DAYS: Final = 36_600
MAX_ROLLING_WINDOW_DAYS: Final = 3_660
MAX_ZONE_NAME_CHARS: Final = 64
# A race: its event name, and a placing among at most a million finishers (the largest
# races have about 60,000). Its official distance and chip time obey a run's bounds.
MAX_RACE_NAME_CHARS: Final = 200
MAX_RACE_PLACE: Final = 1_000_000

# A ride: the longest single rides recorded (Race Across America, about 3,000 miles) in at
# most the 14 days of any activity; average power up to a track sprinter's (2,500 W) and
# the work of 14 days at 400 W (483,840 kJ).
MAX_RIDE_DISTANCE_MILES: Final = 3000.0
MAX_RIDE_POWER_WATTS: Final = 2500.0
MAX_RIDE_KILOJOULES: Final = 500_000.0

RunType = Literal["Outdoor Run", "Treadmill Run"]
RunSource = Literal["MapMyFitness", "Strava", "Apple Health", "Manual", "Activity File"]
RUN_TYPES: Final[tuple[str, ...]] = get_args(RunType)
RUN_SOURCES: Final[tuple[str, ...]] = get_args(RunSource)
RideType = Literal["Road Ride", "Gravel Ride", "Mountain Bike Ride", "E-Bike Ride", "Virtual Ride"]
RideSource = Literal["Strava", "Apple Health", "Activity File"]
RIDE_TYPES: Final[tuple[str, ...]] = get_args(RideType)
RIDE_SOURCES: Final[tuple[str, ...]] = get_args(RideSource)


def as_utc(value: datetime, name: str = "datetime_utc") -> datetime:
    """`value` converted to UTC; a naive datetime is a `ValueError` (its zone is unknowable)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def distance_in_miles(distance: float, units: str) -> float:
    """`distance` in `units` (`mi` or `km`) as miles, converted exactly (1 mi = 1.609344 km,
    in decimal arithmetic); `ValueError` saying the bound in that unit when it is beyond
    what a run can cover, or for another unit."""
    if units == "mi":
        return distance
    if units != "km":
        raise ValueError("units must be mi or km")
    if not 0 <= distance <= MAX_DISTANCE_KM:
        raise ValueError(f"must be a number of km from 0 to {MAX_DISTANCE_KM:,}")
    return float(Decimal(repr(distance)) / Decimal(repr(KM_PER_MILE)))


# Files of a zone database that name no place: the machine's own zone (which differs between
# this process, PostgreSQL's server and the next machine), the template of POSIX rules, and
# tzdata's "zone not set" (-00).
_NOT_A_PLACE: Final = frozenset({"localtime", "posixrules", "Factory"})


def is_zone_name(name: object) -> bool:
    """Whether `name` is an IANA time zone this machine knows (`Europe/Berlin`, `UTC`), at
    most `MAX_ZONE_NAME_CHARS` long: the one test every statistic, list and import uses."""
    if not isinstance(name, str) or not name or len(name) > MAX_ZONE_NAME_CHARS:
        return False
    if name in _NOT_A_PLACE:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name the zone database cannot even open as a file.
        return False
    return True


def storable_text(value: str) -> str:
    """`value` if PostgreSQL text can hold it: no NUL, no lone surrogate; else `ValueError`."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must be timezone-aware (include an offset, e.g. Z or +02:00)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


def _a_plausible_start(value: datetime) -> datetime:
    latest = datetime.now(UTC) + FUTURE_ALLOWANCE
    if not EARLIEST_START <= value <= latest:
        raise ValueError("must be from 1970-01-01T00:00:00Z to one day from now")
    return value


def _parse_date_time_text(value: object) -> object:
    """An ISO 8601 date-time string (how JSON carries one) as a datetime; others unchanged."""
    if not isinstance(value, str):
        if isinstance(value, datetime):
            return value
        raise ValueError("must be an ISO 8601 date-time string with an offset")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 date-time, e.g. 2025-05-06T07:30:00Z") from None


def _parse_day_text(value: object) -> object:
    if isinstance(value, str):
        if len(value) != 10 or not value[:4].isdigit():
            raise ValueError("must be a date as YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("is not a calendar date") from None
    return value


def _a_day_in_range(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValueError(f"must be from {EARLIEST_DAY} to {LATEST_DAY}")
    return value


def a_moment_of_the_log(value: datetime) -> datetime:
    """`value` if a statistic can be asked about the log as of then: from
    1900-01-01T00:00:00Z to 2199-12-31T23:59:59Z, the days a statistic may cover; else
    `ValueError`. (A moment after the last run is fine: "my streak two days from now".)
    Beyond, "today" and every range that ends today would be unbounded."""
    earliest = datetime.combine(EARLIEST_STATS_DAY, datetime.min.time(), UTC)
    latest = datetime.combine(LATEST_DAY, datetime.max.time(), UTC)
    if not earliest <= value <= latest:
        raise ValueError(
            f"must be from {earliest:%Y-%m-%dT%H:%M:%SZ} to {latest:%Y-%m-%dT%H:%M:%SZ}"
        )
    return value


def _a_stats_day(value: date) -> date:
    if not EARLIEST_STATS_DAY <= value <= LATEST_DAY:
        raise ValueError(f"must be from {EARLIEST_STATS_DAY} to {LATEST_DAY}")
    return value


def _isoformat(value: datetime) -> str:
    return value.isoformat()


def _number(*, unit: str, **bounds: float) -> Any:
    return Field(strict=True, allow_inf_nan=False, json_schema_extra={"x-unit": unit}, **bounds)


def _not_vanishing(distance: float) -> float:
    if 0 < distance < DISTANCE_RESOLUTION:
        raise ValueError(f"must be 0 or at least {DISTANCE_RESOLUTION:f}".rstrip("0"))
    return distance


Distance = Annotated[
    float,
    _number(unit="miles", ge=0, le=MAX_DISTANCE_MILES),
    AfterValidator(_not_vanishing),
]
"""How far a run went, in miles: 0, or at least `DISTANCE_RESOLUTION`."""

DistanceInUnits = Annotated[
    float,
    _number(unit="miles, or km with units=km", ge=0, le=MAX_DISTANCE_KM),
    AfterValidator(_not_vanishing),
]
"""How far a run went, in the unit a request names (at most 1,000 miles, 1,609.344 km;
0, or at least `DISTANCE_RESOLUTION` in it)."""

DistanceUnit = Literal["mi", "km"]
"""`mi` (miles, the default) or `km`."""

Duration = Annotated[float, _number(unit="seconds", gt=0, le=MAX_DURATION_SECONDS)]
"""How long a run took, in seconds."""

HeartRate = Annotated[float, _number(unit="beats per minute", ge=MIN_HEART_RATE, le=MAX_HEART_RATE)]
"""A run's average heart rate."""

RideDistance = Annotated[
    float,
    _number(unit="miles", ge=0, le=MAX_RIDE_DISTANCE_MILES),
    AfterValidator(_not_vanishing),
]
"""How far a ride went, in miles: 0, or at least `DISTANCE_RESOLUTION`."""

Power = Annotated[float, _number(unit="watts", ge=0, le=MAX_RIDE_POWER_WATTS)]
"""A ride's average power."""

Kilojoules = Annotated[float, _number(unit="kilojoules", ge=0, le=MAX_RIDE_KILOJOULES)]
"""The work a ride took (a power meter's total, in kJ)."""

Timestamp = Annotated[
    datetime,
    PlainSerializer(_isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
"""A moment as the log reports it: ISO 8601 with its UTC offset (`2025-05-06T07:30:00+00:00`)."""

StartTime = Annotated[
    Timestamp,
    Field(strict=True, description="When the run started (ISO 8601 with an offset; UTC here)."),
    AfterValidator(_aware_utc),
    AfterValidator(_a_plausible_start),
]
"""When a run started: timezone-aware, from 1970 to a day from now, converted to UTC."""

StartTimeText = Annotated[StartTime, BeforeValidator(_parse_date_time_text)]
"""A `StartTime` as JSON carries it: an ISO 8601 string with an offset."""

Day = Annotated[
    date,
    BeforeValidator(_parse_day_text),
    AfterValidator(_a_day_in_range),
    WithJsonSchema({"type": "string", "format": "date"}),
]
"""A calendar day (`YYYY-MM-DD`) from 1970-01-01 to 2199-12-31."""

StatsDay = Annotated[
    date,
    BeforeValidator(_parse_day_text),
    AfterValidator(_a_stats_day),
    WithJsonSchema({"type": "string", "format": "date"}),
]
"""A local day a statistic starts or ends on (`YYYY-MM-DD`), from 1900-01-01 to 2199-12-31."""

RollingWindow = Annotated[int, Field(ge=1, le=MAX_ROLLING_WINDOW_DAYS)]
"""How many days a rolling sum covers: 1 to 3,660 (7, 28 and 365 are the usual ones)."""

ZoneName = Annotated[str, Field(min_length=1, max_length=MAX_ZONE_NAME_CHARS)]
"""An IANA time zone name (`Europe/Berlin`, `UTC`); whether it exists is checked by its user."""

AsOf = Annotated[
    datetime,
    BeforeValidator(_parse_date_time_text),
    AfterValidator(_aware_utc),
    AfterValidator(a_moment_of_the_log),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A moment with its offset (`2025-05-06T07:30:00Z`) from 1900 through 2199, in UTC."""

BeatsPerMinute = Annotated[float, Field(ge=MIN_HEART_RATE, le=MAX_HEART_RATE, allow_inf_nan=False)]
"""A heart rate a person can have, from 20 to 250 bpm, as a query string carries it."""

StorableText = Annotated[str, AfterValidator(storable_text)]
Identifier = Annotated[StorableText, Field(min_length=1, max_length=MAX_ID_CHARS)]
"""The id of a run or a shoe, as a client names it."""

ChangedBy = Annotated[
    StorableText, Field(min_length=1, max_length=MAX_CHANGED_BY_CHARS), AfterValidator(_not_blank)
]
"""Who made a change (default `api` through the API)."""

ChangeReason = Annotated[StorableText, Field(max_length=MAX_CHANGE_REASON_CHARS)]
"""Why a change was made, in the user's words."""

ShoeName = Annotated[
    StorableText, Field(min_length=1, max_length=MAX_SHOE_NAME_CHARS), AfterValidator(_not_blank)
]
"""A shoe's display name; its id is derived from it."""

ShoeNotes = Annotated[StorableText, Field(max_length=MAX_SHOE_NOTES_CHARS)]

RunName = Annotated[StorableText, Field(max_length=MAX_RUN_NAME_CHARS)]
"""A run's title."""

RunNotes = Annotated[StorableText, Field(max_length=MAX_RUN_NOTES_CHARS)]
"""What the runner wrote about a run."""

IngestTokenName = Annotated[
    StorableText,
    Field(min_length=1, max_length=MAX_INGEST_TOKEN_NAME_CHARS),
    AfterValidator(_not_blank),
]
"""What an ingest token is called (`iphone`): how `fitness tokens` lists and revokes it."""

StartingMileage = Annotated[float, _number(unit="miles", ge=0, le=MAX_SHOE_MILEAGE)]
"""What a shoe had run before the log."""

ThresholdMileage = Annotated[float, _number(unit="miles", gt=0, le=MAX_SHOE_MILEAGE)]
"""A shoe's warning or maximum mileage."""

RaceName = Annotated[
    StorableText, Field(min_length=1, max_length=MAX_RACE_NAME_CHARS), AfterValidator(_not_blank)
]
"""A race's event name (`Berlin Marathon 2025`)."""

RaceDistance = Annotated[float, _number(unit="miles", gt=0, le=MAX_DISTANCE_MILES)]
"""A race's official distance, in miles (more than 0)."""

RaceDistanceInUnits = Annotated[
    float, _number(unit="miles, or km with units=km", gt=0, le=MAX_DISTANCE_KM)
]
"""A race's official distance in the unit a request names."""

RaceTime = Annotated[float, _number(unit="seconds", gt=0, le=MAX_DURATION_SECONDS)]
"""A race's official (chip) time, in seconds."""

RacePlace = Annotated[int, Field(strict=True, ge=1, le=MAX_RACE_PLACE)]
"""An overall placing (1 is the winner), or the number of finishers."""
# A lift's sets (Hevy's units: kg, metres, seconds): beyond any lifter, finite in every sum.
# RPE is Borg's CR-10 as Hevy logs it (6 to 10 in Hevy's app; 0 to 10 accepted here).
MAX_LIFT_WEIGHT_KG: Final = 2_000.0
MAX_LIFT_REPS: Final = 10_000
MAX_LIFT_SET_DISTANCE_METERS: Final = 1_000_000.0
MAX_LIFT_EXERCISES: Final = 500
MAX_LIFT_SETS: Final = 1_000
MAX_LIFT_TITLE_CHARS: Final = 1_000
MAX_LIFT_TEXT_CHARS: Final = 100_000
SetType = Literal["normal", "warmup", "dropset", "failure"]

WeightKg = Annotated[float, _number(unit="kg", ge=0, le=MAX_LIFT_WEIGHT_KG)]
"""The weight of a set, in kilograms."""

Reps = Annotated[int, Field(strict=True, ge=0, le=MAX_LIFT_REPS)]
"""The repetitions of a set."""

SetDistance = Annotated[float, _number(unit="metres", ge=0, le=MAX_LIFT_SET_DISTANCE_METERS)]
"""The distance of a set (a carry, a sled push), in metres."""

SetDuration = Annotated[float, _number(unit="seconds", ge=0, le=MAX_DURATION_SECONDS)]
"""How long a set lasted, in seconds."""

Rpe = Annotated[float, _number(unit="RPE (0-10)", ge=0, le=10)]
"""Rate of perceived exertion of a set, 0 to 10."""

LiftTitle = Annotated[StorableText, Field(max_length=MAX_LIFT_TITLE_CHARS)]
"""A lift's (or an exercise's) title."""

LiftText = Annotated[StorableText, Field(max_length=MAX_LIFT_TEXT_CHARS)]
"""What the lifter wrote about a lift or an exercise."""

VersionNumber = Annotated[int, Field(ge=1, le=MAX_VERSION)]
"""A version of a run: 1 is the original import."""


def field_problems(error: ValidationError, shape: Any) -> dict[str, str]:
    """What is wrong with each field, as `{field: message}`, from pydantic's `error`.

    `shape` is what refused the values: a pydantic model class or a `TypeAdapter`. A
    message says what the field must be, derived from the declaration that refused the
    value (its JSON Schema), or, for a rule written as a validator, that validator's own
    words. Errors not tied to a field are reported under `body`.
    """
    properties = _properties(shape)
    problems: dict[str, str] = {}
    for item in error.errors(include_url=False, include_input=False):
        location = item["loc"]
        name = str(location[0]) if location else "body"
        if name in problems:
            continue
        if item["type"] == "value_error":
            problems[name] = str(item["ctx"]["error"])
        elif item["type"] == "missing":
            problems[name] = "is required"
        elif item["type"] == "extra_forbidden":
            problems[name] = "unknown field"
        elif item["type"] in _TYPE_MESSAGES:
            problems[name] = _TYPE_MESSAGES[item["type"]]
        elif name in properties:
            problems[name] = "must be " + describe(properties[name])
        else:
            problems[name] = item["msg"]
    return problems


def describe(schema: Mapping[str, Any]) -> str:
    """What a JSON Schema accepts, in words: `a number of miles from 0 to 1000`."""
    options = schema.get("anyOf")
    if options:
        kinds = [option for option in options if option.get("type") != "null"]
        nullable = len(kinds) < len(options)
        words = " or ".join(describe(option) for option in kinds)
        return f"null or {words}" if nullable else words
    if "enum" in schema:
        return "one of " + ", ".join(str(choice) for choice in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type")
    if kind in ("number", "integer"):
        noun = "a number" if kind == "number" else "a whole number"
        unit = schema.get("x-unit")
        return noun + (f" of {unit}" if unit else "") + _range_words(schema)
    if kind == "string":
        return _text_words(schema)
    if kind == "boolean":
        return "true or false"
    return f"a valid {kind or 'value'}"


def _range_words(schema: Mapping[str, Any]) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    above = schema.get("exclusiveMinimum")
    if low is not None and high is not None:
        return f" from {_number_text(low)} to {_number_text(high)}"
    if above is not None and high is not None:
        return f" greater than {_number_text(above)} and at most {_number_text(high)}"
    if low is not None:
        return f" of at least {_number_text(low)}"
    if above is not None:
        return f" greater than {_number_text(above)}"
    if high is not None:
        return f" of at most {_number_text(high)}"
    return ""


def _text_words(schema: Mapping[str, Any]) -> str:
    formats = {"date": "a date as YYYY-MM-DD", "date-time": "an ISO 8601 date-time"}
    if schema.get("format") in formats:
        return formats[schema["format"]]
    shortest, longest = schema.get("minLength", 0), schema.get("maxLength")
    words = "non-empty text" if shortest else "text"
    return words + (f" of at most {longest:,} characters" if longest else "")


def _number_text(value: float) -> str:
    return f"{int(value):,}" if math.isfinite(value) and value == int(value) else str(value)


# Where the JSON Schema would name the wire format (an ISO string), say what the library
# takes, since library callers reach these too.
_TYPE_MESSAGES: Final = {
    "datetime_type": "must be a timezone-aware date-time",
    "date_type": "must be a date",
}


@cache
def _properties(shape: Any) -> Mapping[str, Any]:
    is_model = hasattr(shape, "model_json_schema")
    schema = shape.model_json_schema() if is_model else shape.json_schema()
    return schema.get("properties", {})
