"""fitness.services.strava_sync: incremental, idempotent syncs that survive 429s and outages,
against a fake Strava on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import TypeAdapter

from fitness.config import reset_settings
from fitness.db.bikes import get_bikes
from fitness.db.oauth_credentials import get_credentials, upsert_credentials
from fitness.db.rides import get_ride_by_id
from fitness.db.runs import get_all_runs, get_run_by_id
from fitness.db.runs_history import update_run_with_history
from fitness.db.shoes import create_shoe, get_shoes, retire_shoe_by_id, unretire_shoe_by_id
from fitness.db.sync_metadata import get_last_synced_at, set_last_synced_at
from fitness.errors import (
    InsufficientScope,
    IntegrationError,
    IntegrationNotConfigured,
    InvalidUpdate,
    ProviderAppInactive,
    ReauthorizationRequired,
)
from fitness.integrations.consent import complete_consent, start_consent
from fitness.integrations.strava import StravaClient
from fitness.services.strava_sync import StravaSyncResult, sync_strava
from tests.fakes.oauth import CLIENT_ID, CLIENT_SECRET
from tests.fakes.strava import (
    FakeStrava,
    make_activities,
    recorded_case,
    refusing_case,
    running_fake_strava,
)

NEWEST_RECORDED = datetime(2025, 1, 9, 12, 0, tzinfo=UTC)


@pytest.fixture
def strava(db: str) -> Iterator[FakeStrava]:
    with running_fake_strava() as fake:
        yield fake


def quick_client() -> StravaClient:
    return StravaClient(backoff_seconds=0, timeout=2)


def test_a_first_sync_stores_the_runs_and_their_shoes(strava: FakeStrava) -> None:
    result = sync_strava(client=quick_client())
    assert (result.fetched, result.inserted, result.skipped_existing) == (8, 6, 0)
    assert (result.rides_inserted, result.skipped_other_activities) == (1, 1)
    assert list(result.shoes_created) == ["Nike Pegasus 40", "Saucony Endorphin Speed 3"]
    assert not result.rate_limited and result.retry_after is None
    assert result.last_synced_at == NEWEST_RECORDED == get_last_synced_at("strava")
    runs = {run.id: run for run in get_all_runs()}
    assert runs["strava_13100000003"].type == "Treadmill Run"
    assert runs["strava_13100000005"].type == "Treadmill Run"
    assert runs["strava_13100000004"].shoe_name == "Nike Pegasus 40"
    assert runs["strava_13100000007"].avg_heart_rate is None
    assert {shoe.name: shoe.run_count for shoe in get_shoes()} == {
        "Nike Pegasus 40": 2,
        "Saucony Endorphin Speed 3": 2,
    }


def test_each_shoe_is_looked_up_once_per_sync(strava: FakeStrava) -> None:
    sync_strava(client=quick_client())
    assert len(strava.api_requests("/gear/g11111111")) == 1
    assert len(strava.api_requests("/gear/g33333333")) == 1
    assert len(strava.api_requests("/gear/b22222222")) == 1


def test_a_ride_is_stored_with_its_power_and_its_bike(strava: FakeStrava) -> None:
    sync_strava(client=quick_client())
    again = sync_strava(client=quick_client())

    ride = get_ride_by_id("strava_13100000002")
    assert ride is not None
    # 24,140.2 m, 3,600 s moving, as the recorded activity says.
    assert (ride.type, ride.indoor, ride.distance) == (
        "Road Ride",
        False,
        round(24140.2 / 1609.344, 4),
    )
    assert (ride.duration, ride.avg_heart_rate, ride.avg_power, ride.kilojoules) == (
        3600,
        131.0,
        187.4,
        674.6,
    )
    assert (ride.bike_id, ride.bike_name, ride.name) == (
        "canyon_endurace",
        "Canyon Endurace",
        "Lunch Ride",
    )
    assert get_run_by_id("strava_13100000002") is None
    assert (again.rides_inserted, again.rides_skipped_existing) == (0, 1)
    (bike,) = get_bikes()
    assert (bike.strava_gear_id, bike.ride_count) == ("b22222222", 1)


@pytest.mark.parametrize(
    ("sport_type", "trainer", "expected"),
    [
        ("Ride", True, ("Road Ride", True)),
        ("VirtualRide", False, ("Virtual Ride", True)),
        ("EBikeRide", False, ("E-Bike Ride", False)),
        ("GravelRide", False, ("Gravel Ride", False)),
        ("MountainBikeRide", False, ("Mountain Bike Ride", False)),
    ],
)
def test_every_kind_of_strava_ride_is_a_ride_of_its_type(
    strava: FakeStrava, sport_type: str, trainer: bool, expected: tuple[str, bool]
) -> None:
    (activity,) = make_activities(1, first_id=11000000501)
    activity |= {"sport_type": sport_type, "type": "Ride", "trainer": trainer}
    strava.api.activities = [activity]

    result = sync_strava(full_sync=True, client=quick_client())

    assert (result.inserted, result.rides_inserted) == (0, 1)
    ride = get_ride_by_id("strava_11000000501")
    assert ride is not None and (ride.type, ride.indoor) == expected


def test_syncing_again_creates_no_duplicates(strava: FakeStrava) -> None:
    sync_strava(client=quick_client())
    again = sync_strava(client=quick_client())
    assert (again.inserted, again.skipped_existing, again.shoes_created) == (0, 6, ())
    assert len(get_all_runs()) == 6


def test_an_incremental_sync_asks_only_for_recent_activities_with_an_overlap(
    strava: FakeStrava,
) -> None:
    set_last_synced_at("strava", datetime(2025, 1, 8, tzinfo=UTC))
    result = sync_strava(overlap=timedelta(days=3), client=quick_client())
    first = strava.api_requests("/athlete/activities")[0]
    assert first.query["after"] == str(int(datetime(2025, 1, 5, tzinfo=UTC).timestamp()))
    assert {run.id for run in get_all_runs()} == {
        "strava_13100000004",
        "strava_13100000005",
        "strava_13100000007",
        "strava_13100000008",
    }
    assert result.last_synced_at == NEWEST_RECORDED


def test_a_late_upload_inside_the_overlap_is_picked_up(strava: FakeStrava) -> None:
    sync_strava(client=quick_client())
    [late] = make_activities(1, start=NEWEST_RECORDED - timedelta(days=2), first_id=13100000099)
    strava.api.activities.append(late)
    result = sync_strava(client=quick_client())
    assert result.inserted == 1
    assert get_run_by_id("strava_13100000099") is not None
    assert get_last_synced_at("strava") == NEWEST_RECORDED


def test_a_full_sync_ignores_the_marker(strava: FakeStrava) -> None:
    set_last_synced_at("strava", datetime(2030, 1, 1, tzinfo=UTC))
    result = sync_strava(full_sync=True, client=quick_client())
    assert strava.api_requests("/athlete/activities")[0].query["after"] == "0"
    assert result.inserted == 6
    assert result.last_synced_at == datetime(2030, 1, 1, tzinfo=UTC)


def test_a_resync_never_undoes_a_users_edit(strava: FakeStrava) -> None:
    sync_strava(client=quick_client())
    update_run_with_history("strava_13100000001", {"distance": 5.5}, changed_by="me")
    sync_strava(full_sync=True, client=quick_client())
    assert get_run_by_id("strava_13100000001").distance == 5.5  # type: ignore[union-attr]


def test_progress_is_reported_per_page(strava: FakeStrava) -> None:
    strava.api.activities = make_activities(450)
    seen: list[int] = []
    sync_strava(progress=seen.append, client=quick_client())
    assert seen == [200, 400, 450]


def test_a_rate_limit_mid_sync_keeps_what_was_fetched_and_the_next_sync_continues(
    strava: FakeStrava,
) -> None:
    activities = make_activities(450)
    strava.api.activities = activities
    strava.api.rate_limit_after(2)

    stopped = sync_strava(client=quick_client())

    assert stopped.rate_limited
    assert stopped.retry_after is not None and stopped.retry_after > datetime.now(UTC)
    assert (stopped.fetched, stopped.inserted) == (400, 400)
    newest_fetched = datetime.fromisoformat(str(activities[399]["start_date"]))
    assert stopped.last_synced_at == newest_fetched == get_last_synced_at("strava")
    assert len(get_all_runs()) == 400

    strava.api.rate_limit_after(None)
    resumed = sync_strava(client=quick_client())

    assert not resumed.rate_limited
    assert resumed.inserted == 50
    assert resumed.skipped_existing == 7
    assert len(get_all_runs()) == 450
    assert get_last_synced_at("strava") == datetime.fromisoformat(str(activities[-1]["start_date"]))


def test_a_rate_limit_on_a_gear_lookup_leaves_the_marker_behind_that_activity(
    strava: FakeStrava,
) -> None:
    strava.api.activities = make_activities(3) + make_activities(
        2, start=datetime(2024, 3, 10, 11, tzinfo=UTC), first_id=12_100_000_000, gear_id="g11111111"
    )
    strava.api.rate_limit_after(1)
    result = sync_strava(client=quick_client())
    assert result.rate_limited
    assert (result.fetched, result.inserted) == (3, 3)
    assert result.last_synced_at == datetime(2024, 3, 3, 11, tzinfo=UTC)


def test_an_outage_mid_sync_stores_what_was_fetched_then_raises(strava: FakeStrava) -> None:
    strava.api.activities = make_activities(450)
    strava.api.fail_page(2, 503, times=3)
    with pytest.raises(IntegrationError, match="HTTP 503"):
        sync_strava(client=quick_client())
    assert len(get_all_runs()) == 200
    marker = get_last_synced_at("strava")
    assert marker == datetime(2024, 3, 1, 11, tzinfo=UTC) + timedelta(days=199)

    resumed = sync_strava(client=quick_client())
    assert resumed.inserted == 250 and len(get_all_runs()) == 450


def test_timeouts_and_5xx_within_the_retry_budget_do_not_stop_a_sync(strava: FakeStrava) -> None:
    strava.api.fail_next(500)
    strava.api.hang_next()
    with StravaClient(backoff_seconds=0, timeout=0.2, max_attempts=3) as client:
        result = sync_strava(client=client)
    assert result.inserted == 6


def test_an_expired_token_is_refreshed_and_the_rotated_one_stored(strava: FakeStrava) -> None:
    upsert_credentials(
        "strava",
        CLIENT_ID,
        CLIENT_SECRET,
        strava.tokens.valid_refresh_token,
        "old-access-token",
        datetime.now(UTC) - timedelta(minutes=1),
    )
    sync_strava(client=quick_client())
    stored = get_credentials("strava")
    assert stored is not None
    assert stored.access_token == strava.tokens.current_access_token
    assert stored.refresh_token == strava.tokens.valid_refresh_token != "refresh-token-0"
    assert strava.tokens.refreshes == 1


def test_a_token_revoked_mid_sync_is_refreshed_once_and_the_sync_goes_on(
    strava: FakeStrava,
) -> None:
    strava.api.activities = make_activities(250)
    strava.api.expire_token_at_page(2)
    result = sync_strava(client=quick_client())
    assert result.inserted == 250
    assert strava.tokens.refreshes == 2


def test_an_invalid_grant_asks_to_reauthorise_and_changes_nothing(strava: FakeStrava) -> None:
    set_last_synced_at("strava", datetime(2025, 1, 1, tzinfo=UTC))
    strava.tokens.valid_refresh_token = "revoked-on-strava"
    with pytest.raises(ReauthorizationRequired):
        sync_strava(client=quick_client())
    assert get_all_runs() == []
    assert get_last_synced_at("strava") == datetime(2025, 1, 1, tzinfo=UTC)


def test_a_sync_without_strava_configured_says_so(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STRAVA_CLIENT_ID", "STRAVA_CLIENT_SECRET", "STRAVA_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    try:
        with pytest.raises(IntegrationNotConfigured):
            sync_strava(client=quick_client())
    finally:
        reset_settings()


def test_a_malformed_run_is_reported_and_the_others_stored(strava: FakeStrava) -> None:
    broken = make_activities(1, first_id=12_900_000_000, moving_time=0, elapsed_time=0)
    strava.api.activities = make_activities(3) + broken
    result = sync_strava(client=quick_client())
    assert result.inserted == 3
    assert [(e.activity_id, "time" in e.message) for e in result.errors] == [("12900000000", True)]
    assert TypeAdapter(StravaSyncResult).dump_python(result, mode="json")["errors"] == [
        {"activity_id": "12900000000", "message": result.errors[0].message}
    ]


def shoes_by_name() -> dict[str, tuple[str, int, float, bool]]:
    return {
        shoe.name: (shoe.id, shoe.run_count, round(shoe.mileage, 2), shoe.is_retired)
        for shoe in get_shoes()
    }


def test_a_gear_renamed_on_strava_renames_its_shoe_and_keeps_its_mileage(
    strava: FakeStrava,
) -> None:
    strava.api.replay(recorded_case("strava-gear-renamed-before.json"))
    first = sync_strava(full_sync=True, client=quick_client())
    assert first.shoes_created == ("Nike Pegasus 40",)
    strava.api.replay(recorded_case("strava-gear-renamed-after.json"))

    second = sync_strava(full_sync=True, client=quick_client())

    assert (second.inserted, second.skipped_existing, second.shoes_created) == (1, 1, ())
    assert second.shoes_changed == ("Nike Pegasus 40 renamed to Peggy (renamed on Strava)",)
    assert shoes_by_name() == {"Peggy": ("nike_pegasus_40", 2, 10.0, False)}
    assert {run.shoe_name for run in get_all_runs()} == {"Peggy"}


def test_two_gears_with_one_name_stay_two_shoes(strava: FakeStrava) -> None:
    case = recorded_case("strava-gear-renamed-after.json")
    case["gear"]["g9000004"] = case["gear"]["g9000003"] | {"id": "g9000004"}
    case["activities"][1]["gear_id"] = "g9000004"
    strava.api.replay(case)

    result = sync_strava(full_sync=True, client=quick_client())

    assert result.shoes_created == ("Peggy", "Peggy (Strava g9000004)")
    assert shoes_by_name() == {
        "Peggy": ("peggy", 1, 5.0, False),
        "Peggy (Strava g9000004)": ("peggy_strava_g9000004", 1, 5.0, False),
    }
    again = sync_strava(full_sync=True, client=quick_client())
    assert (again.shoes_created, again.shoes_changed) == ((), ())


def test_gear_retired_on_strava_is_retired_here_and_unretired_with_it(strava: FakeStrava) -> None:
    case = recorded_case("strava-retired-gear.json")
    strava.api.replay(case)
    result = sync_strava(full_sync=True, client=quick_client())
    assert result.shoes_changed == ("Brooks Ghost 14 retired (retired on Strava)",)
    [shoe] = get_shoes()
    assert shoe.is_retired and shoe.retirement_notes == "Retired on Strava"

    case["gear"]["g9000001"]["retired"] = False
    strava.api.replay(case)
    result = sync_strava(full_sync=True, client=quick_client())
    assert result.shoes_changed == ("Brooks Ghost 14 unretired (unretired on Strava)",)
    assert not get_shoes()[0].is_retired


def test_retirement_the_user_set_here_is_never_overridden_by_strava(strava: FakeStrava) -> None:
    case = recorded_case("strava-retired-gear.json")
    case["gear"]["g9000001"]["retired"] = False
    strava.api.replay(case)
    sync_strava(full_sync=True, client=quick_client())
    [shoe] = get_shoes()
    retire_shoe_by_id(shoe.id, datetime(2025, 2, 1).date(), "worn out")

    strava.api.replay(case)
    assert sync_strava(full_sync=True, client=quick_client()).shoes_changed == ()
    case["gear"]["g9000001"]["retired"] = True
    strava.api.replay(case)
    sync_strava(full_sync=True, client=quick_client())
    unretire_shoe_by_id(shoe.id)
    assert sync_strava(full_sync=True, client=quick_client()).shoes_changed == ()
    assert not get_shoes()[0].is_retired


def test_a_shoe_created_before_gear_ids_were_kept_is_adopted_not_duplicated(
    strava: FakeStrava,
) -> None:
    create_shoe("nike pegasus 40")
    strava.api.replay(recorded_case("strava-gear-renamed-before.json"))
    result = sync_strava(full_sync=True, client=quick_client())
    assert result.shoes_created == ()
    assert shoes_by_name() == {"Nike Pegasus 40": ("nike_pegasus_40", 1, 5.0, False)}


def test_gear_strava_no_longer_has_keeps_the_shoe_it_had(strava: FakeStrava) -> None:
    case = recorded_case("strava-gear-renamed-after.json")
    strava.api.replay(case)
    sync_strava(full_sync=True, client=quick_client())
    late = make_activities(1, first_id=11000000399, gear_id="g9000003")
    strava.api.activities.extend(late)
    strava.api.gear = {}
    result = sync_strava(full_sync=True, client=quick_client())
    assert result.inserted == 1 and result.shoes_changed == ()
    assert get_run_by_id("strava_11000000399").shoe_id == "peggy"  # type: ignore[union-attr]


def test_every_activity_shape_of_a_real_list_page_imports_as_the_readme_says(
    strava: FakeStrava,
) -> None:
    strava.api.replay(recorded_case("strava-activity-shapes.json"))

    result = sync_strava(full_sync=True, client=quick_client())

    assert (result.fetched, result.inserted, result.skipped_other_activities) == (11, 10, 1)
    assert result.errors == ()
    runs = {run.id: run for run in get_all_runs()}
    expected = {
        # id: (name, type, miles, seconds, start in UTC, heart rate)
        "strava_11000000101": ("Trail run", "Outdoor Run", 5.0, 2412, "2025-01-05T14:00", 151.3),
        "strava_11000000102": ("Zwift Run", "Treadmill Run", 5.0, 2412, "2025-01-06T23:00", 151.3),
        "strava_11000000103": ("Treadmill", "Treadmill Run", 4.0, 2412, "2025-01-07T11:00", 151.3),
        "strava_11000000104": (
            "sport_type only",
            "Outdoor Run",
            5.0,
            2412,
            "2025-01-08T12:00",
            151.3,
        ),
        "strava_11000000106": (
            "Treadmill (manual)",
            "Outdoor Run",
            0.0,
            1800,
            "2025-01-09T12:00",
            None,
        ),
        "strava_11000000107": ("Private run", "Outdoor Run", 5.0, 2412, "2025-01-10T12:00", 151.3),
        "strava_12345678987654321": ("Big id", "Outdoor Run", 5.0, 2412, "2025-01-11T12:00", 151.3),
        "strava_11000000109": (
            "100 miler",
            "Outdoor Run",
            100.04,
            93600,
            "2025-01-12T10:00",
            151.3,
        ),
        "strava_11000000110": ("LA run", "Outdoor Run", 5.0, 2412, "2025-03-09T10:30", 151.3),
        "strava_11000000111": ("moving 0", "Outdoor Run", 5.0, 1500, "2025-03-10T10:30", 151.3),
    }
    assert {
        run_id: (
            run.name,
            run.type,
            round(run.distance, 2),
            run.duration,
            run.datetime_utc.strftime("%Y-%m-%dT%H:%M"),
            run.avg_heart_rate,
        )
        for run_id, run in runs.items()
    } == expected


# --- runs uploaded later than the overlap -------------------------------------------------


def test_since_fetches_a_run_uploaded_after_the_overlap_and_keeps_the_marker(
    strava: FakeStrava,
) -> None:
    sync_strava(client=quick_client())
    # Recorded on a watch in December, uploaded in January: older than the week's overlap.
    [late] = make_activities(1, start=datetime(2024, 12, 1, 8, 0, tzinfo=UTC), first_id=13199)
    strava.api.activities.append(late)
    assert sync_strava(client=quick_client()).inserted == 0

    result = sync_strava(since=date(2024, 12, 1), client=quick_client())

    assert result.inserted == 1 and get_run_by_id("strava_13199") is not None
    request = strava.api_requests("/athlete/activities")[-2]
    assert request.query["after"] == str(
        int(datetime(2024, 11, 30, 23, 59, 59, tzinfo=UTC).timestamp())
    )
    assert get_last_synced_at("strava") == NEWEST_RECORDED


@pytest.mark.parametrize("since", [date(1969, 12, 31), date.today() + timedelta(days=3)])
def test_since_is_bounded(strava: FakeStrava, since: date) -> None:
    with pytest.raises(InvalidUpdate, match="since"):
        sync_strava(since=since, client=quick_client())
    assert strava.api_requests() == []


# --- what the user granted, and Strava's 2026 rules ---------------------------------------


def test_a_read_only_grant_is_a_scope_problem_not_a_rejected_token(strava: FakeStrava) -> None:
    # Every refresh succeeds; every API call answers 401 activity:read_permission missing.
    activities, always = refusing_case("strava-scope-read-only")
    strava.api.activities, strava.api.api_always = activities, always

    with pytest.raises(InsufficientScope) as raised:
        sync_strava(client=quick_client())

    message = str(raised.value)
    assert "refresh token" not in message
    assert "'View data about your activities'" in message and "`fitness connect strava`" in message
    assert get_all_runs() == [] and get_last_synced_at("strava") is None
    stored = get_credentials("strava")
    assert (stored.last_sync_outcome, stored.last_sync_message) == ("failed", message)


def test_a_deactivated_app_says_what_happened_and_what_to_do(strava: FakeStrava) -> None:
    activities, always = refusing_case("strava-app-inactive")
    strava.api.activities, strava.api.api_always = activities, always

    with pytest.raises(ProviderAppInactive) as raised:
        sync_strava(client=quick_client())

    message = str(raised.value)
    assert "subscription" in message and "`fitness import strava-archive`" in message
    assert get_credentials("strava").last_sync_outcome == "failed"


def test_granting_private_activities_later_brings_in_the_older_private_runs(
    strava: FakeStrava,
) -> None:
    public = make_activities(3, start=datetime(2025, 3, 1, 8, tzinfo=UTC), first_id=1000)
    private = make_activities(
        2,
        start=datetime(2024, 6, 1, 8, tzinfo=UTC),
        first_id=2000,
        private=True,
        visibility="only_me",
    )
    strava.api.activities = public + private
    strava.tokens.consent_scope = ("read", "activity:read", "profile:read_all")
    connect_strava(strava)
    assert sync_strava(client=quick_client()).inserted == 3

    strava.tokens.consent_scope = None  # "View data about your private activities" ticked
    connect_strava(strava)
    result = sync_strava(client=quick_client())

    assert result.inserted == 2
    assert {run.id for run in get_all_runs()} >= {"strava_2000", "strava_2001"}
    assert strava.api_requests("/athlete/activities")[-1].query["after"] == "0"
    assert sync_strava(client=quick_client()).inserted == 0


def test_the_outcome_of_each_sync_is_remembered(strava: FakeStrava) -> None:
    sync_strava(client=quick_client())
    stored = get_credentials("strava")
    assert (stored.last_sync_outcome, stored.last_sync_message) == ("ok", None)
    assert stored.last_sync_at is not None

    strava.api.rate_limit_after(0)
    sync_strava(client=quick_client())
    stored = get_credentials("strava")
    assert stored.last_sync_outcome == "partial"
    assert "rate limit" in stored.last_sync_message


def connect_strava(strava: FakeStrava) -> None:
    """Consent through the fake's consent page, as a browser would."""
    started = start_consent(
        "strava", "http://127.0.0.1:8000/oauth/strava/callback", flow="browser", binding="b"
    )
    location = httpx.get(started.authorization_url).headers["location"]
    back = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    with httpx.Client(timeout=5) as http:
        complete_consent(
            "strava",
            state=back["state"],
            binding="b",
            flow="browser",
            code=back["code"],
            error=None,
            scope=back["scope"],
            http_client=http,
        )
