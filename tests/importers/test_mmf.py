"""fitness.importers.mmf: MapMyFitness export rows turned into runs, skips and row errors."""

from __future__ import annotations

import io
import itertools
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from fitness.errors import InvalidImport
from fitness.importers.mmf import (
    MMFExport,
    MMFRow,
    MMFRun,
    RowError,
    SkippedActivity,
    clean_text,
    parse_mmf_csv,
    parse_workout_date,
    shoe_name_from_notes,
    timezone_named,
)
from tests.importers.mmf_csv import HEADER, SAMPLE_EXPORT, mmf_csv, mmf_row


def parse(text: str, timezone: str = "UTC") -> list[MMFRow]:
    return list(parse_mmf_csv(io.StringIO(text, newline=""), timezone))


def runs_of(rows: list[MMFRow]) -> list[MMFRun]:
    return [row for row in rows if isinstance(row, MMFRun)]


def errors_of(rows: list[MMFRow]) -> list[RowError]:
    return [row for row in rows if isinstance(row, RowError)]


def test_the_sample_export_parses_into_runs_and_skipped_activities() -> None:
    with open(SAMPLE_EXPORT, encoding="utf-8-sig", newline="") as stream:
        rows = list(parse_mmf_csv(stream, "America/New_York"))
    assert errors_of(rows) == []
    runs = runs_of(rows)
    skipped = [row for row in rows if isinstance(row, SkippedActivity)]
    assert len(runs) >= 50
    assert {s.activity_type for s in skipped} >= {"Walk", "Bike Ride"}
    assert {r.run.type for r in runs} == {"Outdoor Run", "Treadmill Run"}
    assert any(r.run.avg_heart_rate is None for r in runs)
    assert any(r.run.shoe_name == "Brooks Ghost 15" for r in runs)
    assert len({r.run.id for r in runs}) == len(runs)
    assert all(r.run.source == "MapMyFitness" for r in runs)


def test_a_row_becomes_a_run_with_the_id_from_its_link() -> None:
    [parsed] = parse(
        mmf_csv(
            [
                mmf_row(
                    Link="https://www.mapmyfitness.com/workout/8622076198",
                    Distance_mi="3.11",
                    **{"Workout Time (seconds)": "1680", "Avg Heart Rate": "151"},
                )
            ]
        )
    )
    assert isinstance(parsed, MMFRun)
    run = parsed.run
    assert (run.id, run.type, run.distance, run.duration, run.avg_heart_rate) == (
        "mmf_8622076198",
        "Outdoor Run",
        3.11,
        1680.0,
        151.0,
    )
    assert parsed.line == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("May 6, 2025", date(2025, 5, 6)),
        ("Jan. 14, 2025", date(2025, 1, 14)),
        ("Sept. 24, 2024", date(2024, 9, 24)),
        ("Sep. 24, 2024", date(2024, 9, 24)),
        ("June 3, 2025", date(2025, 6, 3)),
        ("March 31, 2025", date(2025, 3, 31)),
        ("Dec.  1, 2024", date(2024, 12, 1)),
        ("2025-05-06", date(2025, 5, 6)),
    ],
)
def test_workout_dates_in_the_export_formats(text: str, expected: date) -> None:
    assert parse_workout_date(text) == expected


@pytest.mark.parametrize("text", ["", "Sept. 31, 2024", "Foo 1, 2025", "6 May 2025", "May 6"])
def test_unrecognised_workout_dates_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_workout_date(text)


@pytest.mark.parametrize(
    ("timezone", "workout_date", "utc"),
    [
        ("UTC", "May 6, 2025", datetime(2025, 5, 6, 12, tzinfo=UTC)),
        ("America/New_York", "May 6, 2025", datetime(2025, 5, 6, 16, tzinfo=UTC)),
        ("America/New_York", "Jan. 14, 2025", datetime(2025, 1, 14, 17, tzinfo=UTC)),
        ("Europe/Berlin", "Sept. 24, 2024", datetime(2024, 9, 24, 10, tzinfo=UTC)),
        ("Pacific/Auckland", "Jan. 14, 2025", datetime(2025, 1, 13, 23, tzinfo=UTC)),
    ],
)
def test_a_run_is_dated_at_local_noon_in_the_chosen_timezone(
    timezone: str, workout_date: str, utc: datetime
) -> None:
    [parsed] = parse(mmf_csv([mmf_row(Workout_Date=workout_date)]), timezone)
    assert isinstance(parsed, MMFRun)
    assert parsed.run.datetime_utc == utc


