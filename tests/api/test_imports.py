"""The import routes: a MapMyFitness export, a Strava export, activity files; uploaded,
imported, summarised."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from fitness.api import imports
from fitness.api.app import create_app
from fitness.config import Settings
from fitness.db.runs import get_all_runs
from tests.activity_files import (
    FIXTURES,
    START,
    english_export_files,
    fit_file,
    gpx_file,
    gz,
    strava_export,
    zipped,
)
from tests.api.conftest import TOKEN
from tests.importers.mmf_csv import SAMPLE_EXPORT, mmf_csv, mmf_row

SAMPLE_RUNS = 59


def upload(client: TestClient, content: bytes, name: str = "workouts.csv", **fields: str) -> object:
    return client.post("/mmf/upload-csv", files={"file": (name, content, "text/csv")}, data=fields)


def sample() -> bytes:
    return Path(SAMPLE_EXPORT).read_bytes()


def test_uploading_the_sample_export_imports_its_runs(client: TestClient) -> None:
    response = upload(client, sample(), timezone="America/New_York")
    assert response.status_code == 200
    body = response.json()
    assert body["inserted"] == SAMPLE_RUNS
    assert body["skipped_existing"] == 0
    assert body["skipped_other_activities"] == 13
    assert len(body["shoes_created"]) == 4
    assert body["errors"] == []
    assert len(get_all_runs()) == SAMPLE_RUNS


def test_uploading_the_same_file_again_inserts_nothing(client: TestClient) -> None:
    upload(client, sample())
    body = upload(client, sample()).json()
    assert (body["inserted"], body["skipped_existing"], body["shoes_created"]) == (
        0,
        SAMPLE_RUNS,
        [],
    )


def test_bad_rows_are_listed_with_their_lines(client: TestClient) -> None:
    content = mmf_csv([mmf_row(), mmf_row(Distance_mi="far"), mmf_row()]).encode()
    body = upload(client, content).json()
    assert body["inserted"] == 2
    [error] = body["errors"]
    assert error["line"] == 3 and "Distance (mi)" in error["message"]


def test_a_dry_run_writes_nothing(client: TestClient, raw_conn: psycopg.Connection) -> None:
    body = upload(client, sample(), dry_run="true").json()
    assert body["dry_run"] is True and body["inserted"] == SAMPLE_RUNS
    assert raw_conn.execute("SELECT count(*) FROM runs").fetchone() == (0,)


def test_strict_mode_rejects_a_file_with_a_bad_row_and_writes_nothing(
    client: TestClient, raw_conn: psycopg.Connection
) -> None:
    content = mmf_csv([mmf_row(), mmf_row(Workout_Date="someday")]).encode()
    response = upload(client, content, strict="true")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/import-rejected"
    assert body["aborted"] is True and body["inserted"] == 0
    assert [e["line"] for e in body["errors"]] == [3]
    assert raw_conn.execute("SELECT count(*) FROM runs").fetchone() == (0,)


def test_an_unknown_timezone_is_a_422(client: TestClient) -> None:
    response = upload(client, sample(), timezone="Mars/Base_One")
    assert response.status_code == 422
    assert "Mars/Base_One" in response.json()["detail"]
    assert get_all_runs() == []


def test_a_missing_file_field_is_a_422(client: TestClient) -> None:
    response = client.post("/mmf/upload-csv", data={"timezone": "UTC"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["file"]


def test_a_missing_required_column_is_a_422_naming_it(client: TestClient) -> None:
    header = [name for name in mmf_row() if name != "Workout Date"]
    response = upload(client, mmf_csv([mmf_row()], header).encode())
    assert response.status_code == 422
    assert "'Workout Date'" in response.json()["detail"]


def test_a_file_that_is_not_utf8_is_a_422(client: TestClient) -> None:
    response = upload(client, mmf_csv([mmf_row(Notes="Café")], bom=False).encode("latin-1"))
    assert response.status_code == 422
    assert "UTF-8" in response.json()["detail"]


@pytest.mark.parametrize("field", ["dry_run", "strict"])
def test_a_flag_that_is_not_true_or_false_is_a_422(client: TestClient, field: str) -> None:
    response = upload(client, sample(), **{field: "maybe"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_an_unknown_form_field_is_a_400(client: TestClient) -> None:
    response = upload(client, sample(), overwrite="true")
    assert response.status_code == 400
    assert response.json()["fields"] == ["overwrite"]


def test_an_upload_over_the_limit_is_a_413(
    settings: Settings, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "MAX_UPLOAD_BYTES", 1_000)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        response = upload(client, sample())
    assert response.status_code == 413
    assert get_all_runs() == []


def test_a_large_upload_is_spooled_to_disk_and_imported(client: TestClient) -> None:
    rows = [mmf_row(Notes="Shoes: Brooks Ghost 15\n" + "x" * 100) for _ in range(6_000)]
    content = mmf_csv(rows).encode()
    assert len(content) > 1024 * 1024
    body = upload(client, content).json()
    assert body["inserted"] == 6_000 and body["shoes_created"] == ["Brooks Ghost 15"]


def test_uploading_needs_the_api_token(anonymous: TestClient) -> None:
    response = upload(anonymous, sample())
    assert response.status_code == 401
    assert get_all_runs() == []


def test_a_metric_export_is_imported_and_the_summary_names_its_unit(client: TestClient) -> None:
    content = Path(__file__).parent.parent / "fixtures" / "cases" / "mmf-metric-export.csv"
    body = upload(client, content.read_bytes()).json()
    assert (body["inserted"], body["distance_unit"], body["repeated_in_file"]) == (2, "km", 0)
    assert sorted(run.distance for run in get_all_runs()) == [3.64224, 4.5404]


def archive_bytes(tmp_path: Path, csv_name: str = "activities-en.csv") -> bytes:
    path = strava_export(tmp_path / "export.zip", FIXTURES / csv_name, english_export_files())
    return path.read_bytes()


def test_uploading_a_strava_export_imports_its_runs(client: TestClient, tmp_path: Path) -> None:
    files = {"file": ("export_12345678.zip", archive_bytes(tmp_path), "application/zip")}
    response = client.post("/imports/strava-archive", files=files)
    assert response.status_code == 200
    body = response.json()
    assert (body["inserted"], body["skipped_existing"], body["skipped_other_activities"]) == (
        6,
        0,
        1,
    )
    assert body["rides_inserted"] == 1
    assert body["errors"] == [] and body["other_activity_types"] == {"Walk": 1}
    assert body["shoes_created"] == [
        "Brooks Ghost 12",
        "Hoka Clifton 9",
        "Nike Pegasus 40",
        "Speedy",
    ]
    assert body["rows"] == 8 and body["files_read"] == 5  # the ride's GPX too
    again = client.post("/imports/strava-archive", files=files).json()
    assert (again["inserted"], again["skipped_existing"]) == (0, 6)


def test_a_strict_strava_upload_with_a_bad_row_is_a_422_writing_nothing(
    client: TestClient, tmp_path: Path
) -> None:
    content = (FIXTURES / "activities-en.csv").read_text(encoding="utf-8")
    path = strava_export(tmp_path / "e.zip", content.replace("Mar 8, 2024, 5:45:10 AM", "x"))
    response = client.post(
        "/imports/strava-archive",
        files={"file": ("e.zip", path.read_bytes(), "application/zip")},
        data={"strict": "true"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "/problems/import-rejected" and body["aborted"] is True
    assert [error["line"] for error in body["errors"]] == [7]
    assert get_all_runs() == []


def test_an_upload_that_is_no_strava_export_is_a_422(client: TestClient) -> None:
    no_csv = zipped({"profile.csv": b"Athlete ID\n1\n"})
    response = client.post("/imports/strava-archive", files={"file": ("e.zip", no_csv)})
    assert response.status_code == 422
    assert "no activities.csv" in response.json()["detail"]
    response = client.post("/imports/strava-archive", files={"file": ("w.csv", sample())})
    assert response.status_code == 422
    assert "not Strava's activities.csv" in response.json()["detail"]


def test_uploading_activity_files_one_or_many(client: TestClient) -> None:
    files = [
        ("files", ("run.fit", fit_file(), "application/octet-stream")),
        (
            "files",
            (
                "treadmill.fit.gz",
                gz(fit_file(START.replace(day=5), sub_sport="treadmill")),
                "application/gzip",
            ),
        ),
        ("files", ("same-run.gpx", gpx_file(), "application/gpx+xml")),
        ("files", ("broken.tcx", b"<TrainingCenterDatabase>", "application/xml")),
    ]
    response = client.post("/imports/files", files=files, data={"dry_run": "false"})
    assert response.status_code == 200
    body = response.json()
    assert (body["inserted"], body["repeated_in_import"], body["error_count"]) == (2, 1, 1)
    assert body["errors"][0]["file"] == "broken.tcx"
    assert body["repeats"] == [
        {"file": "same-run.gpx", "run_id": "file_20240304T060102Z", "kept_file": "run.fit"}
    ]
    types = {run.id: run.type for run in get_all_runs()}
    assert types == {
        "file_20240304T060102Z": "Outdoor Run",
        "file_20240305T060102Z": "Treadmill Run",
    }


def test_strict_activity_files_with_a_bad_file_is_a_422(client: TestClient) -> None:
    files = [("files", ("run.fit", fit_file())), ("files", ("x.gpx", b"<gpx"))]
    response = client.post("/imports/files", files=files, data={"strict": "true"})
    assert response.status_code == 422 and response.json()["error_count"] == 1
    assert get_all_runs() == []


def test_activity_files_need_at_least_one_file(client: TestClient) -> None:
    response = client.post("/imports/files", data={"dry_run": "true"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["files"]
