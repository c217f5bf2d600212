"""A fake Strava API v3 (activities and gear) with its OAuth consent, token and deauthorize
endpoints.

Served by a real `FakeHTTPServer` on 127.0.0.1 and filled with the recorded-shape JSON in
tests/fixtures/strava/, so our client's paging, retries, rate-limit handling and token
refreshes run for real. Tests script failures, rate limits and token expiry. Like Strava,
it honours the grant's scope: without `activity:read` or `activity:read_all` every
activity list answers 401 `activity:read_permission missing`, and activities visible to
"Only You" are listed only with `activity:read_all`. `api_always` makes every API call give
one answer (the field cases in tests/fixtures/cases/: a deactivated app, a read-only grant).
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
from typing import Any

import pytest

from fitness.config import reset_settings
from tests.fakes.http import FakeHTTPServer, Reply, Request, running
from tests.fakes.oauth import CLIENT_ID, CLIENT_SECRET, FIRST_REFRESH_TOKEN, FakeTokenEndpoint

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "strava"
CASES = Path(__file__).resolve().parent.parent / "fixtures" / "cases"
API_PREFIX = "/api/v3"
TOKEN_PATH = "/oauth/token"
AUTHORIZE_PATH = "/oauth/authorize"
DEAUTHORIZE_PATH = "/oauth/deauthorize"


def recorded_activities() -> list[dict[str, object]]:
    """Eight activities as `GET /athlete/activities` returns them (runs, a ride, a walk)."""
    return json.loads((FIXTURES / "activities.json").read_text())


def recorded_gear() -> dict[str, dict[str, object]]:
    """The shoes the recorded activities were run in, as `GET /gear/{id}` returns them."""
    return json.loads((FIXTURES / "gear.json").read_text())


def recorded_case(name: str) -> dict[str, Any]:
    """A field case (tests/fixtures/cases/strava-*.json): `activities`, a list page as
    `GET /athlete/activities` returns it, and `gear`, each gear id's `GET /gear/{id}` body."""
    return json.loads((CASES / name).read_text())  # type: ignore[no-any-return]


def refusing_case(name: str) -> tuple[list[dict[str, object]], Reply]:
    """A field case whose every API call gets one answer (`api_always`: a deactivated app,
    a read-only grant): its activities, and that answer."""
    case = recorded_case(f"{name}.json")
    always = case["api_always"]
    return case["activities"], Reply(always["status"], always["body"])


def make_activities(
    count: int,
    start: datetime = datetime(2024, 3, 1, 11, 0, tzinfo=UTC),
    first_id: int = 12_000_000_000,
    **overrides: object,
) -> list[dict[str, object]]:
    """`count` recorded-shape runs, one a day from `start`, without gear unless overridden."""
    template = recorded_activities()[0]
    activities = []
    for n in range(count):
        activity = copy.deepcopy(template)
        when = start + timedelta(days=n)
        activity.update(
            {
                "id": first_id + n,
                "name": f"Run {n + 1}",
                "start_date": _iso(when),
                "start_date_local": _iso(when - timedelta(hours=5)),
                "gear_id": None,
            }
        )
        activity.update(overrides)
        activities.append(activity)
    return activities


