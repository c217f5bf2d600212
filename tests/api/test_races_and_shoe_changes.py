"""PUT/DELETE /runs/{id}/race and the shoe rename, undelete, merge and unmerge routes,
through the real app on real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from fitness.db.shoes import create_shoe, delete_shoe_by_id
from fitness.models import Run

AddRuns = Callable[..., list[Run]]


def shoes_now(client: TestClient) -> list[tuple[object, ...]]:
    """What a runner sees of each shoe (not when its row was last touched)."""
    fields = ("id", "name", "mileage", "run_count", "former_names", "deleted_at")
    return [tuple(shoe[f] for f in fields) for shoe in client.get("/shoes").json()["shoes"]]


PARKRUN = {"name": "Parkrun #12", "distance": 5, "units": "km", "time": 1234, "place": 7}


def test_put_race_sets_it_as_a_new_version_with_its_etag(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs()

    response = client.put(
        f"/runs/{run.id}/race",
        json={**PARKRUN, "field_size": 300, "change_reason": "it was a parkrun"},
        headers={"If-Match": '"1"'},
    )

    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    body = response.json()
    assert body["race_name"] == "Parkrun #12"
    assert body["race_distance"] == pytest.approx(5 / 1.609344)
    assert (body["race_time"], body["race_place"], body["race_field_size"]) == (1234, 7, 300)
    history = client.get(f"/runs/{run.id}/history").json()["versions"][0]
    assert history["change_type"] == "edit"
    assert history["changes"]["race_name"] == {"from": None, "to": "Parkrun #12"}
    assert client.get(f"/runs/{run.id}").json()["race_time"] == 1234
    # The race is a personal best at its distance in the records, in the asked units.
    (progression,) = client.get("/stats/records?units=km").json()["race_progression"]
    assert progression["distance"] == pytest.approx(5, abs=0.01)
    assert [(best["run_id"], best["time"]) for best in progression["bests"]] == [(run.id, 1234)]


def test_a_stale_if_match_is_a_412_and_nothing_is_written(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs()
    response = client.put(f"/runs/{run.id}/race", json=PARKRUN, headers={"If-Match": '"5"'})
    assert response.status_code == 412
    assert client.get(f"/runs/{run.id}").json()["race_name"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time": 0}, "time"),
        ({"distance": -1}, "distance"),
        ({"distance": 2000, "units": "km"}, "distance"),
        ({"name": ""}, "name"),
        ({"place": 0}, "place"),
        ({"place": 8, "field_size": 7}, "place"),
        ({"units": "furlongs"}, "units"),
    ],
)
def test_an_impossible_race_is_a_422_naming_the_field(
    client: TestClient, add_runs: AddRuns, change: dict[str, object], field: str
) -> None:
    (run,) = add_runs()
    response = client.put(f"/runs/{run.id}/race", json={**PARKRUN, **change})
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_unknown_fields_are_a_400_and_a_missing_run_a_404(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs()
    assert client.put(f"/runs/{run.id}/race", json={**PARKRUN, "pace": 1}).status_code == 400
    assert client.put("/runs/strava_404/race", json=PARKRUN).status_code == 404
    assert client.put(f"/runs/{run.id}/race?x=1", json=PARKRUN).status_code == 400


def test_delete_race_clears_it_and_restore_brings_it_back(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs()
    client.put(f"/runs/{run.id}/race", json=PARKRUN)

    cleared = client.delete(f"/runs/{run.id}/race", headers={"If-Match": '"2"'})

    assert cleared.status_code == 200
    assert (cleared.json()["race_name"], cleared.headers["etag"]) == (None, '"3"')
    restored = client.post(f"/runs/{run.id}/restore/2").json()
    assert (restored["race_name"], restored["version"]) == ("Parkrun #12", 4)


def test_rename_keeps_the_id_and_lists_the_former_name(client: TestClient) -> None:
    create_shoe("Nike Pegasus 40")
    response = client.post("/shoes/nike_pegasus_40/rename", json={"name": "Peggy"})
    assert response.status_code == 200, response.text
    shoe = response.json()
    assert (shoe["id"], shoe["name"], shoe["former_names"]) == (
        "nike_pegasus_40",
        "Peggy",
        ["Nike Pegasus 40"],
    )
    # The shoes list and a shoe's own page say it too, with the shoe's wear.
    listed = {shoe["id"]: shoe for shoe in client.get("/shoes").json()["shoes"]}
    assert listed["nike_pegasus_40"]["former_names"] == ["Nike Pegasus 40"]
    assert client.get("/shoes/nike_pegasus_40").json()["former_names"] == ["Nike Pegasus 40"]
    create_shoe("Ghost 15")
    taken = client.post("/shoes/ghost_15/rename", json={"name": "peggy"})
    assert (taken.status_code, taken.json()["type"]) == (409, "/problems/shoe-conflict")
    assert client.post("/shoes/nope/rename", json={"name": "X"}).status_code == 404
    assert client.post("/shoes/ghost_15/rename", json={"name": " "}).status_code == 422


def test_a_deleted_shoe_cannot_be_given_to_a_run_until_undeleted(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs()
    shoe = create_shoe("Ghost 15")
    delete_shoe_by_id(shoe.id)

    refused = client.patch(f"/runs/{run.id}", json={"shoe_id": shoe.id, "distance": 9})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "shoe_id"
    assert "deleted" in refused.json()["errors"][0]["message"]
    assert client.get(f"/runs/{run.id}").json()["version"] == 1

    undeleted = client.post(f"/shoes/{shoe.id}/undelete")
    assert (undeleted.status_code, undeleted.json()["deleted_at"]) == (200, None)
    assert client.patch(f"/runs/{run.id}", json={"shoe_id": shoe.id}).status_code == 200


def test_merge_into_moves_runs_and_unmerge_puts_them_back(
    client: TestClient, add_runs: AddRuns
) -> None:
    kept, twin = create_shoe("Nike Pegasus 40"), create_shoe("Pegasus Forty")
    (in_kept,) = add_runs(shoe_id=kept.id)
    moved = add_runs(2, shoe_id=twin.id)
    before = shoes_now(client)

    merged = client.post(
        f"/shoes/{twin.id}/merge-into/{kept.id}", json={"change_reason": "same shoe"}
    )

    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["run_ids"] == sorted(run.id for run in moved)
    assert (body["kept"]["run_count"], body["kept"]["former_names"]) == (3, ["Pegasus Forty"])
    gone = client.get(f"/shoes/{twin.id}")
    assert gone.status_code == 404
    assert f"was merged into '{kept.id}'; unmerge it first" in gone.json()["detail"]
    history = client.get(f"/runs/{moved[0].id}/history").json()["versions"][0]
    assert (history["change_type"], history["change_reason"]) == ("merge", "same shoe")
    assert history["changes"] == {"shoe_id": {"from": twin.id, "to": kept.id}}
    assert client.post(f"/shoes/{twin.id}/undelete").status_code == 409
    assert client.get(f"/runs/{in_kept.id}").json()["version"] == 1

    unmerged = client.post(f"/shoes/{twin.id}/unmerge")

    assert unmerged.status_code == 200, unmerged.text
    assert shoes_now(client) == before
    assert client.post(f"/shoes/{twin.id}/unmerge").status_code == 409


def test_merges_that_cannot_be_are_404_or_409(client: TestClient) -> None:
    kept = create_shoe("A Shoe")
    assert client.post(f"/shoes/{kept.id}/merge-into/{kept.id}").status_code == 409
    assert client.post(f"/shoes/nope/merge-into/{kept.id}").status_code == 404
    assert client.post(f"/shoes/{kept.id}/merge-into/nope").status_code == 404
    assert client.post(f"/shoes/{kept.id}/merge-into/nope?force=1").status_code == 400


def test_the_openapi_document_lists_the_new_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"put", "delete"} <= set(paths["/runs/{run_id}/race"])
    for path in (
        "/shoes/{shoe_id}/rename",
        "/shoes/{shoe_id}/undelete",
        "/shoes/{shoe_id}/merge-into/{kept_shoe_id}",
        "/shoes/{shoe_id}/unmerge",
    ):
        assert "post" in paths[path]
