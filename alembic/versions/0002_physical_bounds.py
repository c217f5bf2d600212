"""Bounds a real run can meet, enforced by the database too: distance, duration, start time,
and the length of every text a user writes.

The same bounds are declared once in fitness/rules.py, which the library and the API
enforce; these CHECK constraints are the last line of defence, so that no path (a script
writing SQL, a restore) can store a value that makes a sum overflow or a date unreadable.
tests/db/test_bounds.py proves the two agree.

An existing row outside the bounds is kept, never changed or lost: the constraint is then
left NOT VALID (it holds for every new write) and `fitness db check` reports the row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# (table, constraint, condition); replaced constraints keep their names.
_BOUNDS = [
    *(
        (table, f"{table}_{name}_check", condition)
        for table in ("runs", "runs_history")
        for name, condition in (
            ("distance", "distance >= 0 AND distance <= 1000"),
            ("duration", "duration > 0 AND duration <= 1209600"),
            (
                "datetime_utc",
                "datetime_utc >= '1970-01-01 00:00:00+00' "
                "AND datetime_utc <= now() + interval '1 day'",
            ),
        )
    ),
    ("runs", "runs_last_edited_by_check", "char_length(last_edited_by) <= 100"),
    ("runs_history", "runs_history_changed_by_check", "char_length(changed_by) <= 100"),
    ("runs_history", "runs_history_change_reason_check", "char_length(change_reason) <= 1000"),
    ("shoes", "shoes_name_length_check", "char_length(name) <= 100"),
    ("shoes", "shoes_notes_check", "char_length(notes) <= 2000"),
    ("shoes", "shoes_retirement_notes_check", "char_length(retirement_notes) <= 2000"),
    ("shoes", "shoes_retired_at_check", "retired_at BETWEEN '1970-01-01' AND '2199-12-31'"),
]
# The constraints of 0001 that a bound above replaces.
_REPLACED = {
    "runs_distance_check": "distance >= 0 AND distance < 'Infinity'",
    "runs_duration_check": "duration > 0 AND duration < 'Infinity'",
    "runs_history_distance_check": "distance >= 0 AND distance < 'Infinity'",
    "runs_history_duration_check": "duration > 0 AND duration < 'Infinity'",
}


def upgrade() -> None:
    for table, name, condition in _BOUNDS:
        drop = f"DROP CONSTRAINT {name}, " if name in _REPLACED else ""
        op.execute(f"ALTER TABLE {table} {drop}ADD CONSTRAINT {name} CHECK ({condition}) NOT VALID")
        # Validated where every stored row meets it; otherwise it stays NOT VALID.
        op.execute(
            f"""
DO $$
BEGIN
    ALTER TABLE {table} VALIDATE CONSTRAINT {name};
EXCEPTION WHEN check_violation THEN
    RAISE WARNING 'some rows of {table} are outside the bound {name}; they are kept, and '
                  '`fitness db check` lists them';
END
$$"""
        )


def downgrade() -> None:
    for table, name, _ in reversed(_BOUNDS):
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        if name in _REPLACED:
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({_REPLACED[name]})")
