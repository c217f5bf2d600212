"""A distance is 0 or at least a millionth of a mile (fitness.rules.DISTANCE_RESOLUTION), in
runs and rides and their histories: a pace or a week's growth divided by a vanishing distance
overflows a double, and PostgreSQL raises an error where the statistics divide.

As in 0002, an existing row outside the bound is kept: the constraint then stays NOT VALID
(it holds for every new write).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

_TABLES = ("runs", "runs_history", "rides", "rides_history")


def upgrade() -> None:
    for table in _TABLES:
        name = f"{table}_distance_resolution_check"
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} "
            "CHECK (distance = 0 OR distance >= 1e-6) NOT VALID"
        )
        # Validated where every stored row meets it; otherwise it stays NOT VALID.
        op.execute(
            f"""
DO $$
BEGIN
    ALTER TABLE {table} VALIDATE CONSTRAINT {name};
EXCEPTION WHEN check_violation THEN
    RAISE WARNING 'some rows of {table} have a distance under a millionth of a mile; they '
                  'are kept, and {name} holds for new rows only';
END
$$"""
        )


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_distance_resolution_check")
