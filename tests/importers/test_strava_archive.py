"""fitness.importers.strava_archive: Strava's activities.csv in every generation and language,
its dates, and shoes.csv."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from fitness.errors import InvalidImport
from fitness.importers._csv import RowError, SkippedActivity
from fitness.importers.strava_archive import (
    DATE_LOCALES,
    ArchiveActivity,
    ArchiveRide,
    ArchiveShoe,
    StravaActivities,
    _month_numbers,
    parse_activity_date,
    read_shoes_csv,
)
from tests.activity_files import FIXTURES


def rows_of(name: str, distance_unit: str | None = None) -> list[object]:
    with (FIXTURES / name).open(encoding="utf-8-sig", newline="") as text:
        return list(StravaActivities(text, distance_unit=distance_unit))  # type: ignore[arg-type]


def runs_of(rows: list[object]) -> dict[str, ArchiveActivity]:
    return {row.run.id: row for row in rows if isinstance(row, ArchiveActivity)}


def csv_text(header: list[str], *rows: list[str]) -> io.StringIO:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    buffer.seek(0)
    return buffer


def test_an_english_export_with_its_duplicated_columns() -> None:
    rows = rows_of("activities-en.csv")
    runs = runs_of(rows)
    assert set(runs) == {f"strava_1100000000{n}" for n in (1, 2, 4, 5, 7, 8)}
    first = runs["strava_11000000001"]
    # Metres from the raw Distance column, the moving time, the average heart rate (not the
    # first of the two Max Heart Rate columns).
    assert first.run.distance == 5.0 and first.run.duration == 2734
    assert first.run.avg_heart_rate == 151
    assert first.run.datetime_utc == datetime(2024, 3, 4, 6, 1, 2, tzinfo=UTC)
    assert (first.run.name, first.run.notes) == ("Morning Run", "Easy 8k, legs fresh")
    assert (first.gear, first.activity_file) == ("Nike Pegasus 40", "activities/11000000001.fit.gz")
    assert first.is_run and not first.type_known
    # A narrow no-break space before PM (newer CLDR), a description over two lines.
    second = runs["strava_11000000002"]
    assert second.run.datetime_utc == datetime(2024, 3, 5, 18, 15, 40, tzinfo=UTC)
    assert second.run.notes == "6 x 800 m, 90 s jog\nGym was packed, again"
    assert runs["strava_11000000004"].run.name == 'Hill repeats, "the big one"'
    virtual = runs["strava_11000000005"]
    assert virtual.run.type == "Treadmill Run" and virtual.type_known
    # A manual entry: no moving time, so the elapsed time.
    assert runs["strava_11000000007"].run.duration == 7200
    others = [row for row in rows if isinstance(row, SkippedActivity)]
    assert [(row.line, row.activity_type) for row in others] == [(8, "Walk")]
    (ride,) = [row for row in rows if isinstance(row, ArchiveRide)]
    # 25,100 m in 3,500 s of moving time (3,600 elapsed).
    assert (ride.line, ride.ride.id, ride.ride.type) == (5, "strava_11000000003", "Road Ride")
    assert ride.ride.distance == round(25100 / 1609.344, 4) and ride.ride.duration == 3500
    assert (ride.activity_file, ride.gear) == ("activities/11000000003.gpx", None)


def test_a_german_export_with_decimal_commas_and_day_first_dates() -> None:
    rows = rows_of("activities-de.csv")
    runs = runs_of(rows)
    run = runs["strava_12000000001"].run
    assert run.datetime_utc == datetime(2022, 12, 9, 15, 24, 49, tzinfo=UTC)
    assert run.distance == pytest.approx(9.44 / 1.609344, abs=1e-4)
    assert (run.duration, run.avg_heart_rate) == (3100, 149)
    assert runs["strava_12000000001"].gear == "Asics Novablast 3"
    assert runs["strava_12000000003"].run.type == "Treadmill Run"  # Virtueller Lauf
    assert [r.activity_type for r in rows if isinstance(r, SkippedActivity)] == []
    (ride,) = [row for row in rows if isinstance(row, ArchiveRide)]
    assert (ride.activity_type, ride.ride.type, ride.gear) == ("Radfahrt", "Road Ride", "Patria")


def test_a_french_export() -> None:
    rows = rows_of("activities-fr.csv")
    runs = runs_of(rows)
    run = runs["strava_13000000001"].run
    assert run.datetime_utc == datetime(2024, 3, 4, 6, 1, 2, tzinfo=UTC)
    assert (run.duration, run.avg_heart_rate) == (2850, 130.1)
    assert runs["strava_13000000001"].gear == "Hoka Clifton 9"
    assert "strava_13000000003" in runs  # Trail
    assert [r.activity_type for r in rows if isinstance(r, SkippedActivity)] == ["Natation"]


def test_a_spanish_export() -> None:
    rows = rows_of("activities-es.csv")
    runs = runs_of(rows)
    run = runs["strava_14000000001"].run
    assert run.datetime_utc == datetime(2024, 3, 4, 6, 1, 2, tzinfo=UTC)
    assert (run.distance, run.duration, run.avg_heart_rate) == (
        pytest.approx(8.1 / 1.609344, abs=1e-4),
        2850,
        155,
    )
    assert runs["strava_14000000003"].run.type == "Treadmill Run"  # Carrera virtual
    assert [r.activity_type for r in rows if isinstance(r, SkippedActivity)] == ["Caminata"]


def test_a_header_in_a_language_not_listed_is_read_by_position_and_duplicates() -> None:
    header = [
        "Aktiviteetin tunnus",
        "Päivämäärä",
        "Nimi",
        "Laji",
        "Kuvaus",
        "Kesto",
        "Matka",
        "Varuste",
        "Tiedosto",
        "Paino",
        "Pyörän paino",
        "Kesto",
        "Liikkumisaika",
        "Matka",
    ]
    row = ["17000000001", "4.3.2024, 6.01.02", "Aamulenkki", "Juoksu", "", "2900", "8,1"]
    row += ["", "", "", "", "2900.0", "2850.0", "8100.0"]
    rows = list(StravaActivities(csv_text(header, row)))
    [activity] = rows
    # The type is not one this reader knows: its activity file will decide.
    assert isinstance(activity, ArchiveActivity) and activity.is_run is None
    assert activity.run.datetime_utc == datetime(2024, 3, 4, 6, 1, 2, tzinfo=UTC)
    row[3] = "Run"
    [run] = list(StravaActivities(csv_text(header, row)))
    assert isinstance(run, ArchiveActivity)
    assert (run.run.distance, run.run.duration) == (pytest.approx(5.0331, abs=1e-4), 2850)


def test_a_csv_that_is_not_stravas_is_refused_whole() -> None:
    with pytest.raises(InvalidImport, match="not Strava's activities.csv"):
        list(StravaActivities(csv_text(["Workout Date", "Activity Type", "Distance (mi)"])))
    with pytest.raises(InvalidImport, match="empty"):
        list(StravaActivities(io.StringIO("")))


def test_a_2019_export_needs_the_accounts_unit() -> None:
    in_miles = runs_of(rows_of("activities-2019.csv", "mi"))["strava_15000000001"].run
    assert in_miles.distance == 5.0 and in_miles.duration == 2795
    assert runs_of(rows_of("activities-2019.csv", "km"))["strava_15000000001"].run.distance == (
        pytest.approx(3.1069, abs=1e-4)
    )
    [error, _ride] = rows_of("activities-2019.csv")
    assert isinstance(error, RowError) and "account's unit" in error.message


def test_a_2018_export_in_metres_with_iso_dates() -> None:
    run = runs_of(rows_of("activities-2018.csv"))["strava_16000000001"].run
    assert run.datetime_utc == datetime(2018, 9, 12, 15, 2, 23, tzinfo=UTC)
    assert run.distance == 5.0 and run.duration == 2795


def test_bad_rows_are_errors_with_their_lines() -> None:
    header = (FIXTURES / "activities-en.csv").read_text(encoding="utf-8").splitlines()[0]
    good = next(csv.reader([(FIXTURES / "activities-en.csv").read_text().splitlines()[1]]))
    bad_date, bad_id, negative, short = list(good), list(good), list(good), good[:5]
    bad_date[1] = "someday"
    bad_id[0] = "12ab"
    negative[17] = "-5"
    rows = list(StravaActivities(csv_text(header.split(","), bad_date, bad_id, negative, short)))
    assert all(isinstance(row, RowError) for row in rows)
    assert [row.line for row in rows] == [2, 3, 4, 5]  # type: ignore[union-attr]
    messages = [row.message for row in rows]  # type: ignore[union-attr]
    assert "date" in messages[0] and "not a Strava id" in messages[1]
    assert "negative" in messages[2] and "fields where the header has" in messages[3]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mar 4, 2024, 6:01:02 AM", (2024, 3, 4, 6, 1, 2)),
        ("Mar 4, 2024, 6:01:02\u202fPM", (2024, 3, 4, 18, 1, 2)),
        ("Dec 31, 2023, 12:30:00 AM", (2023, 12, 31, 0, 30, 0)),
        ("Dec 31, 2023, 12:30:00 PM", (2023, 12, 31, 12, 30, 0)),
        ("4 Mar 2024, 06:01:02", (2024, 3, 4, 6, 1, 2)),
        ("09.12.2022, 15:24:49", (2022, 12, 9, 15, 24, 49)),
        ("4. März 2024, 06:01:02", (2024, 3, 4, 6, 1, 2)),
        ("4 mars 2024, 06:01:02", (2024, 3, 4, 6, 1, 2)),
        ("4 déc. 2024, 18:10:00", (2024, 12, 4, 18, 10, 0)),
        ("17 sept 2024, 19:45:00", (2024, 9, 17, 19, 45, 0)),
        ("4 mar 2024, 6:01:02 p. m.", (2024, 3, 4, 18, 1, 2)),
        ("4 de mar. de 2024, 06:01:02", (2024, 3, 4, 6, 1, 2)),
        ("4 mrt 2024, 06:01:02", (2024, 3, 4, 6, 1, 2)),
        ("2024/03/04 6:01:02", (2024, 3, 4, 6, 1, 2)),
        ("2024. 3. 4. 오후 6:01:02", (2024, 3, 4, 18, 1, 2)),
        ("2018-09-12 15:02:23", (2018, 9, 12, 15, 2, 23)),
        ("4.3.2024 klo 6.01.02", (2024, 3, 4, 6, 1, 2)),
    ],
)
def test_activity_dates_in_every_language_are_utc(text: str, expected: tuple[int, ...]) -> None:
    assert parse_activity_date(text) == datetime(*expected, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["", "someday", "Mar 4, 2024", "Foo 4, 2024, 6:01:02", "31.02.2024, 06:00:00",
             "Mar 4, 2024, 13:01:02 PM"]
)  # fmt: skip
def test_what_is_not_a_date_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_activity_date(text)


def test_every_month_name_of_every_language_is_one_month() -> None:
    months = _month_numbers()
    assert months["mar"] == 3 and months["märz"] == 3 and months["déc"] == 12
    assert months["sept"] == 9 and months["mrt"] == 3
    assert len(DATE_LOCALES) >= 4 and set(months.values()) == set(range(1, 13))


def test_shoes_csv_gives_every_shoe_and_the_names_a_gear_cell_uses() -> None:
    with (FIXTURES / "shoes.csv").open(encoding="utf-8", newline="") as text:
        shoes = read_shoes_csv(text)
    assert [shoe.name for shoe in shoes] == [
        "Nike Pegasus 40",
        "Speedy",
        "Hoka Clifton 9",
        "Brooks Ghost 12",
    ]
    assert shoes[1].names == (
        "Speedy",
        "Saucony Endorphin Speed 3 Speedy",
        "Saucony Endorphin Speed 3",
    )
    assert ArchiveShoe("", "", "").name == ""
