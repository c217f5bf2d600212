"""The rides, lifts and bikes pages through the real app (fitness/web/rides.py, lifts.py,
bikes.py, activities.py): lists, a ride's and a lift's page with its history, deleting and
restoring with the version the page was made from, the lifting statistics, bikes' distance
and retirement, and the dashboard and navigation showing them beside runs."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest
from starlette.testclient import TestClient

from fitness.db.bikes import bikes_for_names, get_bike_by_id
from fitness.db.lifts import get_lift_by_id, import_lifts
from fitness.db.lifts_history import get_lift_history, update_lift_with_history
from fitness.db.rides import (
    delete_ride,
    get_ride_by_id,
    get_ride_history,
    import_rides,
    update_ride_with_history,
)
from fitness.db.stats import local_today
from fitness.lift_models import Lift
from fitness.ride_models import Ride
from tests.factories import RideFactory
from tests.fakes.hevy import recorded_lifts
from tests.web.conftest import csrf_of, text_of

KM_PER_MILE = 1.609344


@pytest.fixture
def add_rides(db: str) -> Callable[..., list[Ride]]:
    """Import rides through the library: `add_rides(3)` or `add_rides(1, name="Hills")`."""
    factory = RideFactory()

    def add(count: int = 1, **overrides: object) -> list[Ride]:
        made = factory.many(count, **overrides)
        import_rides(made)
        return made

    return add


@pytest.fixture
def lifts(db: str) -> list[Lift]:
    """The recorded Hevy workouts, imported."""
    made = recorded_lifts()
    import_lifts(made, changed_by="hevy sync")
    return made


def post(browser: TestClient, page: str, action: str, **fields: str) -> httpx.Response:
    """Submit a form of `page` to `action` with the page's CSRF token."""
    form = {"csrf": csrf_of(browser.get(page)), **fields}
    return browser.post(action, data=form, follow_redirects=False)


def test_the_rides_list_shows_rides_newest_first_in_miles_or_km(
    browser: TestClient, add_rides: Callable[..., list[Ride]]
) -> None:
    first, second = add_rides(2, name=None)
    update_ride_with_history(second.id, {"name": "Hill repeats"}, "me")

    in_miles = text_of(browser.get("/app/rides"))
    in_km = text_of(browser.get("/app/rides?units=km"))

    assert in_miles.index("2024-03-02") < in_miles.index("2024-03-01")
    assert "Hill repeats" in in_miles
    assert "Distance (mi)" in in_miles and f"{first.distance:.2f}" in in_miles
    assert "Distance (km)" in in_km and f"{first.distance * KM_PER_MILE:.2f}" in in_km
    assert f"{second.avg_power:.0f}" in in_miles


def test_the_rides_list_filters_by_bike_type_and_days_and_pages(
    browser: TestClient, add_rides: Callable[..., list[Ride]]
) -> None:
    bike = bikes_for_names(["Canyon Endurace"])["Canyon Endurace"]
    add_rides(2, bike_id=bike, name="on the canyon")
    add_rides(1, type="Virtual Ride", indoor=True, name="on the trainer")

    def shown(query: str) -> str:
        response = browser.get(f"/app/rides?{query}")
        assert response.status_code == 200
        return text_of(response)

    assert shown(f"bike_id={bike}").count("on the canyon") == 2
    assert "on the trainer" not in shown(f"bike_id={bike}")
    virtual = shown("type=Virtual+Ride")
    assert "on the trainer" in virtual and "(indoor)" in virtual
    assert "on the canyon" not in virtual
    only_the_3rd = shown("start=2024-03-03&end=2024-03-03")
    assert "on the trainer" in only_the_3rd and "on the canyon" not in only_the_3rd
    assert shown("start=&end=&bike_id=&type=&source=&limit=100").count("on the") == 3

    first = browser.get("/app/rides?limit=25")
    assert "Older rides" not in text_of(first)


def test_the_rides_list_pages_and_refuses_bad_filters(
    browser: TestClient, add_rides: Callable[..., list[Ride]]
) -> None:
    add_rides(30)
    first = browser.get("/app/rides?limit=25")
    assert first.text.count('href="/app/rides/strava_') == 25
    older = first.text.split('rel="next" href="', 1)[1].split('"', 1)[0]
    second = browser.get(older.replace("&amp;", "&"))
    assert second.text.count('href="/app/rides/strava_') == 5
    assert "Newest" in text_of(second)

    bad = browser.get("/app/rides?type=Unicycle&start=2024-03-05&end=2024-03-01")
    assert bad.status_code == 422
    assert "must not be before start" in text_of(bad)


