"""Apple Health workouts as the Health Auto Export app (iOS) pushes them, turned into runs.

The app's REST API automation posts `{"data": {"workouts": [...]}}` (plus `metrics` and other
arrays this reader skips). Its workouts come in two formats, both read here:

- Version 2 (the app's default since 2024): `id` (the HealthKit workout UUID), `name`
  ("Outdoor Run", "Indoor Run", "Running", "Walking"...), `start` and `end`
  (`yyyy-MM-dd HH:mm:ss Z`, e.g. `2024-02-06 07:00:00 -0800`), `duration` (seconds),
  `distance` (`{"qty", "units"}` in `mi` or `km`), `isIndoor`/`location`, heart rate as a
  summary (`heartRate: {"min", "avg", "max"}` and `avgHeartRate`, each `{"qty", "units":
  "bpm"}`) and a series (`heartRateData: [{"date", "Min", "Avg", "Max", "units"}]`), and,
  with "Include Workout Metrics", `walkingAndRunningDistance: [{"date", "qty", "units"}]`.
- Version 1 (legacy): no `id` and no `duration`; `avgHeartRate: {"qty", "units"}`,
  `heartRateData: [{"date", "qty", "units"}]`, `distance` in `km`, `mi` or `m`.

Only the fields a run needs are read: the rest of each workout (its route, every metric
series) is skipped as it streams past, so a payload of any size is read in little memory
(ijson). Pure: the caller hands over the body; nothing here writes.
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import IO, Final

import ijson

from fitness.errors import InvalidUpdate, MalformedPayload
from fitness.models import Run, RunType, validate_run_fields
from fitness.ride_models import Ride, validate_ride_fields
from fitness.rules import MAX_HEART_RATE, MIN_HEART_RATE

logger = logging.getLogger(__name__)

SOURCE: Final = "Apple Health"
# A workout a day for 130 years: more in one request is not a push from a phone.
MAX_WORKOUTS: Final = 50_000
# Problems listed in one refusal; the rest are counted.
MAX_LISTED_PROBLEMS: Final = 100
MAX_ID_CHARS: Final = 64
MAX_DATE_CHARS: Final = 64

# Miles per unit of each distance unit the app writes (exact, in decimal arithmetic).
MILES_PER_UNIT: Final = {
    "mi": Decimal(1),
    "km": 1 / Decimal("1.609344"),
    "m": 1 / Decimal("1609.344"),
    "yd": 1 / Decimal(1760),
    "ft": 1 / Decimal(5280),
}
HEART_RATE_UNITS: Final = frozenset({"bpm", "count/min"})
# The app's date format, `yyyy-MM-dd HH:mm:ss Z`; ISO 8601 with an offset is read too.
DATE_FORMAT: Final = "%Y-%m-%d %H:%M:%S %z"
# A version 1 workout has no id: its id is derived from its start and its name, which no
# two workouts share.
V1_NAMESPACE: Final = uuid.UUID("6f1f0c2e-5c1b-4f57-9d0c-3a7e2b9d8e41")

# The keys of a workout that are read; every other key's value is skipped unread.
_READ_KEYS: Final = frozenset(
    {
        "id",
        "name",
        "start",
        "end",
        "duration",
        "distance",
        "isIndoor",
        "location",
        "heartRate",
        "avgHeartRate",
        "heartRateData",
        "walkingAndRunningDistance",
        "cyclingDistance",
    }
)
_WORDS = re.compile(r"[^\W\d_]+")

Workout = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class HAEWorkouts:
    """What a payload holds: its running workouts as runs, its cycling workouts as rides,
    and how many other workouts."""

    runs: tuple[Run, ...]
    others: int
    rides: tuple[Ride, ...] = ()


def read_workouts(body: IO[bytes]) -> HAEWorkouts:
    """The workouts of a Health Auto Export payload (`body`, its bytes, read as a stream).

    Running workouts (see `is_run`) become runs `hae_<workout UUID>`: distance in miles,
    duration in seconds, start in UTC, the average heart rate when it is plausible (20-250
    bpm), `Treadmill Run` when indoors. Cycling workouts (see `is_ride`) become rides
    `hae_<workout UUID>` the same way (indoor when Indoor Cycle or `isIndoor`; distance from
    `distance`, else the sum of `cyclingDistance`). Other workouts are only counted.

    A body that is not JSON, or has no `data.workouts` array, is a `MalformedPayload`; a
    running workout whose fields cannot make a run is an `InvalidUpdate` naming each field
    by its place in the payload (`data.workouts[2].start`), for every workout at once (the
    first `MAX_LISTED_PROBLEMS`). Either way nothing is returned, so nothing is written.
    """
    runs: list[Run] = []
    rides: list[Ride] = []
    others = 0
    problems: dict[str, str] = {}
    count = 0
    for index, workout in enumerate(_workouts(body)):
        if index >= MAX_WORKOUTS:
            raise InvalidUpdate(
                {
                    "data.workouts": f"holds more than {MAX_WORKOUTS:,} workouts: send them in "
                    "batches (the automation's Batch Requests)"
                }
            )
        count += 1
        try:
            run = run_from_workout(workout)
            ride = ride_from_workout(workout) if run is None else None
        except _Problems as refused:
            for field, message in refused.problems.items():
                if len(problems) < MAX_LISTED_PROBLEMS:
                    problems[f"data.workouts[{index}].{field}"] = message
            continue
        if run is not None:
            runs.append(run)
        elif ride is not None:
            rides.append(ride)
        else:
            others += 1
    if problems:
        raise InvalidUpdate(problems)
    logger.debug(
        "Read %s workouts: %s runs, %s rides, %s others", count, len(runs), len(rides), others
    )
    return HAEWorkouts(runs=tuple(runs), others=others, rides=tuple(rides))


def is_run(name: str) -> bool:
    """True for a running workout: its name has the word `Run` or `Running` ("Outdoor Run",
    "Indoor Run", "Running", "Trail Run"), but not `Wheelchair` (a different activity)."""
    words = {word.casefold() for word in _WORDS.findall(name)}
    return bool(words & {"run", "running"}) and "wheelchair" not in words


def is_ride(name: str) -> bool:
    """True for a cycling workout: "Outdoor Cycle", "Indoor Cycle", "Cycling" (Apple Health's
    cycling workout as Health Auto Export names it), but not hand cycling."""
    words = {word.casefold() for word in _WORDS.findall(name)}
    return bool(words & {"cycle", "cycling", "bike", "biking"}) and "hand" not in words


def ride_from_workout(workout: Workout) -> Ride | None:
    """The ride a workout describes, or None when it is not a cycling workout.

    Raises `_Problems` naming each field (relative to the workout) that makes no ride.
    """
    name = workout.get("name")
    if not isinstance(name, str) or not is_ride(name):
        return None
    problems: dict[str, str] = {}
    start = _moment(workout, "start", problems)
    end = _moment(workout, "end", problems) if workout.get("end") is not None else None
    duration = _duration(workout, start, end, problems)
    distance = _distance(workout, problems, series="cyclingDistance")
    heart_rate = _heart_rate(workout, problems)
    ride_id = _run_id(workout, start, name, problems)
    if problems or start is None or duration is None or distance is None or ride_id is None:
        raise _Problems(problems)
    words = {word.casefold() for word in _WORDS.findall(name)}
    values: dict[str, object] = {
        "datetime_utc": start,
        "type": "Road Ride",
        "indoor": workout.get("isIndoor") is True
        or workout.get("location") == "Indoor"
        or "indoor" in words,
        "distance": distance,
        "duration": duration,
        "avg_heart_rate": heart_rate,
    }
    refused = validate_ride_fields(values)
    if refused:
        fields = {"datetime_utc": "start"}
        raise _Problems({fields.get(key, key): message for key, message in refused.items()})
    return Ride(id=ride_id, source=SOURCE, **values)  # type: ignore[arg-type]


def run_from_workout(workout: Workout) -> Run | None:
    """The run a workout describes, or None when it is not a running workout.

    Raises `_Problems` naming each field (relative to the workout) that makes no run.
    """
    name = workout.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _Problems({"name": "must be the workout's type, such as Outdoor Run"})
    if not is_run(name):
        return None
    problems: dict[str, str] = {}
    start = _moment(workout, "start", problems)
    end = _moment(workout, "end", problems) if workout.get("end") is not None else None
    duration = _duration(workout, start, end, problems)
    distance = _distance(workout, problems)
    heart_rate = _heart_rate(workout, problems)
    run_id = _run_id(workout, start, name, problems)
    if problems or start is None or duration is None or distance is None or run_id is None:
        raise _Problems(problems)
    values: dict[str, object] = {
        "datetime_utc": start,
        "type": _run_type(workout, name),
        "distance": distance,
        "duration": duration,
        "avg_heart_rate": heart_rate,
    }
    refused = validate_run_fields(values)
    if refused:
        fields = {"datetime_utc": "start"}
        raise _Problems({fields.get(key, key): message for key, message in refused.items()})
    return Run(id=run_id, source=SOURCE, **values)  # type: ignore[arg-type]


class _Problems(Exception):
    """What is wrong with one workout, by field."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(problems)
        self.problems = problems


