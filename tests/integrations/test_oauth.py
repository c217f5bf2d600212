"""fitness.integrations.oauth: tokens refreshed on time, rotated under a lock, never leaked,
and the rule of which credentials win: the environment when it changes, else what is stored."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

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
    CredentialsRejected,
    InsufficientScope,
    IntegrationError,
    IntegrationNotConfigured,
    ReauthorizationRequired,
)
from fitness.integrations.oauth import valid_access_token
from tests.fakes.http import FakeHTTPServer, Reply, running
from tests.fakes.oauth import CLIENT_ID, CLIENT_SECRET, FIRST_REFRESH_TOKEN, FakeTokenEndpoint


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
    strava_env: None, http: httpx.Client, token_endpoint: FakeTokenEndpoint
) -> None:
    store_strava("expired", timedelta(seconds=-1), refresh="revoked-refresh-token")
    token_endpoint.valid_refresh_token = "only-strava-knows"
    with pytest.raises(ReauthorizationRequired) as caught:
        valid_access_token("strava", http)
    message = str(caught.value)
    assert "`fitness connect strava`" in message and "STRAVA_REFRESH_TOKEN" in message
    assert "revoked-refresh-token" not in message and CLIENT_SECRET not in message
    stored = get_credentials("strava")
    assert stored is not None and stored.access_token == "expired"


def test_a_google_invalid_grant_also_asks_to_reauthorise(
    strava_env: None, http: httpx.Client, token_endpoint: FakeTokenEndpoint
) -> None:
    token_endpoint.style = "google"
    token_endpoint.valid_refresh_token = "something-else"
    with pytest.raises(ReauthorizationRequired, match="GOOGLE_REFRESH_TOKEN"):
        valid_access_token("google", http)


def test_google_keeps_its_refresh_token_when_none_is_sent_back(
    strava_env: None, http: httpx.Client, token_endpoint: FakeTokenEndpoint
) -> None:
    token_endpoint.style = "google"
    assert valid_access_token("google", http) == "access-token-1"
    stored = get_credentials("google")
    assert stored is not None and stored.refresh_token == FIRST_REFRESH_TOKEN
    assert stored.expires_at is not None and stored.expires_at > datetime.now(UTC)


def test_a_mistyped_secret_on_first_use_names_the_variable_and_its_fix_is_taken_in(
    strava_env: None, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRAVA_CLIENT_SECRET", "wrong-secret")
    reset_settings()
    with pytest.raises(CredentialsRejected, match="STRAVA_CLIENT_SECRET") as caught:
        valid_access_token("strava", http)
    assert not isinstance(caught.value, ReauthorizationRequired)
    assert "wrong-secret" not in str(caught.value)

    monkeypatch.setenv("STRAVA_CLIENT_SECRET", CLIENT_SECRET)
    reset_settings()
    assert valid_access_token("strava", http) == "access-token-1"
    stored = get_credentials("strava")
    assert stored is not None and stored.client_secret == CLIENT_SECRET


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


# --- which credentials win -----------------------------------------------------------------


def change_environment(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    reset_settings()


def test_once_stored_an_unchanged_environment_never_overrides_the_rotated_token(
    strava_env: None, http: httpx.Client, token_endpoint: FakeTokenEndpoint
) -> None:
    # Seeded from the environment, then rotated: the environment's token is revoked now.
    assert valid_access_token("strava", http) == "access-token-1"
    assert valid_access_token("strava", http, force_refresh=True) == "access-token-2"
    stored = get_credentials("strava")
    assert stored is not None and stored.refresh_token == "refresh-token-2"
    assert stored.source == "environment"


def test_a_new_refresh_token_in_the_environment_replaces_a_revoked_stored_one(
    strava_env: None,
    http: httpx.Client,
    token_endpoint: FakeTokenEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    valid_access_token("strava", http)
    # The user revoked access on Strava, then made a new refresh token for fitness.
    token_endpoint.valid_refresh_token = "refresh-token-new"
    with pytest.raises(ReauthorizationRequired):
        valid_access_token("strava", http, force_refresh=True)

    change_environment(monkeypatch, STRAVA_REFRESH_TOKEN="refresh-token-new")
    assert valid_access_token("strava", http) == "access-token-2"
    stored = get_credentials("strava")
    assert stored is not None and stored.refresh_token == "refresh-token-2"
    # Taken in once: the next call uses what is stored, without refreshing again.
    assert valid_access_token("strava", http) == "access-token-2"
    assert token_endpoint.refreshes == 2


def test_a_changed_environment_replaces_credentials_given_by_consent(
    strava_env: None,
    http: httpx.Client,
    token_endpoint: FakeTokenEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store_strava("from-consent", timedelta(hours=2), refresh="refresh-from-consent")
    valid_access_token("strava", http)  # the environment, unchanged since, is taken in
    assert get_credentials("strava").refresh_token == "refresh-from-consent"

    token_endpoint.valid_refresh_token = "refresh-token-typed-in"
    change_environment(monkeypatch, STRAVA_REFRESH_TOKEN="refresh-token-typed-in")
    assert valid_access_token("strava", http) == "access-token-1"
    assert get_credentials("strava").source == "environment"


def test_a_reset_client_secret_in_the_environment_keeps_the_grant(
    strava_env: None,
    http: httpx.Client,
    token_endpoint: FakeTokenEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STRAVA_REFRESH_TOKEN")
    reset_settings()
    store_strava("from-consent", timedelta(seconds=-1))
    valid_access_token("strava", http)
    token_endpoint.client_secret = "secret-after-reset"

    with pytest.raises(CredentialsRejected, match="STRAVA_CLIENT_SECRET"):
        valid_access_token("strava", http, force_refresh=True)
    change_environment(monkeypatch, STRAVA_CLIENT_SECRET="secret-after-reset")
    assert valid_access_token("strava", http, force_refresh=True) == "access-token-2"
    stored = get_credentials("strava")
    assert stored is not None and stored.source == "consent"
    assert stored.refresh_token == "refresh-token-2"


def test_a_row_stored_before_fingerprints_were_kept_falls_back_to_the_environment(
    strava_env: None,
    http: httpx.Client,
    token_endpoint: FakeTokenEndpoint,
    raw_conn: psycopg.Connection,
) -> None:
    # An older fitness stored a token that was since revoked; the user already put a new
    # one in the environment before upgrading.
    store_strava("old", timedelta(seconds=-1), refresh="revoked-long-ago")
    raw_conn.execute("UPDATE oauth_credentials SET seed_fingerprint = NULL, source = NULL")

    assert valid_access_token("strava", http) == "access-token-1"
    stored = get_credentials("strava")
    assert stored is not None and stored.refresh_token == "refresh-token-1"


def test_the_environment_is_remembered_only_as_a_sealed_fingerprint(
    strava_env: None,
    http: httpx.Client,
    raw_conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    change_environment(monkeypatch, FITNESS_SECRET_KEY="a key for this test 5d1c")
    valid_access_token("strava", http)
    (row,) = raw_conn.execute("SELECT oauth_credentials::text FROM oauth_credentials")
    assert "enc:v2:" in row[0]
    for value in (CLIENT_SECRET, FIRST_REFRESH_TOKEN, "refresh-token-1", "access-token-1"):
        assert value not in row[0]
    (fingerprint,) = raw_conn.execute("SELECT seed_fingerprint FROM oauth_credentials").fetchone()
    assert fingerprint.startswith("enc:v2:")


def test_a_refresh_is_remembered_with_its_time(strava_env: None, http: httpx.Client) -> None:
    before = datetime.now(UTC)
    valid_access_token("strava", http)
    stored = get_credentials("strava")
    assert stored is not None and stored.last_refreshed_at is not None
    assert stored.last_refreshed_at >= before - timedelta(seconds=1)


def test_google_restating_a_grant_without_the_calendar_says_what_to_tick(
    strava_env: None, http: httpx.Client, token_endpoint: FakeTokenEndpoint
) -> None:
    token_endpoint.style = "google"
    token_endpoint.grant_scope = ("openid", "email")
    with pytest.raises(InsufficientScope) as caught:
        valid_access_token("google", http)
    assert "View and edit events on all your calendars" in str(caught.value)
    assert "`fitness connect google`" in str(caught.value)
    stored = get_credentials("google")
    assert stored is not None and stored.granted_scope == ("openid", "email")


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
