"""The database refuses what fitness.rules refuses: the CHECK constraints of the migrations
repeat each bound, so no path (a script writing SQL, a restore) can store a value that the
library and the API would refuse, and every sum over the log stays finite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from fitness import rules
from fitness.models import validate_run_fields

VALID_RUN = {
    "id": "strava_1",
    "datetime_utc": datetime(2025, 5, 6, 7, tzinfo=UTC),
    "type": "Outdoor Run",
    "distance": 5.0,
    "duration": 2400.0,
    "source": "Strava",
    "avg_heart_rate": 150.0,
}

# (field, at the bound: stored, just beyond it: refused)
RUN_BOUNDS = [
    ("distance", 0.0, -0.001),
    ("distance", rules.DISTANCE_RESOLUTION, rules.DISTANCE_RESOLUTION / 2),
    ("distance", rules.MAX_DISTANCE_MILES, rules.MAX_DISTANCE_MILES + 0.001),
    ("duration", 0.001, 0.0),
    ("duration", float(rules.MAX_DURATION_SECONDS), rules.MAX_DURATION_SECONDS + 0.001),
    ("avg_heart_rate", float(rules.MIN_HEART_RATE), rules.MIN_HEART_RATE - 0.001),
    ("avg_heart_rate", float(rules.MAX_HEART_RATE), rules.MAX_HEART_RATE + 0.001),
    ("datetime_utc", rules.EARLIEST_START, rules.EARLIEST_START - timedelta(seconds=1)),
    # Relative to the moment the test runs (see `when`).
    ("datetime_utc", timedelta(minutes=-1), timedelta(minutes=1)),
]


def when(value: object) -> object:
    """A bound given as an offset is that far from a day from now, at the time of asking."""
    if isinstance(value, timedelta):
        return datetime.now(UTC) + rules.FUTURE_ALLOWANCE + value
    return value


def insert_run(conn: psycopg.Connection, **values: object) -> None:
    run = {**VALID_RUN, **values}
    conn.execute(
        """
        INSERT INTO runs (id, datetime_utc, type, distance, duration, source, avg_heart_rate)
        VALUES (%(id)s, %(datetime_utc)s, %(type)s, %(distance)s, %(duration)s, %(source)s,
                %(avg_heart_rate)s)
        """,
        run,
    )


@pytest.mark.parametrize(("field", "inside", "beyond"), RUN_BOUNDS)
def test_the_library_and_the_database_refuse_the_same_run_values(
    raw_conn: psycopg.Connection, field: str, inside: object, beyond: object
) -> None:
    inside, beyond = when(inside), when(beyond)
    assert validate_run_fields({field: inside}) == {}
    assert set(validate_run_fields({field: beyond})) == {field}

    insert_run(raw_conn, **{field: inside})
    with pytest.raises(psycopg.errors.CheckViolation):
        insert_run(raw_conn, id="strava_2", **{field: beyond})


@pytest.mark.parametrize(
    ("column", "limit"),
    [
        ("changed_by", rules.MAX_CHANGED_BY_CHARS),
        ("change_reason", rules.MAX_CHANGE_REASON_CHARS),
    ],
)
def test_change_notes_longer_than_their_bound_cannot_be_stored(
    raw_conn: psycopg.Connection, column: str, limit: int
) -> None:
    insert_run(raw_conn)
    snapshot = f"""
        INSERT INTO runs_history (run_id, version_number, change_type, datetime_utc, type,
                                  distance, duration, source, {column})
        SELECT id, %s, 'original', datetime_utc, type, distance, duration, source, %s
        FROM runs
        """
    raw_conn.execute(snapshot, (1, "x" * limit))
    with pytest.raises(psycopg.errors.CheckViolation):
        raw_conn.execute(snapshot, (2, "x" * (limit + 1)))


@pytest.mark.parametrize(
    ("column", "limit"),
    [
        ("name", rules.MAX_SHOE_NAME_CHARS),
        ("notes", rules.MAX_SHOE_NOTES_CHARS),
        ("retirement_notes", rules.MAX_SHOE_NOTES_CHARS),
    ],
)
def test_shoe_texts_longer_than_their_bound_cannot_be_stored(
    raw_conn: psycopg.Connection, column: str, limit: int
) -> None:
    def insert(shoe_id: str, text: str) -> None:
        values = {"id": shoe_id, "name": f"Shoe {shoe_id}", column: text}
        raw_conn.execute(
            "INSERT INTO shoes (id, name, notes, retirement_notes) "
            "VALUES (%(id)s, %(name)s, %(notes)s, %(retirement_notes)s)",
            {"notes": None, "retirement_notes": None, **values},
        )

    insert("shoe_a", "x" * limit)
    with pytest.raises(psycopg.errors.CheckViolation):
        insert("shoe_b", "y" * (limit + 1))


def test_every_run_source_of_the_rules_can_be_stored_and_no_other(
    raw_conn: psycopg.Connection,
) -> None:
    for number, source in enumerate(rules.RUN_SOURCES):
        insert_run(raw_conn, id=f"run_{number}", source=source)
    with pytest.raises(psycopg.errors.CheckViolation):
        insert_run(raw_conn, id="run_other", source="Garmin Connect")