def _run_id(
    workout: Workout, start: datetime | None, name: str, problems: dict[str, str]
) -> str | None:
    raw = workout.get("id")
    if raw is None:
        if start is None:
            return None
        return f"hae_{uuid.uuid5(V1_NAMESPACE, f'{start.isoformat()} {name.strip()}')}"
    if not isinstance(raw, str) or len(raw) > MAX_ID_CHARS:
        problems["id"] = "must be the workout's UUID"
        return None
    try:
        return f"hae_{uuid.UUID(raw)}"
    except ValueError:
        problems["id"] = "must be the workout's UUID"
        return None


def _moment(workout: Workout, field: str, problems: dict[str, str]) -> datetime | None:
    value = workout.get(field)
    wrong = "must be a date-time with its offset, such as 2024-02-06 07:00:00 -0800"
    if not isinstance(value, str) or len(value) > MAX_DATE_CHARS:
        problems[field] = "is missing" if value is None else wrong
        return None
    try:
        parsed = datetime.strptime(value.strip(), DATE_FORMAT)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            problems[field] = wrong
            return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        problems[field] = wrong
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        problems[field] = wrong
        return None


def _duration(
    workout: Workout, start: datetime | None, end: datetime | None, problems: dict[str, str]
) -> float | None:
    value = workout.get("duration")
    if value is not None:
        seconds = _number(value)
        if seconds is None:
            problems["duration"] = "must be a number of seconds"
        return seconds
    if start is not None and end is not None:
        return (end - start) / timedelta(seconds=1)
    if start is not None and "end" not in problems:
        problems["duration"] = "is missing, and there is no end to count it from"
    return None


