"""fitness.db.shoes: shoes by normalised id, retirement, soft delete, computed mileage."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from fitness.db.runs import bulk_create_runs, delete_run
from fitness.db.runs_history import update_run_with_history
from fitness.db.shoes import (
    bulk_create_shoes_by_names,
    create_missing_shoes,
    create_shoe,
    delete_shoe_by_id,
    get_existing_shoes_by_names,
    get_shoe_by_id,
    get_shoes,
    retire_shoe_by_id,
    sync_gear_shoes,
    unretire_shoe_by_id,
    update_shoe_by_id,
)
from fitness.errors import InvalidUpdate, ShoeExists, ShoeNotFound, UnknownFields
from fitness.ids import disambiguated_shoe_id, shoe_id_from_name, shoe_name_key
from fitness.models import ProviderGear
from tests.factories import RunFactory


def test_create_shoe_derives_its_id_from_the_name(db: str) -> None:
    shoe = create_shoe("  Nike Air Zoom Pegasus 38 ", notes="daily trainer")
    assert (shoe.id, shoe.name, shoe.notes) == (
        "nike_air_zoom_pegasus_38",
        "Nike Air Zoom Pegasus 38",
        "daily trainer",
    )
    assert (shoe.mileage, shoe.run_count, shoe.is_retired) == (0.0, 0, False)


def test_a_name_normalising_to_an_existing_id_is_a_conflict(db: str) -> None:
    create_shoe("Brooks Ghost 15")
    with pytest.raises(ShoeExists) as caught:
        create_shoe("brooks-ghost 15")
    assert caught.value.shoe_id == "brooks_ghost_15"


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_an_empty_or_overlong_name_is_invalid(db: str, name: str) -> None:
    with pytest.raises(InvalidUpdate) as caught:
        create_shoe(name)
    assert "name" in caught.value.errors


def test_a_name_in_any_script_is_a_shoe_with_a_readable_id(db: str) -> None:
    assert create_shoe("Кроссовки Привет 2").id == "krossovki_privet_2"
    assert create_shoe("Größe 42").id == "grosse_42"
    assert create_shoe("ナイキ ペガサス 40").id == "naiki_pegasasu_40"
    assert create_shoe("???").id == shoe_id_from_name("???")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("ナイキ 40", "アシックス 40"),
        ("Привет", "Privet"),
        ("Größe 42", "Grosse 42"),
        ("!!!", "???"),
    ],
)
def test_different_names_never_collide(db: str, first: str, second: str) -> None:
    one, other = create_shoe(first), create_shoe(second)
    assert one.id != other.id
    assert (one.name, other.name) == (first, second)
    mapping = bulk_create_shoes_by_names({first, second, first.upper()})
    assert mapping == {first: one.id, second: other.id, first.upper(): one.id}


def test_names_that_transliterate_alike_are_told_apart_in_one_import(db: str) -> None:
    mapping, created = create_missing_shoes({"Privet 2", "Привет 2", "привет-2"})
    assert created == ["Privet 2", "Привет 2"]
    assert mapping["Привет 2"] == mapping["привет-2"] != mapping["Privet 2"]
    assert {shoe.name: shoe.id for shoe in get_shoes()} == {
        "Privet 2": "privet_2",
        "Привет 2": disambiguated_shoe_id("privet_2", shoe_name_key("Привет 2")),
    }


def test_mileage_and_run_count_come_from_non_deleted_runs(db: str, runs: RunFactory) -> None:
    create_shoe("Hoka Clifton 9")
    batch = [runs.make(shoe_id="hoka_clifton_9", distance=d) for d in (3.0, 4.5, 10.0)]
    bulk_create_runs(batch)
    delete_run(batch[2].id, changed_by="me")
    update_run_with_history(batch[0].id, {"distance": 3.5}, changed_by="me")
    shoe = get_shoe_by_id("hoka_clifton_9")
    assert shoe is not None
    assert (shoe.mileage, shoe.run_count) == (8.0, 2)


def test_retire_and_unretire(db: str) -> None:
    create_shoe("Brooks Ghost 15")
    retired = retire_shoe_by_id("brooks_ghost_15", date(2025, 3, 1), "Worn out after 500 miles")
    assert retired.is_retired and retired.retired_at == date(2025, 3, 1)
    assert retired.retirement_notes == "Worn out after 500 miles"
    back = unretire_shoe_by_id("brooks_ghost_15")
    assert not back.is_retired and back.retirement_notes is None


def test_get_shoes_filters_by_retirement_and_hides_deleted(db: str) -> None:
    for name in ("A Active", "B Retired", "C Deleted"):
        create_shoe(name)
    retire_shoe_by_id("b_retired", date(2024, 1, 1))
    delete_shoe_by_id("c_deleted")
    assert [s.id for s in get_shoes()] == ["a_active", "b_retired"]
    assert [s.id for s in get_shoes(retired=False)] == ["a_active"]
    assert [s.id for s in get_shoes(retired=True)] == ["b_retired"]
    assert [s.id for s in get_shoes(include_deleted=True)] == ["a_active", "b_retired", "c_deleted"]


def test_soft_deleted_shoes_are_gone_but_their_runs_keep_them(db: str, runs: RunFactory) -> None:
    create_shoe("Old Faithful")
    run = runs.make(shoe_id="old_faithful")
    bulk_create_runs([run])
    delete_shoe_by_id("old_faithful")
    assert get_shoe_by_id("old_faithful") is None
    assert get_shoe_by_id("old_faithful", include_deleted=True) is not None
    with pytest.raises(ShoeNotFound):
        delete_shoe_by_id("old_faithful")
    with pytest.raises(ShoeNotFound):
        retire_shoe_by_id("old_faithful", date(2025, 1, 1))


def test_update_shoe_refuses_unknown_fields_and_bad_values(db: str) -> None:
    create_shoe("Brooks Ghost 15")
    with pytest.raises(UnknownFields):
        update_shoe_by_id("brooks_ghost_15", {"name": "Renamed"})
    with pytest.raises(InvalidUpdate):
        update_shoe_by_id("brooks_ghost_15", {"retired_at": "2025-01-01"})
    with pytest.raises(ShoeNotFound):
        update_shoe_by_id("no_such_shoe", {"notes": "x"})
    assert update_shoe_by_id("brooks_ghost_15", {"notes": "race day"}).notes == "race day"


def test_bulk_create_maps_every_name_and_creates_only_missing(db: str) -> None:
    create_shoe("Brooks Ghost 15")
    mapping = bulk_create_shoes_by_names({"Brooks Ghost 15", "Nike Pegasus 40", "nike pegasus 40"})
    assert mapping == {
        "Brooks Ghost 15": "brooks_ghost_15",
        "Nike Pegasus 40": "nike_pegasus_40",
        "nike pegasus 40": "nike_pegasus_40",
    }
    assert [s.name for s in get_shoes()] == ["Brooks Ghost 15", "Nike Pegasus 40"]
    assert bulk_create_shoes_by_names(set()) == {}


def test_existing_shoes_by_names_matches_normalised_names(db: str) -> None:
    create_shoe("Brooks Ghost 15")
    assert get_existing_shoes_by_names({"BROOKS GHOST 15", "Unknown Shoe"}) == {
        "BROOKS GHOST 15": "brooks_ghost_15"
    }


def gear(gear_id: str, name: str | None, retired: bool | None = None) -> ProviderGear:
    return ProviderGear(provider="strava", gear_id=gear_id, name=name, retired=retired)


def test_a_gear_rename_to_a_name_another_shoe_has_keeps_the_shoes_apart(db: str) -> None:
    create_shoe("Peggy")
    sync_gear_shoes([gear("g1", "Nike Pegasus 40")])
    result = sync_gear_shoes([gear("g1", "peggy")])
    assert result.shoe_ids == {"g1": "nike_pegasus_40"}
    assert result.changes == ("Nike Pegasus 40 renamed to peggy (Strava g1) (renamed on Strava)",)
    assert sorted(shoe.name for shoe in get_shoes()) == ["Peggy", "peggy (Strava g1)"]


def test_gear_without_details_is_only_looked_up(db: str) -> None:
    assert sync_gear_shoes([gear("g1", None)]).shoe_ids == {}
    sync_gear_shoes([gear("g1", "Ghost 15", retired=False)])
    result = sync_gear_shoes([gear("g1", None)])
    assert (result.shoe_ids, result.changes) == ({"g1": "ghost_15"}, ())


def test_retiring_a_shoe_here_records_that_the_user_decided(
    db: str, raw_conn: psycopg.Connection
) -> None:
    create_shoe("Ghost 15")
    retire_shoe_by_id("ghost_15", date(2025, 1, 1))
    row = raw_conn.execute("SELECT retirement_set_by FROM shoes").fetchone()
    assert row == ("user",)
    assert sync_gear_shoes([gear("g1", "Ghost 15", retired=False)]).changes == ()
    assert get_shoe_by_id("ghost_15").is_retired  # type: ignore[union-attr]
