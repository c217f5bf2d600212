"""fitness.integrations.strava: paging, gear, refresh on 401, rate limits, retries, against a
fake Strava on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from fitness.db.oauth_credentials import get_credentials, upsert_credentials
from fitness.errors import (
    InsufficientScope,
    IntegrationError,
    ProviderAppInactive,
    ReauthorizationRequired,
)
from fitness.integrations.strava import RateLimitState, StravaClient, StravaRateLimited
from tests.fakes.oauth import CLIENT_ID, CLIENT_SECRET
from tests.fakes.strava import FakeStrava, make_activities, refusing_case, running_fake_strava


@pytest.fixture
def strava(db: str) -> Iterator[FakeStrava]:
    with running_fake_strava() as fake:
        yield fake


@pytest.fixture
def client(strava: FakeStrava) -> Iterator[StravaClient]:
    with StravaClient(backoff_seconds=0, timeout=2) as client:
        yield client


def test_activity_pages_are_read_until_an_empty_page(
    strava: FakeStrava, client: StravaClient
) -> None:
    strava.api.activities = make_activities(450)
    after = datetime(2024, 1, 1, tzinfo=UTC)
    pages = list(client.activity_pages(after=after))
    assert [len(page) for page in pages] == [200, 200, 50]
    requests = strava.api_requests("/athlete/activities")
    assert [r.query["page"] for r in requests] == ["1", "2", "3", "4"]
    assert {r.query["per_page"] for r in requests} == {"200"}
    assert {r.query["after"] for r in requests} == {str(int(after.timestamp()))}
    ids = [a["id"] for page in pages for a in page]
    assert len(set(ids)) == 450


def test_after_filters_by_start_time(strava: FakeStrava, client: StravaClient) -> None:
    strava.api.activities = make_activities(10, start=datetime(2025, 1, 1, 12, tzinfo=UTC))
    page = client.list_activities(after=datetime(2025, 1, 8, tzinfo=UTC))
    assert [a["name"] for a in page] == ["Run 8", "Run 9", "Run 10"]


def test_requests_carry_the_bearer_token(strava: FakeStrava, client: StravaClient) -> None:
    client.list_activities()
    [request] = strava.api_requests()
    assert request.headers["authorization"] == f"Bearer {strava.tokens.current_access_token}"


def test_gear_is_fetched_once_per_client(strava: FakeStrava, client: StravaClient) -> None:
    first = client.get_gear("g11111111")
    second = client.get_gear("g11111111")
    assert first == second and first is not None and first["name"] == "Nike Pegasus 40"
    assert len(strava.api_requests("/gear/g11111111")) == 1


def test_unknown_gear_is_none(strava: FakeStrava, client: StravaClient) -> None:
    assert client.get_gear("g404") is None


def test_a_401_refreshes_the_token_once_and_retries(
    strava: FakeStrava, client: StravaClient
) -> None:
    upsert_credentials(
        "strava",
        CLIENT_ID,
        CLIENT_SECRET,
        strava.tokens.valid_refresh_token,
        "revoked-access-token",
        datetime.now(UTC) + timedelta(hours=3),
    )
    assert len(client.list_activities()) == 8
    assert strava.tokens.refreshes == 1
    assert [r.headers["authorization"] for r in strava.api_requests()] == [
        "Bearer revoked-access-token",
        f"Bearer {strava.tokens.current_access_token}",
    ]
    stored = get_credentials("strava")
    assert stored is not None and stored.refresh_token == strava.tokens.valid_refresh_token


def test_a_second_401_after_refreshing_asks_to_reauthorise(
    strava: FakeStrava, client: StravaClient
) -> None:
    strava.api.rejects_every_token = True
    with pytest.raises(ReauthorizationRequired, match="`fitness connect strava`"):
        client.list_activities()
    assert len(strava.api_requests()) == 2
    assert strava.tokens.refreshes == 2


def test_an_invalid_grant_asks_to_reauthorise(strava: FakeStrava, client: StravaClient) -> None:
    strava.tokens.valid_refresh_token = "a-token-we-do-not-have"
    with pytest.raises(ReauthorizationRequired):
        client.list_activities()
    assert strava.api_requests() == []


def test_a_429_stops_with_the_rate_limit_state(strava: FakeStrava, client: StravaClient) -> None:
    strava.api.rate_limit_after(0)
    with pytest.raises(StravaRateLimited) as caught:
        client.list_activities()
    error = caught.value
    assert error.state.limit_15min == 200 and error.state.usage_15min == 201
    assert error.state.limit_daily == 2000
    now = datetime.now(UTC)
    assert now < error.retry_after <= now + timedelta(minutes=15)
    assert error.retry_after.minute % 15 == 0 and error.retry_after.second == 0
    assert len(strava.api_requests()) == 1


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2025, 5, 6, 10, 7, 12, tzinfo=UTC), datetime(2025, 5, 6, 10, 15, tzinfo=UTC)),
        (datetime(2025, 5, 6, 10, 45, 0, tzinfo=UTC), datetime(2025, 5, 6, 11, 0, tzinfo=UTC)),
        (datetime(2025, 5, 6, 23, 59, 59, tzinfo=UTC), datetime(2025, 5, 7, 0, 0, tzinfo=UTC)),
    ],
)
def test_short_term_limits_reset_at_the_next_quarter_hour(
    now: datetime, expected: datetime
) -> None:
    state = RateLimitState(limit_15min=100, limit_daily=1000, usage_15min=101, usage_daily=500)
    assert state.retry_after(now) == expected


def test_a_used_up_daily_limit_resets_at_utc_midnight() -> None:
    state = RateLimitState(limit_15min=100, limit_daily=1000, usage_15min=20, usage_daily=1000)
    now = datetime(2025, 5, 6, 10, 7, tzinfo=UTC)
    assert state.retry_after(now) == datetime(2025, 5, 7, tzinfo=UTC)


def test_a_5xx_is_retried_with_backoff(strava: FakeStrava, client: StravaClient) -> None:
    strava.api.fail_next(503, times=2)
    assert len(client.list_activities()) == 8
    assert len(strava.api_requests()) == 3


def test_a_persistent_5xx_is_an_integration_error_after_bounded_retries(
    strava: FakeStrava, client: StravaClient
) -> None:
    strava.api.fail_next(502, times=5)
    with pytest.raises(IntegrationError, match="HTTP 502") as caught:
        client.list_activities()
    assert "3 attempts" in str(caught.value)
    assert len(strava.api_requests()) == 3


def test_a_timeout_is_retried(strava: FakeStrava) -> None:
    strava.api.hang_next()
    with StravaClient(backoff_seconds=0, timeout=0.2) as client:
        assert len(client.list_activities()) == 8
    assert len(strava.api_requests()) == 2


def test_persistent_timeouts_are_a_clear_error(strava: FakeStrava) -> None:
    strava.api.hang_next(times=2)
    with (
        StravaClient(backoff_seconds=0, timeout=0.2, max_attempts=2) as client,
        pytest.raises(IntegrationError, match="did not answer in time"),
    ):
        client.list_activities()


def test_errors_never_carry_the_token(strava: FakeStrava, client: StravaClient) -> None:
    strava.api.fail_next(500, times=3)
    with pytest.raises(IntegrationError) as caught:
        client.list_activities()
    assert "access-token" not in str(caught.value)
    assert CLIENT_SECRET not in str(caught.value)


# --- answers that refuse the whole connection ---------------------------------------------


def test_a_grant_without_activities_names_the_permission_and_is_not_a_token_problem(
    strava: FakeStrava, client: StravaClient
) -> None:
    activities, always = refusing_case("strava-scope-read-only")
    strava.api.activities = activities
    strava.api.api_always = always

    with pytest.raises(InsufficientScope) as raised:
        client.list_activities()

    message = str(raised.value)
    assert "'View data about your activities'" in message and "activity:read" in message
    assert "`fitness connect strava`" in message
    assert "refresh token" not in message
    assert len(strava.api_requests()) == 1  # no refresh-and-retry: no token would help
    assert strava.tokens.refreshes == 1


def test_a_deactivated_app_says_what_happened_and_what_to_do(
    strava: FakeStrava, client: StravaClient
) -> None:
    activities, always = refusing_case("strava-app-inactive")
    strava.api.activities = activities
    strava.api.api_always = always

    with pytest.raises(ProviderAppInactive) as raised:
        client.list_activities()

    message = str(raised.value)
    assert "Inactive" in message and "subscription" in message
    assert "`fitness import strava-archive`" in message
    assert "HTTP 403" not in message
    assert len(strava.api_requests()) == 1


def test_gear_refused_for_a_missing_permission_is_left_out_not_fatal(
    strava: FakeStrava, client: StravaClient
) -> None:
    strava.api.fail_next(401, times=1)
    strava.api._script[-1].json = {
        "message": "Authorization Error",
        "errors": [
            {"resource": "AccessToken", "field": "profile:read_permission", "code": "missing"}
        ],
    }

    assert client.get_gear("g1") is None
    assert client.gear_refused
    assert client.get_gear("g2") is None
    assert len(strava.api_requests("/gear/g2")) == 0


def test_the_api_address_is_one_setting_and_tokens_travel_only_in_headers(db: str) -> None:
    # Strava's announced api-v3.strava.com serves the API under another path.
    with running_fake_strava(api_prefix="/v3") as strava, StravaClient(backoff_seconds=0) as client:
        strava.api.activities = make_activities(3)
        assert len(client.list_activities()) == 3
        client.get_gear("g1")

    assert strava.api_requests() and all(r.path.startswith("/v3/") for r in strava.api_requests())
    for request in strava.server.requests:
        assert "access_token" not in request.query
        assert b"access-token" not in request.body
