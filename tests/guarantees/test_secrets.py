"""Secrets and access: no route without a token, and no secret in any log, answer or row.

The route table is walked, so a route added later is checked without anyone remembering
to. Full Strava and calendar syncs (token refreshes, retries, failures that echo our
Authorization header back), the OAuth consent flow and an API session run with every log
captured at DEBUG; no token, refresh token, client secret, API token, authorisation code,
secret key or Authorization header may appear in the logs, in any answer, or in any stored
row. That OAuth tokens are encrypted at rest is tested in tests/db/test_oauth_credentials.py
(`test_tokens_are_encrypted_at_rest_when_a_key_is_set`); here the whole database is
searched after real syncs with a key set.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest
from psycopg import sql
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from fitness.api.app import create_app
from fitness.config import Settings, get_settings, reset_settings
from fitness.db.oauth_credentials import (
    insert_credentials_if_missing,
    update_tokens,
    upsert_credentials,
)
from fitness.db.runs import import_runs
from fitness.errors import ConfigurationError, IntegrationError
from fitness.integrations.google_calendar import GoogleCalendarClient
from fitness.integrations.strava import StravaClient
from fitness.server.auth import PageMount, PublicRoute
from fitness.services.calendar_sync import sync_all
from fitness.services.strava_sync import sync_strava
from fitness.web.sessions import OpenMount, OpenPage, PageSession, Sessions
from tests.factories import RunFactory
from tests.fakes.google_calendar import FakeGoogle, running_fake_google
from tests.fakes.oauth import CLIENT_SECRET, FakeTokenEndpoint
from tests.fakes.strava import FakeStrava, make_activities, recorded_activities, running_fake_strava
from tests.guarantees.conftest import AUTHORIZATION, TABLES, TOKEN, serving

# Reachable without a token, each for these methods only (see fitness/server/auth.py). A new
# public route must be added here on purpose, or this test fails.
PUBLIC_OPERATIONS = {
    ("/health", "GET"),
    ("/health", "HEAD"),
    ("/oauth/{provider}/callback", "GET"),
    ("/oauth/{provider}/callback", "HEAD"),
    # Redirects to the pages, which a browser must find without a token.
    ("/", "GET"),
    ("/", "HEAD"),
    ("/app", "GET"),
    ("/app", "HEAD"),
}
# The pages (fitness/web) a browser reaches without a session: the login page and the
# stylesheet it uses. Every other page sends the browser to the login page.
OPEN_PAGES = {
    ("/app/login", "GET"),
    ("/app/login", "HEAD"),
    ("/app/login", "POST"),
    ("/app/static", "GET"),
}
WRONG_TOKEN = "wrong-token-6d2f0a9c"
SECRET_KEY = "operator secret key 0c9e7b"
AUTH_CODE = "good-code"
REJECTED_CODE = "rejected-code-8a1f"


# --- access -------------------------------------------------------------------------------


def operations(routes: Iterable[object]) -> Iterator[tuple[Route, str]]:
    """Every (route, method) the app serves, the pages' mount left out (see `pages`)."""
    for route in routes:
        if isinstance(route, PageMount):
            continue
        assert isinstance(route, Route), f"{route!r}: a kind of route this test cannot walk"
        for method in sorted(route.methods or ()):
            yield route, method


def pages(routes: Iterable[object]) -> Iterator[tuple[str, str, BaseRoute]]:
    """Every (full path, method, route) of the pages mounted in `routes`; a mount of files
    counts as its path and GET."""
    for mount in routes:
        if not isinstance(mount, PageMount):
            continue
        for route in mount.routes:
            if isinstance(route, Mount):
                yield mount.path + route.path, "GET", route
                continue
            assert isinstance(route, Route), f"{route!r}: a kind of route this test cannot walk"
            for method in sorted(route.methods or ()):
                yield mount.path + route.path, method, route


