"""Strava activities (the JSON of `GET /athlete/activities`) turned into runs and rides,
and gear (`GET /gear/{id}`) into the shoes or bikes it stands for.

Pure: the caller fetches the activity and its gear; this decides whether it is a run or a
ride, what it looks like in our units (miles, seconds, UTC) and what the gear is called.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from fitness.ids import MAX_SHOE_NAME_CHARS, strava_run_id
from fitness.models import ProviderGear, Run, RunType
from fitness.ride_models import Ride
from fitness.rules import (
    MAX_HEART_RATE,
    MAX_RIDE_KILOJOULES,
    MAX_RIDE_POWER_WATTS,
    MAX_RUN_NAME_CHARS,
    MAX_RUN_NOTES_CHARS,
    MIN_HEART_RATE,
    RideType,
)

logger = logging.getLogger(__name__)

SOURCE: Final = "Strava"
RUN_ACTIVITY_TYPES: Final = frozenset({"Run", "TrailRun", "VirtualRun"})
# Strava's cycling sport types (https://developers.strava.com/docs/reference/#api-models-
# SportType) and the ride type each is; the older `type` knows only Ride, VirtualRide and
# EBikeRide.
RIDE_ACTIVITY_TYPES: Final[dict[str, RideType]] = {
    "Ride": "Road Ride",
    "GravelRide": "Gravel Ride",
    "MountainBikeRide": "Mountain Bike Ride",
    "EBikeRide": "E-Bike Ride",
    "EMountainBikeRide": "E-Bike Ride",
    "VirtualRide": "Virtual Ride",
    "Velomobile": "Road Ride",
}
METRES_PER_MILE: Final = 1609.344

Activity = Mapping[str, object]


def is_run(activity: Activity) -> bool:
    """True when either `sport_type` or the older `type` names a run (Run, TrailRun, VirtualRun)."""
    # Only strings count: a list or an object there is malformed, and unhashable.
    kinds = (activity.get("sport_type"), activity.get("type"))
    return any(isinstance(kind, str) and kind in RUN_ACTIVITY_TYPES for kind in kinds)


def is_ride(activity: Activity) -> bool:
    """True when `sport_type` (or, without one, the older `type`) names a ride."""
    return _ride_kind(activity) is not None


def ride_from_activity(activity: Activity) -> Ride:
    """The ride an activity describes (without its bike: see `provider_gear`).

    As `run_from_activity` for distance, duration (moving time), heart rate, name and notes;
    `sport_type` gives the ride type (`GravelRide` a `Gravel Ride`...), `trainer: true`
    makes it indoor (a virtual ride always is); `average_watts` and `kilojoules` are kept
    when plausible (Strava estimates them without a power meter: `device_watts` false).

    >>> ride_from_activity({"id": 2, "sport_type": "GravelRide", "distance": 32186.88,
    ...     "moving_time": 5400, "start_date": "2025-01-14T12:02:31Z"}).distance
    20.0
    """
    kind = _ride_kind(activity)
    if kind is None:
        raise ValueError(f"is a {activity.get('sport_type') or activity.get('type')}, not a ride")
    metres = _number(activity.get("distance"))
    if metres is None or metres < 0:
        raise ValueError("has no distance")
    duration = _number(activity.get("moving_time")) or _number(activity.get("elapsed_time"))
    if not duration or duration <= 0:
        raise ValueError("has no moving or elapsed time")
    return Ride(
        id=strava_run_id(_required(activity, "id")),  # type: ignore[arg-type]
        datetime_utc=start_time(activity),
        type=kind,
        indoor=activity.get("trainer") is True or kind == "Virtual Ride",
        distance=round(metres / METRES_PER_MILE, 4),
        duration=duration,
        source=SOURCE,
        avg_heart_rate=_heart_rate(activity),
        avg_power=_bounded(activity.get("average_watts"), MAX_RIDE_POWER_WATTS),
        kilojoules=_bounded(activity.get("kilojoules"), MAX_RIDE_KILOJOULES),
        name=_text(activity, "name", MAX_RUN_NAME_CHARS),
        notes=_text(activity, "description", MAX_RUN_NOTES_CHARS),
    )


def run_type(activity: Activity) -> RunType:
    """'Treadmill Run' for a trainer activity or a virtual run, else 'Outdoor Run'."""
    virtual = "VirtualRun" in (activity.get("sport_type"), activity.get("type"))
    return "Treadmill Run" if activity.get("trainer") is True or virtual else "Outdoor Run"


def start_time(activity: Activity) -> datetime:
    """The activity's `start_date` (UTC, e.g. `2025-01-14T12:02:31Z`) as an aware datetime."""
    value = activity.get("start_date")
    if not isinstance(value, str):
        raise ValueError("has no start_date")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"start_date {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def run_from_activity(activity: Activity) -> Run:
    """The run an activity describes (without its shoe: see `provider_gear`).

    Distance is converted from metres to miles, `moving_time` (or `elapsed_time` when that
    is missing or zero) is the duration, `average_heartrate` is kept when it is plausible.
    The activity's `name` (its title) is the run's name; its `description` becomes the
    notes when the activity carries one (a list page never does: Strava sends descriptions
    only with a single activity). A malformed activity (no id, no start, no positive
    duration, a title or description longer than a run can hold) is a `ValueError`.

    >>> run_from_activity({"id": 1, "type": "Run", "distance": 8046.72, "moving_time": 2400,
    ...                    "start_date": "2025-01-14T12:02:31Z"}).distance
    5.0
    """
    if not is_run(activity):
        raise ValueError(f"is a {activity.get('sport_type') or activity.get('type')}, not a run")
    run_id = strava_run_id(_required(activity, "id"))  # type: ignore[arg-type]
    metres = _number(activity.get("distance"))
    if metres is None or metres < 0:
        raise ValueError("has no distance")
    duration = _number(activity.get("moving_time")) or _number(activity.get("elapsed_time"))
    if not duration or duration <= 0:
        raise ValueError("has no moving or elapsed time")
    return Run(
        id=run_id,
        datetime_utc=start_time(activity),
        type=run_type(activity),
        distance=round(metres / METRES_PER_MILE, 4),
        duration=duration,
        source=SOURCE,
        avg_heart_rate=_heart_rate(activity),
        name=_text(activity, "name", MAX_RUN_NAME_CHARS),
        notes=_text(activity, "description", MAX_RUN_NOTES_CHARS),
    )