def test_activity_types_map_to_run_types_and_others_are_skipped() -> None:
    rows = parse(
        mmf_csv(
            [
                mmf_row(Activity_Type="Run"),
                mmf_row(Activity_Type="Indoor Run / Jog"),
                mmf_row(Activity_Type="Walk"),
                mmf_row(Activity_Type="Bike Ride"),
            ]
        )
    )
    assert [r.run.type for r in runs_of(rows)] == ["Outdoor Run", "Treadmill Run"]
    assert [(r.line, r.activity_type) for r in rows if isinstance(r, SkippedActivity)] == [
        (4, "Walk"),
        (5, "Bike Ride"),
    ]


def test_the_shoe_comes_from_shoes_in_the_notes() -> None:
    rows = parse(
        mmf_csv(
            [
                mmf_row(Notes="Long run, hot\nShoes: Brooks Ghost 15"),
                mmf_row(Notes="Shoes:Hoka Clifton 9."),
                mmf_row(Notes="Easy, no shoe noted"),
            ]
        )
    )
    assert [r.run.shoe_name for r in runs_of(rows)] == ["Brooks Ghost 15", "Hoka Clifton 9", None]


def test_shoe_name_from_notes_takes_the_rest_of_its_line() -> None:
    assert shoe_name_from_notes("Tempo, felt good\r\nshoes: Nike Pegasus 38\r\nwindy") == (
        "Nike Pegasus 38"
    )
    assert shoe_name_from_notes("Shoes:   ") is None


def test_empty_or_zero_heart_rate_means_unknown() -> None:
    rows = parse(mmf_csv([mmf_row(Avg_Heart_Rate=""), mmf_row(Avg_Heart_Rate="0")]))
    assert [r.run.avg_heart_rate for r in runs_of(rows)] == [None, None]


def test_bom_crlf_quoted_newlines_and_trailing_blank_lines_are_handled() -> None:
    text = mmf_csv(
        [
            mmf_row(Notes='Intervals, "8 x 400m"\r\non the track\r\nShoes: Hoka Clifton 9'),
            mmf_row(Notes="after a multi-line note"),
        ]
    )
    rows = parse(text + "\r\n\r\n\r\n")
    assert errors_of(rows) == []
    assert [r.line for r in rows] == [2, 5]
    assert runs_of(rows)[0].run.shoe_name == "Hoka Clifton 9"


def test_extra_and_reordered_columns_are_fine() -> None:
    header = ["Link", "Mood", *reversed(HEADER[:-1]), "Gear"]
    rows = parse(mmf_csv([mmf_row(Distance_mi="6.2") | {"Mood": "great"}], header, bom=False))
    [parsed] = rows
    assert isinstance(parsed, MMFRun) and parsed.run.distance == 6.2


def test_a_header_with_stray_spaces_and_other_case_is_recognised() -> None:
    header = [f" {name.upper()} " for name in HEADER]
    text = mmf_csv([], header) + "\r\n".join([",".join(f'"{v}"' for v in mmf_row().values())])
    assert len(runs_of(parse(text))) == 1


def test_a_missing_required_column_is_an_error_naming_it() -> None:
    header = [name for name in HEADER if name != "Link"]
    with pytest.raises(InvalidImport, match="'Link'"):
        parse(mmf_csv([mmf_row()], header))


def test_several_missing_columns_are_all_named() -> None:
    with pytest.raises(InvalidImport) as caught:
        parse(mmf_csv([], ["Date Submitted", "Notes", "Link"]))
    for name in ("Workout Date", "Activity Type", "Distance (mi)", "Workout Time (seconds)"):
        assert repr(name) in str(caught.value)


