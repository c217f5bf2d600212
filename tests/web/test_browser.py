"""The pages in a real browser: Debian's Chromium driven by Playwright against a real
`fitness serve` on the test database.

A person logs in, filters the runs, edits one, meets a conflict made by a second client and
resolves it, restores a version, retires a shoe, renames one and merges another into it
(and undoes that), and imports a CSV. Every page is
photographed at 1280 and 390 px wide into `test-artifacts/pages/` (git-ignored), checked for
horizontal overflow and for a label on every form control. With
FITNESS_UPDATE_README_SCREENSHOT=1 the dashboard's photograph also replaces
docs/dashboard.png, the README's first picture.

Chromium is never downloaded: without /usr/bin/chromium (Debian's `chromium` package, which
CI installs) these tests are skipped, saying so.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from fitness.config import PROJECT_ROOT
from fitness.db.runs import get_run_by_id
from fitness.db.runs_history import get_run_history
from fitness.db.shoes import get_shoe_by_id
from fitness.db.stats import local_today
from tests.guarantees.conftest import TOKEN, Served, serving
from tests.web.sample import load_sample_training, load_sample_year

CHROMIUM = Path("/usr/bin/chromium")
# What this machine's closed network and a root user need (see README, Development).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "pages"
README_SCREENSHOT = PROJECT_ROOT / "docs" / "dashboard.png"
WIDTHS = (1280, 390)
SAMPLE_CSV = PROJECT_ROOT / "tests" / "fixtures" / "mmf_export_sample.csv"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed (apt-get install chromium); .ci/run installs it",
)

# Every visible form control has a label a screen reader announces.
_UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden')
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id)"""
_OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serving(database_url, log) as server:
        yield server


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser, served: Served, db: str) -> Iterator[Page]:
    """A fresh browser tab (no cookies), 1280 px wide, logged in, with JavaScript off:
    every page works without it."""
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=False
    )
    tab = context.new_page()
    log_in(tab, served)
    yield tab
    context.close()


def log_in(tab: Page, served: Served) -> None:
    """Log in with the keyboard: the token, then Enter."""
    tab.goto(f"{served.url}/app/runs")
    assert "/app/login" in tab.url
    tab.get_by_label("API token").fill(TOKEN)
    tab.keyboard.press("Enter")
    tab.wait_for_url(re.compile(r".*/app/runs$"))


def test_logging_in_lands_on_the_page_asked_for(page: Page) -> None:
    assert page.get_by_role("heading", name="Runs").is_visible()
    assert page.get_by_role("button", name="Log out").is_visible()


def test_filtering_the_runs(page: Page, served: Served) -> None:
    load_sample_year(local_today())
    page.goto(f"{served.url}/app/runs")

    page.get_by_label("Shoe").select_option(label="Saucony Endorphin Speed 3")
    page.get_by_label("Type").select_option("Outdoor Run")
    page.get_by_role("button", name="Show").click()

    assert "shoe_id=saucony_endorphin_speed_3" in page.url
    shoes = page.locator("table.runs tbody td:nth-child(8)").all_inner_texts()
    kinds = page.locator("table.runs tbody td:nth-child(7)").all_inner_texts()
    names = page.locator("table.runs tbody td:nth-child(2)").all_inner_texts()
    assert shoes and set(shoes) == {"Saucony Endorphin Speed 3"}
    assert set(kinds) == {"Outdoor Run"}
    assert set(names) == {"Tempo"}
    page.get_by_role("link", name="km").click()
    assert "units=km" in page.url and "shoe_id=saucony" in page.url
    assert page.get_by_role("columnheader", name="Distance (km)").is_visible()


def test_editing_a_run_and_a_conflict_from_a_second_client(page: Page, served: Served) -> None:
    run = load_sample_year(local_today())[-1]
    page.goto(f"{served.url}/app/runs/{run.id}")
    page.get_by_label("Distance (miles)").fill("7.5")
    page.get_by_label("Why (kept in the history)").fill("watch lost signal")

    # Meanwhile another client changes the run through the API.
    with served.client() as api:
        answer = api.patch(
            f"/runs/{run.id}",
            json={"name": "Renamed on the phone", "change_reason": "from the phone"},
            headers={"If-Match": '"1"'},
        )
        assert answer.status_code == 200
    page.get_by_role("button", name="Save as version 2").click()

    conflict = page.locator(".conflict")
    assert "Someone changed this run while you were editing it" in conflict.inner_text()
    row = conflict.locator("tr", has_text="name").inner_text()
    assert "Easy run" in row or "Long run" in row or "Tempo" in row
    assert "Renamed on the phone" in row
    assert "from the phone" in conflict.inner_text()
    assert page.get_by_label("Distance (miles)").input_value() == "7.5"
    assert get_run_by_id(run.id).distance == run.distance  # type: ignore[union-attr]
    _photograph(page, "run-conflict")

    page.get_by_role("button", name="Save as version 3").click()

    assert page.get_by_role("status").first.inner_text() == "Saved."
    stored = get_run_by_id(run.id)
    assert stored is not None
    assert (stored.version, stored.distance, stored.name) == (3, 7.5, "Renamed on the phone")
    newest = page.locator("#version-3").inner_text()
    assert "watch lost signal" in newest and "distance" in newest


