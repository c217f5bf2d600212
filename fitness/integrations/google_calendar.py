"""A client for Google Calendar API v3 events: insert, patch and delete on one calendar.

Access tokens come from fitness.integrations.oauth (provider `google`). A 401 refreshes the
token once and retries; timeouts and 5xx get a bounded retry with backoff; a rate limit
stops the caller cleanly. Error messages never carry a token or a response body.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Final
from urllib.parse import quote

import httpx

from fitness.config import Settings, get_settings
from fitness.errors import IntegrationError
from fitness.integrations.http import AuthorisedClient, send_authorised

logger = logging.getLogger(__name__)

PROVIDER: Final = "google"
DEFAULT_MAX_ATTEMPTS: Final = 3
DEFAULT_BACKOFF_SECONDS: Final = 0.5
DEFAULT_TIMEOUT_SECONDS: Final = 10.0
# Google signals quota exhaustion with a 429 or with a 403 carrying one of these reasons.
_RATE_LIMIT_REASONS: Final = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}
)

Event = dict[str, object]


class CalendarRateLimited(IntegrationError):
    """Google asked us to slow down: stop now, keep what is done, try again at `retry_after`.

    `retry_after` is None when Google did not say (it usually does not).
    """

    def __init__(self, retry_after: datetime | None) -> None:
        when = f"after {retry_after.isoformat()}" if retry_after else "later"
        super().__init__(f"Google Calendar rate limit reached; try again {when}")
        self.retry_after = retry_after


class EventNotFound(IntegrationError):
    """The event to patch is not on the calendar (it was deleted there, or never existed)."""

    def __init__(self, event_id: str) -> None:
        super().__init__(f"Google Calendar has no event {event_id!r}")
        self.event_id = event_id


class EventExists(IntegrationError):
    """An event with the id we chose is already on the calendar (perhaps deleted there)."""

    def __init__(self, event_id: str) -> None:
        super().__init__(f"Google Calendar already has an event {event_id!r}")
        self.event_id = event_id


class GoogleCalendarClient(AuthorisedClient):
    """Events of the calendar `GOOGLE_CALENDAR_ID` (default `primary`).

    >>> with GoogleCalendarClient() as calendar:   # doctest: +SKIP
    ...     event = calendar.insert_event({"summary": "5.0 mi Outdoor Run", "start": ...})
    ...     calendar.delete_event(event["id"])
    True

    Inserts are retried after a timeout too; give events an `id` (see
    fitness.services.calendar_sync.event_id_for_run) so a retry cannot duplicate one.
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
        self._events_url = (
            f"{settings.google_api_base_url.rstrip('/')}/calendars/"
            f"{quote(settings.google_calendar_id, safe='')}/events"
        )
        super().__init__(
            http_client=http_client,
            max_attempts=max_attempts,
            backoff_seconds=backoff_seconds,
            timeout=timeout,
        )

    def insert_event(self, event: Event) -> Event:
        """Create `event` (events.insert) and return it as Google stored it, with its `id`.

        If `event` names an `id` the calendar already has (even a deleted event), raises
        `EventExists`: a retried insert can therefore never create a duplicate.
        """
        response = self._request("POST", self._events_url, "events.insert", event)
        if response.status_code == 409 and isinstance(event.get("id"), str):
            raise EventExists(str(event["id"]))
        return self._event(response, "events.insert")

    def patch_event(self, event_id: str, changes: Event) -> Event:
        """Change the given fields of an event (events.patch); return the whole event.

        `EventNotFound` if the calendar has no such event.
        """
        url = self._event_url(event_id)
        response = self._request("PATCH", url, "events.patch", changes)
        if response.status_code in (404, 410):
            raise EventNotFound(event_id)
        return self._event(response, "events.patch")

    def delete_event(self, event_id: str) -> bool:
        """Delete an event (events.delete): True if it was deleted now, False if already gone."""
        response = self._request("DELETE", self._event_url(event_id), "events.delete")
        if response.status_code in (404, 410):
            logger.info("Calendar event was already gone; nothing to delete")
            return False
        if not response.is_success:
            raise _refused(response, "events.delete")
        return True

    def _event_url(self, event_id: str) -> str:
        return f"{self._events_url}/{quote(event_id, safe='')}"

    def _request(
        self, method: str, url: str, operation: str, body: Event | None = None
    ) -> httpx.Response:
        return send_authorised(
            self._http,
            provider=PROVIDER,
            service="Google Calendar",
            operation=operation,
            method=method,
            url=url,
            policy=self._policy,
            inspect=_raise_if_rate_limited,
            json=body,
        )

    def _event(self, response: httpx.Response, operation: str) -> Event:
        if not response.is_success:
            raise _refused(response, operation)
        try:
            event = response.json()
        except ValueError:
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise IntegrationError(f"Google Calendar sent an unreadable answer to {operation}")
        return event


def _refused(response: httpx.Response, operation: str) -> IntegrationError:
    # Only Google's machine-readable reason is kept: bodies can echo what we sent.
    reasons = _reasons(response)
    detail = f" ({', '.join(sorted(reasons))})" if reasons else ""
    return IntegrationError(
        f"Google Calendar answered HTTP {response.status_code}{detail} to {operation}"
    )


def _raise_if_rate_limited(response: httpx.Response) -> None:
    limited = response.status_code == 429 or (
        response.status_code == 403 and bool(_reasons(response) & _RATE_LIMIT_REASONS)
    )
    if limited:
        raise CalendarRateLimited(_retry_after(response))


def _reasons(response: httpx.Response) -> set[str]:
    try:
        body = response.json()
    except ValueError:
        return set()
    error = body.get("error") if isinstance(body, dict) else None
    errors = error.get("errors") if isinstance(error, dict) else None
    if not isinstance(errors, list):
        return set()
    return {
        e["reason"]
        for e in errors
        if isinstance(e, dict) and isinstance(e.get("reason"), str) and e["reason"].isalnum()
    }


def _retry_after(response: httpx.Response) -> datetime | None:
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return datetime.now(UTC) + timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