def test_bad_rows_are_reported_with_their_line_and_do_not_stop_the_others() -> None:
    text = mmf_csv(
        [
            mmf_row(Notes="two\nlines"),
            mmf_row(Workout_Date="Smarch 3, 2025"),
            mmf_row(Distance_mi="three"),
            mmf_row(Link="https://example.com/workout/1"),
            mmf_row(Distance_mi="-1.5"),
            mmf_row(**{"Workout Time (seconds)": ""}),
            mmf_row(Avg_Heart_Rate="999"),
            mmf_row(Distance_mi="nan"),
            mmf_row(),
        ]
    )
    rows = parse(text)
    errors = errors_of(rows)
    assert [e.line for e in errors] == [4, 5, 6, 7, 8, 9, 10]
    messages = [e.message for e in errors]
    assert "Workout Date" in messages[0] and "Smarch" in messages[0]
    assert "Distance (mi)" in messages[1] and "'three'" in messages[1]
    assert "Link" in messages[2]
    assert "Distance (mi)" in messages[3] and "from 0" in messages[3]
    assert "Workout Time (seconds)" in messages[4] and "empty" in messages[4]
    assert "Avg Heart Rate" in messages[5]
    assert "finite" in messages[6]
    assert [r.line for r in runs_of(rows)] == [2, 11]


def test_several_problems_in_one_row_are_reported_together() -> None:
    [error] = parse(mmf_csv([mmf_row(Workout_Date="soon", Distance_mi="far")]))
    assert isinstance(error, RowError)
    assert "Workout Date" in error.message and "Distance (mi)" in error.message


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        ('"May 6, 2025","May 6, 2025",Run,300,3.1,1700\r\n', 6),
        # A date whose quotes an editor dropped: its comma makes one field two.
        (
            "May 6, 2025,May 6, 2025,Walk,300,3.1,1700,9,8,6,7,,5000,,Map My Run iPhone,"
            "https://www.mapmyfitness.com/workout/86\r\n",
            17,
        ),
    ],
)
def test_a_row_with_more_or_fewer_fields_than_the_header_is_an_error(
    line: str, fields: int
) -> None:
    rows = parse(mmf_csv([mmf_row()]) + line + mmf_csv([mmf_row()], bom=False).split("\r\n", 1)[1])
    assert [type(row) for row in rows] == [MMFRun, RowError, MMFRun]
    error = rows[1]
    assert isinstance(error, RowError)
    assert error.line == 3
    assert f"has {fields} fields where the header has {len(HEADER)}" in error.message


def test_a_huge_field_is_a_row_error_and_parsing_goes_on() -> None:
    huge = "x" * 300_000
    text = mmf_csv([mmf_row(Notes=huge), mmf_row()])
    rows = parse(text)
    [error] = errors_of(rows)
    assert error.line == 2 and "field" in error.message
    assert len(runs_of(rows)) == 1


def test_an_overlong_line_is_skipped_with_an_error_and_parsing_goes_on() -> None:
    text = mmf_csv([mmf_row()]) + "g" * 2_500_000 + "\r\n" + mmf_csv([mmf_row()], bom=False)
    rows = parse(text)
    [error] = errors_of(rows)
    assert error.line == 3 and "longer than" in error.message
    assert len(runs_of(rows)) == 2


def test_text_that_is_not_utf8_is_a_clear_error() -> None:
    data = mmf_csv([mmf_row(Notes="Café run")], bom=False).encode("latin-1")
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    with pytest.raises(InvalidImport, match="not UTF-8"):
        list(parse_mmf_csv(stream))


def test_binary_garbage_is_a_clear_error() -> None:
    data = bytes(range(256)) * 64
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    with pytest.raises(InvalidImport):
        list(parse_mmf_csv(stream))


@pytest.mark.parametrize("text", ["", "\ufeff", "\r\n\r\n"])
def test_an_empty_file_is_a_clear_error(text: str) -> None:
    with pytest.raises(InvalidImport, match="empty"):
        parse(text)


def test_an_unknown_timezone_is_a_clear_error() -> None:
    with pytest.raises(InvalidImport, match="Mars/Olympus_Mons"):
        parse(mmf_csv([mmf_row()]), "Mars/Olympus_Mons")


def test_parsing_is_lazy_so_even_an_endless_export_yields_runs() -> None:
    rows = itertools.islice(parse_mmf_csv(_EndlessExport(), "UTC"), 5_000)
    assert sum(isinstance(row, MMFRun) for row in rows) == 5_000


def test_memory_stays_flat_however_long_the_file(tmp_path: Path) -> None:
    # tracemalloc makes parsing ~6x slower, so 25,000 rows (a 5 MB file) stand in for the
    # 100,000 of a real export: what is held at any time is one row, not the file.
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(mmf_csv([]))
        for n in range(25_000):
            out.write(_data_line(7_000_000_000 + n))
    size = path.stat().st_size
    tracemalloc.start()
    try:
        count = 0
        with open(path, encoding="utf-8-sig", newline="") as stream:
            for parsed in parse_mmf_csv(stream):
                count += isinstance(parsed, MMFRun)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 25_000
    assert size > 4_000_000
    assert peak < size / 20