def test_a_ride_page_shows_its_fields_and_history_with_changes(
    browser: TestClient, add_rides: Callable[..., list[Ride]]
) -> None:
    bike = bikes_for_names(["Trek Domane"])["Trek Domane"]
    (ride,) = add_rides(1, bike_id=bike, name="Lunch ride")
    update_ride_with_history(ride.id, {"avg_power": 250}, "me", "power meter recalibrated")

    page = browser.get(f"/app/rides/{ride.id}")

    assert page.status_code == 200
    shown = text_of(page)
    assert "Lunch ride" in shown and "Trek Domane" in shown
    assert "250 W" in shown and f"{ride.kilojoules:.0f} kJ" in shown
    assert "Indoor no" in shown and "version 2" in shown
    assert f"avg_power : {ride.avg_power} → 250.0" in shown
    assert "power meter recalibrated" in shown
    assert browser.get("/app/rides/strava_0").status_code == 404


def test_deleting_a_ride_and_restoring_it_after_confirming(
    browser: TestClient, add_rides: Callable[..., list[Ride]]
) -> None:
    (ride,) = add_rides(1)
    page = f"/app/rides/{ride.id}"

    deleted = post(browser, page, f"{page}/delete", version="1", change_reason="double")
    assert deleted.status_code == 303
    assert get_ride_by_id(ride.id) is None
    after = text_of(browser.get(deleted.headers["location"]))
    assert "This ride was deleted" in after

    confirm = browser.get(f"{page}/versions/1/restore")
    assert confirm.status_code == 200
    assert "the ride comes back" in text_of(confirm)
    restored = post(
        browser, f"{page}/versions/1/restore", f"{page}/versions/1/restore", version="2"
    )
    assert restored.status_code == 303
    assert get_ride_by_id(ride.id) is not None
    assert [v.change_type for v in get_ride_history(ride.id)] == ["restore", "deletion", "original"]


def test_a_stale_ride_page_writes_nothing_and_says_why(
    browser: TestClient, add_rides: Callable[..., list[Ride]]
) -> None:
    (ride,) = add_rides(1)
    page = f"/app/rides/{ride.id}"
    form_csrf = csrf_of(browser.get(page))
    update_ride_with_history(ride.id, {"name": "Renamed elsewhere"}, "api")

    refused = browser.post(
        f"{page}/delete", data={"csrf": form_csrf, "version": "1"}, follow_redirects=False
    )
    assert refused.status_code == 409
    assert "Someone changed this ride" in text_of(refused)
    assert get_ride_by_id(ride.id) is not None

    restore = browser.post(
        f"{page}/versions/1/restore",
        data={"csrf": form_csrf, "version": "1"},
        follow_redirects=False,
    )
    assert restore.status_code == 409
    assert "Renamed elsewhere" in text_of(restore)
    assert len(get_ride_history(ride.id)) == 2


def test_a_lift_page_shows_its_exercises_and_sets_and_history(
    browser: TestClient, lifts: list[Lift]
) -> None:
    lift = lifts[0]
    exercise = lift.exercises[0]
    first_set = exercise.sets[0]

    shown = text_of(browser.get(f"/app/lifts/{lift.id}"))

    assert (lift.title or "") in shown
    assert exercise.title in shown
    assert f"{first_set.weight_kg:.1f}" in shown
    sets = sum(len(e.sets) for e in lift.exercises)
    assert f"{len(lift.exercises)} exercises, {sets} sets" in shown
    assert "Version 1 · original" in shown and "by hevy sync" in shown
    assert browser.get("/app/lifts/hevy_nothing").status_code == 404


def test_restoring_a_lift_version_brings_back_its_sets(
    browser: TestClient, lifts: list[Lift]
) -> None:
    lift = lifts[0]
    update_lift_with_history(lift.id, {"title": "Push (renamed)"}, "me")
    page = f"/app/lifts/{lift.id}"
    assert f"title : {lift.title} → Push (renamed)" in text_of(browser.get(page))

    confirm = text_of(browser.get(f"{page}/versions/1/restore"))
    assert "Push (renamed)" in confirm and (lift.title or "") in confirm
    restored = post(browser, page, f"{page}/versions/1/restore", version="2", change_reason="x")

    assert restored.status_code == 303
    now = get_lift_by_id(lift.id)
    assert now is not None and now.title == lift.title and now.version == 3
    assert get_lift_history(lift.id).versions[0].change_type == "restore"