def _distance(
    workout: Workout, problems: dict[str, str], series: str = "walkingAndRunningDistance"
) -> float | None:
    """Miles: `distance`, else the sum of the `series` samples, else 0 (an indoor workout
    recorded without distance, kept so that nothing is lost; edit it later)."""
    if workout.get("distance") is not None:
        return _miles(workout["distance"], "distance", problems)
    samples = workout.get(series)
    if samples is None:
        return 0.0
    if not isinstance(samples, list):
        problems[series] = "must be a list of {qty, units}"
        return None
    total = 0.0
    for index, sample in enumerate(samples):
        miles = _miles(sample, f"{series}[{index}]", problems)
        if miles is None:
            return None
        total += miles
    return total


def _miles(quantity: object, field: str, problems: dict[str, str]) -> float | None:
    units = ", ".join(MILES_PER_UNIT)
    if not isinstance(quantity, Mapping):
        problems[field] = f'must be {{"qty": <number>, "units": one of {units}}}'
        return None
    qty = _number(quantity.get("qty"))
    unit = quantity.get("units")
    if qty is None or qty < 0:
        problems[f"{field}.qty"] = "must be a number of at least 0"
        return None
    if not isinstance(unit, str) or unit.strip().lower() not in MILES_PER_UNIT:
        problems[f"{field}.units"] = f"must be one of {units}"
        return None
    return float(Decimal(repr(qty)) * MILES_PER_UNIT[unit.strip().lower()])


def _heart_rate(workout: Workout, problems: dict[str, str]) -> float | None:
    """The average heart rate: the summary's `heartRate.avg`, else `avgHeartRate`, else the
    mean of the `heartRateData` series (`Avg`, or `qty` in version 1); None when there is
    none, and when it is implausible (a sensor glitch: the run is kept without it)."""
    summary = workout.get("heartRate")
    candidates: list[tuple[str, object]] = []
    if isinstance(summary, Mapping) and summary.get("avg") is not None:
        candidates.append(("heartRate.avg", summary["avg"]))
    elif summary is not None and not isinstance(summary, Mapping):
        problems["heartRate"] = 'must be {"min", "avg", "max"}, each {"qty", "units": "bpm"}'
        return None
    if workout.get("avgHeartRate") is not None:
        candidates.append(("avgHeartRate", workout["avgHeartRate"]))
    if candidates:
        field, quantity = candidates[0]
        return _plausible(_beats(quantity, field, problems))
    series = workout.get("heartRateData")
    if series is None:
        return None
    if not isinstance(series, list):
        problems["heartRateData"] = 'must be a list of {"date", "Avg"} (or {"date", "qty"})'
        return None
    readings = []
    for index, sample in enumerate(series):
        value = sample.get("Avg", sample.get("qty")) if isinstance(sample, Mapping) else None
        reading = _number(value)
        if reading is None:
            problems[f"heartRateData[{index}]"] = 'must be {"date", "Avg"} (or {"date", "qty"})'
            return None
        readings.append(reading)
    return _plausible(math.fsum(readings) / len(readings)) if readings else None


