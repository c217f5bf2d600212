"""A fake Hevy public API v1: workouts, the workout events feed and exercise templates.

Served by a real `FakeHTTPServer` on 127.0.0.1 and filled with the recorded-shape JSON in
tests/fixtures/hevy/ (Hevy's documented shapes: `supersets_id`, `routine_id`, nulls for
weight and reps, a workout without exercises). Like Hevy it checks the `api-key` header
(a wrong key is a 401 with the text/html body `InvalidApiKey`), pages every list with
`page`/`pageSize`/`page_count` (a page size above the maximum is a 400), and derives the
events feed from what changed: a workout whose `updated_at` is after `since` is an
`updated` event, a deleted one a `deleted` event. Tests change workouts (`update`,
`delete`) and script failures (`fail_next`, `answer_next`).
"""

from __future__ import annotations

import copy
import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fitness.config import reset_settings
from fitness.importers.hevy import lift_from_workout, template_from_json
from fitness.lift_models import Lift
from tests.fakes.http import FakeHTTPServer, Reply, Request, running

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "hevy"
API_KEY = "6f1f4d3e-2b1a-4c5d-9e8f-0a1b2c3d4e5f"
MAX_PAGE_SIZE = {"workouts": 10, "events": 10, "exercise_templates": 100}


def recorded_workouts() -> list[dict[str, object]]:
    """Three workouts as `GET /v1/workouts` returns them (newest last here)."""
    return json.loads((FIXTURES / "workouts.json").read_text())  # type: ignore[no-any-return]


def recorded_templates() -> list[dict[str, object]]:
    """The exercise templates the recorded workouts use, as `GET /v1/exercise_templates`."""
    return json.loads((FIXTURES / "exercise_templates.json").read_text())  # type: ignore[no-any-return]


def recorded_lifts() -> list[Lift]:
    """The recorded workouts as the importer makes them lifts (with the templates' groups)."""
    templates = {str(t["id"]): template_from_json(t) for t in recorded_templates()}
    return [lift_from_workout(w, templates) for w in recorded_workouts()]


def make_workouts(
    count: int, start: datetime = datetime(2025, 3, 3, 17, 0, tzinfo=UTC)
) -> list[dict[str, object]]:
    """`count` recorded-shape workouts (the first recorded one), one a day from `start`."""
    template = recorded_workouts()[0]
    workouts = []
    for n in range(count):
        workout = copy.deepcopy(template)
        when = start + timedelta(days=n)
        workout.update(
            {
                "id": f"00000000-0000-4000-8000-{n:012d}",
                "title": f"Workout {n + 1}",
                "start_time": _iso(when),
                "end_time": _iso(when + timedelta(hours=1)),
                "updated_at": _iso(when + timedelta(hours=1, minutes=1)),
                "created_at": _iso(when + timedelta(hours=1, minutes=1)),
            }
        )
        workouts.append(workout)
    return workouts


@dataclass
class FakeHevyAPI:
    """Workouts, deletions and templates behind one API key."""

    workouts: list[dict[str, object]] = field(default_factory=recorded_workouts)
    templates: list[dict[str, object]] = field(default_factory=recorded_templates)
    deleted: dict[str, str] = field(default_factory=dict)
    api_key: str = API_KEY
    is_pro: bool = True
    _script: deque[Reply] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, workout_id: str, at: datetime, **changes: object) -> None:
        """Change a workout in Hevy at time `at` (its `updated_at`): an `updated` event."""
        workout = self._find(workout_id)
        workout.update(changes)
        workout["updated_at"] = _iso(at)

    def delete(self, workout_id: str, at: datetime) -> None:
        """Delete a workout in Hevy at time `at`: it leaves the list, a `deleted` event."""
        self.workouts.remove(self._find(workout_id))
        self.deleted[workout_id] = _iso(at)

    def fail_next(self, status: int, *, times: int = 1) -> None:
        """Answer the next `times` requests with `status` (Hevy's bare error text)."""
        for _ in range(times):
            self._script.append(Reply(status, text="Internal Server Error"))

    def answer_next(self, reply: Reply) -> None:
        """Answer the next request with `reply` (an odd body, a 429 with Retry-After)."""
        self._script.append(reply)

    def __call__(self, request: Request) -> Reply:
        with self._lock:
            if self._script:
                return self._script.popleft()
        if request.headers.get("api-key") != self.api_key:
            return Reply(401, text="InvalidApiKey")
        if not self.is_pro:
            return Reply(403, text="Forbidden")
        if request.path == "/v1/workouts":
            return self._page(request, "workouts", sorted(self.workouts, key=_newest_first))
        if request.path == "/v1/workouts/events":
            return self._page(request, "events", self._events(request.query.get("since")))
        return self._page(request, "exercise_templates", self.templates)

    def _events(self, since: str | None) -> list[dict[str, object]]:
        after = _parse(since or "1970-01-01T00:00:00Z")
        events: list[tuple[datetime, dict[str, object]]] = [
            (_parse(str(w["updated_at"])), {"type": "updated", "workout": w})
            for w in self.workouts
            if _parse(str(w["updated_at"])) > after
        ]
        events += [
            (_parse(at), {"type": "deleted", "id": workout_id, "deleted_at": at})
            for workout_id, at in self.deleted.items()
            if _parse(at) > after
        ]
        return [event for _, event in sorted(events, key=lambda pair: pair[0], reverse=True)]

    def _page(self, request: Request, key: str, items: list[dict[str, object]]) -> Reply:
        try:
            page = int(request.query.get("page", "1"))
            size = int(request.query.get("pageSize", "5"))
        except ValueError:
            return Reply(400, {"error": "Invalid page size"})
        if page < 1 or not 1 <= size <= MAX_PAGE_SIZE[key]:
            return Reply(400, {"error": "Invalid page size"})
        page_count = (len(items) + size - 1) // size
        if page > max(page_count, 1):
            return Reply(404, {"error": "Page not found"})
        chosen = copy.deepcopy(items[(page - 1) * size : page * size])
        return Reply(200, {"page": page, "page_count": page_count, key: chosen})

    def _find(self, workout_id: str) -> dict[str, object]:
        return next(w for w in self.workouts if w["id"] == workout_id)


@dataclass
class FakeHevy:
    """A running fake Hevy; `environment()` holds the settings that point fitness at it."""

    server: FakeHTTPServer
    api: FakeHevyAPI

    def environment(self) -> dict[str, str]:
        return {"HEVY_API_BASE_URL": self.server.url, "HEVY_API_KEY": self.api.api_key}

    def requests_to(self, path: str) -> list[Request]:
        return self.server.requests_to(path)


@contextmanager
def running_fake_hevy() -> Iterator[FakeHevy]:
    """Start a fake Hevy on a free port of 127.0.0.1 for the duration of the block, with
    fitness configured to use it (HEVY_API_BASE_URL, HEVY_API_KEY)."""
    api = FakeHevyAPI()
    server = FakeHTTPServer()
    for path in ("/v1/workouts", "/v1/workouts/events", "/v1/exercise_templates"):
        server.route("GET", path, api)
    fake = FakeHevy(server, api)
    with running(server), pytest.MonkeyPatch.context() as patch:
        for name, value in fake.environment().items():
            patch.setenv(name, value)
        reset_settings()
        try:
            yield fake
        finally:
            patch.undo()
            reset_settings()


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _newest_first(workout: dict[str, object]) -> tuple[bool, float]:
    # A workout without a start time (a test's odd shape) sorts last.
    start = workout.get("start_time")
    return (start is None, -_parse(str(start)).timestamp() if start else 0.0)
