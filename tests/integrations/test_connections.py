"""fitness.integrations.connections: what `fitness connections` and the status route show,
and `disconnect` revoking at the provider before forgetting, against fake providers."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import httpx
import pytest

from fitness.config import reset_settings
from fitness.db.oauth_credentials import get_credentials, record_sync_outcome, upsert_credentials
from fitness.errors import IntegrationError
from fitness.integrations.connections import connection_status, disconnect
from fitness.integrations.oauth import valid_access_token
from tests.fakes.google_calendar import FakeGoogle, running_fake_google
from tests.fakes.http import Reply
from tests.fakes.oauth import CLIENT_ID, CLIENT_SECRET, FIRST_REFRESH_TOKEN
from tests.fakes.strava import DEAUTHORIZE_PATH, FakeStrava, running_fake_strava


@pytest.fixture
def strava(db: str) -> Iterator[FakeStrava]:
    with running_fake_strava() as fake:
        yield fake


@pytest.fixture
def google(db: str) -> Iterator[FakeGoogle]:
    with running_fake_google() as fake:
        yield fake


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


# --- status -------------------------------------------------------------------------------


def test_nothing_configured_says_what_to_set(db: str) -> None:
    status = connection_status("strava")

    assert not status.connected and status.environment == "unset"
    assert status.action == (
        "set STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET, then run `fitness connect strava`"
    )


def test_a_client_without_a_connection_says_to_connect(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRAVA_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("STRAVA_CLIENT_SECRET", CLIENT_SECRET)
    reset_settings()

    status = connection_status("strava")

    assert (status.connected, status.environment) == (False, "incomplete")
    assert status.action == "run `fitness connect strava`"


def test_environment_credentials_are_stored_on_first_use_then_shown_in_use(
    strava: FakeStrava, http: httpx.Client
) -> None:
    before = connection_status("strava")
    assert (before.connected, before.environment) == (False, "changed")
    assert before.action is not None and "stored on first use" in before.action

    valid_access_token("strava", http)
    status = connection_status("strava")

    assert (status.connected, status.source, status.environment) == (True, "environment", "in use")
    assert status.granted_scope is None  # Strava does not restate it on a refresh
    assert status.access_token_expires_at is not None and status.last_refreshed_at is not None
    assert status.action is None


def test_a_changed_environment_is_announced_before_it_is_taken_in(
    strava: FakeStrava, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    valid_access_token("strava", http)
    monkeypatch.setenv("STRAVA_REFRESH_TOKEN", "a-new-one")
    reset_settings()

    status = connection_status("strava")

    assert status.environment == "changed"
    assert status.action is not None and "replace the stored ones" in status.action


def test_granted_and_missing_permissions_and_the_last_sync_are_shown(
    strava: FakeStrava,
) -> None:
    upsert_credentials(
        "strava",
        CLIENT_ID,
        CLIENT_SECRET,
        "refresh-x",
        granted_scope=("read", "activity:read"),
    )
    record_sync_outcome("strava", "failed", "Strava has deactivated this API application")

    status = connection_status("strava")

    assert status.granted_scope == ("read", "activity:read")
    assert status.missing == ()
    assert status.not_granted == (
        "View data about your private activities",
        "View data about your complete profile",
    )
    assert status.last_sync_outcome == "failed"
    assert status.last_sync_message == "Strava has deactivated this API application"
    assert status.action == "see the last sync's message"


def test_a_grant_missing_a_required_permission_says_to_connect_again(db: str) -> None:
    upsert_credentials("strava", CLIENT_ID, CLIENT_SECRET, "refresh-x", granted_scope=("read",))

    status = connection_status("strava")

    assert status.missing == ("View data about your activities",)
    assert status.action == "run `fitness connect strava` and grant every permission asked for"


def test_the_status_holds_no_secret(strava: FakeStrava, http: httpx.Client) -> None:
    valid_access_token("strava", http)

    shown = json.dumps(dataclasses.asdict(connection_status("strava")), default=str)

    for secret in (CLIENT_SECRET, FIRST_REFRESH_TOKEN, "refresh-token-1", "access-token-1"):
        assert secret not in shown


# --- disconnect ---------------------------------------------------------------------------


def test_disconnecting_strava_revokes_with_the_token_in_a_header_then_forgets(
    strava: FakeStrava, http: httpx.Client
) -> None:
    valid_access_token("strava", http)

    done = disconnect("strava", http_client=http)

    assert (done.was_connected, done.revocation) == (True, "revoked")
    assert done.environment_still_set
    (request,) = strava.server.requests_to(DEAUTHORIZE_PATH)
    assert request.headers["authorization"] == "Bearer access-token-1"
    assert request.query == {} and request.body == b""
    assert get_credentials("strava") is None
    assert strava.tokens.revocations == 1


def test_disconnecting_a_grant_strava_already_revoked_still_forgets_it(
    strava: FakeStrava, http: httpx.Client
) -> None:
    upsert_credentials("strava", CLIENT_ID, CLIENT_SECRET, "revoked-elsewhere", "dead-token")
    strava.tokens.valid_refresh_token = "a-grant-fitness-never-saw"

    done = disconnect("strava", http_client=http)

    assert done.revocation == "already revoked"
    assert get_credentials("strava") is None


def test_disconnecting_google_revokes_the_refresh_token(
    google: FakeGoogle, http: httpx.Client
) -> None:
    valid_access_token("google", http)

    done = disconnect("google", http_client=http)

    assert done.revocation == "revoked"
    (request,) = google.server.requests_to("/revoke")
    assert request.form() == {"token": FIRST_REFRESH_TOKEN}
    assert get_credentials("google") is None
    assert disconnect("google", http_client=http).was_connected is False


def test_a_provider_failing_to_revoke_forgets_nothing_unless_asked_to(
    google: FakeGoogle, http: httpx.Client
) -> None:
    valid_access_token("google", http)
    google.server.route("POST", "/revoke", lambda request: Reply(503, {"error": "backend"}))

    with pytest.raises(IntegrationError, match="nothing was forgotten") as raised:
        disconnect("google", http_client=http)
    assert "--forget-only" in str(raised.value)
    assert get_credentials("google") is not None

    done = disconnect("google", http_client=http, revoke=False)
    assert (done.was_connected, done.revocation) == (True, "not attempted")
    assert get_credentials("google") is None
