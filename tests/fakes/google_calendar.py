"""A fake Google Calendar API v3 (events insert / patch / delete) with its token endpoint.

Served by a real `FakeHTTPServer` on 127.0.0.1, so our client's requests, retries and token
refreshes run for real. Tests script failures (`fail_next`), expire the access token, and
read what a user would see on the calendar (`live_events`).
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


@dataclass
class _Scripted:
    method: str | None
    reply: Reply | None


@dataclass
class FakeGoogleCalendar:
    """Events by id (deleted ones stay, `cancelled`, as Google keeps them); scripted failures."""

    tokens: FakeTokenEndpoint
    events: dict[str, dict[str, object]] = field(default_factory=dict)
    expired_tokens: set[str] = field(default_factory=set)
    calendar_ids: list[str] = field(default_factory=list)
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
    ) -> None:
        """Answer the next `times` calendar requests (of `method`, if given) with `status`.

        Unless `json` is given, the answer echoes the request's Authorization header, as a
        careless proxy might: our client must never pass such a body on.
        """
        for _ in range(times):
            self._script.append(_Scripted(method, Reply(status, json, headers or {})))

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

    def __call__(self, request: Request) -> Reply:
        parts = [unquote(p) for p in request.path.split("/") if p]
        # calendar / v3 / calendars / {calendarId} / events [/ {eventId}]
        if parts[:3] != ["calendar", "v3", "calendars"] or parts[4:5] != ["events"]:
            return Reply(404, _error(404, "notFound", "Not Found"))
        self.calendar_ids.append(parts[3])
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
        body = json.loads(request.body) if request.body else {}
        with self._lock:
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
                    self._script.remove(item)
                    return item.reply
        return None

    def _insert(self, body: dict[str, object]) -> Reply:
        event_id = str(body.get("id") or f"generated{next(self._ids)}")
        if event_id in self.events:
            return Reply(409, _error(409, "duplicate", "The requested identifier already exists."))
        event = {"kind": "calendar#event", "status": "confirmed", **body, "id": event_id}
        self.events[event_id] = event
        return Reply(200, event)

    def _patch(self, event_id: str, body: dict[str, object]) -> Reply:
        event = self.events.get(event_id)
        if event is None:
            return Reply(404, _error(404, "notFound", "Not Found"))
        self.events[event_id] = _merged(event, body)
        return Reply(200, self.events[event_id])

    def _delete(self, event_id: str) -> Reply:
        event = self.events.get(event_id)
        if event is None:
            return Reply(404, _error(404, "notFound", "Not Found"))
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
    for method in ("POST", "PATCH", "DELETE"):
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
