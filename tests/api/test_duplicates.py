"""`GET /duplicates`, `POST /duplicates/dismiss` and `POST /runs/{id}/duplicate-of/{kept_id}`
(fitness/api/duplicates.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from fitness.db.runs import import_runs
from fitness.models import Run

START = datetime(2025, 5, 6, 5, 31, 12, tzinfo=UTC)


@pytest.fixture
def twins(db: str) -> None:
    def run(run_id: str, source: str, offset: int, distance: float) -> Run:
        return Run(
            id=run_id, source=source, datetime_utc=START + timedelta(seconds=offset),
            type="Outdoor Run", distance=distance, duration=3088.0,
        )  # fmt: skip

    import_runs([run("strava_101", "Strava", 0, 6.21), run("hae_8f3c", "Apple Health", 4, 6.23)])


def test_suggest_mark_and_undo_over_the_api(client: TestClient, twins: None) -> None:
    suggested = client.get("/duplicates").json()
    [pair] = suggested["pairs"]
    assert pair["run_ids"] == ["strava_101", "hae_8f3c"]
    assert [run["id"] for run in pair["runs"]] == pair["run_ids"]
    assert suggested["next_cursor"] is None

    stale = client.post("/runs/hae_8f3c/duplicate-of/strava_101", headers={"If-Match": '"9"'})
    marked = client.post(
        "/runs/hae_8f3c/duplicate-of/strava_101",
        headers={"If-Match": '"1"'},
        json={"change_reason": "same run, watch and phone"},
    )

    assert stale.status_code == 412
    assert marked.status_code == 200, marked.text
    assert marked.headers["etag"] == '"2"'
    assert (marked.json()["duplicate_of"], marked.json()["version"]) == ("strava_101", 2)
    assert [run["id"] for run in client.get("/runs").json()["runs"]] == ["strava_101"]
    assert client.get("/runs/strava_101").json()["duplicate_ids"] == ["hae_8f3c"]
    history = client.get("/runs/strava_101/history").json()["versions"]
    assert history[0]["change_type"] == "merge"
    assert history[0]["changes"] == {"duplicate_ids": {"from": [], "to": ["hae_8f3c"]}}
    assert client.get("/duplicates").json()["pairs"] == []

    undone = client.post("/runs/hae_8f3c/restore/1")
    assert undone.status_code == 200 and undone.json()["duplicate_of"] is None
    assert len(client.get("/runs").json()["runs"]) == 2


def test_marking_that_breaks_the_rules_is_a_409(client: TestClient, twins: None) -> None:
    itself = client.post("/runs/strava_101/duplicate-of/strava_101")
    missing = client.post("/runs/strava_101/duplicate-of/strava_999")
    client.post("/runs/hae_8f3c/duplicate-of/strava_101")
    twice = client.post("/runs/hae_8f3c/duplicate-of/strava_101")

    assert itself.status_code == 409 and itself.json()["type"] == "/problems/duplicate-conflict"
    assert missing.status_code == 404
    assert twice.status_code == 409 and "already a duplicate" in twice.json()["detail"]


def test_a_dismissed_pair_is_not_suggested_again(client: TestClient, twins: None) -> None:
    dismissed = client.post("/duplicates/dismiss", json={"run_ids": ["strava_101", "hae_8f3c"]})

    assert dismissed.status_code == 200
    assert dismissed.json()["run_ids"] == ["hae_8f3c", "strava_101"]
    assert client.get("/duplicates").json()["pairs"] == []
    one = client.post("/duplicates/dismiss", json={"run_ids": ["strava_101"]})
    same = client.post("/duplicates/dismiss", json={"run_ids": ["strava_101", "strava_101"]})
    unknown = client.post("/duplicates/dismiss", json={"run_ids": ["strava_101", "mmf_404"]})
    assert (one.status_code, same.status_code, unknown.status_code) == (422, 422, 404)


def test_suggestions_come_a_page_at_a_time(client: TestClient, db: str) -> None:
    runs = []
    for day in range(5):
        start = START + timedelta(days=day)
        for source, prefix in (("Strava", "strava"), ("Manual", "manual")):
            runs.append(
                Run(
                    id=f"{prefix}_{day}",
                    source=source,
                    datetime_utc=start,
                    type="Outdoor Run",
                    distance=5.0,
                    duration=1800.0,
                )  # fmt: skip
            )
    import_runs(runs)

    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/duplicates", params=params).json()
        seen += [pair["run_ids"] for pair in page["pairs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == 5 and len({tuple(pair) for pair in seen}) == 5
    assert seen[0] == ["manual_4", "strava_4"]
    assert client.get("/duplicates", params={"cursor": "forged"}).status_code == 400