@dataclass
class FakeStravaAPI:
    """Activities and gear behind bearer tokens, with Strava's rate-limit headers."""

    tokens: FakeTokenEndpoint
    activities: list[dict[str, object]] = field(default_factory=recorded_activities)
    gear: dict[str, dict[str, object]] = field(default_factory=recorded_gear)
    limit_15min: int = 200
    limit_daily: int = 2000
    usage_15min: int = 0
    usage_daily: int = 0
    expired_tokens: set[str] = field(default_factory=set)
    rejects_every_token: bool = False
    api_always: Reply | None = None
    prefix: str = API_PREFIX
    _script: deque[Reply] = field(default_factory=deque)
    _page_failures: dict[int, deque[Reply]] = field(default_factory=dict)
    _expire_token_at_page: int | None = None
    _rate_limit_after: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int, *, times: int = 1) -> None:
        """Answer the next `times` API requests with `status` (a 5xx, say)."""
        for _ in range(times):
            self._script.append(Reply(status, {"message": "Internal Server Error"}))

    def hang_next(self, *, times: int = 1) -> None:
        """Never answer the next `times` API requests: the client must time out."""
        for _ in range(times):
            self._script.append(Reply(hang=True))

    def fail_page(self, page: int, status: int, *, times: int = 1) -> None:
        """Answer the next `times` requests for activity page `page` with `status`."""
        replies = self._page_failures.setdefault(page, deque())
        for _ in range(times):
            replies.append(Reply(status, {"message": "Internal Server Error"}))

    def expire_token_at_page(self, page: int) -> None:
        """Revoke the access token just as activity page `page` is requested."""
        self._expire_token_at_page = page

    def rate_limit_after(self, requests: int | None) -> None:
        """Answer 429 once `requests` more API requests have been served (None: never)."""
        self._rate_limit_after = None if requests is None else self.usage_15min + requests

    def replay(self, case: dict[str, Any]) -> None:
        """Answer with a field case's activities and gear (see `recorded_case`) from now on."""
        self.activities = copy.deepcopy(case["activities"])
        self.gear = copy.deepcopy(case.get("gear", {}))

    def expire_token(self) -> None:
        """Make the current access token invalid, as if Strava had revoked it."""
        self.expired_tokens.add(self.tokens.current_access_token)

    def __call__(self, request: Request) -> Reply:
        page = int(request.query.get("page", "0")) if "page" in request.query else None
        if page is not None and page == self._expire_token_at_page:
            self._expire_token_at_page = None
            self.expire_token()
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if (
            token != self.tokens.current_access_token
            or token in self.expired_tokens
            or self.rejects_every_token
        ):
            return Reply(
                401,
                {
                    "message": "Authorization Error",
                    "errors": [{"resource": "Athlete", "field": "access_token", "code": "invalid"}],
                },
            )
        if self.api_always is not None:
            return Reply(self.api_always.status, self.api_always.json)
        path = request.path.removeprefix(self.prefix)
        if path == "/athlete/activities" and not (
            {"activity:read", "activity:read_all"} & set(self.tokens.granted())
        ):
            return Reply(
                401,
                {
                    "message": "Authorization Error",
                    "errors": [
                        {
                            "resource": "AccessToken",
                            "field": "activity:read_permission",
                            "code": "missing",
                        }
                    ],
                },
            )
        with self._lock:
            if self._rate_limit_after is not None and self.usage_15min >= self._rate_limit_after:
                self.usage_15min += 1
                self.usage_daily += 1
                return Reply(
                    429,
                    {
                        "message": "Rate Limit Exceeded",
                        "errors": [
                            {"resource": "Application", "field": "rate limit", "code": "exceeded"}
                        ],
                    },
                    self._rate_headers(usage_15min=max(self.usage_15min, self.limit_15min + 1)),
                )
            self.usage_15min += 1
            self.usage_daily += 1
            headers = self._rate_headers()
            scripted = self._script.popleft() if self._script else None
            failures = self._page_failures.get(page) if page is not None else None
            if scripted is None and failures:
                scripted = failures.popleft()
        if scripted is not None:
            scripted.headers = {**headers, **scripted.headers}
            return scripted
        if path == "/athlete/activities":
            return Reply(200, self._page(request.query), headers)
        if path.startswith("/gear/"):
            gear = self.gear.get(path.removeprefix("/gear/"))
            if gear is None:
                return Reply(404, {"message": "Record Not Found", "errors": []}, headers)
            return Reply(200, gear, headers)
        return Reply(404, {"message": "Record Not Found", "errors": []}, headers)

    def _page(self, query: dict[str, str]) -> list[dict[str, object]]:
        after = int(query.get("after", "0"))
        page = int(query.get("page", "1"))
        per_page = int(query.get("per_page", "30"))
        private_too = "activity:read_all" in self.tokens.granted()
        chosen = [
            a
            for a in self.activities
            if _epoch(a) > after and (private_too or a.get("visibility") != "only_me")
        ]
        # With `after`, Strava lists the oldest first; without it, the newest first.
        chosen.sort(key=_epoch, reverse="after" not in query)
        return chosen[(page - 1) * per_page : page * per_page]

    def _rate_headers(self, usage_15min: int | None = None) -> dict[str, str]:
        usage = self.usage_15min if usage_15min is None else usage_15min
        return {
            "X-RateLimit-Limit": f"{self.limit_15min * 2},{self.limit_daily * 2}",
            "X-RateLimit-Usage": f"{usage},{self.usage_daily}",
            "X-ReadRateLimit-Limit": f"{self.limit_15min},{self.limit_daily}",
            "X-ReadRateLimit-Usage": f"{usage},{self.usage_daily}",
        }


@dataclass
class FakeStrava:
    """A running fake Strava; `environment()` holds the settings that point fitness at it."""

    server: FakeHTTPServer
    api: FakeStravaAPI
    tokens: FakeTokenEndpoint

    @property
    def api_url(self) -> str:
        return self.server.url + self.api.prefix

    def environment(self) -> dict[str, str]:
        return {
            "STRAVA_API_BASE_URL": self.api_url,
            "STRAVA_TOKEN_URL": self.server.url + TOKEN_PATH,
            "STRAVA_AUTH_URL": self.server.url + AUTHORIZE_PATH,
            "STRAVA_REVOKE_URL": self.server.url + DEAUTHORIZE_PATH,
            "STRAVA_CLIENT_ID": CLIENT_ID,
            "STRAVA_CLIENT_SECRET": CLIENT_SECRET,
            "STRAVA_REFRESH_TOKEN": FIRST_REFRESH_TOKEN,
        }

    def api_requests(self, path: str | None = None) -> list[Request]:
        """Requests made to the API (not the token endpoint), optionally to one path."""
        prefix = self.api.prefix
        return [
            r
            for r in self.server.requests
            if r.path.startswith(prefix) and path in (None, r.path.removeprefix(prefix))
        ]


@contextmanager
def running_fake_strava(api_prefix: str = API_PREFIX) -> Iterator[FakeStrava]:
    """Start a fake Strava on a free port of 127.0.0.1 for the duration of the block.

    fitness is configured to use it (client id, secret, refresh token and URLs) while the
    block runs, and the settings are read afresh afterwards. `api_prefix` is where the API
    answers (Strava's new address has another).
    """
    tokens = FakeTokenEndpoint(style="strava")
    api = FakeStravaAPI(tokens, prefix=api_prefix)
    server = FakeHTTPServer()
    server.route("POST", TOKEN_PATH, tokens)
    server.route("GET", AUTHORIZE_PATH, tokens.consent_page)
    server.route("POST", DEAUTHORIZE_PATH, tokens.revoke)
    server.route("GET", api_prefix + "/athlete/activities", api)
    server.route("GET", api_prefix + "/gear/{id}", api)
    fake = FakeStrava(server, api, tokens)
    with running(server), pytest.MonkeyPatch.context() as patch:
        for name, value in fake.environment().items():
            patch.setenv(name, value)
        reset_settings()
        try:
            yield fake
        finally:
            patch.undo()
            reset_settings()


def _epoch(activity: dict[str, object]) -> int:
    return int(datetime.fromisoformat(str(activity["start_date"])).timestamp())


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
