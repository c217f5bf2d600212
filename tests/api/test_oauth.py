"""GET /oauth/{provider}/authorize and /callback: connecting Strava (or Google) by consent."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from fitness.config import Settings, get_settings, reset_settings
from fitness.db.oauth_credentials import get_credentials
from fitness.integrations.oauth import make_state
from tests.api.conftest import TOKEN
from tests.fakes.oauth import CLIENT_ID
from tests.fakes.strava import FakeStrava, running_fake_strava

PUBLIC_BASE_URL = "https://fitness.example"


@pytest.fixture
def strava(db: str) -> Iterator[FakeStrava]:
    with running_fake_strava() as fake:
        yield fake


@pytest.fixture
def settings(strava: FakeStrava) -> Settings:
    return dataclasses.replace(get_settings(), api_tokens=(TOKEN,), public_base_url=PUBLIC_BASE_URL)


def consent_query(client: TestClient, provider: str = "strava") -> dict[str, str]:
    response = client.get(f"/oauth/{provider}/authorize", follow_redirects=False)
    assert response.status_code == 302
    assert response.json()["authorization_url"] == response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def test_authorize_redirects_to_strava_with_a_signed_state(
    strava: FakeStrava, client: TestClient
) -> None:
    response = client.get("/oauth/strava/authorize", follow_redirects=False)
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{strava.server.url}/oauth/authorize"
    )
    query = consent_query(client)
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == f"{PUBLIC_BASE_URL}/oauth/strava/callback"
    assert query["response_type"] == "code"
    assert query["state"].startswith("strava.")


def test_the_callback_stores_the_tokens_without_an_api_token(
    strava: FakeStrava, client: TestClient, anonymous: TestClient
) -> None:
    state = consent_query(client)["state"]
    response = anonymous.get(
        "/oauth/strava/callback",
        params={"state": state, "code": "good-code", "scope": "read,activity:read_all"},
    )
    assert response.status_code == 200
    assert response.json()["provider"] == "strava" and response.json()["connected"] is True
    stored = get_credentials("strava")
    assert stored is not None
    assert stored.refresh_token == strava.tokens.valid_refresh_token
    [exchange] = strava.server.requests_to("/oauth/token")
    assert exchange.form()["redirect_uri"] == f"{PUBLIC_BASE_URL}/oauth/strava/callback"
    assert "access-token" not in response.text


@pytest.mark.parametrize(
    "state",
    [None, "", "strava.1.abc.forged", make_state("google")],
    ids=["missing", "empty", "forged", "other-provider"],
)
def test_a_callback_without_a_valid_state_is_a_400_and_exchanges_nothing(
    strava: FakeStrava, anonymous: TestClient, client: TestClient, state: str | None
) -> None:
    params = {"code": "good-code"} | ({"state": state} if state is not None else {})
    response = anonymous.get("/oauth/strava/callback", params=params)
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/invalid-oauth-state"
    assert strava.server.requests_to("/oauth/token") == []
    assert get_credentials("strava") is None


def test_a_declined_consent_is_a_400(strava: FakeStrava, client: TestClient) -> None:
    state = consent_query(client)["state"]
    response = client.get(
        "/oauth/strava/callback", params={"state": state, "error": "access_denied"}
    )
    assert response.status_code == 400
    assert "access_denied" in response.json()["detail"]


def test_a_rejected_code_is_a_502(strava: FakeStrava, client: TestClient) -> None:
    state = consent_query(client)["state"]
    response = client.get("/oauth/strava/callback", params={"state": state, "code": "bogus"})
    assert response.status_code == 502
    assert "bogus" not in response.text


def test_an_unknown_provider_is_a_404(client: TestClient) -> None:
    assert client.get("/oauth/garmin/authorize", follow_redirects=False).status_code == 404


def test_authorize_needs_the_api_token(strava: FakeStrava, anonymous: TestClient) -> None:
    assert anonymous.get("/oauth/strava/authorize", follow_redirects=False).status_code == 401


def test_authorize_without_a_client_id_is_a_503(
    strava: FakeStrava, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_CLIENT_ID", raising=False)
    reset_settings()
    response = client.get("/oauth/google/authorize", follow_redirects=False)
    assert response.status_code == 503
    assert "GOOGLE_CLIENT_ID" in response.json()["detail"]
