"""The /lifts routes: list, read, edit with If-Match, delete, history and restore, as for
runs, with the library's versioning underneath."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from fitness.db.lifts import import_lifts
from fitness.lift_models import EXERCISES, Lift
from tests.fakes.hevy import recorded_lifts


@pytest.fixture
def push(db: str) -> Lift:
    lifts = recorded_lifts()
    import_lifts(lifts, changed_by="hevy sync")
    return lifts[0]


def test_lifts_are_listed_newest_first_with_their_exercises(push: Lift, client: TestClient) -> None:
    response = client.get("/lifts", params={"limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert [lift["title"] for lift in body["lifts"]] == ["Quick log", "Legs"]
    following = client.get("/lifts", params={"cursor": body["next_cursor"]}).json()
    assert [lift["title"] for lift in following["lifts"]] == ["Push Day 💪"]
    assert following["lifts"][0]["exercises"][0]["sets"][2] == {
        "index": 2,
        "type": "normal",
        "weight_kg": 82.5,
        "reps": 6,
        "distance_meters": None,
        "duration_seconds": None,
        "rpe": 9.5,
        "custom_metric": None,
    }
    assert client.get("/lifts", params={"sort": "title"}).status_code == 400


def test_a_lift_is_read_with_its_etag(push: Lift, client: TestClient) -> None:
    response = client.get(f"/lifts/{push.id}")
    assert response.status_code == 200 and response.headers["etag"] == '"1"'
    assert response.json()["exercises"][0]["primary_muscle_group"] == "chest"
    missing = client.get("/lifts/hevy_nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_an_edit_honours_if_match_and_is_a_version(push: Lift, client: TestClient) -> None:
    exercises = EXERCISES.dump_python(push.exercises, mode="json")
    exercises[0]["sets"][0]["reps"] = 12
    response = client.patch(
        f"/lifts/{push.id}",
        json={"exercises": exercises, "change_reason": "miscounted"},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    assert response.json()["exercises"][0]["sets"][0]["reps"] == 12
    stale = client.patch(f"/lifts/{push.id}", json={"title": "x"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["detail"].startswith("Lift ")
    history = client.get(f"/lifts/{push.id}/history").json()
    assert [v["change_type"] for v in history["versions"]] == ["edit", "original"]
    assert list(history["versions"][0]["changes"]) == ["exercises"]
    assert history["versions"][0]["change_reason"] == "miscounted"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"source": "Strava"}, 400, None),
        ({"distance": 3}, 400, None),
        (
            {"exercises": [{"index": 0, "title": "Row", "sets": [{"index": 0, "reps": -1}]}]},
            422,
            "exercises",
        ),
        ({"datetime_utc": "2025-01-06T17:00:00"}, 422, "datetime_utc"),
        # Before the lift's start: refused in the edit's transaction, the lift unchanged.
        ({"end_utc": "2000-01-01T00:00:00Z"}, 422, "end_utc"),
    ],
)
def test_bad_edits_are_refused_naming_the_field(
    push: Lift, client: TestClient, body: dict[str, object], status: int, field: str | None
) -> None:
    response = client.patch(f"/lifts/{push.id}", json=body)
    assert response.status_code == status, response.text
    if field is not None:
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert client.get(f"/lifts/{push.id}").headers["etag"] == '"1"'


def test_delete_then_restore_brings_the_lift_back(push: Lift, client: TestClient) -> None:
    deleted = client.delete(f"/lifts/{push.id}")
    assert deleted.status_code == 200 and deleted.json()["deleted_at"] is not None
    assert client.get(f"/lifts/{push.id}").status_code == 404
    assert client.get(f"/lifts/{push.id}", params={"include_deleted": "true"}).status_code == 200
    restored = client.post(f"/lifts/{push.id}/restore/1", headers={"If-Match": '"2"'})
    assert restored.status_code == 200 and restored.headers["etag"] == '"3"'
    assert restored.json()["deleted_at"] is None
    version = client.get(f"/lifts/{push.id}/history/2").json()
    assert version["change_type"] == "deletion"
    assert client.get(f"/lifts/{push.id}/history/9").status_code == 404