def test_editing_a_lift_on_its_page_changes_its_times_and_words_not_its_sets(
    browser: TestClient, lifts: list[Lift]
) -> None:
    lift = lifts[0]
    page = f"/app/lifts/{lift.id}"
    unchanged = browser.post(page, data=edit_form(browser, page), follow_redirects=False)
    assert unchanged.status_code == 303 and "notice=unchanged" in unchanged.headers["location"]

    # The form's times are the runner's (UTC in the tests' settings).
    start = lift.datetime_utc + timedelta(hours=1)
    edited = {
        **edit_form(browser, page),
        "datetime_utc": start.strftime("%Y-%m-%dT%H:%M:%S"),
        "end_utc": "",
        "title": "Push, heavier",
        "description": "felt strong",
        "change_reason": "wrong start",
    }
    saved = browser.post(page, data=edited, follow_redirects=False)

    assert saved.status_code == 303 and "notice=saved" in saved.headers["location"]
    stored = get_lift_by_id(lift.id)
    assert stored is not None
    assert (stored.version, stored.title, stored.description, stored.end_utc) == (
        2,
        "Push, heavier",
        "felt strong",
        None,
    )
    assert stored.datetime_utc == start and stored.exercises == lift.exercises
    shown = text_of(browser.get(page))
    assert "title : " in shown and "wrong start" in shown


def test_a_lift_ending_before_it_starts_is_refused_beside_the_input(
    browser: TestClient, lifts: list[Lift]
) -> None:
    lift = lifts[0]
    page = f"/app/lifts/{lift.id}"
    early = (lift.datetime_utc - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    refused = browser.post(
        page, data={**edit_form(browser, page), "end_utc": early, "title": "kept"}
    )

    assert refused.status_code == 422
    assert "must not be before the start" in text_of(refused)
    assert 'value="kept"' in refused.text
    assert get_lift_by_id(lift.id).version == 1  # type: ignore[union-attr]


def test_the_lifts_list_shows_lifts_volume_and_best_one_rep_maxes(
    browser: TestClient, lifts: list[Lift]
) -> None:
    page = browser.get("/app/lifts")

    assert page.status_code == 200
    shown = text_of(page)
    for lift in lifts:
        assert (lift.title or "") in shown
    # The recorded workouts are older than the weeks shown; their best sets are not.
    best = max(
        (
            (s.weight_kg * (1 + s.reps / 30) if s.reps > 1 else s.weight_kg, e.title)
            for lift in lifts
            for e in lift.exercises
            for s in e.sets
            if s.type != "warmup" and s.weight_kg and s.reps
        ),
    )
    assert best[1] in shown and f"{best[0]:.1f}" in shown
    assert "Epley's formula" in shown


def test_bikes_show_their_distance_and_retire_and_come_back(
    browser: TestClient, add_rides: Callable[..., list[Ride]]
) -> None:
    bike = bikes_for_names(["Canyon Endurace"])["Canyon Endurace"]
    rides = add_rides(3, bike_id=bike)
    delete_ride(rides[0].id, "me")
    ridden = sum(ride.distance for ride in rides[1:])

    shown = text_of(browser.get("/app/bikes"))
    assert "Canyon Endurace" in shown and f"{ridden:.1f} mi" in shown
    assert f"{ridden * KM_PER_MILE:.1f} km" in text_of(browser.get("/app/bikes?units=km"))

    refused = post(browser, "/app/bikes", f"/app/bikes/{bike}/retire", retired_at="")
    assert refused.status_code == 422 and "is required" in text_of(refused)
    retired = post(browser, "/app/bikes", f"/app/bikes/{bike}/retire", retired_at="2024-05-01")
    assert retired.status_code == 303
    found = get_bike_by_id(bike)
    assert found is not None and str(found.retired_at) == "2024-05-01"
    assert "retired" in text_of(browser.get("/app/bikes"))

    back = post(browser, "/app/bikes", f"/app/bikes/{bike}/unretire")
    assert back.status_code == 303
    found = get_bike_by_id(bike)
    assert found is not None and found.retired_at is None
    assert post(browser, "/app/bikes", "/app/bikes/nobike/unretire").status_code == 404


def test_the_dashboard_and_navigation_show_rides_and_lifts_beside_runs(
    browser: TestClient, add_rides: Callable[..., list[Ride]], lifts: list[Lift]
) -> None:
    add_rides(1, name="Sunday spin")

    page = browser.get("/app/")

    shown = text_of(page)
    assert "Recent rides" in shown and "Sunday spin" in shown
    assert "Recent lifts" in shown and (lifts[0].title or "") in shown
    for href in ("/app/rides", "/app/lifts", "/app/bikes"):
        assert f'href="{href}"' in page.text


def edit_form(browser: TestClient, path: str) -> dict[str, str]:
    """The page's edit form as a browser would send it unchanged (inputs, selects,
    textareas)."""
    page = browser.get(path).text
    form = page.split('class="edit"', 1)[1].split("</form>", 1)[0]
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option(?: value="([^"]*)")? selected>([^<]*)<', options)
        fields[name] = "" if chosen is None else (chosen.group(1) or chosen.group(2))
    fields |= dict(re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S))
    fields.setdefault("change_reason", "")
    return {name: html.unescape(value) for name, value in fields.items()}


