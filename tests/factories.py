"""Factories for test data: valid values by default, override only what a test is about."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fitness.models import Run
from fitness.ride_models import Ride


@dataclass
class RunFactory:
    """Makes distinct runs, one day apart, starting 2024-01-01 07:00 UTC."""

    start: datetime = datetime(2024, 1, 1, 7, 0, tzinfo=UTC)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def make(self, **overrides: object) -> Run:
        n = next(self._counter)
        values: dict[str, object] = {
            "id": f"strava_{1000 + n}",
            "datetime_utc": self.start + timedelta(days=n - 1),
            "type": "Outdoor Run",
            "distance": 3.0 + n / 10,
            "duration": 1800.0 + n,
            "source": "Strava",
            "avg_heart_rate": 140.0 + n % 20,
        }
        values.update(overrides)
        return Run(**values)  # type: ignore[arg-type]

    def many(self, count: int, **overrides: object) -> list[Run]:
        return [self.make(**overrides) for _ in range(count)]


@dataclass
class RideFactory:
    """Makes distinct rides, one day apart, starting 2024-03-01 16:00 UTC."""

    start: datetime = datetime(2024, 3, 1, 16, 0, tzinfo=UTC)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def make(self, **overrides: object) -> Ride:
        n = next(self._counter)
        values: dict[str, object] = {
            "id": f"strava_{5000 + n}",
            "datetime_utc": self.start + timedelta(days=n - 1),
            "type": "Road Ride",
            "distance": 20.0 + n,
            "duration": 3600.0 + n,
            "source": "Strava",
            "avg_heart_rate": 130.0 + n % 20,
            "avg_power": 180.0 + n,
            "kilojoules": 650.0 + n,
        }
        values.update(overrides)
        return Ride(**values)  # type: ignore[arg-type]

    def many(self, count: int, **overrides: object) -> list[Ride]:
        return [self.make(**overrides) for _ in range(count)]
