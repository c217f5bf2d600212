"""The shoes page: wear, retire and unretire, mileage limits (fitness/web/shoes.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from starlette.testclient import TestClient

from fitness.db.shoes import create_shoe, get_shoe_by_id, retire_shoe_by_id
from fitness.db.stats import get_shoe_wear
from fitness.models import Run
from tests.web.conftest import csrf_of, text_of


def test_the_page_shows_each_shoes_wear(
    browser: TestClient, add_runs: Callable[..., list[Run]]
) -> None:
    create_shoe("Hoka Clifton 9")
    add_runs(4, shoe_id="hoka_clifton_9", distance=25.0)

    page = browser.get("/app/shoes")
    in_km = text_of(browser.get("/app/shoes?units=km"))

    assert page.status_code == 200
    text = text_of(page)
    assert "Hoka Clifton 9" in text
    assert "100.00 mi in 4 runs" in text and "400.00 mi" in text  # used, left
    assert '<meter min="0" max="500.0" low="300.0" high="300.0"' in page.text
    assert "160.93 km in 4 runs" in in_km


def test_retiring_and_unretiring_a_shoe(browser: TestClient) -> None:
    create_shoe("Brooks Ghost 15")
    page = browser.get("/app/shoes")

    retired = browser.post(
        "/app/shoes/brooks_ghost_15/retire",
        data={"csrf": csrf_of(page), "retired_at": "2025-03-01", "retirement_notes": "sole gone"},
        follow_redirects=False,
    )
    assert retired.status_code == 303
    shoe = get_shoe_by_id("brooks_ghost_15")
    assert shoe is not None and str(shoe.retired_at) == "2025-03-01"
    assert shoe.retirement_notes == "sole gone"
    text = text_of(browser.get(retired.headers["location"]))
    assert "Retired." in text and "2025-03-01: sole gone" in text

    unretired = browser.post(
        "/app/shoes/brooks_ghost_15/unretire",
        data={"csrf": csrf_of(page)},
        follow_redirects=False,
    )
    assert unretired.status_code == 303
    assert get_shoe_by_id("brooks_ghost_15").retired_at is None  # type: ignore[union-attr]


def test_a_retirement_needs_a_valid_date(browser: TestClient) -> None:
    create_shoe("Brooks Ghost 15")
    page = browser.get("/app/shoes")
    for day, message in (
        ("", "is required"),
        ("2025-02-30", "is not a calendar date"),
        ("1900-01-01", "must be from 1970-01-01 to 2199-12-31"),
    ):
        response = browser.post(
            "/app/shoes/brooks_ghost_15/retire",
            data={"csrf": csrf_of(page), "retired_at": day, "retirement_notes": "typed"},
        )
        assert response.status_code == 422
        assert f"retired_at: {message}" in text_of(response)
        assert 'value="typed"' in response.text
    assert get_shoe_by_id("brooks_ghost_15").retired_at is None  # type: ignore[union-attr]


def test_setting_a_shoes_mileage_limits(browser: TestClient) -> None:
    create_shoe("Saucony Endorphin Speed 3")
    page = browser.get("/app/shoes")

    response = browser.post(
        "/app/shoes/saucony_endorphin_speed_3/limits",
        data={
            "csrf": csrf_of(page),
            "starting_mileage": "120",
            "warning_mileage": "250",
            "maximum_mileage": "400",
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    (wear,) = get_shoe_wear()
    assert (wear.starting_mileage, wear.warning_mileage, wear.maximum_mileage) == (120, 250, 400)


def test_bad_limits_are_shown_and_change_nothing(browser: TestClient) -> None:
    create_shoe("Saucony Endorphin Speed 3")
    page = browser.get("/app/shoes")
    for values, message in (
        ({"warning_mileage": "0"}, "warning_mileage: must be a number of miles greater than 0"),
        ({"maximum_mileage": "lots"}, "maximum_mileage: must be a number of miles"),
        ({"starting_mileage": "-5"}, "starting_mileage: must be a number of miles from 0"),
        ({"warning_mileage": "450", "maximum_mileage": "400"}, "must not exceed the maximum"),
    ):
        form = {"starting_mileage": "0", "warning_mileage": "300", "maximum_mileage": "500"}
        response = browser.post(
            "/app/shoes/saucony_endorphin_speed_3/limits",
            data={"csrf": csrf_of(page), **form, **values},
        )
        assert response.status_code == 422, values
        assert message in text_of(response)
    (wear,) = get_shoe_wear()
    assert (wear.starting_mileage, wear.warning_mileage, wear.maximum_mileage) == (0, 300, 500)


def test_retired_shoes_are_listed_apart(browser: TestClient) -> None:
    create_shoe("Old Pair")
    create_shoe("New Pair")
    retire_shoe_by_id("old_pair", date(2024, 5, 1))

    text = text_of(browser.get("/app/shoes"))

    assert text.index("In use") < text.index("New Pair") < text.index("Retired")
    # The card's heading and wear ("Old Pair 0 of 500 mi"), not the other card's merge choice.
    assert text.index("Retired") < text.index("Old Pair 0 of")


def test_an_unknown_shoe_is_a_404_page(browser: TestClient) -> None:
    page = browser.get("/app/shoes")
    response = browser.post("/app/shoes/no_such_shoe/unretire", data={"csrf": csrf_of(page)})

    assert response.status_code == 404
    assert "Shoe 'no_such_shoe' not found." in text_of(response)