def ride_form(browser: TestClient, ride: Ride) -> dict[str, str]:
    """The ride's edit form as a browser would send it unchanged."""
    return edit_form(browser, f"/app/rides/{ride.id}")


def test_editing_a_ride_writes_a_version_and_unchanged_writes_none(
    browser: TestClient, add_rides: Callable[..., list[Ride]]
) -> None:
    bike = bikes_for_names(["Canyon Endurace"])["Canyon Endurace"]
    (ride,) = add_rides(1, name="Lunch ride")
    page = f"/app/rides/{ride.id}"

    unchanged = browser.post(page, data=ride_form(browser, ride), follow_redirects=False)
    assert unchanged.status_code == 303 and "notice=unchanged" in unchanged.headers["location"]
    assert len(get_ride_history(ride.id)) == 1

    edited = {
        **ride_form(browser, ride),
        "avg_power": "212",
        "indoor": "true",
        "bike_id": bike,
        "duration": "1:05:00",
        "change_reason": "trainer, not the road",
    }
    saved = browser.post(page, data=edited, follow_redirects=False)

    assert saved.status_code == 303 and "notice=saved" in saved.headers["location"]
    stored = get_ride_by_id(ride.id)
    assert stored is not None
    assert (stored.version, stored.avg_power, stored.indoor, stored.bike_id, stored.duration) == (
        2,
        212.0,
        True,
        bike,
        3900.0,
    )
    shown = text_of(browser.get(saved.headers["location"]))
    assert "Saved." in shown and "trainer, not the road" in shown and "indoor : no → yes" in shown


def test_a_refused_ride_edit_keeps_the_input_beside_the_apis_message(
    browser: TestClient, add_rides: Callable[..., list[Ride]]
) -> None:
    (ride,) = add_rides(1)
    form = {**ride_form(browser, ride), "avg_power": "-5", "notes": "kept"}

    refused = browser.post(f"/app/rides/{ride.id}", data=form, follow_redirects=False)

    assert refused.status_code == 422
    assert "avg_power" in text_of(refused) and ">kept</textarea>" in refused.text
    assert len(get_ride_history(ride.id)) == 1


def test_a_ride_edited_meanwhile_shows_the_conflict_and_keeps_the_users_input(
    browser: TestClient, add_rides: Callable[..., list[Ride]]
) -> None:
    (ride,) = add_rides(1, name="Morning")
    form = ride_form(browser, ride)
    update_ride_with_history(ride.id, {"name": "Renamed by phone"}, "phone", "typo")

    conflict = browser.post(
        f"/app/rides/{ride.id}", data={**form, "avg_power": "240"}, follow_redirects=False
    )

    assert conflict.status_code == 409
    shown = text_of(conflict)
    assert "Someone changed this ride while you were editing it" in shown
    assert "Renamed by phone" in shown and "You changed: avg_power to 240" in shown
    assert 'name="version" value="2"' in conflict.text
    stored = get_ride_by_id(ride.id)
    assert stored is not None and stored.version == 2 and stored.avg_power == ride.avg_power

    again = ride_form(browser, ride)
    again.update(avg_power="240", version="2")
    saved = browser.post(f"/app/rides/{ride.id}", data=again, follow_redirects=False)
    assert saved.status_code == 303
    stored = get_ride_by_id(ride.id)
    assert stored is not None
    assert (stored.version, stored.name, stored.avg_power) == (3, "Renamed by phone", 240.0)


def test_the_weekly_volume_counts_the_working_sets_of_recent_lifts(browser: TestClient) -> None:
    lift = recorded_lifts()[0]
    start = datetime.combine(local_today() - timedelta(days=1), time(12), tzinfo=UTC)
    recent = dataclasses.replace(lift, id="hevy_recent", datetime_utc=start, end_utc=None)
    import_lifts([recent], changed_by="hevy sync")
    working = [s for e in lift.exercises for s in e.sets if s.type != "warmup"]
    volume = sum((s.weight_kg or 0) * (s.reps or 0) for s in working)

    shown = text_of(browser.get("/app/lifts"))

    assert f"{volume:,.0f} {len(working)} 1" in shown
