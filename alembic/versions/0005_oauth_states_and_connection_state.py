"""OAuth consent states (single-use, bound to a browser or a process, with PKCE) and what
fitness knows about each connection: the granted scope, where its credentials came from, a
sealed fingerprint of the environment's values, the last refresh and the last sync's outcome.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE oauth_credentials
    ADD COLUMN granted_scope     text[],
    ADD COLUMN source            text CHECK (source IN ('environment', 'consent')),
    ADD COLUMN seed_fingerprint  text,
    ADD COLUMN last_refreshed_at timestamptz,
    ADD COLUMN last_sync_at      timestamptz,
    ADD COLUMN last_sync_outcome text CHECK (last_sync_outcome IN ('ok', 'partial', 'failed')),
    ADD COLUMN last_sync_message text CHECK (length(last_sync_message) <= 2000);

-- One row per consent started; a callback consumes its row exactly once.
CREATE TABLE oauth_states (
    state_hash    text        PRIMARY KEY CHECK (state_hash ~ '^[0-9a-f]{64}$'),
    provider      text        NOT NULL,
    flow          text        NOT NULL CHECK (flow IN ('browser', 'terminal')),
    binding_hash  text        NOT NULL CHECK (binding_hash ~ '^[0-9a-f]{64}$'),
    code_verifier text,
    redirect_uri  text        NOT NULL CHECK (length(redirect_uri) <= 2000),
    expires_at    timestamptz NOT NULL,
    consumed_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX oauth_states_expires_at_idx ON oauth_states (expires_at);
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TABLE oauth_states;
ALTER TABLE oauth_credentials
    DROP COLUMN last_sync_message,
    DROP COLUMN last_sync_outcome,
    DROP COLUMN last_sync_at,
    DROP COLUMN last_refreshed_at,
    DROP COLUMN seed_fingerprint,
    DROP COLUMN source,
    DROP COLUMN granted_scope;
"""
    )