def _beats(quantity: object, field: str, problems: dict[str, str]) -> float | None:
    if not isinstance(quantity, Mapping):
        problems[field] = 'must be {"qty": <number>, "units": "bpm"}'
        return None
    qty = _number(quantity.get("qty"))
    unit = quantity.get("units", "bpm")
    if qty is None:
        problems[f"{field}.qty"] = "must be a number of beats per minute"
        return None
    if not isinstance(unit, str) or unit.strip().lower() not in HEART_RATE_UNITS:
        problems[f"{field}.units"] = "must be bpm (or count/min)"
        return None
    return qty


def _plausible(beats: float | None) -> float | None:
    if beats is None or MIN_HEART_RATE <= beats <= MAX_HEART_RATE:
        return beats
    logger.warning("Ignoring an implausible average heart rate on an Apple Health workout")
    return None


def _run_type(workout: Workout, name: str) -> RunType:
    words = {word.casefold() for word in _WORDS.findall(name)}
    indoor = (
        workout.get("isIndoor") is True
        or workout.get("location") == "Indoor"
        or bool(words & {"indoor", "treadmill"})
    )
    return "Treadmill Run" if indoor else "Outdoor Run"


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


# --- the stream -------------------------------------------------------------------------


def _workouts(body: IO[bytes]) -> Iterator[dict[str, object]]:
    """Each workout object of `data.workouts`, with only the keys in `_READ_KEYS`."""
    events = ((event, value) for _, event, value in ijson.parse(body, use_float=True))
    try:
        yield from _payload_workouts(events)
        for _ in events:
            raise MalformedPayload("The body has more after its JSON object.")
    except ijson.JSONError:
        raise MalformedPayload("The body is not valid JSON.") from None


Events = Iterator[tuple[str, object]]


def _payload_workouts(events: Events) -> Iterator[dict[str, object]]:
    shape = 'The body must be a JSON object {"data": {"workouts": [...]}}'
    if _next(events)[0] != "start_map":
        raise MalformedPayload(f"{shape}.")
    found = False
    for key in _keys(events):
        if key != "data":
            _skip(events)
            continue
        if _next(events)[0] != "start_map":
            raise MalformedPayload(f"{shape}: `data` is not an object.")
        for data_key in _keys(events):
            if data_key != "workouts":
                _skip(events)
                continue
            if _next(events)[0] != "start_array":
                raise MalformedPayload(f"{shape}: `data.workouts` is not an array.")
            found = True
            index = 0
            while True:
                event, _ = _next(events)
                if event == "end_array":
                    break
                if event != "start_map":
                    raise MalformedPayload(f"`data.workouts[{index}]` is not an object.")
                yield _workout(events)
                index += 1
    if not found:
        raise MalformedPayload(
            f"{shape}: it has no `data.workouts` (choose Workouts as the automation's data type)."
        )


def _workout(events: Events) -> dict[str, object]:
    workout: dict[str, object] = {}
    for key in _keys(events):
        if key in _READ_KEYS:
            workout[str(key)] = _value(events)
        else:
            _skip(events)
    return workout


def _keys(events: Events) -> Iterator[object]:
    """The keys of the object being read, up to its end; read each key's value in turn."""
    while True:
        event, value = _next(events)
        if event == "end_map":
            return
        yield value


def _value(events: Events) -> object:
    builder = ijson.ObjectBuilder()
    depth = 0
    while True:
        event, value = _next(events)
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
        if depth == 0:
            return builder.value


def _skip(events: Events) -> None:
    depth = 0
    while True:
        event, _ = _next(events)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
        if depth == 0:
            return


def _next(events: Events) -> tuple[str, object]:
    try:
        return next(events)
    except StopIteration:
        raise MalformedPayload("The body is not valid JSON.") from None
