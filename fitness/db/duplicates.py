"""Duplicate suggestions, and the `dismissed_duplicates` table of pairs never to suggest.

The same real run arrives from two sources (the Strava API and a MapMyFitness export, an
Apple Health push and an activity file): two rows, until the user marks one a duplicate of
the other (fitness.db.runs_history.mark_duplicate). Nothing is merged or deleted here.

The rule: two runs are suggested as one when they come from different sources, neither is
deleted or already a duplicate, the pair was never dismissed, and
- their times overlap, give or take `START_TOLERANCE` (15 minutes): each run spans from its
  start for its duration, so a start typed a few minutes off or a moving time shorter than
  the elapsed time still match. A MapMyFitness run spans its whole local day (its export
  has dates only, and its runs are placed at local noon, so noon ± 12 hours), and
- their distances differ by at most `DISTANCE_TOLERANCE` (5%) of the longer, or by at most
  `DISTANCE_FLOOR_MILES` (0.1 mile) for short runs: GPS and footpods disagree by a few
  percent.
Starts more than 12 hours apart are never compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from psycopg import Connection
from psycopg.rows import class_row

from fitness.db._rows import model_row
from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.errors import InvalidCursor, InvalidUpdate, RunNotFound
from fitness.models import DismissedPair, DuplicatePage, DuplicatePair, Run
from fitness.paging import decode_cursor, encode_cursor
from fitness.rules import as_utc, storable_text

START_TOLERANCE_MINUTES: Final = 15
DISTANCE_TOLERANCE: Final = 0.05
DISTANCE_FLOOR_MILES: Final = 0.1
DAY_ONLY_SOURCES: Final = ("MapMyFitness",)


def _span(run: str) -> tuple[str, str]:
    """SQL: when the run aliased `run` starts and ends, for the overlap test. A day-only
    source's run spans its local day."""
    day_only = f"{run}.source = ANY(%(day_only)s)"
    return (
        f"CASE WHEN {day_only} THEN {run}.datetime_utc - interval '12 hours' "
        f"ELSE {run}.datetime_utc END",
        f"CASE WHEN {day_only} THEN {run}.datetime_utc + interval '12 hours' "
        f"ELSE {run}.datetime_utc + make_interval(secs => {run}.duration) END",
    )


_A_START, _A_END = _span("a")
_B_START, _B_END = _span("b")

# `b` starts after `a` (found by the index on start times, within 12 hours), so each pair
# is found once.
_SUGGESTIONS = f"""
SELECT a.id AS first_id, b.id AS second_id, a.datetime_utc AS first_start,
       extract(epoch FROM b.datetime_utc - a.datetime_utc)::float8 AS start_difference,
       abs(a.distance - b.distance) AS distance_difference
FROM runs AS a
JOIN runs AS b
  ON b.datetime_utc >= a.datetime_utc
 AND b.datetime_utc <= a.datetime_utc + interval '12 hours'
 AND (b.datetime_utc, b.id) > (a.datetime_utc, a.id)
WHERE a.deleted_at IS NULL AND a.duplicate_of IS NULL
  AND b.deleted_at IS NULL AND b.duplicate_of IS NULL
  AND a.source <> b.source
  AND {_B_START} <= {_A_END} + %(tolerance)s::interval
  AND {_A_START} <= {_B_END} + %(tolerance)s::interval
  AND abs(a.distance - b.distance)
      <= greatest(%(floor)s, %(relative)s * greatest(a.distance, b.distance))
  AND NOT EXISTS (
      SELECT 1
      FROM dismissed_duplicates AS d
      WHERE d.run_id = least(a.id, b.id)
        AND d.other_run_id = greatest(a.id, b.id)
  )
  AND (%(after_at)s::timestamptz IS NULL
       OR (a.datetime_utc, a.id, b.id) < (%(after_at)s::timestamptz, %(after_id)s::text,
                                          %(after_other)s::text))
ORDER BY a.datetime_utc DESC, a.id DESC, b.id DESC
LIMIT %(limit)s
"""


@dataclass(frozen=True, slots=True)
class _Found:
    first_id: str
    second_id: str
    first_start: datetime
    start_difference: float
    distance_difference: float


