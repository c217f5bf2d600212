"""A client for the Strava API v3: the athlete's activities, page by page, and their gear.

Access tokens come from fitness.integrations.oauth (provider `strava`) and travel only in
the `Authorization` header. A 401 refreshes the token once and retries; timeouts and 5xx
get a bounded retry with backoff; a 429 stops at once with the rate-limit state, so the
caller can keep what it has and come back later. Answers that refuse the whole connection
stop at once too: a 401 `<scope>_permission missing` (the user did not grant that scope)
and a 403 `Application Status Inactive` (Strava's 2026 subscription rule). Every path is
relative to STRAVA_API_BASE_URL, so Strava's new address is one setting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import quote

import httpx

from fitness.config import Settings, get_settings
from fitness.errors import InsufficientScope, IntegrationError, ProviderAppInactive
from fitness.integrations.http import AuthorisedClient, send_authorised
from fitness.integrations.oauth import (
    STRAVA_APP_INACTIVE,
    get_provider,
    is_app_inactive,
    json_body,
    strava_errors,
)

logger = logging.getLogger(__name__)

PROVIDER: Final = "strava"
MAX_PER_PAGE: Final = 200
DEFAULT_MAX_ATTEMPTS: Final = 3
DEFAULT_BACKOFF_SECONDS: Final = 0.5
DEFAULT_TIMEOUT_SECONDS: Final = 15.0
# Strava's short-term limits reset at :00, :15, :30 and :45; the daily ones at midnight UTC.
RATE_LIMIT_WINDOW: Final = timedelta(minutes=15)

Activity = dict[str, object]


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """Strava's `X-RateLimit-*` headers: limits and usage, per 15 minutes and per day."""

    limit_15min: int | None = None
    limit_daily: int | None = None
    usage_15min: int | None = None
    usage_daily: int | None = None

    @property
    def daily_exhausted(self) -> bool:
        return _used_up(self.usage_daily, self.limit_daily)

    @property
    def is_exhausted(self) -> bool:
        return self.daily_exhausted or _used_up(self.usage_15min, self.limit_15min)

    def describe(self) -> str:
        """`usage 201/200 per 15 min, 950/2000 per day`, leaving out what Strava did not say."""
        parts = [
            f"{usage}/{limit} per {window}"
            for usage, limit, window in (
                (self.usage_15min, self.limit_15min, "15 min"),
                (self.usage_daily, self.limit_daily, "day"),
            )
            if usage is not None and limit is not None
        ]
        return f"usage {', '.join(parts)}" if parts else "no usage reported"

    def retry_after(self, now: datetime | None = None) -> datetime:
        """When requests will be accepted again: the next quarter hour, or next UTC midnight
        when the daily allowance is used up."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        if self.daily_exhausted:
            return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        return quarter + RATE_LIMIT_WINDOW


class StravaRateLimited(IntegrationError):
    """Strava answered 429: stop now, keep what was fetched, try again at `retry_after`."""

    def __init__(self, state: RateLimitState, retry_after: datetime) -> None:
        super().__init__(
            f"Strava rate limit reached ({state.describe()}); "
            f"try again after {retry_after.isoformat()}"
        )
        self.state = state
        self.retry_after = retry_after


class StravaClient(AuthorisedClient):
    """The authorised athlete's activities and gear.

    >>> with StravaClient() as strava:   # doctest: +SKIP
    ...     for page in strava.activity_pages(after=datetime(2025, 1, 1, tzinfo=UTC)):
    ...         print(len(page))
    200
    37

    Gear lookups are cached for the life of the client: use one client per sync.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        http_client: httpx.Client | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        settings = settings or get_settings()
        self._base_url = settings.strava_api_base_url.rstrip("/")
        super().__init__(
            http_client=http_client,
            max_attempts=max_attempts,
            backoff_seconds=backoff_seconds,
            timeout=timeout,
        )
        self._gear: dict[str, dict[str, object] | None] = {}
        self.last_rate_limit: RateLimitState | None = None
        self.gear_refused = False

    def list_activities(
        self, after: datetime | None = None, page: int = 1, per_page: int = MAX_PER_PAGE
    ) -> list[Activity]:
        """One page of activities starting after `after` (GET /athlete/activities).

        With `after`, Strava lists the oldest first.
        """
        params: dict[str, int] = {"page": page, "per_page": min(per_page, MAX_PER_PAGE)}
        if after is not None:
            params["after"] = int(after.timestamp())
        response = self._get("/athlete/activities", "list activities", params)
        body = _json(response, "list activities")
        if not isinstance(body, list) or not all(isinstance(a, dict) for a in body):
            raise IntegrationError("Strava sent an unreadable list of activities")
        return body

    def activity_pages(
        self, after: datetime | None = None, per_page: int = MAX_PER_PAGE
    ) -> Iterator[list[Activity]]:
        """Every page of activities after `after`, until Strava sends an empty page."""
        page = 1
        while True:
            activities = self.list_activities(after=after, page=page, per_page=per_page)
            if not activities:
                return
            yield activities
            page += 1

    def get_gear(self, gear_id: str) -> dict[str, object] | None:
        """A piece of gear (GET /gear/{id}), or None if Strava no longer has it, or refuses
        it for lack of a permission the user did not grant (then `gear_refused` is set and
        no more gear is asked for). Cached."""
        if self.gear_refused:
            return None
        if gear_id not in self._gear:
            try:
                response = self._get(f"/gear/{quote(gear_id, safe='')}", "get gear")
            except InsufficientScope:
                logger.warning("Strava refuses gear to this connection; shoes are left out")
                self.gear_refused = True
                return None
            if response.status_code == 404:
                self._gear[gear_id] = None
            else:
                body = _json(response, "get gear")
                if not isinstance(body, dict):
                    raise IntegrationError("Strava sent unreadable gear")
                self._gear[gear_id] = body
        return self._gear[gear_id]

    def _get(
        self, path: str, operation: str, params: dict[str, int] | None = None
    ) -> httpx.Response:
        return send_authorised(
            self._http,
            provider=PROVIDER,
            service="Strava",
            operation=operation,
            method="GET",
            url=f"{self._base_url}{path}",
            policy=self._policy,
            inspect=lambda response: self._inspect(response, operation),
            params=params,
        )

    def _inspect(self, response: httpx.Response, operation: str) -> None:
        self.last_rate_limit = _rate_limit_state(response) or self.last_rate_limit
        if response.status_code == 429:
            state = self.last_rate_limit or RateLimitState()
            raise StravaRateLimited(state, state.retry_after())
        if response.status_code == 403 and is_app_inactive(json_body(response)):
            raise ProviderAppInactive(PROVIDER, STRAVA_APP_INACTIVE)
        if response.status_code == 401:
            # {"errors": [{"resource": "AccessToken", "field": "activity:read_permission",
            #   "code": "missing"}]}: no refresh can help, the grant lacks that scope.
            for error in strava_errors(json_body(response)):
                field_name = error.get("field")
                if (
                    error.get("code") == "missing"
                    and isinstance(field_name, str)
                    and field_name.endswith("_permission")
                ):
                    scope = field_name.removesuffix("_permission")[:100]
                    raise get_provider(PROVIDER).refused_for_scope(scope, operation)


