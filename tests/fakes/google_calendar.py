"""A fake Google Calendar API v3 (events insert / get / list / patch / delete) with its
consent page, token and revoke endpoints.

Served by a real `FakeHTTPServer` on 127.0.0.1, so our client's requests, retries and token
refreshes run for real. Tests script failures (`fail_next`), expire the access token, and
read what a user would see on the calendar (`live_events`). It answers the way Google's
"Handle API errors" page and bug reports say Google answers:

- a deleted event stays, `cancelled`: get and patch still work, delete answers 410;
- a purged event (`purge`) is gone for get, patch and delete (404), yet its id can never be
  inserted again (409 "The requested identifier already exists.");
- a calendar the account cannot see (`calendar_access["x"] = "none"`, or an unknown id)
  answers 404 to everything, a read-only one (`"reader"`) 403 `requiredAccessLevel` to
  every write; a grant without the calendar scope gets 403 `insufficientPermissions`;
- an event organised by someone else (`foreign_organizer`) answers 403
  `forbiddenForNonOrganizer` to patch and delete.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import unquote

import pytest

from fitness.config import reset_settings
from tests.fakes.http import FakeHTTPServer, Reply, Request, running
from tests.fakes.oauth import CLIENT_ID, CLIENT_SECRET, FIRST_REFRESH_TOKEN, FakeTokenEndpoint

CALENDAR_PREFIX = "/calendar/v3"
TOKEN_PATH = "/token"
AUTHORIZE_PATH = "/o/oauth2/v2/auth"
REVOKE_PATH = "/revoke"
GOOGLE_CALENDAR_EVENTS = "https://www.googleapis.com/auth/calendar.events"
GOOGLE_CALENDAR = "https://www.googleapis.com/auth/calendar"


@dataclass
class _Scripted:
    method: str | None
    reply: Reply | None
    skip: int = 0


@dataclass
class FakeGoogleCalendar:
    """Events by id (deleted ones stay, `cancelled`, as Google keeps them); scripted failures."""

    tokens: FakeTokenEndpoint
    events: dict[str, dict[str, object]] = field(default_factory=dict)
    expired_tokens: set[str] = field(default_factory=set)
    calendar_ids: list[str] = field(default_factory=list)
    # Calendar id -> "owner", "writer", "reader" or "none"; others: "owner" for `primary`
    # and ids named here, "none" for the rest (Google: 404 for a calendar you cannot see).
    calendar_access: dict[str, str] = field(default_factory=lambda: {"primary": "owner"})
    purged: set[str] = field(default_factory=set)
    foreign_organizer: set[str] = field(default_factory=set)
    _script: deque[_Scripted] = field(default_factory=deque)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(
        self,
        status: int,
        *,
        method: str | None = None,
        times: int = 1,
        json: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        after: int = 0,
    ) -> None:
        """Answer the next `times` calendar requests (of `method`, if given) with `status`,
        once `after` of them went through.

        Unless `json` is given, the answer echoes the request's Authorization header, as a
        careless proxy might: our client must never pass such a body on.
        """
        for n in range(times):
            reply = Reply(status, json, headers or {})
            self._script.append(_Scripted(method, reply, skip=after if n == 0 else 0))

    def hang_next(self, *, method: str | None = None) -> None:
        """Never answer the next calendar request (of `method`): the client must time out."""
        self._script.append(_Scripted(method, Reply(hang=True)))

    def expire_token(self) -> None:
        """Make the current access token invalid, as if it had expired early."""
        self.expired_tokens.add(self.tokens.current_access_token)

    def live_events(self) -> list[dict[str, object]]:
        """The events a user would see: not deleted, by start time."""
        live = [e for e in self.events.values() if e.get("status") != "cancelled"]
        return sorted(live, key=lambda e: json.dumps(e["start"]))

    def purge(self, event_id: str) -> None:
        """Forget a (deleted) event for good, as Google does some time after a deletion:
        gone for reads and writes, its id never usable again."""
        self.events.pop(event_id, None)
        self.purged.add(event_id)

    def __call__(self, request: Request) -> Reply:
        parts = [unquote(p) for p in request.path.split("/") if p]
        # calendar / v3 / calendars / {calendarId} / events [/ {eventId}]
        if parts[:3] != ["calendar", "v3", "calendars"] or parts[4:5] != ["events"]:
            return Reply(404, _error(404, "notFound", "Not Found"))
        calendar_id = parts[3]
        self.calendar_ids.append(calendar_id)
        event_id = parts[5] if len(parts) > 5 else None
        authorization = request.headers.get("authorization", "")
        token = authorization.removeprefix("Bearer ")
        if token != self.tokens.current_access_token or token in self.expired_tokens:
            return Reply(401, _error(401, "authError", "Invalid Credentials"))
        scripted = self._take_scripted(request.method)
        if scripted is not None:
            if scripted.json is None and not scripted.hang:
                echo = f"backend failed for {authorization}"
                scripted.json = _error(scripted.status, "backendError", echo)
            return scripted
        if not {GOOGLE_CALENDAR_EVENTS, GOOGLE_CALENDAR} & set(self.tokens.granted()):
            return Reply(403, insufficient_scope_error())
        access = self.calendar_access.get(calendar_id, "none")
        if access == "none":
            return Reply(404, _error(404, "notFound", "Not Found"))
        if access == "reader" and request.method != "GET":
            message = "You need to have writer access to this calendar."
            return Reply(403, _error(403, "requiredAccessLevel", message, domain="calendar"))
        body = json.loads(request.body) if request.body else {}
        with self._lock:
            if request.method == "GET" and event_id is None:
                return Reply(200, {"kind": "calendar#events", "items": self.live_events()[:1]})
            if request.method == "GET" and event_id:
                return self._get(event_id)
            if request.method == "POST" and event_id is None:
                return self._insert(body)
            if request.method == "PATCH" and event_id:
                return self._patch(event_id, body)
            if request.method == "DELETE" and event_id:
                return self._delete(event_id)
        return Reply(405, _error(405, "methodNotAllowed", "Method Not Allowed"))

    def _take_scripted(self, method: str) -> Reply | None:
        with self._lock:
            for item in self._script:
                if item.method in (None, method):
                    if item.skip:
                        item.skip -= 1
                        return None
                    self._script.remove(item)
                    return item.reply
        return None

    def _insert(self, body: dict[str, object]) -> Reply:
        event_id = str(body.get("id") or f"generated{next(self._ids)}")
        if event_id in self.events or event_id in self.purged:
            return Reply(409, _error(409, "duplicate", "The requested identifier already exists."))
        event = {"kind": "calendar#event", "status": "confirmed", **body, "id": event_id}
        self.events[event_id] = event
        return Reply(200, event)

    def _get(self, event_id: str) -> Reply:
        event = self.events.get(event_id)
        if event is None:
            return Reply(404, _error(404, "notFound", "Not Found"))
        return Reply(200, event)

    def _patch(self, event_id: str, body: dict[str, object]) -> Reply:
        event = self.events.get(event_id)
        if event is None:
            return Reply(404, _error(404, "notFound", "Not Found"))
        if event_id in self.foreign_organizer:
            return Reply(403, _non_organizer_error())
        self.events[event_id] = _merged(event, body)
        return Reply(200, self.events[event_id])

    def _delete(self, event_id: str) -> Reply:
        event = self.events.get(event_id)
        if event is None:
            return Reply(404, _error(404, "notFound", "Not Found"))
        if event_id in self.foreign_organizer:
            return Reply(403, _non_organizer_error())
        if event.get("status") == "cancelled":
            return Reply(410, _error(410, "deleted", "Resource has been deleted"))
        event["status"] = "cancelled"
        return Reply(204)


@dataclass
class FakeGoogle:
    """A running fake Google: `calendar_url` and `token_url` to put in the settings."""

    server: FakeHTTPServer
    calendar: FakeGoogleCalendar
    tokens: FakeTokenEndpoint

    @property
    def calendar_url(self) -> str:
        return self.server.url + CALENDAR_PREFIX

    @property
    def token_url(self) -> str:
        return self.server.url + TOKEN_PATH

    def environment(self) -> dict[str, str]:
        """The settings (environment variables) that point fitness at this fake."""
        return {
            "GOOGLE_API_BASE_URL": self.calendar_url,
            "GOOGLE_TOKEN_URL": self.token_url,
            "GOOGLE_AUTH_URL": self.server.url + AUTHORIZE_PATH,
            "GOOGLE_REVOKE_URL": self.server.url + REVOKE_PATH,
            "GOOGLE_CLIENT_ID": CLIENT_ID,
            "GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
            "GOOGLE_REFRESH_TOKEN": FIRST_REFRESH_TOKEN,
        }

    def calendar_requests(self, method: str | None = None) -> list[Request]:
        return [
            r
            for r in self.server.requests
            if r.path.startswith(CALENDAR_PREFIX) and method in (None, r.method)
        ]


@contextmanager
def running_fake_google() -> Iterator[FakeGoogle]:
    """Start a fake Google on a free port of 127.0.0.1 for the duration of the block.

    fitness is configured to use it (client id, secret, refresh token and URLs) while the
    block runs, and the settings are read afresh afterwards.
    """
    tokens = FakeTokenEndpoint(style="google")
    calendar = FakeGoogleCalendar(tokens)
    server = FakeHTTPServer()
    server.route("POST", TOKEN_PATH, tokens)
    server.route("GET", AUTHORIZE_PATH, tokens.consent_page)
    server.route("POST", REVOKE_PATH, tokens.revoke)
    for method in ("GET", "POST", "PATCH", "DELETE"):
        server.route(method, CALENDAR_PREFIX + "/calendars/{calendar}/events", calendar)
        server.route(method, CALENDAR_PREFIX + "/calendars/{calendar}/events/{event}", calendar)
    fake = FakeGoogle(server, calendar, tokens)
    with running(server), pytest.MonkeyPatch.context() as patch:
        for name, value in fake.environment().items():
            patch.setenv(name, value)
        reset_settings()
        try:
            yield fake
        finally:
            patch.undo()
            reset_settings()


def insufficient_scope_error() -> dict[str, object]:
    """Google's 403 to a token whose grant lacks the calendar scope."""
    body = _error(403, "insufficientPermissions", "Insufficient Permission")
    body["error"]["message"] = "Request had insufficient authentication scopes."  # type: ignore[index]
    body["error"]["status"] = "PERMISSION_DENIED"  # type: ignore[index]
    body["error"]["details"] = [  # type: ignore[index]
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            "domain": "googleapis.com",
        }
    ]
    return body


def required_access_level_error() -> dict[str, object]:
    """Google's 403 to a write on a calendar the account may only read."""
    message = "You need to have writer access to this calendar."
    return _error(403, "requiredAccessLevel", message, domain="calendar")


def _non_organizer_error() -> dict[str, object]:
    message = "Shared properties can only be changed by the organizer of the event."
    return _error(403, "forbiddenForNonOrganizer", message, domain="calendar")


def rate_limit_error() -> dict[str, object]:
    """The body Google sends with a 403 when a user's request rate is too high."""
    return _error(403, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits")


def _error(code: int, reason: str, message: str, domain: str = "global") -> dict[str, object]:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"domain": domain, "reason": reason, "message": message}],
        }
    }


def _merged(old: dict[str, object], new: dict[str, object]) -> dict[str, object]:
    # events.patch semantics: nested objects merge field by field, other values replace.
    result = dict(old)
    for key, value in new.items():
        current = result.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            result[key] = _merged(current, value)
        else:
            result[key] = value
    return result
