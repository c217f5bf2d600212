"""Races on runs, every name a shoe has had, and shoe merges that can be undone.

- A run can carry a race: `race_name` (the event), `race_distance` (the official distance,
  miles), `race_time` (the official chip time, seconds), `race_place` (overall placing) and
  `race_field_size` (finishers). Versioned: the same columns in `runs_history`. Name,
  distance and time come together or not at all; a placing needs a race and is within the
  field. The bounds repeat fitness.rules (tests/db/test_bounds.py).
- `shoe_names`: former names of a shoe (a rename, or a shoe merged into it), by name key
  (fitness.ids.shoe_name_key), so imports keep finding a shoe by every name it has had.
- `shoe_merges`: one row per merge of a shoe into another, with what it moved (runs,
  names, provider gear), so that an unmerge puts exactly that back.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_RACE_COLUMNS = """
    ADD COLUMN race_name       text
        CHECK (char_length(race_name) BETWEEN 1 AND 200 AND btrim(race_name) <> ''),
    ADD COLUMN race_distance   double precision
        CHECK (race_distance > 0 AND race_distance <= 1000),
    ADD COLUMN race_time       double precision
        CHECK (race_time > 0 AND race_time <= 1209600),
    ADD COLUMN race_place      integer CHECK (race_place BETWEEN 1 AND 1000000),
    ADD COLUMN race_field_size integer CHECK (race_field_size BETWEEN 1 AND 1000000),
    ADD CONSTRAINT {table}_race_complete CHECK (
        (race_name IS NULL) = (race_distance IS NULL)
        AND (race_name IS NULL) = (race_time IS NULL)
        AND (race_name IS NOT NULL OR (race_place IS NULL AND race_field_size IS NULL))
    ),
    ADD CONSTRAINT {table}_race_place_within_field CHECK (race_place <= race_field_size)"""


def upgrade() -> None:
    op.execute(
        f"""
ALTER TABLE runs{_RACE_COLUMNS.format(table="runs")};

ALTER TABLE runs_history{_RACE_COLUMNS.format(table="runs_history")};

-- The races among the runs, for the records' PB progression: a few rows, not a scan.
CREATE INDEX runs_race_idx ON runs (race_distance) WHERE race_name IS NOT NULL;

CREATE TABLE shoe_names (
    name_key   text        PRIMARY KEY CHECK (char_length(name_key) BETWEEN 1 AND 400),
    shoe_id    text        NOT NULL REFERENCES shoes (id),
    name       text        NOT NULL
                           CHECK (char_length(name) BETWEEN 1 AND 100 AND btrim(name) <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX shoe_names_shoe_id_idx ON shoe_names (shoe_id);

CREATE TABLE shoe_merges (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merged_shoe_id text        NOT NULL REFERENCES shoes (id),
    kept_shoe_id   text        NOT NULL REFERENCES shoes (id),
    run_ids        text[]      NOT NULL DEFAULT '{{}}',
    name_keys      text[]      NOT NULL DEFAULT '{{}}',
    gear_ids       text[]      NOT NULL DEFAULT '{{}}',
    merged_at      timestamptz NOT NULL DEFAULT now(),
    merged_by      text        CHECK (char_length(merged_by) <= 100),
    undone_at      timestamptz,
    CONSTRAINT shoe_merges_not_into_itself CHECK (merged_shoe_id <> kept_shoe_id)
);

CREATE UNIQUE INDEX shoe_merges_merged_shoe_id_idx ON shoe_merges (merged_shoe_id)
    WHERE undone_at IS NULL;
CREATE INDEX shoe_merges_kept_shoe_id_idx ON shoe_merges (kept_shoe_id);
"""
    )


def downgrade() -> None:
    # Races and former names exist nowhere else: a downgrade drops them with the columns.
    op.execute(
        """
DROP TABLE shoe_merges;
DROP TABLE shoe_names;
DROP INDEX runs_race_idx;

ALTER TABLE runs_history
    DROP CONSTRAINT runs_history_race_place_within_field,
    DROP CONSTRAINT runs_history_race_complete,
    DROP COLUMN race_field_size,
    DROP COLUMN race_place,
    DROP COLUMN race_time,
    DROP COLUMN race_distance,
    DROP COLUMN race_name;

ALTER TABLE runs
    DROP CONSTRAINT runs_race_place_within_field,
    DROP CONSTRAINT runs_race_complete,
    DROP COLUMN race_field_size,
    DROP COLUMN race_place,
    DROP COLUMN race_time,
    DROP COLUMN race_distance,
    DROP COLUMN race_name;
"""
    )