def provider_gear(gear_id: str, gear: Mapping[str, object] | None) -> ProviderGear:
    """The shoe a Strava gear id stands for, from its `GET /gear/{id}` body.

    `gear` None (Strava no longer has it) leaves name and retirement unknown: a shoe already
    linked to the gear id keeps it. A name longer than a shoe name can be is cut (the gear
    id, not the name, identifies the shoe).
    """
    if gear is None:
        return ProviderGear(provider="strava", gear_id=gear_id)
    name = gear_name(gear)
    if name is not None:
        name = name.replace("\x00", "")
        if len(name) > MAX_SHOE_NAME_CHARS:
            name = name[: MAX_SHOE_NAME_CHARS - 1].rstrip() + "…"
    retired = gear.get("retired")
    return ProviderGear(
        provider="strava",
        gear_id=gear_id,
        name=name or f"Strava gear {gear_id}",
        retired=retired if isinstance(retired, bool) else None,
    )


def gear_name(gear: Mapping[str, object]) -> str | None:
    """The name Strava shows for a piece of gear (`GET /gear/{id}`): its name or nickname."""
    for key in ("name", "nickname"):
        value = gear.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    parts = [gear.get("brand_name"), gear.get("model_name")]
    name = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    return name or None


def _ride_kind(activity: Activity) -> RideType | None:
    for key in ("sport_type", "type"):
        kind = activity.get(key)
        if isinstance(kind, str):
            return RIDE_ACTIVITY_TYPES.get(kind)
    return None


def _bounded(value: object, largest: float) -> float | None:
    number = _number(value)
    return number if number is not None and 0 <= number <= largest else None


def _required(activity: Activity, key: str) -> object:
    value = activity.get(key)
    if value is None:
        raise ValueError(f"has no {key}")
    return value


def _text(activity: Activity, key: str, limit: int) -> str | None:
    value = activity.get(key)
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    if len(text) > limit:
        raise ValueError(f"has a {key} longer than {limit:,} characters")
    return text or None


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _heart_rate(activity: Activity) -> float | None:
    value = _number(activity.get("average_heartrate"))
    if value is None:
        return None
    if not MIN_HEART_RATE <= value <= MAX_HEART_RATE:
        # A sensor glitch, not a heart rate: keep the run, drop the reading.
        logger.warning("Ignoring implausible average heart rate on a Strava activity")
        return None
    return value
