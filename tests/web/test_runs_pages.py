"""The runs pages through the real app: the list and its filters, a run's edit form with
If-Match and conflicts, delete, the history and restoring a version (fitness/web/runs.py)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from starlette.testclient import TestClient

from fitness.db.runs import delete_run, get_run_by_id
from fitness.db.runs_history import get_run_history, mark_duplicate, update_run_with_history
from fitness.db.shoes import create_shoe
from fitness.models import Run
from tests.web.conftest import csrf_of, text_of


def edit(browser: TestClient, run: Run, version: int, **values: str) -> httpx.Response:
    page = browser.get(f"/app/runs/{run.id}")
    form = {
        "csrf": csrf_of(page),
        "version": str(version),
        "datetime_utc": "2024-01-01T07:00:00",
        "distance": str(run.distance),
        "duration": str(run.duration),
        "avg_heart_rate": "" if run.avg_heart_rate is None else str(run.avg_heart_rate),
        "type": run.type,
        "shoe_id": "",
        "name": "",
        "notes": "",
        "change_reason": "",
    }
    return browser.post(f"/app/runs/{run.id}", data={**form, **values}, follow_redirects=False)


def test_the_list_shows_runs_newest_first_in_miles_or_km(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    runs = add_runs(3, distance=5.0)

    in_miles = text_of(browser.get("/app/runs"))
    in_km = text_of(browser.get("/app/runs?units=km"))

    assert (
        in_miles.index("2024-01-03") < in_miles.index("2024-01-02") < in_miles.index("2024-01-01")
    )
    assert "Distance (mi)" in in_miles and "5.00" in in_miles
    assert "Distance (km)" in in_km and "8.05" in in_km
    assert len(runs) == 3


def test_the_list_filters_by_dates_shoe_type_and_source(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    create_shoe("Hoka Clifton 9")
    add_runs(2, shoe_id="hoka_clifton_9", name="in the hokas")
    add_runs(1, type="Treadmill Run", name="on the treadmill")
    add_runs(1, source="MapMyFitness", id="mmf_77", name="from mapmyfitness")

    def names(query: str) -> str:
        response = browser.get(f"/app/runs?{query}")
        assert response.status_code == 200
        return text_of(response)

    assert names("shoe_id=hoka_clifton_9").count("in the hokas") == 2
    assert "on the treadmill" not in names("shoe_id=hoka_clifton_9")
    treadmill = names("type=Treadmill+Run")
    assert "on the treadmill" in treadmill and "in the hokas" not in treadmill
    assert "from mapmyfitness" in names("source=MapMyFitness")
    assert "in the hokas" not in names("source=MapMyFitness")
    only_the_3rd = names("start=2024-01-03&end=2024-01-03")
    assert "on the treadmill" in only_the_3rd and "in the hokas" not in only_the_3rd
    # A GET form sends its empty fields too.
    assert "from mapmyfitness" in names("start=&end=&shoe_id=&type=&source=&limit=100")


def test_the_list_pages_with_the_librarys_cursor(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    add_runs(30)

    first = browser.get("/app/runs?limit=25")
    assert first.status_code == 200
    link = first.text.split('rel="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    second = browser.get(link)

    assert text_of(first).count(" /mi ") == 25
    assert text_of(second).count(" /mi ") == 5
    assert "limit=25" in link
    assert 'rel="next"' not in second.text


def test_bad_filters_are_shown_with_the_apis_messages(browser: TestClient) -> None:
    response = browser.get("/app/runs?start=2024-13-01&end=yesterday&type=Swim&limit=0")

    assert response.status_code == 422
    text = text_of(response)
    assert "is not a calendar date" in text
    assert "must be a date as YYYY-MM-DD" in text
    assert "one of Outdoor Run, Treadmill Run" in text
    assert "must be a whole number from 1 to 1,000" in text


def test_a_forged_cursor_is_a_400_page(browser: TestClient) -> None:
    response = browser.get("/app/runs?cursor=not-a-cursor")

    assert response.status_code == 400
    assert "not one this API handed out" in text_of(response)


def test_editing_a_run_writes_a_version_with_who_and_why(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1)
    create_shoe("Brooks Ghost 15")

    response = edit(
        browser,
        run,
        1,
        distance="4.5",
        duration="0:45:30",
        shoe_id="brooks_ghost_15",
        name="Hill reps",
        avg_heart_rate="",
        change_reason="GPS cut the corner",
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/app/runs/{run.id}?notice=saved"
    stored = get_run_by_id(run.id)
    assert stored is not None
    assert (stored.version, stored.distance, stored.duration) == (2, 4.5, 2730.0)
    assert (stored.shoe_id, stored.name, stored.avg_heart_rate) == (
        "brooks_ghost_15",
        "Hill reps",
        None,
    )
    newest = get_run_history(run.id)[0]
    assert (newest.changed_by, newest.change_reason) == ("web", "GPS cut the corner")
    page = text_of(browser.get(response.headers["location"]))
    assert "Saved." in page
    assert "Version 2 · edit" in page
    assert "distance : 3.10 mi → 4.50 mi" in page.replace("distance:", "distance :")


def test_the_start_is_typed_in_the_runners_zone(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1)

    edit(browser, run, 1, datetime_utc="2024-03-02T09:15:00")

    stored = get_run_by_id(run.id)
    assert stored is not None
    # The tests run with FITNESS_TIMEZONE unset: the runner's zone is UTC.
    assert stored.datetime_utc == datetime(2024, 3, 2, 9, 15, tzinfo=UTC)


def test_saving_the_form_unchanged_writes_no_version(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1, name="Easy", notes="line one\nline two", avg_heart_rate=151.5)
    page = browser.get(f"/app/runs/{run.id}")
    fields = dict(
        (name, value) for name, value in _form_fields(page.text).items() if name not in ("csrf",)
    )

    response = browser.post(
        f"/app/runs/{run.id}", data={**fields, "csrf": csrf_of(page)}, follow_redirects=False
    )

    assert response.headers["location"].endswith("notice=unchanged")
    assert get_run_by_id(run.id).version == 1  # type: ignore[union-attr]


def test_bad_values_re_render_the_form_with_the_apis_messages_and_write_nothing(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1)

    response = edit(
        browser,
        run,
        1,
        distance="-1",
        duration="soon",
        avg_heart_rate="400",
        type="Swim",
        shoe_id="no_such_shoe",
        datetime_utc="2999-01-01T00:00:00",
    )

    assert response.status_code == 422
    text = text_of(response)
    assert "must be a number of miles from 0 to 1,000" in text
    assert "must be a number of seconds greater than 0 and at most 1,209,600" in text
    assert "a number of beats per minute from 20 to 250" in text
    assert "one of Outdoor Run, Treadmill Run" in text
    assert "must be from 1970-01-01T00:00:00Z to one day from now" in text
    assert 'value="-1"' in response.text and 'value="soon"' in response.text  # input kept
    assert get_run_by_id(run.id).version == 1  # type: ignore[union-attr]


def test_an_unknown_shoe_is_an_error_on_the_form(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1)

    response = edit(browser, run, 1, shoe_id="no_such_shoe")

    assert response.status_code == 422
    assert "shoe_id" in text_of(response)
    assert get_run_by_id(run.id).version == 1  # type: ignore[union-attr]


def test_a_conflict_shows_what_changed_meanwhile_beside_the_users_input(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1, distance=3.0)
    update_run_with_history(run.id, {"distance": 3.3, "name": "Tempo"}, "phone", "a GPS fix")

    response = edit(browser, run, 1, distance="6.2", notes="my own words")

    assert response.status_code == 409
    text = text_of(response)
    assert "Someone changed this run while you were editing it" in text
    assert "distance 3.00 mi 3.30 mi 6.2" in text
    assert "name none Tempo not changed by you" in text
    assert "Version 2, edit by phone" in text and "a GPS fix" in text
    assert "You changed: " in text and "distance to 6.2" in text and "notes to my own words" in text
    assert 'value="6.2"' in response.text and "my own words" in response.text
    assert 'id="name" name="name" value="Tempo"' in response.text  # theirs, not undone
    assert 'name="version" value="2"' in response.text
    assert get_run_by_id(run.id).distance == 3.3  # type: ignore[union-attr]

    # Saving again is deliberate: the user's input becomes version 3.
    again = edit(browser, run, 2, distance="6.2", notes="my own words", name="Tempo")
    assert again.status_code == 303
    stored = get_run_by_id(run.id)
    assert stored is not None
    assert (stored.version, stored.distance, stored.notes) == (3, 6.2, "my own words")
    assert stored.name == "Tempo"


def test_deleting_and_restoring_a_run(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1)
    page = browser.get(f"/app/runs/{run.id}")

    deleted = browser.post(
        f"/app/runs/{run.id}/delete",
        data={"csrf": csrf_of(page), "version": "1", "change_reason": "a duplicate"},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert get_run_by_id(run.id) is None
    shown = text_of(browser.get(deleted.headers["location"]))
    assert "This run was deleted" in shown and "a duplicate" in shown

    confirm = browser.get(f"/app/runs/{run.id}/versions/1/restore")
    assert confirm.status_code == 200
    assert "restoring brings it back" in text_of(confirm)
    restored = browser.post(
        f"/app/runs/{run.id}/versions/1/restore",
        data={"csrf": csrf_of(confirm), "version": "2", "change_reason": "not a duplicate"},
        follow_redirects=False,
    )
    assert restored.status_code == 303
    stored = get_run_by_id(run.id)
    assert stored is not None and stored.version == 3
    assert get_run_history(run.id)[0].change_type == "restore"


def test_the_restore_page_shows_what_a_restore_changes_and_checks_the_version(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1, distance=3.0)
    update_run_with_history(run.id, {"distance": 4.0}, "me")

    confirm = browser.get(f"/app/runs/{run.id}/versions/1/restore")
    assert "distance 4.00 mi 3.00 mi" in text_of(confirm)
    update_run_with_history(run.id, {"distance": 5.0}, "someone else")
    response = browser.post(
        f"/app/runs/{run.id}/versions/1/restore",
        data={"csrf": csrf_of(confirm), "version": "2"},
    )

    assert response.status_code == 409
    assert "Someone changed this run meanwhile" in text_of(response)
    assert "distance 5.00 mi 3.00 mi" in text_of(response)
    assert get_run_by_id(run.id).distance == 5.0  # type: ignore[union-attr]


def test_a_stale_delete_deletes_nothing(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1)
    page = browser.get(f"/app/runs/{run.id}")
    update_run_with_history(run.id, {"distance": 9.0}, "someone else")

    response = browser.post(
        f"/app/runs/{run.id}/delete", data={"csrf": csrf_of(page), "version": "1"}
    )

    assert response.status_code == 409
    assert "nothing was deleted" in text_of(response)
    assert get_run_by_id(run.id) is not None


def test_missing_runs_and_versions_are_404_pages(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1)
    delete_run(run.id, "me")

    for path in (
        "/app/runs/strava_999",
        f"/app/runs/{'x' * 300}",
        f"/app/runs/{run.id}/versions/7/restore",
    ):
        response = browser.get(path)
        assert response.status_code == 404, path
        assert "<!doctype html>" in response.text
        assert "Traceback" not in response.text
    assert browser.get(f"/app/runs/{run.id}").status_code == 200  # deleted runs still show


def test_a_form_without_its_version_changes_nothing(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    (run,) = add_runs(1)
    page = browser.get(f"/app/runs/{run.id}")

    response = browser.post(
        f"/app/runs/{run.id}", data={"csrf": csrf_of(page), "distance": "9", "type": run.type}
    )

    assert response.status_code == 400
    assert get_run_by_id(run.id).version == 1  # type: ignore[union-attr]


def _form_fields(page: str) -> dict[str, str]:
    """The edit form's fields as a browser would send them (inputs, selects, textareas)."""
    form = page.split('class="edit"', 1)[1].split("</form>", 1)[0]
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[name.group(1)] = html.unescape(value.group(1) if value else "")
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option(?: value="([^"]*)")? selected>([^<]*)', options)
        if chosen:
            fields[name] = html.unescape(
                chosen.group(1) if chosen.group(1) is not None else chosen.group(2)
            )
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        fields[name] = html.unescape(text)
    return fields


def test_duplicates_are_hidden_unless_asked_for(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    kept, duplicate = add_runs(2, name="the same run")
    mark_duplicate(duplicate.id, kept.id, changed_by="me")

    hidden = text_of(browser.get("/app/runs"))
    shown = text_of(browser.get("/app/runs?include_duplicates=true"))

    assert hidden.count("the same run") == 1
    assert shown.count("the same run") == 2
