"""The import page: a MapMyFitness CSV, Strava's bulk export or activity files; a dry run's
report first, then the import in the background with its progress and report
(fitness/web/imports.py)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from starlette.testclient import TestClient

from fitness.db.runs import get_all_runs
from tests.activity_files import (
    FIXTURES,
    START,
    english_export_files,
    fit_file,
    gpx_file,
    strava_export,
    zipped,
)
from tests.web.conftest import BASE_URL, LOOPBACK, csrf_of, log_in, text_of

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "mmf_export_sample.csv"
METRIC = Path(__file__).resolve().parent.parent / "fixtures" / "cases" / "mmf-metric-export.csv"


def upload(
    browser: TestClient, content: bytes, *, name: str = "export.csv", **fields: str
) -> httpx.Response:
    page = browser.get("/app/import")
    return browser.post(
        "/app/import/mmf",
        data={"csrf": csrf_of(page), "timezone": "UTC", **fields},
        files={"file": (name, content, "text/csv")},
    )


def wait_for_report(browser: TestClient, location: str) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page = browser.get(location)
        if 'http-equiv="refresh"' not in page.text:
            return page
        time.sleep(0.05)
    raise AssertionError("the import did not finish in 30 s")


def start(browser: TestClient, report: httpx.Response) -> httpx.Response:
    action = report.text.split('action="/app/import/', 1)[1].split('"', 1)[0]
    return browser.post(
        f"/app/import/{action}", data={"csrf": csrf_of(report)}, follow_redirects=False
    )


def test_a_dry_run_reports_every_row_and_writes_nothing(browser: TestClient) -> None:
    report = upload(browser, SAMPLE.read_bytes(), name="workouts.csv")

    assert report.status_code == 200
    text = text_of(report)
    assert "This was a dry run: nothing has been written yet." in text
    assert "Rows 72 Would be imported 59 Already stored 0" in text
    assert "Other activities 13 Bad rows 0" in text
    assert "New shoes: Brooks Ghost 15, Hoka Clifton 9" in text
    assert "Import 59 runs" in text
    assert get_all_runs() == []


def test_the_import_runs_in_the_background_and_shows_its_report(browser: TestClient) -> None:
    report = upload(browser, SAMPLE.read_bytes(), name="workouts.csv")

    started = start(browser, report)
    assert started.status_code == 303
    assert started.headers["location"].startswith("/app/import/jobs/")
    done = wait_for_report(browser, started.headers["location"])

    assert "Done: 59 runs imported." in text_of(done)
    assert len(get_all_runs()) == 59
    # The upload is spent: sending the form again imports nothing twice.
    assert start(browser, report).status_code == 410
    again = text_of(upload(browser, SAMPLE.read_bytes()))
    assert "Would be imported 0 Already stored 59" in again
    assert "There is nothing new to import." in again


def test_the_progress_page_counts_rows_until_done(browser: TestClient) -> None:
    header = SAMPLE.read_bytes().splitlines(keepends=True)[0]
    rows = b"".join(
        b'"May 7, 2025","%s",Run,456,4.35,1983,7.60,6.46,7.89,9.29,164,7177,,iPhone,'
        b"https://www.mapmyfitness.com/workout/%d\n"
        % (f"Jan {1 + n % 28}, 2024".encode(), 9_000_000 + n)
        for n in range(3000)
    )
    report = upload(browser, header + rows)
    started = start(browser, report)
    first = browser.get(started.headers["location"])
    done = wait_for_report(browser, started.headers["location"])

    assert first.status_code == 200
    if 'http-equiv="refresh"' in first.text:  # still running when first looked at
        assert "of 3000 rows read" in text_of(first)
        assert '<progress max="3000"' in first.text
    assert "Done: 3000 runs imported." in text_of(done)


def test_a_metric_export_says_it_was_converted(browser: TestClient) -> None:
    text = text_of(upload(browser, METRIC.read_bytes()))

    assert "Distances in the file are in km (converted to miles)." in text


def test_a_file_that_cannot_be_read_is_shown_on_the_form(browser: TestClient) -> None:
    for content, words in (
        (b"just,some,columns\n1,2,3\n", "is it a MapMyFitness workout export?"),
        ("Workout Date,Distance (mi)\n".encode("utf-16"), "UTF-8"),
        (b"", "empty"),
    ):
        response = upload(browser, content)
        assert response.status_code == 422
        assert words in text_of(response), text_of(response)
    assert get_all_runs() == []


def test_an_unknown_time_zone_is_shown_on_the_form(browser: TestClient) -> None:
    response = upload(browser, SAMPLE.read_bytes(), timezone="Mars/Olympus")

    assert response.status_code == 422
    assert "timezone" in text_of(response)


def test_bad_rows_are_listed_with_their_lines(browser: TestClient) -> None:
    header = SAMPLE.read_bytes().splitlines(keepends=True)[0]
    bad = b'"May 7, 2025","May 6, 2025",Run,456,-4,1983,7.60,6.46,7.89,9.29,164,7177,,x,https://www.mapmyfitness.com/workout/1\n'

    text = text_of(upload(browser, header + bad, strict="true"))

    assert "Bad rows 1" in text
    assert "Line 2:" in text


def test_an_upload_belongs_to_the_session_that_made_it(browser: TestClient, app: object) -> None:
    report = upload(browser, SAMPLE.read_bytes())
    action = report.text.split('action="/app/import/', 1)[1].split('"', 1)[0]

    with TestClient(app, base_url=BASE_URL, client=LOOPBACK) as other:  # type: ignore[arg-type]
        log_in(other)
        page = other.get("/app/import")
        response = other.post(f"/app/import/{action}", data={"csrf": csrf_of(page)})
    assert response.status_code == 410
    assert get_all_runs() == []


def test_a_strava_archive_is_checked_then_imported(browser: TestClient, tmp_path: Path) -> None:
    export = strava_export(
        tmp_path / "export_1.zip", FIXTURES / "activities-en.csv", english_export_files()
    )
    page = browser.get("/app/import")
    report = browser.post(
        "/app/import/strava-archive",
        data={"csrf": csrf_of(page)},
        files={"file": ("export_1.zip", export.read_bytes(), "application/zip")},
    )

    assert report.status_code == 200
    text = text_of(report)
    assert "Rows 8 Would be imported 6 Already stored 0" in text
    assert "Rides that would be imported 1 Rides already stored 0" in text
    assert "Other activities: Walk 1." in text
    assert get_all_runs() == []
    done = wait_for_report(browser, start(browser, report).headers["location"])
    assert "Done: 6 runs imported." in text_of(done)
    assert sorted(run.id for run in get_all_runs())[0].startswith("strava_")


def test_activity_files_are_checked_then_imported(browser: TestClient) -> None:
    ride = fit_file(START.replace(day=2), sport="cycling")
    files = [
        ("morning.fit", fit_file(), "application/octet-stream"),
        ("phone.gpx", gpx_file(START.replace(day=3), heart_rate=None), "application/gpx+xml"),
        ("more.zip", zipped({"ride.fit": ride, "notes.txt": b"hi"}), "application/zip"),
        ("broken.fit", fit_file(START.replace(day=5))[:-40], "application/octet-stream"),
    ]
    page = browser.get("/app/import")
    report = browser.post(
        "/app/import/files",
        data={"csrf": csrf_of(page)},
        files=[("files", file) for file in files],
    )

    assert report.status_code == 200
    text = text_of(report)
    assert "Would be imported 2 Already stored 0" in text
    assert "Rides that would be imported 1 Rides already stored 0 Other activities 0" in text
    assert "Bad files 1" in text
    assert "broken.fit:" in text
    assert get_all_runs() == []
    done = wait_for_report(browser, start(browser, report).headers["location"])
    assert "Done: 2 runs imported." in text_of(done)
    assert {run.id.split("_")[0] for run in get_all_runs()} == {"file"}


def test_a_file_that_is_no_archive_is_shown_on_its_own_form(browser: TestClient) -> None:
    page = browser.get("/app/import")
    response = browser.post(
        "/app/import/strava-archive",
        data={"csrf": csrf_of(page)},
        files={"file": ("export.zip", b"not a zip, not a csv", "application/zip")},
    )

    assert response.status_code == 422
    assert 'id="archive-file-error"' in response.text
    assert 'id="mmf-file-error"' not in response.text
    assert get_all_runs() == []


def test_an_unknown_kind_of_import_is_a_404(browser: TestClient) -> None:
    page = browser.get("/app/import")
    response = browser.post("/app/import/garmin", data={"csrf": csrf_of(page)})

    assert response.status_code == 404
