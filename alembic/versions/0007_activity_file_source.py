"""Runs imported from activity files (FIT, GPX, TCX): the source `Activity File`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE runs
    DROP CONSTRAINT runs_source_check,
    ADD CONSTRAINT runs_source_check
        CHECK (source IN ('MapMyFitness', 'Strava', 'Apple Health', 'Manual', 'Activity File'));

ALTER TABLE runs_history
    DROP CONSTRAINT runs_history_source_check,
    ADD CONSTRAINT runs_history_source_check
        CHECK (source IN ('MapMyFitness', 'Strava', 'Apple Health', 'Manual', 'Activity File'));
"""
    )


def downgrade() -> None:
    # Runs from activity files cannot exist under the older constraint: a downgrade with such
    # runs stored fails here, rather than losing them.
    op.execute(
        """
ALTER TABLE runs_history
    DROP CONSTRAINT runs_history_source_check,
    ADD CONSTRAINT runs_history_source_check
        CHECK (source IN ('MapMyFitness', 'Strava', 'Apple Health', 'Manual'));

ALTER TABLE runs
    DROP CONSTRAINT runs_source_check,
    ADD CONSTRAINT runs_source_check
        CHECK (source IN ('MapMyFitness', 'Strava', 'Apple Health', 'Manual'));
"""
    )
