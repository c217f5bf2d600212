"""The shoes page's rename and merge forms, the merge's confirmation and its undoing, and a
run page's race (fitness/web/shoes.py, fitness/web/runs.py)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient

from fitness.db.races import set_run_race
from fitness.db.runs import get_run_by_id
from fitness.db.shoes import create_shoe, get_shoe_by_id
from fitness.models import Race, Run
from tests.web.conftest import csrf_of, text_of


def test_renaming_a_shoe_from_its_card(browser: TestClient) -> None:
    create_shoe("Nike Pegasus 40")
    create_shoe("Ghost 15")
    page = browser.get("/app/shoes")

    renamed = browser.post(
        "/app/shoes/nike_pegasus_40/rename",
        data={"csrf": csrf_of(page), "name": "Peggy"},
        follow_redirects=False,
    )

    assert renamed.status_code == 303
    text = text_of(browser.get(renamed.headers["location"]))
    assert "Renamed." in text and "Formerly Nike Pegasus 40" in text
    assert get_shoe_by_id("nike_pegasus_40").name == "Peggy"  # type: ignore[union-attr]
    taken = browser.post(
        "/app/shoes/ghost_15/rename", data={"csrf": csrf_of(page), "name": "peggy"}
    )
    assert taken.status_code == 422
    assert "name: shoe 'nike_pegasus_40' has or had a name like 'peggy'" in text_of(taken)
    refused = browser.post("/app/shoes/ghost_15/rename", data={"name": "X"})
    assert refused.status_code == 403
    assert get_shoe_by_id("ghost_15").name == "Ghost 15"  # type: ignore[union-attr]


def test_merging_asks_first_and_the_kept_card_can_undo_it(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    create_shoe("Nike Pegasus 40")
    create_shoe("Pegasus Forty")
    (moved,) = add_runs(shoe_id="pegasus_forty")
    page = browser.get("/app/shoes")

    confirm = browser.get("/app/shoes/pegasus_forty/merge?kept_shoe_id=nike_pegasus_40")

    assert confirm.status_code == 200
    assert "Merge Pegasus Forty into Nike Pegasus 40?" in text_of(confirm)
    assert "moves 1 run of Pegasus Forty" in text_of(confirm)
    assert get_shoe_by_id("pegasus_forty") is not None, "asking changes nothing"
    merged = browser.post(
        "/app/shoes/pegasus_forty/merge",
        data={
            "csrf": csrf_of(confirm),
            "kept_shoe_id": "nike_pegasus_40",
            "change_reason": "one shoe",
        },
        follow_redirects=False,
    )
    assert merged.status_code == 303
    after = browser.get(merged.headers["location"])
    assert "Pegasus Forty was merged into it (1 run)" in text_of(after)
    assert get_run_by_id(moved.id).shoe_id == "nike_pegasus_40"  # type: ignore[union-attr]

    undone = browser.post(
        "/app/shoes/pegasus_forty/unmerge", data={"csrf": csrf_of(page)}, follow_redirects=False
    )
    assert undone.status_code == 303
    assert get_run_by_id(moved.id).shoe_id == "pegasus_forty"  # type: ignore[union-attr]
    assert browser.get("/app/shoes/pegasus_forty/merge?kept_shoe_id=nope").status_code == 404


def test_a_run_page_shows_its_race(browser: TestClient, add_runs: Callable[..., list[Run]]) -> None:
    (run,) = add_runs()
    set_run_race(run.id, Race(name="Parkrun #12", distance=3.1, time=1234, place=7), "me")
    text = text_of(browser.get(f"/app/runs/{run.id}"))
    assert "Race Parkrun #12: 3.10 mi in 20:34, place 7" in text