@retry_on_disconnect
def get_duplicate_suggestions(
    *, limit: int = 100, cursor: str | None = None, conn: Connection | None = None
) -> DuplicatePage:
    """A page of suggested duplicates (see the module docstring for the rule), the pair
    with the most recent first run first.

    `cursor` is the `next_cursor` of the page before (`InvalidCursor` if it is not one this
    function made).

    >>> [pair.run_ids for pair in get_duplicate_suggestions().pairs]   # doctest: +SKIP
    [['strava_1234567890', 'mmf_8613133165']]
    """
    after: tuple[object, ...] = (None, None, None)
    if cursor is not None:
        moment, first, second = decode_cursor(cursor, str, str, str)
        try:
            after = (
                as_utc(datetime.fromisoformat(moment)),  # type: ignore[arg-type]
                storable_text(first),  # type: ignore[arg-type]
                storable_text(second),  # type: ignore[arg-type]
            )
        except (ValueError, OverflowError):
            raise InvalidCursor() from None
    params = {
        "day_only": list(DAY_ONLY_SOURCES),
        "tolerance": f"{START_TOLERANCE_MINUTES} minutes",
        "floor": DISTANCE_FLOOR_MILES,
        "relative": DISTANCE_TOLERANCE,
        "after_at": after[0],
        "after_id": after[1],
        "after_other": after[2],
        "limit": limit + 1,
    }
    with connection(conn) as active:
        with active.cursor(row_factory=class_row(_Found)) as cur:
            cur.execute(_SUGGESTIONS, params)
            found = cur.fetchall()
        page = found[:limit]
        ids = sorted({run_id for pair in page for run_id in (pair.first_id, pair.second_id)})
        runs = _runs_by_id(active, ids)
    pairs = [
        DuplicatePair(
            run_ids=[pair.first_id, pair.second_id],
            runs=[runs[pair.first_id], runs[pair.second_id]],
            start_difference=pair.start_difference,
            distance_difference=pair.distance_difference,
        )
        for pair in page
    ]
    more = len(found) > limit
    last = page[-1] if page else None
    next_cursor = (
        encode_cursor(last.first_start.isoformat(), last.first_id, last.second_id)
        if more and last is not None
        else None
    )
    return DuplicatePage(pairs, next_cursor)


@retry_on_disconnect
def dismiss_duplicate_pair(
    run_id: str, other_run_id: str, *, conn: Connection | None = None
) -> DismissedPair:
    """Never suggest runs `run_id` and `other_run_id` as duplicates again (idempotent: the
    first dismissal's time is kept).

    `RunNotFound` if either run does not exist; `InvalidUpdate` for a run paired with
    itself.
    """
    if run_id == other_run_id:
        raise InvalidUpdate({"run_ids": "must name two different runs"})
    first, second = sorted((run_id, other_run_id))
    with transaction(conn) as active:
        known = _runs_by_id(active, [first, second])
        for wanted in (first, second):
            if wanted not in known:
                raise RunNotFound(wanted)
        active.execute(
            """
            INSERT INTO dismissed_duplicates (run_id, other_run_id)
            VALUES (%s, %s)
            ON CONFLICT (run_id, other_run_id) DO NOTHING
            """,
            (first, second),
        )
        row = active.execute(
            """
            SELECT dismissed_at
            FROM dismissed_duplicates
            WHERE run_id = %s AND other_run_id = %s
            """,
            (first, second),
        ).fetchone()
    assert row is not None
    return DismissedPair(run_ids=[first, second], dismissed_at=as_utc(row[0], "dismissed_at"))


_RUNS_BY_ID = """
SELECT r.id, r.datetime_utc, r.type, r.distance, r.duration, r.source, r.avg_heart_rate,
       r.shoe_id, s.name AS shoe_name, r.name, r.notes, r.version, r.last_edited_at,
       r.last_edited_by, r.deleted_at, r.created_at, r.updated_at, r.duplicate_of,
       r.duplicate_ids
FROM runs AS r
LEFT JOIN shoes AS s ON s.id = r.shoe_id
WHERE r.id = ANY(%s)
"""


def _runs_by_id(conn: Connection, ids: list[str]) -> dict[str, Run]:
    with conn.cursor(row_factory=model_row(Run)) as cur:
        cur.execute(_RUNS_BY_ID, (ids,))
        return {run.id: run for run in cur.fetchall()}