def _json(response: httpx.Response, operation: str) -> object:
    if not response.is_success:
        raise IntegrationError(f"Strava answered HTTP {response.status_code} to {operation}")
    try:
        return response.json()
    except ValueError:
        raise IntegrationError(f"Strava sent an unreadable answer to {operation}") from None


def _rate_limit_state(response: httpx.Response) -> RateLimitState | None:
    overall = _state_from(response, "X-RateLimit")
    read = _state_from(response, "X-ReadRateLimit")
    # A 429 can come from the overall limits or the separate read (non-upload) ones:
    # report whichever is used up.
    if read is not None and (overall is None or read.is_exhausted):
        return read
    return overall


def _state_from(response: httpx.Response, prefix: str) -> RateLimitState | None:
    limits = _pair(response.headers.get(f"{prefix}-Limit"))
    usage = _pair(response.headers.get(f"{prefix}-Usage"))
    if limits is None and usage is None:
        return None
    limit_15min, limit_daily = limits or (None, None)
    usage_15min, usage_daily = usage or (None, None)
    return RateLimitState(limit_15min, limit_daily, usage_15min, usage_daily)


def _pair(value: str | None) -> tuple[int | None, int | None] | None:
    if not value:
        return None
    parts = [p.strip() for p in value.split(",")]
    numbers = [int(p) if p.isdigit() else None for p in parts[:2]]
    while len(numbers) < 2:
        numbers.append(None)
    return numbers[0], numbers[1]


def _used_up(usage: int | None, limit: int | None) -> bool:
    return usage is not None and limit is not None and usage >= limit
