"""`GET /stats/lifts/...`: the library's lift statistics over HTTP, and their 400/422s."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from fitness.db.lifts import import_lifts
from tests.fakes.hevy import recorded_lifts


@pytest.fixture
def lifts(db: str) -> None:
    import_lifts(recorded_lifts(), changed_by="test")


def test_weekly_volume(lifts: None, client: TestClient) -> None:
    response = client.get("/stats/lifts/volume", params={"tz": "UTC", "week_start": "monday"})
    assert response.status_code == 200
    assert response.json() == {
        "tz": "UTC",
        "week_start": "monday",
        "weeks": [{"week_start": "2025-01-06", "volume_kg": 2765.0, "working_sets": 8, "lifts": 2}],
    }


def test_sets_per_muscle_group(lifts: None, client: TestClient) -> None:
    weeks = client.get("/stats/lifts/muscle-groups", params={"tz": "UTC"}).json()["weeks"]
    assert [(w["muscle_group"], w["working_sets"]) for w in weeks] == [
        ("chest", 3),
        ("quadriceps", 2),
        ("triceps", 2),
        ("cardio", 1),
    ]


def test_one_rep_max_names_its_formula(lifts: None, client: TestClient) -> None:
    body = client.get("/stats/lifts/one-rep-max").json()
    assert body["formula"] == "epley"
    bench = next(e for e in body["exercises"] if e["exercise_template_id"] == "79D0BB3A")
    assert bench["estimated_one_rep_max_kg"] == pytest.approx(80 * (1 + 8 / 30))
    assert (bench["weight_kg"], bench["reps"], bench["day"]) == (80.0, 8, "2025-01-06")


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"tz": "Mars/Olympus"}, 422),
        ({"week_start": "friday"}, 422),
        ({"start": "2025-13-01"}, 422),
        ({"units": "km"}, 400),
    ],
)
def test_bad_parameters_are_refused(
    db: str, client: TestClient, params: dict[str, str], status: int
) -> None:
    response = client.get("/stats/lifts/volume", params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
