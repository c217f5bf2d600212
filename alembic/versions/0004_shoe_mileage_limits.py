"""Shoes that warn: a starting mileage, and the warning and maximum mileages of each shoe.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE shoes
    ADD COLUMN starting_mileage double precision NOT NULL DEFAULT 0
        CHECK (starting_mileage >= 0 AND starting_mileage <= 100000),
    ADD COLUMN warning_mileage  double precision NOT NULL DEFAULT 300
        CHECK (warning_mileage > 0 AND warning_mileage <= 100000),
    ADD COLUMN maximum_mileage  double precision NOT NULL DEFAULT 500
        CHECK (maximum_mileage > 0 AND maximum_mileage <= 100000),
    ADD CONSTRAINT shoes_warning_within_maximum CHECK (warning_mileage <= maximum_mileage);
"""
    )


def downgrade() -> None:
    op.execute(
        """
ALTER TABLE shoes
    DROP CONSTRAINT shoes_warning_within_maximum,
    DROP COLUMN maximum_mileage,
    DROP COLUMN warning_mileage,
    DROP COLUMN starting_mileage;
"""
    )