def _data_line(workout_id: int) -> str:
    return _DATA_LINE.replace("{id}", str(workout_id))


_DATA_LINE = mmf_csv(
    [
        mmf_row(
            Notes="Easy, 5k\nShoes: Brooks Ghost 15",
            Link="https://www.mapmyfitness.com/workout/{id}",
        )
    ],
    bom=False,
).split("\r\n", 1)[1]


class _EndlessExport(io.TextIOBase):
    """A text stream of an export that never ends: only a lazy parser can read it."""

    def __init__(self) -> None:
        self._header = mmf_csv([])
        self._next_id = 9_000_000_000

    def readable(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> str:
        if self._header:
            line, self._header = self._header, ""
            return line
        self._next_id += 1
        return _data_line(self._next_id)


CASES = Path(__file__).resolve().parent.parent / "fixtures" / "cases"


def parse_case(name: str) -> tuple[MMFExport, list[MMFRow]]:
    with open(CASES / name, encoding="utf-8-sig", newline="") as stream:
        export = MMFExport(stream, "UTC")
        return export, list(export)


def test_a_metric_export_is_read_in_km_and_converted_to_miles_exactly() -> None:
    export, rows = parse_case("mmf-metric-export.csv")
    assert export.distance_unit == "km"
    runs = runs_of(rows)
    # The export wrote miles × 1.609344; decimal arithmetic gives those miles back exactly.
    assert [r.run.distance for r in runs] == [4.5404, 3.64224]
    assert [r.run.notes for r in runs] == [None, "Muddy lanes"]
    assert [(r.line, r.activity_type) for r in rows if isinstance(r, SkippedActivity)] == [
        (4, "Walk")
    ]


def test_an_imperial_export_says_miles() -> None:
    export = MMFExport(io.StringIO(mmf_csv([mmf_row()]), newline=""))
    assert export.distance_unit is None
    [parsed] = list(export)
    assert export.distance_unit == "mi" and isinstance(parsed, MMFRun)


def test_without_a_distance_column_both_units_are_named() -> None:
    header = [name for name in HEADER if name != "Distance (mi)"]
    with pytest.raises(InvalidImport, match=r"'Distance \(mi\)'.*'Distance \(km\)'"):
        parse(mmf_csv([], header))


def test_notes_written_as_bytes_literals_are_decoded_before_the_shoe_is_read() -> None:
    _, rows = parse_case("mmf-bytes-notes.csv")
    runs = runs_of(rows)
    assert [r.run.shoe_name for r in runs] == ["Hoka Clifton 9", "Hoka Clifton 9"]
    assert [r.run.notes for r in runs] == [
        "Shoes: Hoka Clifton 9",
        "Hot, dry and slow. Shoes: Hoka Clifton 9",
    ]


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        ("b'Shoes: Hoka Clifton 9'", "Shoes: Hoka Clifton 9"),
        ('b"Shoes: Hoka Clifton 9"', "Shoes: Hoka Clifton 9"),
        ("b'it\\'s hot'", "it's hot"),
        ('b"say \\"hi\\""', 'say "hi"'),
        ("b'Caf\\xc3\\xa9 \\xe2\\x80\\x93 hills'", "Café – hills"),
        ("b'caf\\xe9'", "café"),
        ("b'two\\nlines\\r\\nShoes: X'", "two\nlines\nShoes: X"),
        ("B'upper'", "upper"),
        ("br'raw\\n'", "raw\\n"),
        ("u'unicode'", "unicode"),
        ("b''", ""),
        ("  b'  padded  '  ", "padded"),
        ("Hot &amp; humid, it&#39;s &#x2019; &quot;ok&quot;", 'Hot & humid, it\'s ’ "ok"'),
        ("Fish&notes &not really", "Fish&notes &not really"),
        ("tab\tkept\x00nul\x07bell gone", "tab\tkeptnulbell gone"),
        ("windows\r\nline\rbreaks", "windows\nline\nbreaks"),
        # Not one literal: text a runner could have written, left alone.
        ("b'day run", "b'day run"),
        ("b'a' + b'b'", "b'a' + b'b'"),
        ("'quoted'", "'quoted'"),
        ("bold run'", "bold run'"),
    ],
)
def test_export_artefacts_are_decoded_or_removed(cell: str, text: str) -> None:
    assert clean_text(cell) == text