def test_restoring_a_version_after_confirming(page: Page, served: Served) -> None:
    run = load_sample_year(local_today())[0]
    with served.client() as api:
        api.patch(f"/runs/{run.id}", json={"distance": 1.0, "change_reason": "typo"})
    page.goto(f"{served.url}/app/runs/{run.id}")

    page.get_by_role("link", name="Restore version 1…").click()
    assert page.get_by_role("heading", name=re.compile("Restore version 1")).is_visible()
    assert get_run_by_id(run.id).version == 2  # type: ignore[union-attr]  # nothing yet
    page.get_by_label("Why (kept in the history)").fill("the typo was the fix")
    page.get_by_role("button", name="Restore version 1").click()

    assert page.get_by_role("status").first.inner_text() == "Restored."
    stored = get_run_by_id(run.id)
    assert stored is not None and (stored.version, stored.distance) == (3, run.distance)
    assert get_run_history(run.id)[0].change_reason == "the typo was the fix"


def test_retiring_a_shoe(page: Page, served: Served) -> None:
    load_sample_year(local_today())
    page.goto(f"{served.url}/app/shoes")
    card = page.locator("#shoe-saucony_endorphin_speed_3")

    card.get_by_label("As of").fill("2025-06-01")
    card.get_by_label("Why").fill("race shoe, raced out")
    card.get_by_role("button", name="Retire").click()

    assert page.get_by_role("status").first.inner_text() == "Retired."
    retired = page.locator("section", has_text="Retired").last
    assert "Saucony Endorphin Speed 3" in retired.inner_text()
    shoe = get_shoe_by_id("saucony_endorphin_speed_3")
    assert shoe is not None and str(shoe.retired_at) == "2025-06-01"


def test_renaming_a_shoe_then_merging_another_into_it_and_undoing_that(
    page: Page, served: Served
) -> None:
    load_sample_year(local_today())
    speed = get_shoe_by_id("saucony_endorphin_speed_3")
    assert speed is not None
    page.goto(f"{served.url}/app/shoes")

    card = page.locator("#shoe-hoka_clifton_9")
    card.get_by_label("New name").fill("Cliftons")
    card.get_by_role("button", name="Rename").click()

    assert page.get_by_role("status").first.inner_text() == "Renamed."
    assert get_shoe_by_id("hoka_clifton_9").name == "Cliftons"  # type: ignore[union-attr]
    card = page.locator("#shoe-saucony_endorphin_speed_3")
    card.get_by_label("The same shoe as").select_option(label="Cliftons")
    card.get_by_role("button", name="Merge…").click()
    heading = "Merge Saucony Endorphin Speed 3 into Cliftons?"
    assert page.get_by_role("heading", name=heading).is_visible()
    assert get_shoe_by_id(speed.id) is not None, "nothing is merged before the confirmation"
    page.get_by_label("Why (kept in each run's history)").fill("one pair")
    page.get_by_role("button", name="Merge Saucony Endorphin Speed 3 into Cliftons").click()

    assert page.get_by_role("status").first.inner_text().startswith("Merged.")
    assert get_shoe_by_id(speed.id) is None
    kept = get_shoe_by_id("hoka_clifton_9")
    assert kept is not None and "Saucony Endorphin Speed 3" in kept.former_names
    page.locator("#shoe-hoka_clifton_9").get_by_role(
        "button", name="Undo the merge of Saucony Endorphin Speed 3"
    ).click()
    assert page.get_by_role("status").first.inner_text().startswith("Merge undone")
    back = get_shoe_by_id(speed.id)
    assert back is not None and back.run_count == speed.run_count


