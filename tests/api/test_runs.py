"""The runs routes, through the real app on real PostgreSQL: listing, editing, deleting,
history and restore, If-Match, and every way a request can be wrong."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from fitness.db.shoes import create_shoe
from fitness.db.synced_runs import record_sync
from fitness.models import Run

AddRuns = Callable[..., list[Run]]


def test_get_run_returns_the_run_with_its_shoe_name_and_etag(
    client: TestClient, add_runs: AddRuns
) -> None:
    shoe = create_shoe("Brooks Ghost 15")
    (run,) = add_runs(1, shoe_id=shoe.id, distance=5.0)

    response = client.get(f"/runs/{run.id}")

    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    body = response.json()
    assert body["id"] == run.id
    assert body["distance"] == 5.0
    assert body["shoe_id"] == "brooks_ghost_15"
    assert body["shoe_name"] == "Brooks Ghost 15"
    assert body["version"] == 1
    assert body["datetime_utc"] == run.datetime_utc.isoformat()
    assert body["deleted_at"] is None
    assert body["calendar_state"] == "missing"


def test_get_run_reports_calendar_state_from_the_last_sync(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs(1)
    record_sync(run.id, 1, "event-1")

    body = client.get(f"/runs/{run.id}").json()

    assert body["calendar_state"] == "current"
    assert body["google_event_id"] == "event-1"
    assert body["synced_version"] == 1


def test_get_unknown_run_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/runs/strava_404")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 404
    assert problem["type"] == "/problems/run-not-found"
    assert "strava_404" in problem["detail"]


def test_a_path_id_with_a_nul_byte_is_a_404_not_a_server_error(client: TestClient) -> None:
    assert client.get("/runs/strava%001").status_code == 404
    assert client.get("/shoes/a%00b").status_code == 404


def test_list_runs_is_newest_first_and_skips_deleted_runs(
    client: TestClient, add_runs: AddRuns
) -> None:
    first, second, third = add_runs(3)
    client.delete(f"/runs/{second.id}")

    body = client.get("/runs").json()

    assert [run["id"] for run in body["runs"]] == [third.id, first.id]
    assert body["next_cursor"] is None
    with_deleted = client.get("/runs", params={"include_deleted": "true"}).json()
    assert [run["id"] for run in with_deleted["runs"]] == [third.id, second.id, first.id]


def test_list_runs_in_km_converts_every_distance_and_says_so(
    client: TestClient, add_runs: AddRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fitness.config import reset_settings

    add_runs(2, distance=6.2)
    # FITNESS_UNITS is for statistics and pages: the runs API stays in miles without ?units.
    monkeypatch.setenv("FITNESS_UNITS", "km")
    reset_settings()
    try:
        in_miles = client.get("/runs").json()
        in_km = client.get("/runs", params={"units": "km", "limit": 1}).json()
    finally:
        monkeypatch.undo()
        reset_settings()

    assert (in_miles["units"], [run["distance"] for run in in_miles["runs"]]) == ("mi", [6.2, 6.2])
    assert in_km["units"] == "km"
    assert [run["distance"] for run in in_km["runs"]] == [pytest.approx(6.2 * 1.609344)]
    following = client.get("/runs", params={"units": "km", "cursor": in_km["next_cursor"]})
    assert [run["distance"] for run in following.json()["runs"]] == [pytest.approx(6.2 * 1.609344)]


def test_list_runs_filters_by_inclusive_utc_days(client: TestClient, add_runs: AddRuns) -> None:
    runs = add_runs(5)  # one a day from 2024-01-01 07:00 UTC

    body = client.get("/runs", params={"start": "2024-01-02", "end": "2024-01-04"}).json()

    assert [run["id"] for run in body["runs"]] == [runs[3].id, runs[2].id, runs[1].id]


def test_pages_cover_every_run_once_even_when_runs_share_a_start_time(
    client: TestClient, add_runs: AddRuns
) -> None:
    same_moment = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)
    made = [*add_runs(17), *add_runs(6, datetime_utc=same_moment)]

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": "5", **({"cursor": cursor} if cursor else {})}
        body = client.get("/runs", params=params).json()
        seen += [run["id"] for run in body["runs"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert pages == 5
    assert len(seen) == len(set(seen)) == len(made)
    expected = sorted(made, key=lambda run: (run.datetime_utc, run.id), reverse=True)
    assert seen == [run.id for run in expected]


def test_a_full_last_page_has_no_next_cursor(client: TestClient, add_runs: AddRuns) -> None:
    add_runs(4)

    first = client.get("/runs", params={"limit": "2"}).json()
    second = client.get("/runs", params={"limit": "2", "cursor": first["next_cursor"]}).json()

    assert len(second["runs"]) == 2
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2024-13-01"},
        {"start": "yesterday"},
        {"end": "2024-02-30"},
        {"start": "2024-02-02", "end": "2024-02-01"},
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"include_deleted": "maybe"},
        {"units": "miles"},
    ],
)
def test_bad_list_parameters_are_a_422_naming_them(
    client: TestClient, params: dict[str, str]
) -> None:
    response = client.get("/runs", params=params)

    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields <= set(params) and fields


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "%%%",
        base64.urlsafe_b64encode(b'{"a": 1}').decode().rstrip("="),
        base64.urlsafe_b64encode(b'["2024-01-01T00:00:00", "x"]').decode().rstrip("="),
        base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("="),
    ],
)
def test_an_invalid_cursor_is_a_400(client: TestClient, cursor: str) -> None:
    response = client.get("/runs", params={"cursor": cursor})

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_patch_edits_the_run_and_returns_it_with_its_new_etag(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs(1, distance=3.0)

    response = client.patch(
        f"/runs/{run.id}",
        json={
            "distance": 3.2,
            "datetime_utc": "2024-01-01T09:15:00+02:00",
            "changed_by": "alice",
            "change_reason": "GPS drift",
        },
    )

    assert response.status_code == 200
    assert response.headers["etag"] == '"2"'
    body = response.json()
    assert body["distance"] == 3.2
    assert body["datetime_utc"] == "2024-01-01T07:15:00+00:00"
    assert body["version"] == 2
    assert body["last_edited_by"] == "alice"
    assert client.get(f"/runs/{run.id}").json() == body


def test_patch_records_api_as_the_editor_by_default(client: TestClient, add_runs: AddRuns) -> None:
    (run,) = add_runs(1)

    client.patch(f"/runs/{run.id}", json={"type": "Treadmill Run"})

    latest = client.get(f"/runs/{run.id}/history").json()["versions"][0]
    assert latest["changed_by"] == "api"
    assert latest["change_reason"] is None


def test_patch_can_set_and_clear_the_shoe(client: TestClient, add_runs: AddRuns) -> None:
    (run,) = add_runs(1)
    create_shoe("Nike Pegasus 40")

    worn = client.patch(f"/runs/{run.id}", json={"shoe_id": "nike_pegasus_40"}).json()
    cleared = client.patch(f"/runs/{run.id}", json={"shoe_id": None}).json()

    assert worn["shoe_name"] == "Nike Pegasus 40"
    assert cleared["shoe_id"] is None and cleared["shoe_name"] is None


def test_a_patch_that_changes_nothing_keeps_the_version(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs(1, distance=4.0)

    response = client.patch(f"/runs/{run.id}", json={"distance": 4.0})
    empty = client.patch(f"/runs/{run.id}", json={})

    assert response.status_code == empty.status_code == 200
    assert response.json()["version"] == 1
    assert response.headers["etag"] == empty.headers["etag"] == '"1"'
    assert len(client.get(f"/runs/{run.id}/history").json()["versions"]) == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"id": "strava_9"}, ["id"]),
        ({"source": "Strava", "distance": 1.0}, ["source"]),
        ({"id": "x", "source": "Strava"}, ["id", "source"]),
        ({"pace": 5}, ["pace"]),
        ({"distance": 1.0, "colour": "red", "mood": 3}, ["colour", "mood"]),
    ],
)
def test_protected_or_unknown_fields_are_a_400_naming_them(
    client: TestClient, add_runs: AddRuns, body: dict[str, object], fields: list[str]
) -> None:
    (run,) = add_runs(1)

    response = client.patch(f"/runs/{run.id}", json=body)

    assert response.status_code == 400
    assert response.json()["fields"] == fields
    assert client.get(f"/runs/{run.id}").json()["version"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"distance": -1}, "distance"),
        ({"distance": "5"}, "distance"),
        ({"distance": True}, "distance"),
        ({"distance": None}, "distance"),
        ({"distance": 10**400}, "distance"),
        ({"duration": 0}, "duration"),
        ({"distance": 1e-310}, "distance"),
        ({"avg_heart_rate": 400}, "avg_heart_rate"),
        ({"type": "Swim"}, "type"),
        ({"type": 3}, "type"),
        ({"shoe_id": "no_such_shoe"}, "shoe_id"),
        ({"shoe_id": ""}, "shoe_id"),
        ({"datetime_utc": "2024-01-01T07:00:00"}, "datetime_utc"),
        ({"datetime_utc": "2024-01-01"}, "datetime_utc"),
        ({"datetime_utc": "last tuesday"}, "datetime_utc"),
        ({"datetime_utc": 1704092400}, "datetime_utc"),
        ({"datetime_utc": "9999-12-31T23:59:59-23:59"}, "datetime_utc"),
        ({"changed_by": ""}, "changed_by"),
        ({"changed_by": 7}, "changed_by"),
        ({"change_reason": "nul\x00byte"}, "change_reason"),
    ],
)
def test_invalid_values_are_a_422_with_a_per_field_list(
    client: TestClient, add_runs: AddRuns, body: dict[str, object], field: str
) -> None:
    (run,) = add_runs(1)

    response = client.patch(f"/runs/{run.id}", json=body)

    assert response.status_code == 422
    problem = response.json()
    assert [error["field"] for error in problem["errors"]] == [field]
    assert problem["errors"][0]["message"]
    assert client.get(f"/runs/{run.id}").json()["version"] == 1


def test_every_invalid_field_is_listed_at_once(client: TestClient, add_runs: AddRuns) -> None:
    (run,) = add_runs(1)

    response = client.patch(
        f"/runs/{run.id}", json={"distance": -3, "type": "Swim", "datetime_utc": "nope"}
    )

    fields = [error["field"] for error in response.json()["errors"]]
    assert fields == ["datetime_utc", "distance", "type"]


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2]", b'"text"', b"", b'{"distance": NaN}', b"\xff\xfe", b"[" * 100_000],
)
def test_a_body_that_is_not_a_json_object_is_a_400(
    client: TestClient, add_runs: AddRuns, content: bytes
) -> None:
    (run,) = add_runs(1)

    response = client.patch(
        f"/runs/{run.id}", content=content, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_patch_of_an_unknown_run_is_a_404(client: TestClient) -> None:
    assert client.patch("/runs/strava_404", json={"distance": 1.0}).status_code == 404


def test_if_match_with_the_current_version_lets_the_edit_through(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs(1)

    strong = client.patch(f"/runs/{run.id}", json={"distance": 9.0}, headers={"If-Match": '"1"'})
    weak = client.patch(f"/runs/{run.id}", json={"distance": 8.0}, headers={"If-Match": 'W/"2"'})
    star = client.patch(f"/runs/{run.id}", json={"distance": 7.0}, headers={"If-Match": "*"})

    assert [strong.status_code, weak.status_code, star.status_code] == [200, 200, 200]
    assert star.headers["etag"] == '"4"'


def test_a_stale_if_match_is_a_412_with_the_current_version(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs(1)
    client.patch(f"/runs/{run.id}", json={"distance": 9.0})

    response = client.patch(f"/runs/{run.id}", json={"distance": 1.0}, headers={"If-Match": '"1"'})

    assert response.status_code == 412
    assert response.json()["current_version"] == 2
    assert response.headers["etag"] == '"2"'
    assert client.get(f"/runs/{run.id}").json()["distance"] == 9.0


def test_a_stale_if_match_is_a_412_even_for_an_edit_that_changes_nothing(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs(1, distance=2.0)
    client.patch(f"/runs/{run.id}", json={"distance": 3.0})

    response = client.patch(f"/runs/{run.id}", json={"distance": 3.0}, headers={"If-Match": '"1"'})

    assert response.status_code == 412


@pytest.mark.parametrize("value", ["1", '"one"', '"1", "2"', '"0"', "W/1", '"99999999999"'])
def test_a_malformed_if_match_is_a_400(client: TestClient, add_runs: AddRuns, value: str) -> None:
    (run,) = add_runs(1)

    response = client.patch(f"/runs/{run.id}", json={"distance": 1.0}, headers={"If-Match": value})

    assert response.status_code == 400
    assert "If-Match" in response.json()["detail"]


def test_delete_soft_deletes_the_run_and_hides_it(client: TestClient, add_runs: AddRuns) -> None:
    (run,) = add_runs(1)

    response = client.request(
        "DELETE", f"/runs/{run.id}", json={"changed_by": "bob", "change_reason": "duplicate"}
    )

    assert response.status_code == 200
    assert response.headers["etag"] == '"2"'
    assert response.json()["deleted_at"] is not None
    assert client.get(f"/runs/{run.id}").status_code == 404
    hidden = client.get(f"/runs/{run.id}", params={"include_deleted": "true"})
    assert hidden.status_code == 200 and hidden.json()["deleted_at"] is not None
    latest = client.get(f"/runs/{run.id}/history").json()["versions"][0]
    assert (latest["change_type"], latest["changed_by"], latest["change_reason"]) == (
        "deletion",
        "bob",
        "duplicate",
    )


def test_delete_honours_if_match(client: TestClient, add_runs: AddRuns) -> None:
    (run,) = add_runs(1)

    stale = client.delete(f"/runs/{run.id}", headers={"If-Match": '"5"'})
    current = client.delete(f"/runs/{run.id}", headers={"If-Match": '"1"'})

    assert stale.status_code == 412 and stale.json()["current_version"] == 1
    assert current.status_code == 200


def test_deleting_a_deleted_or_unknown_run_is_a_404(client: TestClient, add_runs: AddRuns) -> None:
    (run,) = add_runs(1)
    client.delete(f"/runs/{run.id}")

    assert client.delete(f"/runs/{run.id}").status_code == 404
    assert client.delete("/runs/strava_404").status_code == 404


def test_delete_rejects_fields_other_than_the_change_note(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs(1)

    response = client.request("DELETE", f"/runs/{run.id}", json={"distance": 1})

    assert response.status_code == 400
    assert response.json()["fields"] == ["distance"]


def test_history_lists_versions_newest_first_with_their_changes(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs(1, distance=3.0, type="Outdoor Run")
    client.patch(
        f"/runs/{run.id}",
        json={"distance": 3.5, "type": "Treadmill Run", "change_reason": "treadmill"},
    )
    client.delete(f"/runs/{run.id}")

    response = client.get(f"/runs/{run.id}/history")

    assert response.status_code == 200
    body = response.json()
    assert body["run_id"] == run.id
    versions = body["versions"]
    assert [v["version_number"] for v in versions] == [3, 2, 1]
    assert [v["change_type"] for v in versions] == ["deletion", "edit", "original"]
    assert versions[1]["changes"] == {
        "distance": {"from": 3.0, "to": 3.5},
        "type": {"from": "Outdoor Run", "to": "Treadmill Run"},
    }
    assert versions[1]["change_reason"] == "treadmill"
    assert versions[0]["changes"] == {} and versions[2]["changes"] == {}
    assert versions[2]["distance"] == 3.0
    assert "history_id" not in versions[0]


def test_history_shows_datetime_changes_as_iso_strings(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs(1, datetime_utc=datetime(2024, 5, 1, 7, tzinfo=UTC))
    later = datetime(2024, 5, 1, 8, tzinfo=UTC)

    client.patch(f"/runs/{run.id}", json={"datetime_utc": later.isoformat()})

    changes = client.get(f"/runs/{run.id}/history").json()["versions"][0]["changes"]
    assert changes == {
        "datetime_utc": {"from": "2024-05-01T07:00:00+00:00", "to": "2024-05-01T08:00:00+00:00"}
    }


def test_history_of_an_unknown_run_is_a_404(client: TestClient) -> None:
    assert client.get("/runs/strava_404/history").status_code == 404


def test_a_single_version_is_its_snapshot(client: TestClient, add_runs: AddRuns) -> None:
    (run,) = add_runs(1, distance=3.0)
    client.patch(f"/runs/{run.id}", json={"distance": 6.0})

    response = client.get(f"/runs/{run.id}/history/1")

    assert response.status_code == 200
    snapshot = response.json()
    assert (snapshot["version_number"], snapshot["change_type"], snapshot["distance"]) == (
        1,
        "original",
        3.0,
    )


@pytest.mark.parametrize(("version", "status"), [("7", 404), ("0", 422), ("abc", 422)])
def test_a_version_that_does_not_exist_is_a_404_and_a_malformed_one_a_422(
    client: TestClient, add_runs: AddRuns, version: str, status: int
) -> None:
    (run,) = add_runs(1)

    assert client.get(f"/runs/{run.id}/history/{version}").status_code == status
    assert client.post(f"/runs/{run.id}/restore/{version}").status_code == status


def test_patch_history_restore_round_trip(client: TestClient, add_runs: AddRuns) -> None:
    (run,) = add_runs(1, distance=3.0, avg_heart_rate=150.0)
    client.patch(f"/runs/{run.id}", json={"distance": 30.0, "avg_heart_rate": None})
    history = client.get(f"/runs/{run.id}/history").json()["versions"]
    assert history[0]["changes"]["distance"] == {"from": 3.0, "to": 30.0}

    response = client.post(
        f"/runs/{run.id}/restore/1",
        json={"changed_by": "carol", "change_reason": "typo"},
        headers={"If-Match": '"2"'},
    )

    assert response.status_code == 200
    assert response.headers["etag"] == '"3"'
    restored = response.json()
    assert (restored["distance"], restored["avg_heart_rate"], restored["version"]) == (
        3.0,
        150.0,
        3,
    )
    latest = client.get(f"/runs/{run.id}/history").json()["versions"][0]
    assert latest["change_type"] == "restore"
    assert latest["changed_by"] == "carol"
    assert latest["changes"] == {
        "distance": {"from": 30.0, "to": 3.0},
        "avg_heart_rate": {"from": None, "to": 150.0},
    }


def test_restoring_a_version_from_before_a_deletion_undeletes_the_run(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs(1)
    client.delete(f"/runs/{run.id}")

    response = client.post(f"/runs/{run.id}/restore/1")

    assert response.status_code == 200
    assert response.json()["deleted_at"] is None
    assert client.get(f"/runs/{run.id}").status_code == 200
    latest = client.get(f"/runs/{run.id}/history").json()["versions"][0]
    assert latest["changed_by"] == "api"


def test_restore_with_a_stale_if_match_is_a_412(client: TestClient, add_runs: AddRuns) -> None:
    (run,) = add_runs(1)
    client.patch(f"/runs/{run.id}", json={"distance": 1.0})

    response = client.post(f"/runs/{run.id}/restore/1", headers={"If-Match": '"1"'})

    assert response.status_code == 412
    assert response.json()["current_version"] == 2


def test_restore_of_an_unknown_run_is_a_404(client: TestClient) -> None:
    assert client.post("/runs/strava_404/restore/1").status_code == 404


def test_runs_from_far_apart_days_list_in_order(client: TestClient, add_runs: AddRuns) -> None:
    old = add_runs(1, datetime_utc=datetime(2001, 1, 1, tzinfo=UTC))
    new = add_runs(1, datetime_utc=datetime.now(UTC) - timedelta(hours=1))

    ids = [run["id"] for run in client.get("/runs").json()["runs"]]

    assert ids == [new[0].id, old[0].id]


# --- bounds, unknown parameters, history pages (issues 9, 10 and 12) ----------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"distance": 1.7e308}, "distance"),
        ({"distance": 1000.01}, "distance"),
        ({"duration": 1e308}, "duration"),
        ({"duration": 15 * 24 * 3600}, "duration"),
        ({"datetime_utc": "9999-12-31T23:59:59Z"}, "datetime_utc"),
        ({"datetime_utc": "1969-12-31T23:59:59Z"}, "datetime_utc"),
        ({"changed_by": "x" * 101}, "changed_by"),
        ({"change_reason": "x" * 1001}, "change_reason"),
    ],
)
def test_values_no_real_run_has_are_a_422_and_every_sum_still_answers(
    client: TestClient, add_runs: AddRuns, body: dict[str, object], field: str
) -> None:
    shoe = create_shoe("Brooks Ghost 15")
    (run,) = add_runs(1, shoe_id=shoe.id)

    response = client.patch(f"/runs/{run.id}", json={"distance": 3.0, **body})

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert client.get("/shoes").status_code == 200
    assert client.get(f"/runs/{run.id}").json()["version"] == 1


@pytest.mark.parametrize("end", ["9999-12-31", "0001-01-01", "2200-01-01"])
def test_a_date_no_run_can_have_is_a_422_not_a_server_error(client: TestClient, end: str) -> None:
    response = client.get("/runs", params={"end": end})

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["end"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/runs"),
        ("GET", "/runs/strava_1001"),
        ("GET", "/runs/strava_1001/history"),
        ("GET", "/shoes"),
        ("POST", "/strava/sync"),
        ("GET", "/openapi.json"),
    ],
)
def test_an_unknown_query_parameter_is_a_400_naming_it(
    client: TestClient, add_runs: AddRuns, method: str, path: str
) -> None:
    add_runs(1)

    response = client.request(method, path, params={"sort": "distance"})

    assert response.status_code == 400
    assert response.json()["type"] == "/problems/unknown-parameters"
    assert response.json()["fields"] == ["sort"]


def test_an_upload_with_an_unknown_query_parameter_imports_nothing(client: TestClient) -> None:
    from tests.importers.mmf_csv import SAMPLE_EXPORT

    with open(SAMPLE_EXPORT, "rb") as export:
        response = client.post(
            "/mmf/upload-csv?dry_run=true", files={"file": ("export.csv", export, "text/csv")}
        )

    assert response.status_code == 400
    assert response.json()["fields"] == ["dry_run"]
    assert client.get("/runs").json()["runs"] == []


def test_history_comes_a_page_at_a_time_each_version_with_its_changes(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs(1, distance=1.0)
    for distance in (2.0, 3.0, 4.0, 5.0):
        client.patch(f"/runs/{run.id}", json={"distance": distance})

    pages, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = client.get(f"/runs/{run.id}/history", params=params).json()
        pages.append(body["versions"])
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert [[v["version_number"] for v in page] for page in pages] == [[5, 4], [3, 2], [1]]
    # The last version of a page shows its changes too: the page fetches one more.
    changes = [v["changes"] for page in pages for v in page]
    assert changes == [
        {"distance": {"from": 4.0, "to": 5.0}},
        {"distance": {"from": 3.0, "to": 4.0}},
        {"distance": {"from": 2.0, "to": 3.0}},
        {"distance": {"from": 1.0, "to": 2.0}},
        {},
    ]


def test_one_version_shows_what_it_changed(client: TestClient, add_runs: AddRuns) -> None:
    (run,) = add_runs(1, distance=1.0)
    client.patch(f"/runs/{run.id}", json={"distance": 2.5, "change_reason": "GPS"})

    second = client.get(f"/runs/{run.id}/history/2").json()
    first = client.get(f"/runs/{run.id}/history/1").json()

    assert second["changes"] == {"distance": {"from": 1.0, "to": 2.5}}
    assert second["change_reason"] == "GPS"
    assert first["changes"] == {}


def test_patch_edits_name_and_notes_and_history_shows_the_change(
    client: TestClient, add_runs: AddRuns
) -> None:
    (run,) = add_runs(1)

    response = client.patch(f"/runs/{run.id}", json={"name": "Hill reps", "notes": "6 x 90 s"})

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["notes"]) == ("Hill reps", "6 x 90 s")
    [newest, _] = client.get(f"/runs/{run.id}/history").json()["versions"]
    assert newest["changes"] == {
        "name": {"from": None, "to": "Hill reps"},
        "notes": {"from": None, "to": "6 x 90 s"},
    }
    too_long = client.patch(f"/runs/{run.id}", json={"name": "x" * 1001})
    assert too_long.status_code == 422
    assert [e["field"] for e in too_long.json()["errors"]] == ["name"]


# --- runs entered by hand ------------------------------------------------------------------


def test_post_runs_answers_201_with_the_run_its_location_and_etag(client: TestClient) -> None:
    response = client.post(
        "/runs",
        json={
            "datetime_utc": "2025-05-06T07:30:00+02:00",
            "distance": 10,
            "units": "km",
            "duration": 3000,
            "avg_heart_rate": 151,
            "name": "Tempo",
        },
    )

    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/runs/manual_20250506T053000Z"
    assert response.headers["etag"] == '"1"'
    shown = client.get(response.headers["location"])
    assert response.json() == shown.json()
    assert response.json()["source"] == "Manual"
    assert response.json()["distance"] == pytest.approx(6.2137119224)
    again = client.post(
        "/runs", json={"datetime_utc": "2025-05-06T05:30:00Z", "distance": 6, "duration": 3000}
    )
    assert again.status_code == 409
    assert again.json()["run_id"] == "manual_20250506T053000Z"


def test_post_runs_names_each_bad_value(client: TestClient) -> None:
    response = client.post(
        "/runs",
        json={"datetime_utc": "2025-05-06T07:30:00", "distance": 1200, "duration": 60, "id": "x"},
    )
    assert response.status_code == 400  # the id is made from the start, never sent
    response = client.post(
        "/runs", json={"datetime_utc": "2025-05-06T07:30:00", "distance": 1200, "duration": 60}
    )
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"datetime_utc"}
    response = client.post(
        "/runs", json={"datetime_utc": "2025-05-06T07:30:00Z", "distance": 1200, "duration": 60}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "distance", "message": "must be a number of miles from 0 to 1,000"}
    ]