def test_artefacts_are_removed_from_every_column_used() -> None:
    [parsed] = parse(
        mmf_csv(
            [
                mmf_row(
                    Activity_Type="b'Run'",
                    Distance_mi="b'3.5'",
                    Notes="b'Easy\\nShoes: Brooks Ghost 15'",
                    Link="b'https://www.mapmyrun.com/workout/77'",
                )
            ]
        )
    )
    assert isinstance(parsed, MMFRun)
    run = parsed.run
    assert (run.id, run.distance, run.shoe_name, run.notes) == (
        "mmf_77",
        3.5,
        "Brooks Ghost 15",
        "Easy\nShoes: Brooks Ghost 15",
    )


@pytest.mark.parametrize("notes", ["", "None", "nan", "NaN", "b''", "  "])
def test_missing_notes_are_none(notes: str) -> None:
    [parsed] = parse(mmf_csv([mmf_row(Notes=notes)]))
    assert isinstance(parsed, MMFRun) and parsed.run.notes is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("3.11", 3.11),
        ("1,234.5", 1234.5),
        ("3,11", 3.11),
        ("1.234,5", 1234.5),
        ("12 345.5", 12345.5),
    ],
)
def test_numbers_in_the_formats_of_other_locales(text: str, seconds: float) -> None:
    # Thousands separators: a duration in seconds has them, a distance in miles never does
    # within its 1,000-mile bound.
    [parsed] = parse(mmf_csv([mmf_row(Workout_Time_seconds=text)]))
    assert isinstance(parsed, MMFRun) and parsed.run.duration == seconds


def test_notes_are_kept_as_the_runner_wrote_them() -> None:
    notes = "Intervals 8 x 400m, windy.\nShoes: Brooks Ghost 15\nFelt great 🙂"
    [parsed] = parse(mmf_csv([mmf_row(Notes=notes)]))
    assert isinstance(parsed, MMFRun)
    assert (parsed.run.notes, parsed.run.name) == (notes, None)


def test_notes_too_long_to_store_are_a_row_error() -> None:
    [error] = parse(mmf_csv([mmf_row(Notes="x" * 100_001)]))
    assert isinstance(error, RowError) and "Notes" in error.message


@pytest.mark.parametrize("shoe", ["Кроссовки Привет 2", "ナイキ ペガサス 40", "Größe 42", "★★★"])
def test_a_shoe_named_in_any_script_keeps_its_run(shoe: str) -> None:
    [parsed] = parse(mmf_csv([mmf_row(Notes=f"Shoes: {shoe}")]))
    assert isinstance(parsed, MMFRun)
    assert (parsed.run.shoe_name, parsed.warning) == (shoe, None)


def test_a_shoes_line_that_cannot_name_a_shoe_keeps_the_run_without_one() -> None:
    notes = "Shoes: " + "my old blue ones that I bought in Berlin " * 5
    [parsed] = parse(mmf_csv([mmf_row(Notes=notes)]))
    assert isinstance(parsed, MMFRun)
    assert parsed.run.shoe_name is None and parsed.run.notes == notes.strip()
    assert parsed.warning is not None and "without one" in parsed.warning


def test_links_of_every_mapmy_site_are_runs_and_other_sites_are_row_errors() -> None:
    links = [
        "http://www.mapmyfitness.com/workout/1",
        "https://www.mapmyrun.com/workout/2",
        "http://mapmyride.com/workout/3",
        "https://www.mapmywalk.com/de/workout/4",
        "https://www.mapmyhike.com/workout/5/",
        "https://www.mapmydogwalk.com/workout/6",
        "https://www.strava.com/activities/7",
    ]
    rows = parse(mmf_csv([mmf_row(Link=link) for link in links]))
    assert [r.run.id for r in runs_of(rows)] == [f"mmf_{n}" for n in range(1, 7)]
    [error] = errors_of(rows)
    assert error.line == 8 and "strava.com" in error.message


def test_a_timezone_name_too_long_for_the_zone_database_is_an_invalid_import() -> None:
    with pytest.raises(InvalidImport, match="unknown timezone"):
        timezone_named("Europe/" + "x" * 300)
