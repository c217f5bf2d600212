"""What the ingest routes take: the JSON that Health Auto Export (iOS) pushes.

Declared for the OpenAPI document only: the route streams the body through
fitness.importers.hae, which reads both of the app's workout formats and names what is
wrong. Every object may carry more keys than these (the app adds many); they are skipped.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", use_attribute_docstrings=True)


class HaeQuantity(_Open):
    qty: float
    units: str
    """`mi`, `km` (also `m`, `yd`, `ft`) for distance; `bpm` for heart rate."""


class HaeHeartRate(_Open):
    avg: HaeQuantity | None = None
    min: HaeQuantity | None = None
    max: HaeQuantity | None = None


class HaeWorkout(_Open):
    """One workout (export version 2; version 1 has no `id` and no `duration`)."""

    id: str | None = None
    """The HealthKit workout UUID: the run's id is `hae_<id>`."""
    name: str
    """The workout type: `Outdoor Run`, `Indoor Run`, `Running`... (others are counted)."""
    start: str
    """`yyyy-MM-dd HH:mm:ss Z`, e.g. `2024-02-06 07:00:00 -0800`."""
    end: str | None = None
    duration: float | None = None
    """Seconds."""
    distance: HaeQuantity | None = None
    isIndoor: bool | None = None
    heartRate: HaeHeartRate | None = None
    avgHeartRate: HaeQuantity | None = None


class HaeData(_Open):
    workouts: list[HaeWorkout]


class HaePayload(_Open):
    """A Health Auto Export REST API push: `{"data": {"workouts": [...]}}`."""

    data: HaeData
