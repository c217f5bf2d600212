"""fitness.integrations.oauth: tokens refreshed on time, rotated under a lock, consent state."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest

from fitness.config import reset_settings
from fitness.db.oauth_credentials import (
    get_credentials,
    insert_credentials_if_missing,
    upsert_credentials,
)
from fitness.errors import (
    IntegrationError,
    IntegrationNotConfigured,
    InvalidOAuthState,
    ReauthorizationRequired,
)
from fitness.integrations.oauth import (
    authorization_url,
    exchange_code,
    make_state,
    valid_access_token,
    verify_state,
)
from tests.fakes.http import FakeHTTPServer, Reply, running
from tests.fakes.oauth import CLIENT_ID, CLIENT_SECRET, FIRST_REFRESH_TOKEN, FakeTokenEndpoint

REDIRECT = "http://127.0.0.1:8000/oauth/strava/callback"


@pytest.fixture
def token_endpoint() -> FakeTokenEndpoint:
    return FakeTokenEndpoint()


@pytest.fixture
def token_server(token_endpoint: FakeTokenEndpoint) -> Iterator[FakeHTTPServer]:
    server = FakeHTTPServer()
    server.route("POST", "/oauth/token", token_endpoint)
    with running(server):
        yield server


@pytest.fixture
def strava_env(
    db: str, token_server: FakeHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Strava configured from the environment, its token endpoint being the fake server."""
    monkeypatch.setenv("STRAVA_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("STRAVA_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("STRAVA_REFRESH_TOKEN", FIRST_REFRESH_TOKEN)
    monkeypatch.setenv("STRAVA_TOKEN_URL", f"{token_server.url}/oauth/token")
    monkeypatch.setenv("STRAVA_AUTH_URL", "https://strava.example/oauth/authorize")
    monkeypatch.setenv("GOOGLE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("GOOGLE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("GOOGLE_REFRESH_TOKEN", FIRST_REFRESH_TOKEN)
    monkeypatch.setenv("GOOGLE_TOKEN_URL", f"{token_server.url}/oauth/token")
    reset_settings()
    yield
    reset_settings()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def store_strava(
    access_token: str, expires_in: timedelta, refresh: str = FIRST_REFRESH_TOKEN
) -> None:
    upsert_credentials(
        "strava", CLIENT_ID, CLIENT_SECRET, refresh, access_token, datetime.now(UTC) + expires_in
    )


def test_first_use_seeds_from_the_environment_and_refreshes(
    strava_env: None, http: httpx.Client, token_endpoint: FakeTokenEndpoint
) -> None:
    assert get_credentials("strava") is None
    assert valid_access_token("strava", http) == "access-token-1"
    stored = get_credentials("strava")
    assert stored is not None
    assert stored.access_token == "access-token-1"
    assert stored.refresh_token == "refresh-token-1"
    assert stored.expires_at is not None and stored.expires_at > datetime.now(UTC)
    assert token_endpoint.refreshes == 1


def test_a_fresh_token_is_used_without_asking_the_provider(
    strava_env: None, http: httpx.Client, token_server: FakeHTTPServer
) -> None:
    store_strava("still-good", timedelta(hours=1))
    assert valid_access_token("strava", http) == "still-good"
    assert token_server.requests == []


def test_a_token_expiring_within_five_minutes_is_refreshed(
    strava_env: None, http: httpx.Client, token_endpoint: FakeTokenEndpoint
) -> None:
    store_strava("nearly-expired", timedelta(minutes=4))
    assert valid_access_token("strava", http) == "access-token-1"
    assert token_endpoint.refreshes == 1


def test_the_rotated_refresh_token_is_persisted_and_used_next_time(
    strava_env: None, http: httpx.Client, token_endpoint: FakeTokenEndpoint
) -> None:
    store_strava("old", timedelta(seconds=-1))
    assert valid_access_token("strava", http) == "access-token-1"
    # The fake has revoked refresh-token-0: a second refresh only works with the new one.
    assert valid_access_token("strava", http, force_refresh=True) == "access-token-2"
    stored = get_credentials("strava")
    assert stored is not None and stored.refresh_token == "refresh-token-2"


def test_force_refresh_after_a_401_replaces_a_token_that_looked_fresh(
    strava_env: None, http: httpx.Client, token_endpoint: FakeTokenEndpoint
) -> None:
    store_strava("revoked-by-strava", timedelta(hours=5))
    assert valid_access_token("strava", http, force_refresh=True) == "access-token-1"
    assert token_endpoint.refreshes == 1


def test_seeding_never_overwrites_credentials_already_stored(
    strava_env: None, http: httpx.Client
) -> None:
    store_strava("current", timedelta(hours=1), refresh="refresh-token-7")
    stored = insert_credentials_if_missing("strava", CLIENT_ID, CLIENT_SECRET, "stale-env-token")
    assert stored.refresh_token == "refresh-token-7"
    assert valid_access_token("strava", http) == "current"


def test_two_concurrent_refreshers_refresh_once_and_both_get_the_new_token(
    strava_env: None, token_endpoint: FakeTokenEndpoint, database_url: str
) -> None:
    store_strava("expired", timedelta(seconds=-1))
    first_request = threading.Event()
    overlapped = threading.Event()

    def hold_until_the_other_waits_for_the_lock() -> None:
        # The first refresher holds the row lock while its request is in flight; answer
        # only once the second one is blocked on that lock, so the two truly overlap.
        if first_request.is_set():
            return
        first_request.set()
        with psycopg.connect(database_url, autocommit=True) as conn:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if _someone_waits_for_a_lock(conn):
                    overlapped.set()
                    return
                time.sleep(0.01)

    token_endpoint.before_reply = hold_until_the_other_waits_for_the_lock

    def refresh(_: int) -> str:
        with httpx.Client(timeout=15) as client:
            return valid_access_token("strava", client)

    with ThreadPoolExecutor(max_workers=2) as pool:
        tokens = list(pool.map(refresh, range(2)))

    assert overlapped.is_set()
    assert tokens == ["access-token-1", "access-token-1"]
    assert token_endpoint.refreshes == 1
    stored = get_credentials("strava")
    assert stored is not None and stored.refresh_token == "refresh-token-1"


def test_an_invalid_grant_asks_the_user_to_reauthorise(
    strava_env: None, http: httpx.Client
) -> None:
    store_strava("expired", timedelta(seconds=-1), refresh="revoked-refresh-token")
    with pytest.raises(ReauthorizationRequired) as caught:
        valid_access_token("strava", http)
    message = str(caught.value)
    assert "/oauth/strava/authorize" in message
    assert "revoked-refresh-token" not in message and CLIENT_SECRET not in message
    stored = get_credentials("strava")
    assert stored is not None and stored.access_token == "expired"


def test_a_google_invalid_grant_also_asks_to_reauthorise(
    strava_env: None, http: httpx.Client, token_endpoint: FakeTokenEndpoint
) -> None:
    token_endpoint.style = "google"
    token_endpoint.valid_refresh_token = "something-else"
    with pytest.raises(ReauthorizationRequired, match="/oauth/google/authorize"):
        valid_access_token("google", http)


def test_google_keeps_its_refresh_token_when_none_is_sent_back(
    strava_env: None, http: httpx.Client, token_endpoint: FakeTokenEndpoint
) -> None:
    token_endpoint.style = "google"
    assert valid_access_token("google", http) == "access-token-1"
    stored = get_credentials("google")
    assert stored is not None and stored.refresh_token == FIRST_REFRESH_TOKEN
    assert stored.expires_at is not None and stored.expires_at > datetime.now(UTC)


def test_a_rejected_client_secret_says_which_setting_to_check(
    strava_env: None, http: httpx.Client
) -> None:
    upsert_credentials("strava", CLIENT_ID, "wrong-secret", FIRST_REFRESH_TOKEN)
    with pytest.raises(IntegrationError, match="STRAVA_CLIENT_SECRET") as caught:
        valid_access_token("strava", http)
    assert not isinstance(caught.value, ReauthorizationRequired)
    assert "wrong-secret" not in str(caught.value)


def test_a_token_endpoint_outage_is_a_clear_error_without_secrets(
    strava_env: None, http: httpx.Client, token_endpoint: FakeTokenEndpoint
) -> None:
    token_endpoint.failure = Reply(503, {"message": "down"})
    with pytest.raises(IntegrationError, match="HTTP 503") as caught:
        valid_access_token("strava", http)
    assert FIRST_REFRESH_TOKEN not in str(caught.value)
    assert CLIENT_SECRET not in str(caught.value)


def test_a_token_endpoint_timeout_is_a_clear_error(
    strava_env: None, token_endpoint: FakeTokenEndpoint
) -> None:
    token_endpoint.failure = Reply(hang=True)
    with httpx.Client(timeout=0.2) as client, pytest.raises(IntegrationError, match="timed out"):
        valid_access_token("strava", client)


def test_nothing_configured_says_what_to_set(
    db: str, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("STRAVA_CLIENT_ID", "STRAVA_CLIENT_SECRET", "STRAVA_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    try:
        with pytest.raises(IntegrationNotConfigured, match="STRAVA_REFRESH_TOKEN"):
            valid_access_token("strava", http)
    finally:
        reset_settings()


def test_tokens_and_secrets_never_reach_the_logs(
    strava_env: None, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    valid_access_token("strava", http)
    for secret in (CLIENT_SECRET, FIRST_REFRESH_TOKEN, "refresh-token-1", "access-token-1"):
        assert secret not in caplog.text


def test_authorization_url_carries_the_client_scopes_and_a_valid_state(strava_env: None) -> None:
    url = authorization_url("strava", REDIRECT)
    parts = urlsplit(url)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://strava.example/oauth/authorize"
    )
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT
    assert query["response_type"] == "code"
    assert "activity:read_all" in query["scope"].split(",")
    verify_state("strava", query["state"])


def test_google_authorization_asks_for_offline_access(strava_env: None) -> None:
    query = parse_qs(urlsplit(authorization_url("google", REDIRECT)).query)
    assert query["access_type"] == ["offline"]
    assert query["prompt"] == ["consent"]


def test_a_tampered_state_is_rejected(strava_env: None) -> None:
    state = make_state("strava")
    name, expires, nonce, signature = state.split(".")
    forgeries = [
        f"{name}.{int(expires) + 3600}.{nonce}.{signature}",
        f"{name}.{expires}.{nonce}x.{signature}",
        f"{name}.{expires}.{nonce}.{signature[:-2]}AA",
        f"google.{expires}.{nonce}.{signature}",
        "not-a-state",
        "",
    ]
    for forged in forgeries:
        with pytest.raises(InvalidOAuthState):
            verify_state("strava", forged)


def test_a_state_for_another_provider_is_rejected(strava_env: None) -> None:
    with pytest.raises(InvalidOAuthState, match="google"):
        verify_state("strava", make_state("google"))


def test_a_state_expires_after_ten_minutes(strava_env: None) -> None:
    issued = time.time()
    state = make_state("strava", now=issued)
    verify_state("strava", state, now=issued + 9 * 60)
    with pytest.raises(InvalidOAuthState, match="expired"):
        verify_state("strava", state, now=issued + 11 * 60)


def test_a_state_signed_with_another_secret_key_is_rejected(
    strava_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FITNESS_SECRET_KEY", "key one")
    reset_settings()
    state = make_state("strava")
    verify_state("strava", state)
    monkeypatch.setenv("FITNESS_SECRET_KEY", "key two")
    reset_settings()
    with pytest.raises(InvalidOAuthState):
        verify_state("strava", state)


def test_exchanging_a_code_stores_tokens_that_are_then_used(
    strava_env: None, http: httpx.Client, token_server: FakeHTTPServer
) -> None:
    creds = exchange_code("strava", "good-code", REDIRECT, http)
    assert (creds.access_token, creds.refresh_token) == ("access-token-1", "refresh-token-1")
    [request] = token_server.requests
    assert request.form()["redirect_uri"] == REDIRECT
    assert valid_access_token("strava", http) == "access-token-1"
    assert len(token_server.requests) == 1


def test_a_rejected_code_is_a_clear_error(strava_env: None, http: httpx.Client) -> None:
    with pytest.raises(IntegrationError, match="authorisation code") as caught:
        exchange_code("strava", "forged-code", REDIRECT, http)
    assert "forged-code" not in str(caught.value)
    assert get_credentials("strava") is None


def _someone_waits_for_a_lock(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        """
        SELECT count(*)
        FROM pg_stat_activity
        WHERE datname = current_database()
          AND wait_event_type = 'Lock'
        """
    ).fetchone()
    return bool(row and row[0])
