"""Rides and bikes: `rides`, their versions in `rides_history`, and the `bikes` they use.

- `bikes`: gear like shoes (an id derived from the name, retirement), with the Strava gear
  id it stands for; its distance is computed from its rides, never stored.
- `rides`: one row per real ride, deterministic ids as for runs, soft-deleted, versioned
  like runs by the same mechanism (fitness/db/_versioned.py).
- `rides_history`: one immutable snapshot per version, the current one included.

The bounds repeat fitness.rules (tests/db/test_rides.py checks them).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

_RIDE_DATA = """
    datetime_utc   timestamptz      NOT NULL,
    type           text             NOT NULL CHECK (
                                        type IN ('Road Ride', 'Gravel Ride', 'Mountain Bike Ride',
                                                 'E-Bike Ride', 'Virtual Ride')
                                    ),
    indoor         boolean          NOT NULL DEFAULT false,
    distance       double precision NOT NULL CHECK (distance >= 0 AND distance <= 3000),
    duration       double precision NOT NULL CHECK (duration > 0 AND duration <= 1209600),
    source         text             NOT NULL CHECK (
                                        source IN ('Strava', 'Apple Health', 'Activity File')
                                    ),
    avg_heart_rate double precision CHECK (avg_heart_rate BETWEEN 20 AND 250),
    avg_power      double precision CHECK (avg_power >= 0 AND avg_power <= 2500),
    kilojoules     double precision CHECK (kilojoules >= 0 AND kilojoules <= 500000),
    bike_id        text             REFERENCES bikes (id),
    name           text             CHECK (char_length(name) <= 1000),
    notes          text             CHECK (char_length(notes) <= 100000),"""


def upgrade() -> None:
    op.execute(
        f"""
CREATE TABLE bikes (
    id             text        PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(_[a-z0-9]+)*$'),
    name           text        NOT NULL UNIQUE CHECK (
                                   btrim(name) <> '' AND char_length(name) <= 100
                               ),
    strava_gear_id text        UNIQUE CHECK (char_length(strava_gear_id) BETWEEN 1 AND 100),
    retired_at     date,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rides (
    id             text             PRIMARY KEY CHECK (char_length(id) <= 200),{_RIDE_DATA}
    version        integer          NOT NULL DEFAULT 1 CHECK (version >= 1),
    last_edited_at timestamptz,
    last_edited_by text             CHECK (char_length(last_edited_by) <= 100),
    deleted_at     timestamptz,
    created_at     timestamptz      NOT NULL DEFAULT now(),
    updated_at     timestamptz      NOT NULL DEFAULT now()
);

-- Date ranges and newest-first keyset pagination.
CREATE INDEX rides_datetime_utc_id_idx ON rides (datetime_utc DESC, id DESC);
-- Distance per bike, and the foreign key's lookups.
CREATE INDEX rides_bike_id_idx ON rides (bike_id) INCLUDE (distance) WHERE deleted_at IS NULL;

CREATE TABLE rides_history (
    history_id     bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ride_id        text             NOT NULL REFERENCES rides (id) ON DELETE CASCADE,
    version_number integer          NOT NULL CHECK (version_number >= 1),
    change_type    text             NOT NULL CHECK (
                                        change_type IN ('original', 'edit', 'deletion', 'restore')
                                    ),{_RIDE_DATA}
    changed_at     timestamptz      NOT NULL DEFAULT now(),
    changed_by     text             CHECK (char_length(changed_by) <= 100),
    change_reason  text             CHECK (char_length(change_reason) <= 1000),
    CONSTRAINT rides_history_ride_id_version_number_key UNIQUE (ride_id, version_number)
);

CREATE INDEX rides_history_bike_id_idx ON rides_history (bike_id) WHERE bike_id IS NOT NULL;

CREATE TRIGGER bikes_set_updated_at BEFORE UPDATE ON bikes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER rides_set_updated_at BEFORE UPDATE ON rides
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER rides_history_immutable BEFORE UPDATE ON rides_history
    FOR EACH ROW EXECUTE FUNCTION forbid_history_update();
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TABLE rides_history;
DROP TABLE rides;
DROP TABLE bikes;
"""
    )