def concrete(path: str) -> str:
    """The route's path with each `{parameter}` filled in."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_but_the_public_ones_refuses_a_missing_or_wrong_token(
    settings: Settings,
) -> None:
    app = create_app(settings)
    served = list(operations(app.routes))
    client = TestClient(app)
    public = set()
    refused = 0
    for route, method in served:
        if isinstance(route, PublicRoute):
            public.add((route.path, method))
            continue
        path = concrete(route.path)
        for headers in (
            {},
            {"Authorization": f"Bearer {WRONG_TOKEN}"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": TOKEN},
        ):
            response = client.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.status_code)
            assert response.headers["www-authenticate"].startswith("Bearer")
        refused += 1

    assert public == PUBLIC_OPERATIONS
    assert refused >= 20, served  # the walk really saw the API
    # A public route is public for its own methods only.
    for path in ("/health", "/oauth/strava/callback", "/", "/app"):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            assert client.request(method, path).status_code == 401


def test_every_page_but_the_login_sends_a_browser_without_a_session_to_log_in(
    settings: Settings,
) -> None:
    app = create_app(settings)
    client = TestClient(app)
    walked = list(pages(app.routes))
    forged = Sessions(("another-token-1f0e",)).cookie_value(PageSession("x" * 24, True))
    open_pages = set()
    refused = 0
    for path, method, route in walked:
        if isinstance(route, OpenPage | OpenMount):
            open_pages.add((path, method))
            continue
        for cookies, headers in (
            ({}, {}),
            ({}, AUTHORIZATION),  # pages take a session, not a bearer token
            ({"fitness_session": forged}, {}),
            ({"fitness_session": "garbage"}, {}),
        ):
            client.cookies.clear()
            client.cookies.update(cookies)
            response = client.request(
                method, concrete(path), headers=headers, follow_redirects=False
            )
            assert response.status_code == 303, (method, path, cookies, response.status_code)
            assert response.headers["location"].startswith("/app/login?next=%2Fapp")
        refused += 1

    assert open_pages == OPEN_PAGES
    assert refused >= 10, walked  # the walk really saw the pages
    # Unknown pages are no way around it either.
    assert client.get("/app/no/such/page", follow_redirects=False).status_code == 303
    assert client.get("/app/static/app.css").status_code == 200


# --- secrets in logs, answers and rows ----------------------------------------------------


@dataclasses.dataclass
class Session:
    """Everything a user or an operator could see: answers, logs and stored rows."""

    answers: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    stored: list[str] = dataclasses.field(default_factory=list)

    def record(self, response: httpx.Response) -> httpx.Response:
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
        self.answers.append(f"{response.status_code}\n{headers}\n{response.text}")
        return response


def secrets_of(*endpoints: FakeTokenEndpoint) -> set[str]:
    """Every secret in play: ours, and every token the fake providers ever issued."""
    found = {TOKEN, WRONG_TOKEN, SECRET_KEY, CLIENT_SECRET, AUTH_CODE, REJECTED_CODE}
    for endpoint in endpoints:
        issued = int(endpoint.current_access_token.rsplit("-", 1)[1])
        found |= {f"access-token-{n}" for n in range(1, issued + 1)}
        found |= {f"refresh-token-{n}" for n in range(0, issued + 1)}
    return found


def logged_by_fitness(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured log line but the test client's own (its URLs carry what the test
    sent, such as the authorisation code a browser would bring back)."""
    formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    return "\n".join(
        formatter.format(record)
        for record in caplog.records
        if not (record.name == "httpx" and "http://testserver/" in record.getMessage())
    )


def every_stored_value(conn: psycopg.Connection) -> str:
    """Every row of every table, as text."""
    lines = []
    for table in TABLES:
        query = sql.SQL("SELECT t::text FROM {} AS t").format(sql.Identifier(table))
        lines += [row[0] for row in conn.execute(query)]
    return "\n".join(lines)


def assert_no_secret(secrets: set[str], **places: str) -> None:
    leaks = [
        f"{secret!r} in {place}"
        for place, text in places.items()
        for secret in sorted(secrets)
        if secret in text
    ]
    assert leaks == []


@pytest.fixture
def secret_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("FITNESS_SECRET_KEY", SECRET_KEY)
    reset_settings()
    yield SECRET_KEY
    monkeypatch.delenv("FITNESS_SECRET_KEY")
    reset_settings()


@pytest.fixture
def fakes(db: str, secret_key: str) -> Iterator[tuple[FakeStrava, FakeGoogle]]:
    with running_fake_strava() as strava, running_fake_google() as google:
        yield strava, google


def consent(client: TestClient, session: Session, provider: str, code: str) -> httpx.Response:
    authorize = session.record(client.get(f"/oauth/{provider}/authorize", follow_redirects=False))
    query = parse_qs(urlsplit(authorize.headers["location"]).query)
    callback = client.get(
        f"/oauth/{provider}/callback",
        params={"state": query["state"][0], "code": code},
        headers={"Authorization": ""},
    )
    return session.record(callback)


