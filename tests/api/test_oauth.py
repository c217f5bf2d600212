"""GET /oauth/{provider}/authorize, /callback and /status: connecting Strava (or Google) by
consent in a browser, against fake providers whose consent pages redirect back."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from fitness.config import Settings, get_settings, reset_settings
from fitness.db.oauth_credentials import get_credentials
from fitness.integrations.consent import start_consent
from tests.api.conftest import TOKEN
from tests.fakes.oauth import CLIENT_ID, CLIENT_SECRET
from tests.fakes.strava import FakeStrava, running_fake_strava

PUBLIC_BASE_URL = "https://fitness.example"


@pytest.fixture
def strava(db: str) -> Iterator[FakeStrava]:
    with running_fake_strava() as fake:
        yield fake


@pytest.fixture
def settings(strava: FakeStrava) -> Settings:
    return dataclasses.replace(get_settings(), api_tokens=(TOKEN,), public_base_url=PUBLIC_BASE_URL)


@pytest.fixture
def browser(app: Starlette, client: TestClient) -> Iterator[TestClient]:
    """A browser on the server's public (https) address, which keeps its cookies."""
    with TestClient(
        app, base_url="https://testserver", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as browser:
        yield browser


def start(browser: TestClient, provider: str = "strava") -> httpx.Response:
    response = browser.get(f"/oauth/{provider}/authorize", follow_redirects=False)
    assert response.status_code == 302
    assert response.json()["authorization_url"] == response.headers["location"]
    return response


def consent(browser: TestClient, provider: str = "strava") -> str:
    """Authorize, click Authorize at the provider: the callback path the browser is sent to."""
    location = start(browser, provider).headers["location"]
    back = httpx.get(location, follow_redirects=False).headers["location"]
    assert back.startswith(f"{PUBLIC_BASE_URL}/oauth/{provider}/callback?")
    return back.removeprefix(PUBLIC_BASE_URL)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_authorize_redirects_to_strava_and_binds_the_consent_to_the_browser(
    strava: FakeStrava, browser: TestClient
) -> None:
    response = start(browser)

    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{strava.server.url}/oauth/authorize"
    )
    query = query_of(response.headers["location"])
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == f"{PUBLIC_BASE_URL}/oauth/strava/callback"
    assert query["response_type"] == "code"
    assert len(query["state"]) >= 40 and "." not in query["state"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("fitness_oauth_strava=")
    for attribute in ("HttpOnly", "SameSite=lax", "Secure", "Path=/oauth/strava", "Max-Age=600"):
        assert attribute.lower() in cookie.lower()


def test_the_cookie_is_not_secure_on_a_plain_http_address(
    strava: FakeStrava, app: Starlette, client: TestClient
) -> None:
    app.state.settings = dataclasses.replace(
        app.state.settings, public_base_url="http://127.0.0.1:8000"
    )
    response = client.get("/oauth/strava/authorize", follow_redirects=False)
    assert "secure" not in response.headers["set-cookie"].lower()
    assert "samesite=lax" in response.headers["set-cookie"].lower()


def test_the_callback_stores_the_tokens_and_the_granted_scope(
    strava: FakeStrava, browser: TestClient
) -> None:
    callback = consent(browser)

    response = browser.get(callback, headers={"Authorization": ""})

    assert response.status_code == 200
    body = response.json()
    assert (body["provider"], body["connected"]) == ("strava", True)
    assert body["granted_scope"] == ["read", "activity:read_all", "profile:read_all"]
    assert body["notes"] == []
    stored = get_credentials("strava")
    assert stored is not None and stored.refresh_token == strava.tokens.valid_refresh_token
    [exchange] = [r for r in strava.server.requests_to("/oauth/token") if "code" in r.form()]
    assert exchange.form()["redirect_uri"] == f"{PUBLIC_BASE_URL}/oauth/strava/callback"
    assert "access-token" not in response.text
    assert "fitness_oauth_strava=" in response.headers["set-cookie"]
    assert "max-age=0" in response.headers["set-cookie"].lower()


def test_a_state_is_accepted_once_however_often_it_is_replayed(
    strava: FakeStrava, browser: TestClient
) -> None:
    callback = consent(browser)
    cookie = browser.cookies.get("fitness_oauth_strava")
    assert browser.get(callback).status_code == 200
    first = get_credentials("strava")
    browser.cookies.set("fitness_oauth_strava", cookie)  # kept by a replaying attacker

    for _ in range(3):
        replay = browser.get(callback)
        assert replay.status_code == 400
        assert replay.json()["type"] == "/problems/invalid-oauth-state"
        assert "already used" in replay.json()["detail"]
    assert get_credentials("strava") == first
    assert strava.tokens.exchanges == 1


def test_another_browser_cannot_spend_the_state(
    strava: FakeStrava, browser: TestClient, anonymous: TestClient
) -> None:
    callback = consent(browser)

    stolen = anonymous.get(callback)
    assert stolen.status_code == 400
    assert "another browser" in stolen.json()["detail"]
    anonymous.cookies.set("fitness_oauth_strava", "guessed")
    forged = anonymous.get(callback)
    assert forged.status_code == 400
    assert "another browser" in forged.json()["detail"]
    assert get_credentials("strava") is None

    assert browser.get(callback).status_code == 200


@pytest.mark.parametrize("state", [None, "", "made-up"], ids=["missing", "empty", "unknown"])
def test_a_callback_without_a_valid_state_is_a_400_and_exchanges_nothing(
    strava: FakeStrava, browser: TestClient, state: str | None
) -> None:
    start(browser)
    params = {"code": "good-code"} | ({"state": state} if state is not None else {})
    response = browser.get("/oauth/strava/callback", params=params)
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/invalid-oauth-state"
    assert strava.server.requests_to("/oauth/token") == []
    assert get_credentials("strava") is None


def test_a_consent_started_by_fitness_connect_says_to_paste_the_address(
    strava: FakeStrava, browser: TestClient
) -> None:
    started = start_consent(
        "strava",
        f"{PUBLIC_BASE_URL}/oauth/strava/callback",
        flow="terminal",
        binding="secret of the waiting process",
    )
    back = httpx.get(started.authorization_url).headers["location"]

    response = browser.get(back.removeprefix(PUBLIC_BASE_URL))

    assert response.status_code == 400
    assert "paste this page's whole address into the terminal" in response.json()["detail"]


def test_too_narrow_a_consent_names_the_permission_and_stores_nothing(
    strava: FakeStrava, browser: TestClient
) -> None:
    strava.tokens.consent_scope = ("read",)

    response = browser.get(consent(browser))

    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "/problems/insufficient-scope"
    assert "'View data about your activities'" in problem["detail"]
    assert get_credentials("strava") is None


def test_a_declined_consent_is_a_400(strava: FakeStrava, browser: TestClient) -> None:
    strava.tokens.declines_consent = True
    response = browser.get(consent(browser))
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/authorization-declined"
    assert "access_denied" in response.json()["detail"]


def test_a_rejected_code_is_a_502(strava: FakeStrava, browser: TestClient) -> None:
    callback = consent(browser).replace("code=code-1", "code=bogus")
    response = browser.get(callback)
    assert response.status_code == 502
    assert "bogus" not in response.text


@pytest.mark.parametrize("name", ["state", "code", "scope", "error"])
def test_an_overlong_callback_parameter_is_a_400_and_exchanges_nothing(
    strava: FakeStrava, browser: TestClient, name: str
) -> None:
    callback = consent(browser)
    response = browser.get(callback, params={name: "x" * 5000})
    assert response.status_code == 400
    assert strava.server.requests_to("/oauth/token") == []
    assert get_credentials("strava") is None


def test_an_unknown_provider_is_a_404(client: TestClient) -> None:
    assert client.get("/oauth/garmin/authorize", follow_redirects=False).status_code == 404
    assert client.get("/oauth/garmin/status").status_code == 404


def test_authorize_and_status_need_the_api_token(strava: FakeStrava, anonymous: TestClient) -> None:
    assert anonymous.get("/oauth/strava/authorize", follow_redirects=False).status_code == 401
    assert anonymous.get("/oauth/strava/status").status_code == 401


def test_authorize_without_a_client_id_is_a_503(
    strava: FakeStrava, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_CLIENT_ID", raising=False)
    reset_settings()
    response = client.get("/oauth/google/authorize", follow_redirects=False)
    assert response.status_code == 503
    assert "GOOGLE_CLIENT_ID" in response.json()["detail"]


def test_the_status_shows_the_connection_without_secrets(
    strava: FakeStrava, browser: TestClient, client: TestClient
) -> None:
    before = client.get("/oauth/strava/status")
    assert before.status_code == 200
    assert before.json()["connected"] is False

    strava.tokens.consent_scope = ("read", "activity:read")
    browser.get(consent(browser))
    status = client.get("/oauth/strava/status").json()

    assert status["connected"] is True and status["source"] == "consent"
    assert status["granted_scope"] == ["read", "activity:read"]
    assert status["not_granted"] == [
        "View data about your private activities",
        "View data about your complete profile",
    ]
    assert status["access_token_expires_at"].endswith("+00:00")
    assert status["last_sync_at"] is None and status["last_sync_outcome"] is None
    text = client.get("/oauth/strava/status").text
    for secret in (CLIENT_SECRET, "refresh-token-1", "access-token-1"):
        assert secret not in text
