"""fitness.integrations.consent: single-use states bound to whoever started the consent,
PKCE with Google, and the granted scope checked before anything is stored; against fake
providers whose consent pages redirect back the way Strava's and Google's do."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest

from fitness.config import reset_settings
from fitness.db.oauth_credentials import get_credentials
from fitness.db.sync_metadata import get_last_synced_at, set_last_synced_at
from fitness.errors import ConsentDeclined, InsufficientScope, IntegrationError, InvalidOAuthState
from fitness.integrations.consent import Consent, complete_consent, start_consent
from fitness.models import ConsentFlow
from tests.fakes.google_calendar import FakeGoogle, running_fake_google
from tests.fakes.strava import FakeStrava, running_fake_strava

BINDING = "the-browser-cookie-value"
STRAVA_CALLBACK = "http://127.0.0.1:8000/oauth/strava/callback"
GOOGLE_CALLBACK = "http://127.0.0.1:8000/oauth/google/callback"
MARKER = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


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


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def consent_page(url: str) -> dict[str, str]:
    """What a browser is sent back with after the user clicks Authorize on `url`."""
    response = httpx.get(url, follow_redirects=False)
    assert response.status_code == 302
    return query_of(response.headers["location"])


def complete(
    provider: str,
    back: dict[str, str],
    http: httpx.Client,
    *,
    binding: str = BINDING,
    flow: ConsentFlow = "browser",
) -> Consent:
    return complete_consent(
        provider,
        state=back.get("state"),
        binding=binding,
        flow=flow,
        code=back.get("code"),
        error=back.get("error"),
        scope=back.get("scope"),
        http_client=http,
    )


def connect(provider: str, http: httpx.Client, *, callback: str = STRAVA_CALLBACK) -> Consent:
    started = start_consent(provider, callback, flow="browser", binding=BINDING)
    return complete(provider, consent_page(started.authorization_url), http)


# --- the authorisation URL ----------------------------------------------------------------


def test_strava_is_asked_for_every_scope_with_a_fresh_state_and_no_pkce(
    strava: FakeStrava,
) -> None:
    first = start_consent("strava", STRAVA_CALLBACK, flow="browser", binding=BINDING)
    second = start_consent("strava", STRAVA_CALLBACK, flow="browser", binding=BINDING)

    query = query_of(first.authorization_url)
    assert first.authorization_url.startswith(strava.server.url + "/oauth/authorize?")
    assert query["client_id"] == "client-123"
    assert query["redirect_uri"] == STRAVA_CALLBACK
    assert query["response_type"] == "code"
    assert query["scope"].split(",") == ["read", "activity:read_all", "profile:read_all"]
    assert query["state"] == first.state != second.state
    assert len(first.state) >= 40
    # Strava documents no code_challenge parameter: none is sent.
    assert "code_challenge" not in query


def test_google_gets_a_pkce_challenge_and_offline_access(google: FakeGoogle) -> None:
    started = start_consent("google", GOOGLE_CALLBACK, flow="browser", binding=BINDING)

    query = query_of(started.authorization_url)
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert (query["access_type"], query["prompt"]) == ("offline", "consent")


def test_only_digests_and_a_sealed_verifier_are_stored(
    google: FakeGoogle, raw_conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FITNESS_SECRET_KEY", "a key for this test 7e2a")
    reset_settings()
    started = start_consent("google", GOOGLE_CALLBACK, flow="browser", binding=BINDING)

    (row,) = raw_conn.execute("SELECT oauth_states::text FROM oauth_states").fetchall()
    assert started.state not in row[0] and BINDING not in row[0]
    assert "enc:v2:" in row[0]


# --- a state is single-use and bound to who started it -------------------------------------


def test_a_consent_completes_once_and_stores_the_granted_scope(
    strava: FakeStrava, http: httpx.Client
) -> None:
    started = start_consent("strava", STRAVA_CALLBACK, flow="browser", binding=BINDING)
    back = consent_page(started.authorization_url)

    consent = complete("strava", back, http)

    assert consent.granted_scope == ("read", "activity:read_all", "profile:read_all")
    assert consent.not_granted == () and consent.notes() == []
    stored = get_credentials("strava")
    assert stored is not None and stored.source == "consent"
    assert stored.granted_scope == consent.granted_scope
    for _replay in range(3):
        with pytest.raises(InvalidOAuthState, match="already used"):
            complete("strava", back, http)
    assert strava.tokens.exchanges == 1


def test_a_state_offered_by_another_browser_is_refused_and_not_spent(
    strava: FakeStrava, http: httpx.Client
) -> None:
    started = start_consent("strava", STRAVA_CALLBACK, flow="browser", binding=BINDING)
    back = consent_page(started.authorization_url)

    with pytest.raises(InvalidOAuthState, match="another browser"):
        complete("strava", back, http, binding="an-attacker's-cookie")
    assert get_credentials("strava") is None

    complete("strava", back, http)
    assert get_credentials("strava") is not None


def test_a_browser_without_the_cookie_is_told_where_to_start(
    strava: FakeStrava, http: httpx.Client
) -> None:
    started = start_consent("strava", STRAVA_CALLBACK, flow="browser", binding=BINDING)
    back = consent_page(started.authorization_url)

    with pytest.raises(InvalidOAuthState, match="lost the cookie"):
        complete_consent(
            "strava",
            state=back["state"],
            binding=None,
            flow="browser",
            code=back["code"],
            error=None,
            scope=back["scope"],
            http_client=http,
        )


def test_a_terminal_consent_cannot_be_finished_by_a_browser_and_says_to_paste(
    strava: FakeStrava, http: httpx.Client
) -> None:
    started = start_consent("strava", STRAVA_CALLBACK, flow="terminal", binding="process-secret")
    back = consent_page(started.authorization_url)

    with pytest.raises(InvalidOAuthState, match="paste this page's whole address"):
        complete("strava", back, http, binding="process-secret")

    complete("strava", back, http, binding="process-secret", flow="terminal")
    assert get_credentials("strava") is not None


@pytest.mark.parametrize(
    "state", [None, "", "made-up", "x" * 201], ids=["none", "empty", "unknown", "too-long"]
)
def test_a_missing_unknown_or_oversized_state_is_refused(
    strava: FakeStrava, http: httpx.Client, state: str | None
) -> None:
    with pytest.raises(InvalidOAuthState):
        complete("strava", {"code": "good-code"} | ({"state": state} if state else {}), http)
    assert strava.tokens.exchanges == 0


def test_a_state_expires_after_ten_minutes(
    strava: FakeStrava, http: httpx.Client, raw_conn: psycopg.Connection
) -> None:
    started = start_consent("strava", STRAVA_CALLBACK, flow="browser", binding=BINDING)
    back = consent_page(started.authorization_url)
    raw_conn.execute("UPDATE oauth_states SET expires_at = now() - interval '1 second'")

    with pytest.raises(InvalidOAuthState, match="expired"):
        complete("strava", back, http)


def test_a_state_for_another_provider_is_refused(
    strava: FakeStrava, google: FakeGoogle, http: httpx.Client
) -> None:
    started = start_consent("google", GOOGLE_CALLBACK, flow="browser", binding=BINDING)

    with pytest.raises(InvalidOAuthState, match="for google, not strava"):
        complete("strava", {"state": started.state, "code": "good-code"}, http)


def test_a_declined_consent_spends_the_state_and_stores_nothing(
    strava: FakeStrava, http: httpx.Client
) -> None:
    strava.tokens.declines_consent = True
    started = start_consent("strava", STRAVA_CALLBACK, flow="browser", binding=BINDING)
    back = consent_page(started.authorization_url)

    with pytest.raises(ConsentDeclined, match="access_denied"):
        complete("strava", back, http)
    with pytest.raises(InvalidOAuthState, match="already used"):
        complete("strava", back, http)
    assert get_credentials("strava") is None


def test_a_rejected_code_stores_nothing(strava: FakeStrava, http: httpx.Client) -> None:
    started = start_consent("strava", STRAVA_CALLBACK, flow="browser", binding=BINDING)
    back = consent_page(started.authorization_url) | {"code": "forged-code"}

    with pytest.raises(IntegrationError, match="authorisation code") as raised:
        complete("strava", back, http)
    assert "forged-code" not in str(raised.value)
    assert get_credentials("strava") is None


# --- PKCE ---------------------------------------------------------------------------------


def test_google_gets_the_verifier_of_its_challenge(google: FakeGoogle, http: httpx.Client) -> None:
    started = start_consent("google", GOOGLE_CALLBACK, flow="browser", binding=BINDING)
    challenge = query_of(started.authorization_url)["code_challenge"]

    complete("google", consent_page(started.authorization_url), http)

    (exchange,) = [r for r in google.server.requests_to("/token") if "code" in r.form()]
    verifier = exchange.form()["code_verifier"]
    digest = hashlib.sha256(verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge
    assert 43 <= len(verifier) <= 128
    assert get_credentials("google") is not None


def test_a_google_code_without_its_verifier_is_refused_by_google(
    google: FakeGoogle, http: httpx.Client
) -> None:
    started = start_consent("google", GOOGLE_CALLBACK, flow="browser", binding=BINDING)
    back = consent_page(started.authorization_url)

    # A code stolen on its way back is worthless without the verifier fitness kept.
    response = http.post(
        google.token_url,
        data={
            "grant_type": "authorization_code",
            "code": back["code"],
            "client_id": "client-123",
            "client_secret": "client-secret-shh",
            "redirect_uri": GOOGLE_CALLBACK,
        },
    )
    assert response.status_code == 400
    assert response.json()["error_description"] == "Missing code verifier."


# --- what the user granted ----------------------------------------------------------------


def test_strava_with_only_read_ticked_names_the_permission_and_stores_nothing(
    strava: FakeStrava, http: httpx.Client
) -> None:
    strava.tokens.consent_scope = ("read",)
    started = start_consent("strava", STRAVA_CALLBACK, flow="browser", binding=BINDING)

    with pytest.raises(InsufficientScope) as raised:
        complete("strava", consent_page(started.authorization_url), http)

    message = str(raised.value)
    assert "'View data about your activities'" in message
    assert "granted: read" in message and "`fitness connect strava`" in message
    assert get_credentials("strava") is None
    assert strava.tokens.exchanges == 0  # the code is not even spent


def test_strava_without_private_activities_connects_and_says_what_is_left_out(
    strava: FakeStrava, http: httpx.Client
) -> None:
    strava.tokens.consent_scope = ("read", "activity:read", "profile:read_all")

    consent = connect("strava", http)

    assert [p.label for p in consent.not_granted] == ["View data about your private activities"]
    (note,) = consent.notes()
    assert "'Only You' are not fetched" in note
    assert get_credentials("strava").granted_scope == ("read", "activity:read", "profile:read_all")


def test_widening_to_private_activities_makes_the_next_sync_fetch_everything(
    strava: FakeStrava, http: httpx.Client
) -> None:
    strava.tokens.consent_scope = ("read", "activity:read")
    connect("strava", http)
    set_last_synced_at("strava", MARKER)

    strava.tokens.consent_scope = None
    consent = connect("strava", http)

    assert consent.backfill
    assert "fetches every activity again" in consent.notes()[-1]
    assert get_last_synced_at("strava") is None


def test_reconnecting_with_the_same_scope_keeps_the_marker(
    strava: FakeStrava, http: httpx.Client
) -> None:
    connect("strava", http)
    set_last_synced_at("strava", MARKER)

    assert not connect("strava", http).backfill
    assert get_last_synced_at("strava") == MARKER


def test_google_without_the_calendar_ticked_stores_nothing(
    google: FakeGoogle, http: httpx.Client
) -> None:
    # Google's granular consent: the user may untick the calendar; only the token
    # response's scope says so.
    google.tokens.consent_scope = ("openid",)
    google.tokens.redirect_has_scope = False

    with pytest.raises(InsufficientScope, match="View and edit events on all your calendars"):
        connect("google", http, callback=GOOGLE_CALLBACK)
    assert get_credentials("google") is None
