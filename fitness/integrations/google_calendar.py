"""A client for Google Calendar API v3 events: insert, get, patch and delete on one calendar.

Access tokens come from fitness.integrations.oauth (provider `google`). A 401 refreshes the
token once and retries; timeouts and 5xx get a bounded retry with backoff; a rate limit
stops the caller cleanly. Answers about the calendar or the account rather than one event
raise an `IntegrationRefused` at once (Google's "Handle API errors" reasons): 403
`insufficientPermissions` (the calendar scope was not granted), `requiredAccessLevel`
(read-only calendar), `forbidden` and other 403s, `accessNotConfigured`, and a 404 on
insert or on a calendar-wide read (no such calendar visible to the account). A 404 never
proves an event is gone by itself: Google answers 404 for a calendar the account cannot
see too, so a delete checks the calendar before it reports an event already gone. Error
messages never carry a token or a response body.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final
from urllib.parse import quote

import httpx

from fitness.config import Settings, get_settings
from fitness.errors import CalendarUnavailable, IntegrationError, IntegrationRefused
from fitness.integrations.http import AuthorisedClient, retry_after, send_authorised
from fitness.integrations.oauth import GOOGLE_CALENDAR_EVENTS, get_provider, json_body

logger = logging.getLogger(__name__)

PROVIDER: Final = "google"
DEFAULT_MAX_ATTEMPTS: Final = 3
DEFAULT_BACKOFF_SECONDS: Final = 0.5
DEFAULT_TIMEOUT_SECONDS: Final = 10.0
# Google signals quota exhaustion with a 429 or with a 403 carrying one of these reasons.
_RATE_LIMIT_REASONS: Final = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}
)
# The only 403 that is about one event: another organiser owns it.
_EVENT_REASONS: Final = frozenset({"forbiddenForNonOrganizer"})
_SCOPE_REASONS: Final = frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"})

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
    """An event with the id we chose is already on the calendar (perhaps deleted there, or
    purged: Google never gives an id out again)."""

    def __init__(self, event_id: str) -> None:
        super().__init__(f"Google Calendar already has an event {event_id!r}")
        self.event_id = event_id


class EventNotWritable(IntegrationError):
    """The event exists, but this account may not change it (its organiser is another)."""

    def __init__(self, event_id: str) -> None:
        super().__init__(
            f"Google Calendar lets only its organiser change event {event_id!r}, and that is "
            "another account now: delete or change it in Google Calendar"
        )
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
        self.calendar_id = settings.google_calendar_id
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
        if response.status_code == 404:
            # Inserting needs no event to exist: the calendar itself is not there.
            raise self.calendar_unavailable()
        return self._event(response, "events.insert")

    def get_event(self, event_id: str) -> Event | None:
        """The event (events.get), deleted ones included (`status: cancelled`), or None if
        Google has no such event for this account (never existed, purged, or on a calendar
        it cannot see)."""
        response = self._request("GET", self._event_url(event_id), "events.get")
        if response.status_code in (404, 410):
            return None
        return self._event(response, "events.get")

    def patch_event(self, event_id: str, changes: Event) -> Event:
        """Change the given fields of an event (events.patch); return the whole event.

        `EventNotFound` if the calendar has no such event (404 or 410), `EventNotWritable`
        if its organiser is someone else.
        """
        url = self._event_url(event_id)
        response = self._request("PATCH", url, "events.patch", changes)
        if response.status_code in (404, 410):
            raise EventNotFound(event_id)
        if response.status_code == 403:
            raise EventNotWritable(event_id)
        return self._event(response, "events.patch")

    def delete_event(self, event_id: str) -> bool:
        """Delete an event (events.delete): True if it was deleted now, False if it was
        already gone.

        "Already gone" is only said when it is established: Google answered 410 (deleted),
        or answered 404 while the calendar is visible to this account. A 404 from a calendar
        the account cannot see raises `CalendarUnavailable` instead.
        """
        response = self._request("DELETE", self._event_url(event_id), "events.delete")
        if response.status_code == 410:
            logger.info("Calendar event was already deleted; nothing to delete")
            return False
        if response.status_code == 404:
            if not self.calendar_is_visible():
                raise self.calendar_unavailable()
            logger.info("Calendar event is not on the calendar; nothing to delete")
            return False
        if response.status_code == 403:
            raise EventNotWritable(event_id)
        if not response.is_success:
            raise _refused(response, "events.delete")
        return True

    def calendar_is_visible(self) -> bool:
        """Whether this account can read the calendar at all (one events.list of one event;
        the `calendar.events` scope allows it, unlike calendars.get)."""
        response = self._request("GET", self._events_url, "events.list", params={"maxResults": 1})
        if response.status_code == 404:
            return False
        if not response.is_success:
            raise _refused(response, "events.list")
        return True

    def calendar_unavailable(self) -> CalendarUnavailable:
        """The error for a calendar this account cannot see."""
        return CalendarUnavailable(
            PROVIDER,
            f"Google Calendar has no calendar {self.calendar_id!r} that the connected account "
            "can see: check GOOGLE_CALENDAR_ID (default: primary), share the calendar with "
            "that account ('Make changes to events'), or run `fitness connect google` with "
            "the account that owns it",
        )

    def _event_url(self, event_id: str) -> str:
        return f"{self._events_url}/{quote(event_id, safe='')}"

    def _request(
        self,
        method: str,
        url: str,
        operation: str,
        body: Event | None = None,
        params: dict[str, int] | None = None,
    ) -> httpx.Response:
        return send_authorised(
            self._http,
            provider=PROVIDER,
            service="Google Calendar",
            operation=operation,
            method=method,
            url=url,
            policy=self._policy,
            inspect=lambda response: self._inspect(response, operation),
            json=body,
            params=params,
        )

    def _inspect(self, response: httpx.Response, operation: str) -> None:
        if response.status_code == 429:
            raise CalendarRateLimited(retry_after(response))
        if response.status_code != 403:
            return
        reasons = _reasons(response)
        if reasons & _RATE_LIMIT_REASONS:
            raise CalendarRateLimited(retry_after(response))
        if reasons & _EVENT_REASONS:
            return
        if reasons & _SCOPE_REASONS:
            raise get_provider(PROVIDER).refused_for_scope(GOOGLE_CALENDAR_EVENTS, operation)
        if "accessNotConfigured" in reasons:
            raise IntegrationRefused(
                PROVIDER,
                "The Google Calendar API is not enabled in the Google Cloud project of "
                "GOOGLE_CLIENT_ID: enable it (APIs & Services, Library), then sync again",
            )
        if "requiredAccessLevel" in reasons:
            raise CalendarUnavailable(
                PROVIDER,
                f"The connected Google account may only read calendar {self.calendar_id!r} "
                "(Google: requiredAccessLevel): give it 'Make changes to events' there, "
                "choose another GOOGLE_CALENDAR_ID, or run `fitness connect google` with an "
                "account that owns the calendar",
            )
        detail = f" ({', '.join(sorted(reasons))})" if reasons else ""
        raise CalendarUnavailable(
            PROVIDER,
            f"Google Calendar refuses the connected account on calendar "
            f"{self.calendar_id!r}{detail} to {operation}: check GOOGLE_CALENDAR_ID and that "
            "the account may change events there, or run `fitness connect google`",
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


def _reasons(response: httpx.Response) -> set[str]:
    """Google's machine-readable reasons: `error.errors[].reason`, and the newer
    `error.details[].reason` (e.g. ACCESS_TOKEN_SCOPE_INSUFFICIENT)."""
    body = json_body(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return set()
    entries = [
        entry
        for key in ("errors", "details")
        if isinstance(error.get(key), list)
        for entry in error[key]
    ]
    return {
        e["reason"]
        for e in entries
        if isinstance(e, dict)
        and isinstance(e.get("reason"), str)
        and e["reason"].replace("_", "").isalnum()
        and len(e["reason"]) <= 64
    }
