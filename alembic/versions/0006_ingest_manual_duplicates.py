"""Apple Health and manual runs, ingest tokens, and one run per real run (duplicates).

- Run sources `Apple Health` (Health Auto Export pushes) and `Manual` (entered by hand), in
  `runs` and `runs_history`.
- `runs.duplicate_of`: the run this one is a duplicate of (hidden from lists and totals);
  `runs.duplicate_ids`: the runs marked duplicates of this one, the sources it now stands
  for. Both are versioned: the same columns in `runs_history`, and the change types
  `duplicate` (a run marked a duplicate) and `merge` (a run that now stands for one more,
  or one fewer). A run is never a duplicate of itself.
- `ingest_tokens`: the tokens that open only the ingest routes, stored as SHA-256 digests.
- `dismissed_duplicates`: pairs of runs the user said are not the same run.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE runs
    DROP CONSTRAINT runs_source_check,
    ADD CONSTRAINT runs_source_check
        CHECK (source IN ('MapMyFitness', 'Strava', 'Apple Health', 'Manual')),
    ADD COLUMN duplicate_of  text   REFERENCES runs (id),
    ADD COLUMN duplicate_ids text[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT runs_not_own_duplicate CHECK (duplicate_of <> id);

ALTER TABLE runs_history
    DROP CONSTRAINT runs_history_source_check,
    ADD CONSTRAINT runs_history_source_check
        CHECK (source IN ('MapMyFitness', 'Strava', 'Apple Health', 'Manual')),
    DROP CONSTRAINT runs_history_change_type_check,
    ADD CONSTRAINT runs_history_change_type_check
        CHECK (change_type IN ('original', 'edit', 'deletion', 'restore', 'duplicate', 'merge')),
    ADD COLUMN duplicate_of  text,
    ADD COLUMN duplicate_ids text[] NOT NULL DEFAULT '{}';

-- The duplicates of a run, and the foreign key's lookups.
CREATE INDEX runs_duplicate_of_idx ON runs (duplicate_of) WHERE duplicate_of IS NOT NULL;

CREATE TABLE ingest_tokens (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text        NOT NULL UNIQUE
                             CHECK (char_length(name) BETWEEN 1 AND 100 AND btrim(name) <> ''),
    token_digest bytea       NOT NULL UNIQUE CHECK (octet_length(token_digest) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);

CREATE TABLE dismissed_duplicates (
    run_id       text        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    other_run_id text        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    dismissed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, other_run_id),
    CHECK (run_id < other_run_id)
);

CREATE INDEX dismissed_duplicates_other_run_id_idx ON dismissed_duplicates (other_run_id);
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TABLE dismissed_duplicates;
DROP TABLE ingest_tokens;
DROP INDEX runs_duplicate_of_idx;

ALTER TABLE runs_history
    DROP COLUMN duplicate_ids,
    DROP COLUMN duplicate_of,
    DROP CONSTRAINT runs_history_change_type_check,
    ADD CONSTRAINT runs_history_change_type_check
        CHECK (change_type IN ('original', 'edit', 'deletion', 'restore')),
    DROP CONSTRAINT runs_history_source_check,
    ADD CONSTRAINT runs_history_source_check CHECK (source IN ('MapMyFitness', 'Strava'));

ALTER TABLE runs
    DROP CONSTRAINT runs_not_own_duplicate,
    DROP COLUMN duplicate_ids,
    DROP COLUMN duplicate_of,
    DROP CONSTRAINT runs_source_check,
    ADD CONSTRAINT runs_source_check CHECK (source IN ('MapMyFitness', 'Strava'));
"""
    )
