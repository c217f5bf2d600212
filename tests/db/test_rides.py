"""Rides (fitness/db/rides.py) and bikes (fitness/db/bikes.py) on real PostgreSQL: import,
paging, and the same versioning as runs (edit, no-op edit, If-Match, delete, restore,
history with changes), bike distance computed from rides."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import psycopg
import pytest

from fitness.db.bikes import bikes_for_gear, bikes_for_names, get_bike_by_id, get_bikes, retire_bike
from fitness.db.rides import (
    delete_ride,
    get_ride_by_id,
    get_ride_history,
    get_ride_history_page,
    get_ride_version_entry,
    import_rides,
    list_rides,
    restore_ride_version,
    update_ride_with_history,
)
from fitness.errors import (
    InvalidUpdate,
    ProtectedField,
    RideNotFound,
    UnknownFields,
    VersionConflict,
    VersionNotFound,
)
from fitness.models import ProviderGear
from fitness.ride_models import Ride
from tests.factories import RideFactory


@pytest.fixture
def rides() -> RideFactory:
    return RideFactory()


def test_import_stores_each_new_ride_once_with_its_original_version(
    db: str, rides: RideFactory
) -> None:
    made = rides.many(3)

    first = import_rides(made, changed_by="strava sync")
    again = import_rides(made)

    assert (first.inserted, first.skipped_existing) == (3, 0)
    assert (again.inserted, again.skipped_existing) == (0, 3)
    stored = get_ride_by_id(made[0].id)
    assert stored is not None
    assert (stored.distance, stored.avg_power, stored.kilojoules) == (21.0, 181.0, 651.0)
    (original,) = get_ride_history(made[0].id)
    assert (original.version_number, original.change_type) == (1, "original")
    assert original.changed_by == "strava sync"


def test_a_reimport_never_undoes_an_edit(db: str, rides: RideFactory) -> None:
    (ride,) = import_rides_of(rides.many(1))
    update_ride_with_history(ride.id, {"distance": 42.0}, "me")

    import_rides([ride])

    stored = get_ride_by_id(ride.id)
    assert stored is not None and stored.distance == 42.0 and stored.version == 2


def test_import_refuses_invalid_values_before_writing(db: str, rides: RideFactory) -> None:
    good, bad = rides.make(), rides.make(avg_power=-5.0)

    with pytest.raises(InvalidUpdate) as raised:
        import_rides([good, bad])

    assert list(raised.value.errors) == [f"{bad.id}.avg_power"]
    assert get_ride_by_id(good.id) is None


def test_an_edit_is_a_new_version_with_its_changes(db: str, rides: RideFactory) -> None:
    (ride,) = import_rides_of(rides.many(1))

    edited = update_ride_with_history(
        ride.id, {"avg_power": 200.0, "indoor": True}, "me", "power meter was off", 1
    )

    assert (edited.version, edited.avg_power, edited.indoor) == (2, 200.0, True)
    page = get_ride_history_page(ride.id)
    assert [v.version_number for v in page.versions] == [2, 1]
    assert page.versions[0].changes == {
        "avg_power": {"from": 181.0, "to": 200.0},
        "indoor": {"from": False, "to": True},
    }
    assert page.versions[0].change_reason == "power meter was off"
    assert page.versions[1].changes == {}


def test_an_edit_that_changes_nothing_writes_no_version(db: str, rides: RideFactory) -> None:
    (ride,) = import_rides_of(rides.many(1))

    same = update_ride_with_history(ride.id, {"distance": ride.distance}, "me")

    assert same.version == 1
    assert len(get_ride_history(ride.id)) == 1


def test_a_stale_expected_version_is_a_conflict_and_writes_nothing(
    db: str, rides: RideFactory
) -> None:
    (ride,) = import_rides_of(rides.many(1))
    update_ride_with_history(ride.id, {"distance": 30.0}, "someone else")

    with pytest.raises(VersionConflict) as raised:
        update_ride_with_history(ride.id, {"distance": 31.0}, "me", expected_version=1)

    assert (raised.value.current_version, raised.value.noun) == (2, "ride")
    assert "ride" in str(raised.value)
    stored = get_ride_by_id(ride.id)
    assert stored is not None and stored.distance == 30.0


def test_edits_are_checked_against_the_ride_rules(db: str, rides: RideFactory) -> None:
    (ride,) = import_rides_of(rides.many(1))

    with pytest.raises(ProtectedField):
        update_ride_with_history(ride.id, {"source": "Manual"}, "me")
    with pytest.raises(UnknownFields):
        update_ride_with_history(ride.id, {"shoe_id": "x"}, "me")
    with pytest.raises(InvalidUpdate) as raised:
        update_ride_with_history(ride.id, {"type": "Outdoor Run", "avg_power": 9000.0}, "me")
    assert set(raised.value.errors) == {"type", "avg_power"}
    with pytest.raises(InvalidUpdate) as unknown_bike:
        update_ride_with_history(ride.id, {"bike_id": "no_such_bike"}, "me")
    assert unknown_bike.value.errors == {"bike_id": "no bike has this id"}
    assert len(get_ride_history(ride.id)) == 1


def test_delete_then_restore_brings_the_ride_back_as_new_versions(
    db: str, rides: RideFactory
) -> None:
    (ride,) = import_rides_of(rides.many(1))
    update_ride_with_history(ride.id, {"name": "Wrong title"}, "me")

    deleted = delete_ride(ride.id, "me", expected_version=2)
    assert deleted.deleted_at is not None and deleted.version == 3
    assert get_ride_by_id(ride.id) is None
    with pytest.raises(RideNotFound):
        delete_ride(ride.id, "me")

    restored = restore_ride_version(ride.id, 1, "me", "first one was right")

    assert (restored.version, restored.deleted_at, restored.name) == (4, None, None)
    entries = get_ride_history_page(ride.id).versions
    assert [e.change_type for e in entries] == ["restore", "deletion", "edit", "original"]
    assert entries[0].changes == {"name": {"from": "Wrong title", "to": None}}
    assert get_ride_version_entry(ride.id, 3).change_type == "deletion"
    with pytest.raises(VersionNotFound, match="ride"):
        restore_ride_version(ride.id, 9, "me")
    with pytest.raises(RideNotFound):
        get_ride_history_page("strava_404")


def test_history_pages_follow_each_other(db: str, rides: RideFactory) -> None:
    (ride,) = import_rides_of(rides.many(1))
    for watts in (190.0, 200.0, 210.0, 220.0):
        update_ride_with_history(ride.id, {"avg_power": watts}, "me")

    first = get_ride_history_page(ride.id, limit=2)
    second = get_ride_history_page(ride.id, limit=2, cursor=first.next_cursor)
    third = get_ride_history_page(ride.id, limit=2, cursor=second.next_cursor)

    numbers = [v.version_number for page in (first, second, third) for v in page.versions]
    assert numbers == [5, 4, 3, 2, 1]
    assert third.next_cursor is None
    assert second.versions[-1].changes == {"avg_power": {"from": 181.0, "to": 190.0}}


def test_concurrent_edits_of_one_ride_give_gap_free_versions(db: str, rides: RideFactory) -> None:
    (ride,) = import_rides_of(rides.many(1))

    def edit(thread: int) -> None:
        for i in range(10):
            update_ride_with_history(ride.id, {"distance": 30 + thread + i / 100}, f"t{thread}")

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    numbers = [v.version_number for v in get_ride_history(ride.id)]
    assert numbers == list(range(41, 0, -1))


def test_list_pages_newest_first_and_filters(db: str, rides: RideFactory) -> None:
    bike = bikes_for_names(["Canyon Endurace"])["Canyon Endurace"]
    made = import_rides_of(rides.many(5) + [rides.make(bike_id=bike, type="Gravel Ride")])

    first = list_rides(limit=4)
    second = list_rides(limit=4, cursor=first.next_cursor)

    ids = [r.id for r in first.rides + second.rides]
    assert ids == [r.id for r in reversed(made)]
    assert second.next_cursor is None
    on_bike = list_rides(bike_id=bike).rides
    assert [(r.id, r.bike_name) for r in on_bike] == [(made[-1].id, "Canyon Endurace")]
    assert [r.id for r in list_rides(type="Gravel Ride").rides] == [made[-1].id]
    in_march_2nd = list_rides(start=date(2024, 3, 2), end=date(2024, 3, 2)).rides
    assert [r.id for r in in_march_2nd] == [made[1].id]


def test_bike_distance_is_summed_from_rides_not_deleted(db: str, rides: RideFactory) -> None:
    bike = bikes_for_names(["Canyon Endurace"])["Canyon Endurace"]
    a, b, c = import_rides_of(rides.many(3, bike_id=bike))
    delete_ride(c.id, "me")

    stored = get_bike_by_id(bike)

    assert stored is not None
    assert (stored.distance, stored.ride_count) == (a.distance + b.distance, 2)
    assert stored.last_ridden_at == b.datetime_utc


def test_strava_gear_finds_its_bike_again_and_follows_a_rename(db: str) -> None:
    first = bikes_for_gear([ProviderGear(provider="strava", gear_id="b123", name="Tarmac SL7")])
    renamed = bikes_for_gear([ProviderGear(provider="strava", gear_id="b123", name="Race bike")])

    assert first == renamed == {"b123": "tarmac_sl7"}
    (bike,) = get_bikes()
    assert (bike.name, bike.strava_gear_id) == ("Race bike", "b123")


def test_a_bike_named_in_an_archive_is_adopted_by_its_strava_gear(db: str) -> None:
    by_name = bikes_for_names(["Tarmac SL7"])
    by_gear = bikes_for_gear([ProviderGear(provider="strava", gear_id="b9", name="tarmac sl7")])

    assert by_name == {"Tarmac SL7": "tarmac_sl7"}
    assert by_gear == {"b9": "tarmac_sl7"}
    assert len(get_bikes()) == 1


def test_retire_and_unretire_a_bike(db: str) -> None:
    bike = bikes_for_names(["Old Steel"])["Old Steel"]

    retired = retire_bike(bike, date(2025, 1, 31))

    assert retired.retired_at == date(2025, 1, 31)
    assert [b.id for b in get_bikes(retired=True)] == [bike]
    assert retire_bike(bike, None).retired_at is None
    assert get_bikes(retired=True) == []


def test_the_database_refuses_what_the_rules_refuse(raw_conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        raw_conn.execute(
            "INSERT INTO rides (id, datetime_utc, type, distance, duration, source, avg_power) "
            "VALUES ('x', %s, 'Road Ride', 10, 100, 'Strava', 2600)",
            (datetime(2024, 1, 1, tzinfo=UTC),),
        )


def import_rides_of(made: list[Ride]) -> list[Ride]:
    """Import `made` and return it (the rides as given)."""
    import_rides(made)
    return made
