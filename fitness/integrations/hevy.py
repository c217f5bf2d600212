"""A client for Hevy's public API v1: workouts, the workout events feed, exercise templates.

Hevy (https://api.hevyapp.com/docs) takes a Hevy Pro account's API key in an `api-key`
header; the key comes from HEVY_API_KEY and travels only in that header, never in a message
or a log line. Collections are paged (`page`, `pageSize`; answers carry `page` and
`page_count`). Timeouts, connection errors and 5xx answers get a bounded retry with backoff;
a 401 (Hevy answers `InvalidApiKey` as text/html), a 403 and a 429 stop at once with an
error that says what to do. Every path is relative to HEVY_API_BASE_URL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Final, Self

import httpx

from fitness.config import Settings, get_settings
from fitness.errors import (
    CredentialsRejected,
    IntegrationError,
    IntegrationNotConfigured,
    IntegrationRefused,
)
from fitness.integrations.http import retry_after

logger = logging.getLogger(__name__)

PROVIDER: Final = "hevy"
# Hevy's documented maxima: 10 per page for workouts and events, 100 for templates.
WORKOUTS_PAGE_SIZE: Final = 10
TEMPLATES_PAGE_SIZE: Final = 100
# A bound on any one listing, so that an answer whose `page_count` never ends cannot keep a
# sync running: 5,000 pages of 10 is 50,000 workouts, a workout a day for 130 years.
MAX_PAGES: Final = 5_000
DEFAULT_MAX_ATTEMPTS: Final = 3
DEFAULT_BACKOFF_SECONDS: Final = 0.5
DEFAULT_TIMEOUT_SECONDS: Final = 15.0
KEY_HELP: Final = (
    "set HEVY_API_KEY to the API key of a Hevy Pro account (https://hevy.com/settings?developer)"
)

# Hevy has no endpoint to revoke a key: a key is retired by generating a new one.
RETIRE_KEY_HELP: Final = (
    "Hevy cannot revoke it from here: to retire it, generate a new key at "
    "https://hevy.com/settings?developer"
)

Workout = dict[str, object]
WorkoutEvent = dict[str, object]
ExerciseTemplate = dict[str, object]


class HevyRateLimited(IntegrationError):
    """Hevy answered 429: stop now, keep what was fetched, sync again at `retry_after`
    (None when Hevy did not say when)."""

    def __init__(self, retry_after: datetime | None) -> None:
        when = f"after {retry_after.isoformat()}" if retry_after else "in a few minutes"
        super().__init__(f"Hevy's rate limit was reached; sync again {when}")
        self.retry_after = retry_after


class HevyClient:
    """The workouts and exercise templates of the Hevy account whose key is configured.

    >>> with HevyClient() as hevy:   # doctest: +SKIP
    ...     for page in hevy.workout_pages():
    ...         print(len(page))
    10
    3

    The key is `api_key`, else HEVY_API_KEY; `IntegrationNotConfigured` at once without
    one. A client made with its own
    `http_client` (tests) leaves closing it to the caller.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        api_key: str | None = None,
        http_client: httpx.Client | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_pages: int = MAX_PAGES,
    ) -> None:
        settings = settings or get_settings()
        key = api_key or settings.hevy_api_key
        if not key:
            raise IntegrationNotConfigured(f"Hevy is not configured: {KEY_HELP}")
        self._key = key
        self._base_url = settings.hevy_api_base_url.rstrip("/")
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)
        self._max_attempts = max(1, max_attempts)
        self._backoff_seconds = backoff_seconds
        self._max_pages = max_pages

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections (only those this client opened itself)."""
        if self._owns_http:
            self._http.close()

    def workout_pages(self) -> Iterator[list[Workout]]:
        """Every workout of the account, a page at a time (GET /v1/workouts)."""
        return self._pages("/v1/workouts", "workouts", WORKOUTS_PAGE_SIZE, {})

    def event_pages(self, since: datetime) -> Iterator[list[WorkoutEvent]]:
        """The workout events since `since` (GET /v1/workouts/events), a page at a time:
        `{"type": "updated", "workout": {...}}` or `{"type": "deleted", "id", "deleted_at"}`.
        """
        params = {"since": since.isoformat().replace("+00:00", "Z")}
        return self._pages("/v1/workouts/events", "events", WORKOUTS_PAGE_SIZE, params)

    def template_pages(self) -> Iterator[list[ExerciseTemplate]]:
        """Every exercise template (GET /v1/exercise_templates), with its muscle groups."""
        return self._pages("/v1/exercise_templates", "exercise_templates", TEMPLATES_PAGE_SIZE, {})

    def _pages(
        self, path: str, key: str, page_size: int, params: dict[str, str]
    ) -> Iterator[list[dict[str, object]]]:
        page = 1
        while True:
            if page > self._max_pages:
                raise IntegrationError(
                    f"Hevy listed more than {self._max_pages} pages of {key}; stopped there"
                )
            body = self._get(path, key, {**params, "page": str(page), "pageSize": str(page_size)})
            items = body.get(key)
            page_count = body.get("page_count")
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise IntegrationError(f"Hevy sent an unreadable page of {key}")
            if not isinstance(page_count, int) or isinstance(page_count, bool):
                raise IntegrationError(f"Hevy sent a page of {key} without a page count")
            if items:
                yield items
            # Hevy answers 404 for a page past the last one: never ask for it.
            if not items or page >= page_count:
                return
            page += 1

    def _get(self, path: str, what: str, params: dict[str, str]) -> dict[str, object]:
        failures = 0
        while True:
            try:
                response = self._http.get(
                    f"{self._base_url}{path}",
                    params=params,
                    headers={"api-key": self._key, "Accept": "application/json"},
                )
            except httpx.TimeoutException:
                problem = "did not answer in time"
            except httpx.TransportError as error:
                problem = f"could not be reached ({type(error).__name__})"
            else:
                if response.status_code < 500:
                    return _body(response, what)
                problem = f"answered HTTP {response.status_code}"
            failures += 1
            if failures >= self._max_attempts:
                raise IntegrationError(f"Hevy {problem} to a request for {what} ({failures} tries)")
            delay = self._backoff_seconds * 2 ** (failures - 1)
            logger.warning("Hevy %s to a request for %s; retrying in %.1f s", problem, what, delay)
            time.sleep(delay)


def _body(response: httpx.Response, what: str) -> dict[str, object]:
    status = response.status_code
    if status == 401:
        raise CredentialsRejected(PROVIDER, f"Hevy rejected the API key (HTTP 401): {KEY_HELP}")
    if status == 403:
        raise IntegrationRefused(
            PROVIDER,
            "Hevy refused the API key (HTTP 403): the API needs an active Hevy Pro "
            "subscription; check it, then the key at https://hevy.com/settings?developer",
        )
    if status == 429:
        raise HevyRateLimited(retry_after(response))
    if not response.is_success:
        raise IntegrationError(f"Hevy answered HTTP {status} to a request for {what}")
    try:
        body = response.json()
    except ValueError:
        raise IntegrationError(f"Hevy sent an answer that is not JSON for {what}") from None
    if not isinstance(body, dict):
        raise IntegrationError(f"Hevy sent an unreadable answer for {what}")
    return body
