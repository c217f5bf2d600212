"""Lifts (strength workouts, from Hevy) with their history, Hevy's exercise templates, and
API keys (Hevy's), stored encrypted like the OAuth secrets.

A lift's exercises and sets are one JSONB value in the lift row and in each snapshot, so a
version always holds the whole workout: an edit of one set is one new version, restore
copies one value back, and no version can hold half a workout. `lifts_history` has the
columns the versioning mechanism (fitness.db._versioned) needs, like `runs_history`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
CREATE TABLE lifts (
    id             text        PRIMARY KEY,
    datetime_utc   timestamptz NOT NULL,
    end_utc        timestamptz,
    title          text,
    description    text,
    source         text        NOT NULL CHECK (source IN ('Hevy')),
    exercises      jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(exercises) = 'array'),
    version        integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
    last_edited_at timestamptz,
    last_edited_by text,
    deleted_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Date ranges and newest-first keyset pagination.
CREATE INDEX lifts_datetime_utc_id_idx ON lifts (datetime_utc DESC, id DESC);

CREATE TABLE lifts_history (
    history_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lift_id        text        NOT NULL REFERENCES lifts (id) ON DELETE CASCADE,
    version_number integer     NOT NULL CHECK (version_number >= 1),
    change_type    text        NOT NULL CHECK (
                                   change_type IN ('original', 'edit', 'deletion', 'restore')
                               ),
    datetime_utc   timestamptz NOT NULL,
    end_utc        timestamptz,
    title          text,
    description    text,
    source         text        NOT NULL CHECK (source IN ('Hevy')),
    exercises      jsonb       NOT NULL CHECK (jsonb_typeof(exercises) = 'array'),
    changed_at     timestamptz NOT NULL DEFAULT now(),
    changed_by     text,
    change_reason  text,
    CONSTRAINT lifts_history_lift_id_version_number_key UNIQUE (lift_id, version_number)
);

CREATE TABLE exercise_templates (
    id                      text        PRIMARY KEY,
    title                   text        NOT NULL,
    primary_muscle_group    text,
    secondary_muscle_groups text[]      NOT NULL DEFAULT '{}',
    is_custom               boolean     NOT NULL DEFAULT false,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

-- A provider's API key (Hevy's), encrypted at rest (fitness.crypto) like every secret.
CREATE TABLE api_keys (
    provider   text        PRIMARY KEY,
    api_key    text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER api_keys_set_updated_at BEFORE UPDATE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER lifts_set_updated_at BEFORE UPDATE ON lifts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER exercise_templates_set_updated_at BEFORE UPDATE ON exercise_templates
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER lifts_history_immutable BEFORE UPDATE ON lifts_history
    FOR EACH ROW EXECUTE FUNCTION forbid_history_update();
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TABLE api_keys;
DROP TABLE exercise_templates;
DROP TABLE lifts_history;
DROP TABLE lifts;
"""
    )