def test_full_syncs_and_an_api_session_leak_no_secret_anywhere(
    fakes: tuple[FakeStrava, FakeGoogle],
    raw_conn: psycopg.Connection,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    strava, google = fakes
    caplog.set_level(logging.DEBUG)
    session = Session()

    # Strava, through the library: a revoked token refreshed, a 5xx retried, an outage.
    strava.api.activities = recorded_activities() + make_activities(3)
    with StravaClient(backoff_seconds=0, timeout=2) as client:
        assert sync_strava(client=client).inserted == 9
    strava.api.expire_token()
    strava.api.fail_next(500)
    with StravaClient(backoff_seconds=0, timeout=2) as client:
        assert sync_strava(full_sync=True, client=client).skipped_existing == 9
    strava.api.fail_page(1, 503, times=3)
    with (
        StravaClient(backoff_seconds=0, timeout=2) as client,
        pytest.raises(IntegrationError) as outage,
    ):
        sync_strava(full_sync=True, client=client)
    session.errors.append(str(outage.value))

    # Google Calendar, through the library: failures whose bodies echo our Authorization
    # header, a token that expires, and the failure stored on the run.
    import_runs(RunFactory().many(3))
    google.calendar.fail_next(500, method="POST", times=3)
    google.calendar.fail_next(400, method="POST")
    with GoogleCalendarClient(backoff_seconds=0, timeout=2) as calendar:
        first = sync_all(client=calendar)
        session.stored.append(every_stored_value(raw_conn))
        google.calendar.expire_token()
        second = sync_all(client=calendar)
    assert first.failed == 2 and second.failed == 0
    session.errors += [str(first), str(second)]

    # The API, with tokens: consent for both providers, a rejected code, syncs, 401s.
    settings = dataclasses.replace(get_settings(), api_tokens=(TOKEN,))
    with TestClient(create_app(settings), headers=AUTHORIZATION) as api:
        assert consent(api, session, "strava", AUTH_CODE).status_code == 200
        assert consent(api, session, "google", AUTH_CODE).status_code == 200
        assert consent(api, session, "strava", REJECTED_CODE).status_code == 502
        strava.api.expire_token()
        assert session.record(api.post("/strava/sync")).status_code == 200
        google.calendar.fail_next(502, method="PATCH", times=3)
        run_id = session.record(api.get("/runs", params={"limit": 1})).json()["runs"][0]["id"]
        session.record(api.patch(f"/runs/{run_id}", json={"distance": 7.0}))
        assert session.record(api.post(f"/sync/runs/{run_id}")).status_code == 502
        session.stored.append(every_stored_value(raw_conn))
        assert session.record(api.post("/sync/runs")).status_code == 200
        for path in ("/runs", "/shoes", "/openapi.json", "/health"):
            session.record(api.get(path))
        wrong = {"Authorization": f"Bearer {WRONG_TOKEN}"}
        assert session.record(api.get("/runs", headers=wrong)).status_code == 401
        assert session.record(api.post("/strava/sync", headers=wrong)).status_code == 401

    captured = capfd.readouterr()
    session.stored.append(every_stored_value(raw_conn))
    assert strava.tokens.refreshes >= 3 and google.tokens.refreshes >= 2
    assert "Refreshed the strava access token" in caplog.text  # the logs were captured
    # While runs were failing, their errors were stored (and are searched below).
    assert "answered HTTP 500 to events.insert" in session.stored[0]
    assert "enc:v2:" in session.stored[0]  # the tokens are there, encrypted
    assert "answered HTTP 502 to events.patch" in session.stored[1]
    assert_no_secret(
        secrets_of(strava.tokens, google.tokens),
        logs=logged_by_fitness(caplog),
        stdout=captured.out,
        stderr=captured.err,
        answers="\n".join(session.answers),
        errors="\n".join(session.errors),
        database="\n".join(session.stored),
    )


def test_a_served_api_session_logs_no_secret_even_at_debug(
    fakes: tuple[FakeStrava, FakeGoogle], db: str, tmp_path: Path
) -> None:
    strava, google = fakes
    session = Session()

    with serving(db, tmp_path / "serve.log", debug=True) as served:
        with served.client() as api:
            assert session.record(api.post("/strava/sync")).status_code == 200
            authorize = session.record(api.get("/oauth/strava/authorize"))
            state = parse_qs(urlsplit(authorize.headers["location"]).query)["state"][0]
            with served.client(token=None) as browser:
                # The browser that opened authorize comes back with its cookie.
                browser.cookies = authorize.cookies
                callback = browser.get(
                    "/oauth/strava/callback", params={"state": state, "code": AUTH_CODE}
                )
                assert session.record(callback).status_code == 200
            strava.api.fail_page(1, 503, times=3)
            session.record(api.post("/strava/sync", params={"full_sync": "true"}))
            assert session.record(api.post("/sync/runs")).status_code == 200
            session.record(api.get("/runs"))
        with served.client(token=WRONG_TOKEN) as intruder:
            assert session.record(intruder.get("/runs")).status_code == 401
        log = served.log()

    assert "DEBUG" in log and "POST /strava/sync 200" in log
    assert_no_secret(
        secrets_of(strava.tokens, google.tokens),
        log=log,
        answers="\n".join(session.answers),
    )


# --- secrets at rest ----------------------------------------------------------------------


def test_production_without_a_secret_key_refuses_to_store_tokens(
    db: str, raw_conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A row written in development, under dev's key file.
    upsert_credentials("strava", "client-123", "dev-secret", "dev-refresh", "dev-access")
    before = every_stored_value(raw_conn)
    monkeypatch.setenv("FITNESS_ENV", "prod")
    monkeypatch.delenv("FITNESS_SECRET_KEY", raising=False)
    reset_settings()
    try:
        for store in (
            lambda: upsert_credentials("strava", "client-123", CLIENT_SECRET, "refresh-9", "a-9"),
            lambda: insert_credentials_if_missing("google", "client-123", CLIENT_SECRET, "r-9"),
            lambda: update_tokens("strava", "access-9", "refresh-9", None),
        ):
            with pytest.raises(ConfigurationError, match="FITNESS_SECRET_KEY"):
                store()
    finally:
        monkeypatch.undo()
        reset_settings()
    assert every_stored_value(raw_conn) == before
    assert CLIENT_SECRET not in before