def test_importing_a_csv_shows_the_dry_run_then_the_report(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/app/import")
    page.get_by_label("CSV export").set_input_files(str(SAMPLE_CSV))
    page.get_by_role("button", name="Check the file", exact=True).click()

    assert "This was a dry run" in page.inner_text("main")
    assert get_run_by_id("mmf_8613133165") is None
    _photograph(page, "import-dry-run")
    page.get_by_role("button", name="Import 59 runs").click()
    page.wait_for_selector("text=Done: 59 runs imported.", timeout=30_000)

    assert get_run_by_id("mmf_8613133165") is not None
    _photograph(page, "import-report")


def test_every_page_fits_a_phone_and_a_desktop(chromium: Browser, served: Served, db: str) -> None:
    """Screenshots of every page at both widths, none wider than the window, every control
    labelled."""
    runs = load_sample_year(local_today())
    run = runs[-3]
    rides, lifts = load_sample_training(local_today())
    ride, lift = rides[0], lifts[0]
    with served.client() as api:
        api.patch(f"/runs/{run.id}", json={"distance": run.distance + 0.2, "change_reason": "GPS"})
        edits = [
            api.patch(f"/rides/{ride.id}", json={"avg_power": 230, "change_reason": "power"}),
            api.patch(f"/lifts/{lift.id}", json={"title": "Push, heavy"}),
        ]
    assert [edit.status_code for edit in edits] == [200, 200]
    paths = {
        "dashboard": "/app/",
        "runs": "/app/runs",
        "runs-filtered": "/app/runs?shoe_id=hoka_clifton_9&type=Outdoor+Run",
        "run": f"/app/runs/{run.id}",
        "restore": f"/app/runs/{run.id}/versions/1/restore",
        "rides": "/app/rides",
        "rides-filtered": "/app/rides?bike_id=canyon_endurace&type=Road+Ride",
        "ride": f"/app/rides/{ride.id}",
        "ride-restore": f"/app/rides/{ride.id}/versions/1/restore",
        "lifts": "/app/lifts",
        "lift": f"/app/lifts/{lift.id}",
        "lift-restore": f"/app/lifts/{lift.id}/versions/1/restore",
        "bikes": "/app/bikes",
        "shoes": "/app/shoes",
        "shoe-merge": "/app/shoes/saucony_endorphin_speed_3/merge?kept_shoe_id=hoka_clifton_9",
        "import": "/app/import",
        "connections": "/app/connections",
    }
    missing = {"not-found": "/app/runs/strava_404", "ride-not-found": "/app/rides/strava_404"}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for width in WIDTHS:
        context = chromium.new_context(viewport={"width": width, "height": 900})
        tab = context.new_page()
        tab.goto(f"{served.url}/app/login")
        _check(tab, "login", width, problems)
        log_in(tab, served)
        for name, path in paths.items():
            response = tab.goto(f"{served.url}{path}")
            assert response is not None and response.status == 200, path
            _check(tab, name, width, problems)
        for name, path in missing.items():
            response = tab.goto(f"{served.url}{path}")
            assert response is not None and response.status == 404, path
            _check(tab, name, width, problems)
        context.close()
    assert problems == []
    if os.environ.get("FITNESS_UPDATE_README_SCREENSHOT") == "1":
        README_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(ARTIFACTS / "dashboard-1280.png", README_SCREENSHOT)


def test_the_pages_load_nothing_from_elsewhere(chromium: Browser, served: Served, db: str) -> None:
    """Every asset comes from the server itself: the pages work offline."""
    context = chromium.new_context()
    tab = context.new_page()
    requested: list[str] = []
    tab.on("request", lambda request: requested.append(request.url))
    log_in(tab, served)
    tab.goto(f"{served.url}/app/")
    context.close()

    assert requested
    assert all(url.startswith(served.url) for url in requested), requested
    assert any(url.endswith("/app/static/app.css") for url in requested)


def _photograph(tab: Page, name: str) -> None:
    """Keep the page as it is at both widths (its state comes from a form, so it is not
    loaded again), none wider than the window. JavaScript may be off: measured by the
    screenshot's own width."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        tab.set_viewport_size({"width": width, "height": 900})
        path = ARTIFACTS / f"{name}-{width}.png"
        tab.screenshot(path=str(path), full_page=True)
        assert _png_width(path) == width, f"{name} at {width} px is wider than the window"
    tab.set_viewport_size({"width": 1280, "height": 900})


def _png_width(path: Path) -> int:
    # A PNG's width is the first 4 bytes of its IHDR chunk, at offset 16.
    return int.from_bytes(path.read_bytes()[16:20], "big")


def _check(tab: Page, name: str, width: int, problems: list[str]) -> None:
    path = ARTIFACTS / f"{name}-{width}.png"
    tab.screenshot(path=str(path), full_page=True)
    overflow = tab.evaluate(_OVERFLOW)
    if overflow > 0:
        problems.append(f"{name} at {width} px is {overflow} px too wide")
    unlabelled = tab.evaluate(_UNLABELLED)
    if unlabelled:
        problems.append(f"{name}: controls without a label: {unlabelled}")


def test_api_clients_are_unaffected_by_the_pages(served: Served, db: str) -> None:
    with served.client() as api:
        assert api.get("/runs").status_code == 200
        assert "/app" not in str(api.get("/openapi.json").json()["paths"])
    assert httpx.get(f"{served.url}/runs").status_code == 401
