"""The rides and bikes routes through the real app on real PostgreSQL: the same versioned
routes as /runs (If-Match, 412, history with changes, restore), and bikes with distance."""

from __future__ import annotations

from datetime import date

from starlette.testclient import TestClient

from fitness.db.bikes import bikes_for_names
from fitness.db.rides import import_rides
from fitness.ride_models import Ride
from tests.factories import RideFactory


def add_rides(count: int = 1, **overrides: object) -> list[Ride]:
    made = RideFactory().many(count, **overrides)
    import_rides(made)
    return made


def test_get_ride_answers_the_ride_with_its_bike_and_etag(client: TestClient) -> None:
    bike = bikes_for_names(["Canyon Endurace"])["Canyon Endurace"]
    (ride,) = add_rides(1, bike_id=bike, indoor=True, type="Virtual Ride")

    response = client.get(f"/rides/{ride.id}")

    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    body = response.json()
    assert body["bike_name"] == "Canyon Endurace"
    assert (body["type"], body["indoor"], body["avg_power"]) == ("Virtual Ride", True, 181.0)
    assert client.get("/rides/strava_404").json()["type"] == "/problems/ride-not-found"


def test_patch_with_if_match_edits_and_a_stale_one_is_a_412(client: TestClient) -> None:
    (ride,) = add_rides(1)

    edited = client.patch(
        f"/rides/{ride.id}",
        headers={"If-Match": '"1"'},
        json={"kilojoules": 700.5, "change_reason": "from the power meter"},
    )
    stale = client.patch(f"/rides/{ride.id}", headers={"If-Match": '"1"'}, json={"distance": 1.0})

    assert edited.status_code == 200 and edited.headers["etag"] == '"2"'
    assert edited.json()["kilojoules"] == 700.5
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert stale.json()["detail"].startswith(f"Ride {ride.id!r} is at version 2, not 1")


def test_patch_refuses_bad_values_protected_and_unknown_fields(client: TestClient) -> None:
    (ride,) = add_rides(1)

    invalid = client.patch(
        f"/rides/{ride.id}", json={"avg_power": -1, "type": "Swim", "distance": 1e-310}
    )
    protected = client.patch(f"/rides/{ride.id}", json={"source": "Manual"})
    unknown = client.patch(f"/rides/{ride.id}", json={"shoe_id": "x"})

    assert invalid.status_code == 422
    assert {e["field"] for e in invalid.json()["errors"]} == {"avg_power", "type", "distance"}
    assert protected.status_code == 400 and unknown.status_code == 400
    assert client.get(f"/rides/{ride.id}/history").json()["versions"][0]["version_number"] == 1


def test_delete_history_and_restore(client: TestClient) -> None:
    (ride,) = add_rides(1)
    client.patch(f"/rides/{ride.id}", json={"distance": 50.0})

    deleted = client.delete(f"/rides/{ride.id}", headers={"If-Match": '"2"'})
    gone = client.get(f"/rides/{ride.id}")
    restored = client.post(f"/rides/{ride.id}/restore/1", json={"change_reason": "undo"})
    history = client.get(f"/rides/{ride.id}/history", params={"limit": 2}).json()
    version = client.get(f"/rides/{ride.id}/history/2").json()

    assert deleted.status_code == 200 and deleted.json()["deleted_at"] is not None
    assert gone.status_code == 404
    assert restored.status_code == 200 and restored.headers["etag"] == '"4"'
    assert restored.json()["distance"] == ride.distance
    assert [v["change_type"] for v in history["versions"]] == ["restore", "deletion"]
    assert history["versions"][0]["changes"] == {"distance": {"from": 50.0, "to": ride.distance}}
    assert history["next_cursor"] is not None
    assert version["changes"] == {"distance": {"from": ride.distance, "to": 50.0}}


def test_list_rides_pages_and_refuses_unknown_parameters(client: TestClient) -> None:
    made = add_rides(3)

    first = client.get("/rides", params={"limit": 2}).json()
    second = client.get("/rides", params={"limit": 2, "cursor": first["next_cursor"]}).json()

    ids = [r["id"] for r in first["rides"] + second["rides"]]
    assert ids == [r.id for r in reversed(made)]
    assert client.get("/rides", params={"shoe_id": "x"}).status_code == 400


def test_bikes_list_their_distance_and_retire(client: TestClient) -> None:
    bike = bikes_for_names(["Canyon Endurace"])["Canyon Endurace"]
    made = add_rides(2, bike_id=bike)

    listed = client.get("/bikes").json()["bikes"]
    retired = client.put(f"/bikes/{bike}/retirement", json={"retired_at": "2025-02-01"})

    assert [(b["id"], b["distance"], b["ride_count"]) for b in listed] == [
        (bike, made[0].distance + made[1].distance, 2)
    ]
    assert retired.status_code == 200 and retired.json()["retired_at"] == str(date(2025, 2, 1))
    assert client.get("/bikes/no_such_bike").json()["type"] == "/problems/bike-not-found"
