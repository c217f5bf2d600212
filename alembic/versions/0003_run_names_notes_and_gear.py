"""Runs keep what the runner wrote (name, notes); shoes remember their provider gear ids.

- `runs.name`, `runs.notes` and the same columns in `runs_history`: versioned like every
  other editable field, with bounded lengths.
- `shoe_gear (provider, gear_id, shoe_id)`: the provider's gear a shoe stands for, so a
  rename at the provider renames the shoe instead of making a second one.
- `shoes.retirement_set_by`: who last retired or unretired the shoe (`user`, or a provider
  such as `strava`); a provider's retirement never overrides the user's.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        r"""
ALTER TABLE runs
    ADD COLUMN name  text CHECK (char_length(name) <= 1000),
    ADD COLUMN notes text CHECK (char_length(notes) <= 100000);

ALTER TABLE runs_history
    ADD COLUMN name  text CHECK (char_length(name) <= 1000),
    ADD COLUMN notes text CHECK (char_length(notes) <= 100000);

ALTER TABLE shoes
    ADD COLUMN retirement_set_by text CHECK (retirement_set_by IN ('user', 'strava'));

-- Retirements recorded before this revision were all made by the user.
UPDATE shoes SET retirement_set_by = 'user' WHERE retired_at IS NOT NULL;

CREATE TABLE shoe_gear (
    provider   text        NOT NULL CHECK (provider IN ('strava')),
    gear_id    text        NOT NULL CHECK (char_length(gear_id) BETWEEN 1 AND 100),
    shoe_id    text        NOT NULL REFERENCES shoes (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, gear_id)
);

CREATE INDEX shoe_gear_shoe_id_idx ON shoe_gear (shoe_id);
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TABLE shoe_gear;
ALTER TABLE shoes DROP COLUMN retirement_set_by;
ALTER TABLE runs_history DROP COLUMN notes, DROP COLUMN name;
ALTER TABLE runs DROP COLUMN notes, DROP COLUMN name;
"""
    )
