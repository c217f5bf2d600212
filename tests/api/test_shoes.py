"""The shoes routes, through the real app on real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import psycopg
import pytest
from starlette.testclient import TestClient

from fitness.db.runs import delete_run
from fitness.db.shoes import create_shoe
from fitness.models import Run

AddRuns = Callable[..., list[Run]]
WEAR_FIELDS = (
    "starting_mileage",
    "warning_mileage",
    "maximum_mileage",
    "miles_used",
    "miles_left",
    "recent_miles",
    "projected_warning_date",
    "projected_maximum_date",
)


def test_create_shoe_is_a_201_with_its_location(client: TestClient) -> None:
    response = client.post("/shoes", json={"name": "Nike Air Zoom Pegasus 38", "notes": "blue"})

    assert response.status_code == 201
    assert response.headers["location"] == "/shoes/nike_air_zoom_pegasus_38"
    shoe = response.json()
    assert shoe["id"] == "nike_air_zoom_pegasus_38"
    assert shoe["name"] == "Nike Air Zoom Pegasus 38"
    assert shoe["notes"] == "blue"
    assert (shoe["mileage"], shoe["run_count"], shoe["retired_at"]) == (0, 0, None)
    # GET adds the shoe's limits and wear to what the creation answered.
    assert client.get(response.headers["location"]).json().items() >= shoe.items()


def test_creating_a_shoe_whose_id_exists_is_a_409(client: TestClient) -> None:
    client.post("/shoes", json={"name": "Brooks Ghost 15"})

    response = client.post("/shoes", json={"name": "brooks-ghost 15"})

    assert response.status_code == 409
    assert "brooks_ghost_15" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"name": "   "}, 422),
        ({"name": "x" * 101}, 422),
        ({"name": 15}, 422),
        ({"name": "Ghost", "notes": 3}, 422),
        ({"name": "Ghost", "colour": "red"}, 400),
    ],
)
def test_invalid_new_shoes_are_refused(
    client: TestClient, body: dict[str, object], status: int
) -> None:
    response = client.post("/shoes", json=body)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_list_shoes_carries_mileage_from_non_deleted_runs(
    client: TestClient, add_runs: AddRuns
) -> None:
    create_shoe("Brooks Ghost 15")
    worn = add_runs(3, shoe_id="brooks_ghost_15", distance=5.0)
    delete_run(worn[0].id, changed_by="test")

    shoes = client.get("/shoes").json()["shoes"]

    assert [(s["id"], s["mileage"], s["run_count"]) for s in shoes] == [
        ("brooks_ghost_15", 10.0, 2)
    ]


def test_list_shoes_filters_retired_ones(client: TestClient) -> None:
    create_shoe("Active One")
    create_shoe("Old One")
    client.patch("/shoes/old_one", json={"retired_at": "2024-06-01"})

    retired = client.get("/shoes", params={"retired": "true"}).json()["shoes"]
    active = client.get("/shoes", params={"retired": "false"}).json()["shoes"]
    everything = client.get("/shoes").json()["shoes"]

    assert [s["id"] for s in retired] == ["old_one"]
    assert [s["id"] for s in active] == ["active_one"]
    assert [s["id"] for s in everything] == ["active_one", "old_one"]
    assert client.get("/shoes", params={"retired": "sometimes"}).status_code == 422


def test_patch_shoe_retires_and_unretires(client: TestClient) -> None:
    create_shoe("Hoka Clifton 9")

    retired = client.patch(
        "/shoes/hoka_clifton_9",
        json={"retired_at": "2024-06-01", "retirement_notes": "worn out", "notes": "comfy"},
    )
    unretired = client.patch("/shoes/hoka_clifton_9", json={"retired_at": None})

    assert retired.status_code == 200
    assert retired.json()["retired_at"] == "2024-06-01"
    assert retired.json()["retirement_notes"] == "worn out"
    assert unretired.json()["retired_at"] is None
    assert unretired.json()["notes"] == "comfy"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"retired_at": "June 1st"}, 422),
        ({"retired_at": "2024-02-30"}, 422),
        ({"retired_at": 20240601}, 422),
        ({"notes": ["a"]}, 422),
        ({"name": "Renamed"}, 400),
    ],
)
def test_invalid_shoe_updates_are_refused(
    client: TestClient, body: dict[str, object], status: int
) -> None:
    create_shoe("Hoka Clifton 9")

    response = client.patch("/shoes/hoka_clifton_9", json=body)

    assert response.status_code == status


def test_unknown_shoes_are_a_404(client: TestClient) -> None:
    assert client.get("/shoes/no_such_shoe").status_code == 404
    assert client.patch("/shoes/no_such_shoe", json={"notes": "x"}).status_code == 404
    assert client.delete("/shoes/no_such_shoe").status_code == 404


def test_delete_shoe_is_soft_and_returns_the_deleted_shoe(
    client: TestClient, add_runs: AddRuns
) -> None:
    create_shoe("Brooks Ghost 15")
    (run,) = add_runs(1, shoe_id="brooks_ghost_15")

    response = client.delete("/shoes/brooks_ghost_15")

    assert response.status_code == 200
    assert response.json()["deleted_at"] is not None
    assert client.get("/shoes/brooks_ghost_15").status_code == 404
    assert client.get("/shoes").json()["shoes"] == []
    assert client.delete("/shoes/brooks_ghost_15").status_code == 404
    assert client.get(f"/runs/{run.id}").json()["shoe_id"] == "brooks_ghost_15"


def test_mileage_is_the_exact_sum_of_the_distances_without_float_noise(
    client: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    shoe = client.post("/shoes", json={"name": "Hoka Clifton 9"}).json()
    # 0.1 added 791 times is 79.10000000000001 in floating point.
    add_runs(791, shoe_id=shoe["id"], distance=0.1)

    assert client.get(f"/shoes/{shoe['id']}").json()["mileage"] == 79.1


def test_shoes_show_their_limits_and_wear_in_miles(
    client: TestClient, add_runs: AddRuns, raw_conn: psycopg.Connection
) -> None:
    create_shoe("Brooks Ghost 15")
    create_shoe("Old One")
    add_runs(1, shoe_id="old_one", distance=10.0)  # 2024: no recent use
    now = raw_conn.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
    # 56 miles in the last 8 weeks: a mile a day.
    add_runs(4, shoe_id="brooks_ghost_15", distance=14.0, datetime_utc=now - timedelta(days=2))

    shoes = {shoe["id"]: shoe for shoe in client.get("/shoes").json()["shoes"]}
    one = client.get("/shoes/brooks_ghost_15").json()

    ghost = shoes["brooks_ghost_15"]
    assert one == ghost
    today = now.date()
    assert {name: ghost[name] for name in WEAR_FIELDS} == {
        "starting_mileage": 0.0,
        "warning_mileage": 300.0,
        "maximum_mileage": 500.0,
        "miles_used": 56.0,
        "miles_left": 444.0,
        "recent_miles": 56.0,
        "projected_warning_date": (today + timedelta(days=244)).isoformat(),
        "projected_maximum_date": (today + timedelta(days=444)).isoformat(),
    }
    old = shoes["old_one"]
    assert (old["mileage"], old["miles_used"], old["recent_miles"]) == (10.0, 10.0, 0.0)
    assert (old["projected_warning_date"], old["projected_maximum_date"]) == (None, None)


def test_patch_sets_the_limits_in_miles_and_the_wear_follows(
    client: TestClient, add_runs: AddRuns
) -> None:
    create_shoe("Hoka Clifton 9")
    add_runs(2, shoe_id="hoka_clifton_9", distance=5.0)

    response = client.patch(
        "/shoes/hoka_clifton_9",
        json={"starting_mileage": 40.0, "warning_mileage": 250, "notes": "second pair"},
    )

    assert response.status_code == 200
    shoe = response.json()
    assert (shoe["starting_mileage"], shoe["warning_mileage"], shoe["maximum_mileage"]) == (
        40.0,
        250.0,
        500.0,
    )
    assert (shoe["mileage"], shoe["miles_used"], shoe["miles_left"]) == (10.0, 50.0, 450.0)
    assert shoe["notes"] == "second pair"
    assert client.get("/shoes/hoka_clifton_9").json() == shoe


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"warning_mileage": 0}, "warning_mileage"),
        ({"maximum_mileage": -5}, "maximum_mileage"),
        ({"starting_mileage": 100_001}, "starting_mileage"),
        ({"starting_mileage": "12"}, "starting_mileage"),
        ({"warning_mileage": 600}, "warning_mileage"),  # above the maximum, 500
        ({"maximum_mileage": 200, "retired_at": "2024-06-01"}, "warning_mileage"),
    ],
)
def test_impossible_limits_are_a_422_and_nothing_changes(
    client: TestClient, body: dict[str, object], field: str
) -> None:
    create_shoe("Hoka Clifton 9")
    before = client.get("/shoes/hoka_clifton_9").json()

    response = client.patch("/shoes/hoka_clifton_9", json=body)

    assert response.status_code == 422
    assert field in {error["field"] for error in response.json()["errors"]}
    assert client.get("/shoes/hoka_clifton_9").json() == before


def test_limits_of_an_unknown_shoe_are_a_404(client: TestClient) -> None:
    assert client.patch("/shoes/no_such_shoe", json={"warning_mileage": 200}).status_code == 404
