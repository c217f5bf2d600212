"""fitness.db.shoes.set_shoe_mileage_limits: a shoe's starting, warning and maximum mileage."""

from __future__ import annotations

import math

import psycopg
import pytest

from fitness.db.shoes import create_shoe, delete_shoe_by_id, set_shoe_mileage_limits
from fitness.errors import InvalidUpdate, ShoeNotFound
from fitness.stats_models import ShoeMileageLimits


def test_a_new_shoe_starts_at_zero_warns_at_300_and_is_worn_out_at_500(db: str) -> None:
    create_shoe("Hoka Clifton 9")
    assert set_shoe_mileage_limits("hoka_clifton_9") == ShoeMileageLimits(
        shoe_id="hoka_clifton_9", starting_mileage=0.0, warning_mileage=300.0, maximum_mileage=500.0
    )


def test_only_the_limits_given_change(db: str) -> None:
    create_shoe("Hoka Clifton 9")
    set_shoe_mileage_limits("hoka_clifton_9", warning_mileage=250, maximum_mileage=400)
    limits = set_shoe_mileage_limits("hoka_clifton_9", starting_mileage=35.5)
    assert (limits.starting_mileage, limits.warning_mileage, limits.maximum_mileage) == (
        35.5,
        250.0,
        400.0,
    )


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"warning_mileage": 0}, "warning_mileage"),
        ({"maximum_mileage": -1.0}, "maximum_mileage"),
        ({"starting_mileage": -0.5}, "starting_mileage"),
        ({"maximum_mileage": math.inf}, "maximum_mileage"),
        ({"warning_mileage": math.nan}, "warning_mileage"),
        ({"maximum_mileage": 1e9}, "maximum_mileage"),
        ({"starting_mileage": "12"}, "starting_mileage"),
        ({"warning_mileage": True}, "warning_mileage"),
        ({"warning_mileage": 600}, "warning_mileage"),  # above the maximum, 500
        ({"maximum_mileage": 200}, "warning_mileage"),  # below the warning, 300
    ],
)
def test_impossible_limits_are_refused_and_nothing_changes(
    db: str, raw_conn: psycopg.Connection, values: dict[str, object], field: str
) -> None:
    create_shoe("Hoka Clifton 9")
    with pytest.raises(InvalidUpdate) as caught:
        set_shoe_mileage_limits("hoka_clifton_9", **values)  # type: ignore[arg-type]
    assert field in caught.value.errors
    row = raw_conn.execute(
        "SELECT starting_mileage, warning_mileage, maximum_mileage FROM shoes"
    ).fetchone()
    assert row == (0.0, 300.0, 500.0)


def test_a_missing_or_deleted_shoe_is_not_found(db: str) -> None:
    with pytest.raises(ShoeNotFound):
        set_shoe_mileage_limits("no_such_shoe", warning_mileage=100)
    create_shoe("Old Pair")
    delete_shoe_by_id("old_pair")
    with pytest.raises(ShoeNotFound):
        set_shoe_mileage_limits("old_pair", warning_mileage=100)


def test_the_database_refuses_a_warning_above_the_maximum_too(
    db: str, raw_conn: psycopg.Connection
) -> None:
    create_shoe("Hoka Clifton 9")
    with pytest.raises(psycopg.errors.CheckViolation):
        raw_conn.execute("UPDATE shoes SET warning_mileage = 900")
