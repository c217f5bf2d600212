-- The whole current schema of fitness, for reading. Alembic's migrations build it;
-- tests/db/test_schema.py proves that applying this file builds exactly the same thing.

CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- A snapshot in runs_history is the record of what happened; it must never change.
CREATE FUNCTION forbid_history_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'runs_history rows are immutable (history_id %)', OLD.history_id
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TABLE shoes (
    id               text        PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(_[a-z0-9]+)*$'),
    name             text        NOT NULL UNIQUE CHECK (btrim(name) <> ''),
    retired_at       date        CHECK (retired_at BETWEEN '1970-01-01' AND '2199-12-31'),
    notes            text        CHECK (char_length(notes) <= 2000),
    retirement_notes text        CHECK (char_length(retirement_notes) <= 2000),
    deleted_at       timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- Who last retired or unretired the shoe: a provider's retirement never overrides the user's.
    retirement_set_by text       CHECK (retirement_set_by IN ('user', 'strava')),
    -- Miles the shoe had before the log, and when it should warn and be replaced (miles).
    starting_mileage double precision NOT NULL DEFAULT 0
                     CHECK (starting_mileage >= 0 AND starting_mileage <= 100000),
    warning_mileage  double precision NOT NULL DEFAULT 300
                     CHECK (warning_mileage > 0 AND warning_mileage <= 100000),
    maximum_mileage  double precision NOT NULL DEFAULT 500
                     CHECK (maximum_mileage > 0 AND maximum_mileage <= 100000),
    CONSTRAINT shoes_name_length_check CHECK (char_length(name) <= 100),
    CONSTRAINT shoes_warning_within_maximum CHECK (warning_mileage <= maximum_mileage)
);

CREATE TABLE runs (
    id             text             PRIMARY KEY,
    datetime_utc   timestamptz      NOT NULL CHECK (
                                        datetime_utc >= '1970-01-01 00:00:00+00'
                                        AND datetime_utc <= now() + interval '1 day'
                                    ),
    type           text             NOT NULL CHECK (type IN ('Outdoor Run', 'Treadmill Run')),
    distance       double precision NOT NULL CHECK (distance >= 0 AND distance <= 1000)
                                    -- Not vanishing: no pace divides by it (0011).
                                    CONSTRAINT runs_distance_resolution_check
                                    CHECK (distance = 0 OR distance >= 1e-6),
    duration       double precision NOT NULL CHECK (duration > 0 AND duration <= 1209600),
    source         text             NOT NULL CHECK (
                                        source IN (
                                            'MapMyFitness', 'Strava', 'Apple Health', 'Manual',
                                            'Activity File'
                                        )
                                    ),
    avg_heart_rate double precision CHECK (avg_heart_rate BETWEEN 20 AND 250),
    shoe_id        text             REFERENCES shoes (id),
    last_edited_at timestamptz,
    last_edited_by text             CHECK (char_length(last_edited_by) <= 100),
    version        integer          NOT NULL DEFAULT 1 CHECK (version >= 1),
    deleted_at     timestamptz,
    created_at     timestamptz      NOT NULL DEFAULT now(),
    updated_at     timestamptz      NOT NULL DEFAULT now(),
    -- What the runner wrote: the activity's title and notes.
    name           text             CHECK (char_length(name) <= 1000),
    notes          text             CHECK (char_length(notes) <= 100000),
    -- One run per real run: the run this one is a duplicate of (hidden from lists and
    -- totals), and the runs marked duplicates of this one (the sources it stands for).
    duplicate_of   text             REFERENCES runs (id),
    duplicate_ids  text[]           NOT NULL DEFAULT '{}',
    -- A race the run was: the event, its official distance (miles) and chip time (seconds),
    -- the overall placing and the field's size. Name, distance and time come together.
    race_name      text             CHECK (char_length(race_name) BETWEEN 1 AND 200
                                           AND btrim(race_name) <> ''),
    race_distance  double precision CHECK (race_distance > 0 AND race_distance <= 1000),
    race_time      double precision CHECK (race_time > 0 AND race_time <= 1209600),
    race_place     integer          CHECK (race_place BETWEEN 1 AND 1000000),
    race_field_size integer         CHECK (race_field_size BETWEEN 1 AND 1000000),
    CONSTRAINT runs_not_own_duplicate CHECK (duplicate_of <> id),
    CONSTRAINT runs_race_complete CHECK (
        (race_name IS NULL) = (race_distance IS NULL)
        AND (race_name IS NULL) = (race_time IS NULL)
        AND (race_name IS NOT NULL OR (race_place IS NULL AND race_field_size IS NULL))
    ),
    CONSTRAINT runs_race_place_within_field CHECK (race_place <= race_field_size)
);

-- Date ranges and newest-first keyset pagination.
CREATE INDEX runs_datetime_utc_id_idx ON runs (datetime_utc DESC, id DESC);
-- Mileage per shoe, and the foreign key's lookups.
CREATE INDEX runs_shoe_id_idx ON runs (shoe_id) INCLUDE (distance) WHERE deleted_at IS NULL;
-- The duplicates of a run, and the foreign key's lookups.
CREATE INDEX runs_duplicate_of_idx ON runs (duplicate_of) WHERE duplicate_of IS NOT NULL;
-- The races among the runs, for the records' PB progression: a few rows, not a scan.
CREATE INDEX runs_race_idx ON runs (race_distance) WHERE race_name IS NOT NULL;

CREATE TABLE runs_history (
    history_id     bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id         text             NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    version_number integer          NOT NULL CHECK (version_number >= 1),
    change_type    text             NOT NULL CHECK (
                                        change_type IN ('original', 'edit', 'deletion', 'restore',
                                                        'duplicate', 'merge')
                                    ),
    datetime_utc   timestamptz      NOT NULL CHECK (
                                        datetime_utc >= '1970-01-01 00:00:00+00'
                                        AND datetime_utc <= now() + interval '1 day'
                                    ),
    type           text             NOT NULL CHECK (type IN ('Outdoor Run', 'Treadmill Run')),
    distance       double precision NOT NULL CHECK (distance >= 0 AND distance <= 1000)
                                    -- Not vanishing: no pace divides by it (0011).
                                    CONSTRAINT runs_history_distance_resolution_check
                                    CHECK (distance = 0 OR distance >= 1e-6),
    duration       double precision NOT NULL CHECK (duration > 0 AND duration <= 1209600),
    source         text             NOT NULL CHECK (
                                        source IN (
                                            'MapMyFitness', 'Strava', 'Apple Health', 'Manual',
                                            'Activity File'
                                        )
                                    ),
    avg_heart_rate double precision CHECK (avg_heart_rate BETWEEN 20 AND 250),
    shoe_id        text             REFERENCES shoes (id),
    changed_at     timestamptz      NOT NULL DEFAULT now(),
    changed_by     text             CHECK (char_length(changed_by) <= 100),
    change_reason  text             CHECK (char_length(change_reason) <= 1000),
    name           text             CHECK (char_length(name) <= 1000),
    notes          text             CHECK (char_length(notes) <= 100000),
    duplicate_of   text,
    duplicate_ids  text[]           NOT NULL DEFAULT '{}',
    -- A race the run was: the event, its official distance (miles) and chip time (seconds),
    -- the overall placing and the field's size. Name, distance and time come together.
    race_name      text             CHECK (char_length(race_name) BETWEEN 1 AND 200
                                           AND btrim(race_name) <> ''),
    race_distance  double precision CHECK (race_distance > 0 AND race_distance <= 1000),
    race_time      double precision CHECK (race_time > 0 AND race_time <= 1209600),
    race_place     integer          CHECK (race_place BETWEEN 1 AND 1000000),
    race_field_size integer         CHECK (race_field_size BETWEEN 1 AND 1000000),
    CONSTRAINT runs_history_run_id_version_number_key UNIQUE (run_id, version_number),
    CONSTRAINT runs_history_race_complete CHECK (
        (race_name IS NULL) = (race_distance IS NULL)
        AND (race_name IS NULL) = (race_time IS NULL)
        AND (race_name IS NOT NULL OR (race_place IS NULL AND race_field_size IS NULL))
    ),
    CONSTRAINT runs_history_race_place_within_field CHECK (race_place <= race_field_size)
);

CREATE INDEX runs_history_shoe_id_idx ON runs_history (shoe_id) WHERE shoe_id IS NOT NULL;

-- The provider gear (a Strava gear id) each shoe stands for: a rename at the provider is a
-- rename here, and two gears with one name stay two shoes.
CREATE TABLE shoe_gear (
    provider   text        NOT NULL CHECK (provider IN ('strava')),
    gear_id    text        NOT NULL CHECK (char_length(gear_id) BETWEEN 1 AND 100),
    shoe_id    text        NOT NULL REFERENCES shoes (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, gear_id)
);

CREATE INDEX shoe_gear_shoe_id_idx ON shoe_gear (shoe_id);

-- The names a shoe had before (renamed, or a shoe merged into it), by name key
-- (fitness.ids.shoe_name_key): imports find a shoe by every name it has had.
CREATE TABLE shoe_names (
    name_key   text        PRIMARY KEY CHECK (char_length(name_key) BETWEEN 1 AND 400),
    shoe_id    text        NOT NULL REFERENCES shoes (id),
    name       text        NOT NULL
                           CHECK (char_length(name) BETWEEN 1 AND 100 AND btrim(name) <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX shoe_names_shoe_id_idx ON shoe_names (shoe_id);

-- Each merge of a shoe into another, with what it moved (runs, name keys, provider gear
-- ids), so that undoing it puts exactly that back.
CREATE TABLE shoe_merges (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merged_shoe_id text        NOT NULL REFERENCES shoes (id),
    kept_shoe_id   text        NOT NULL REFERENCES shoes (id),
    run_ids        text[]      NOT NULL DEFAULT '{}',
    name_keys      text[]      NOT NULL DEFAULT '{}',
    gear_ids       text[]      NOT NULL DEFAULT '{}',
    merged_at      timestamptz NOT NULL DEFAULT now(),
    merged_by      text        CHECK (char_length(merged_by) <= 100),
    undone_at      timestamptz,
    CONSTRAINT shoe_merges_not_into_itself CHECK (merged_shoe_id <> kept_shoe_id)
);

CREATE UNIQUE INDEX shoe_merges_merged_shoe_id_idx ON shoe_merges (merged_shoe_id)
    WHERE undone_at IS NULL;
CREATE INDEX shoe_merges_kept_shoe_id_idx ON shoe_merges (kept_shoe_id);

CREATE TABLE synced_runs (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id          text        NOT NULL UNIQUE REFERENCES runs (id) ON DELETE CASCADE,
    run_version     integer     NOT NULL CHECK (run_version >= 1),
    google_event_id text,
    synced_at       timestamptz NOT NULL DEFAULT now(),
    sync_status     text        NOT NULL CHECK (sync_status IN ('synced', 'failed', 'pending')),
    error_message   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sync_metadata (
    provider       text        PRIMARY KEY,
    last_synced_at timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE oauth_credentials (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider      text        NOT NULL UNIQUE,
    client_id     text        NOT NULL,
    client_secret text        NOT NULL,
    access_token  text,
    refresh_token text        NOT NULL,
    expires_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- What the user granted (NULL: not known, e.g. a refresh token from the environment).
    granted_scope     text[],
    -- Where the credentials came from; the fingerprint (sealed, like the secrets) is of the
    -- environment's values when they were last taken in, so a change there is noticed.
    source            text CHECK (source IN ('environment', 'consent')),
    seed_fingerprint  text,
    last_refreshed_at timestamptz,
    last_sync_at      timestamptz,
    last_sync_outcome text CHECK (last_sync_outcome IN ('ok', 'partial', 'failed')),
    last_sync_message text CHECK (length(last_sync_message) <= 2000)
);

-- One row per consent started; a callback consumes its row exactly once. The state and the
-- browser's cookie (or the waiting process's secret) are kept as SHA-256 digests only; the
-- PKCE verifier is sealed like the other secrets.
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

-- Tokens that open only the ingest routes (a phone pushing Apple Health workouts), stored
-- as the SHA-256 digest of the token, which is shown once.
CREATE TABLE ingest_tokens (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text        NOT NULL UNIQUE
                             CHECK (char_length(name) BETWEEN 1 AND 100 AND btrim(name) <> ''),
    token_digest bytea       NOT NULL UNIQUE CHECK (octet_length(token_digest) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);

-- Pairs of runs the user said are not one real run: never suggested as duplicates again.
CREATE TABLE dismissed_duplicates (
    run_id       text        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    other_run_id text        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    dismissed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, other_run_id),
    CHECK (run_id < other_run_id)
);

CREATE INDEX dismissed_duplicates_other_run_id_idx ON dismissed_duplicates (other_run_id);

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
    id             text             PRIMARY KEY CHECK (char_length(id) <= 200),
    datetime_utc   timestamptz      NOT NULL,
    type           text             NOT NULL CHECK (
                                        type IN ('Road Ride', 'Gravel Ride', 'Mountain Bike Ride',
                                                 'E-Bike Ride', 'Virtual Ride')
                                    ),
    indoor         boolean          NOT NULL DEFAULT false,
    distance       double precision NOT NULL CHECK (distance >= 0 AND distance <= 3000)
                                    -- Not vanishing: no pace divides by it (0011).
                                    CONSTRAINT rides_distance_resolution_check
                                    CHECK (distance = 0 OR distance >= 1e-6),
    duration       double precision NOT NULL CHECK (duration > 0 AND duration <= 1209600),
    source         text             NOT NULL CHECK (
                                        source IN ('Strava', 'Apple Health', 'Activity File')
                                    ),
    avg_heart_rate double precision CHECK (avg_heart_rate BETWEEN 20 AND 250),
    avg_power      double precision CHECK (avg_power >= 0 AND avg_power <= 2500),
    kilojoules     double precision CHECK (kilojoules >= 0 AND kilojoules <= 500000),
    bike_id        text             REFERENCES bikes (id),
    name           text             CHECK (char_length(name) <= 1000),
    notes          text             CHECK (char_length(notes) <= 100000),
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
                                    ),
    datetime_utc   timestamptz      NOT NULL,
    type           text             NOT NULL CHECK (
                                        type IN ('Road Ride', 'Gravel Ride', 'Mountain Bike Ride',
                                                 'E-Bike Ride', 'Virtual Ride')
                                    ),
    indoor         boolean          NOT NULL DEFAULT false,
    distance       double precision NOT NULL CHECK (distance >= 0 AND distance <= 3000)
                                    -- Not vanishing: no pace divides by it (0011).
                                    CONSTRAINT rides_history_distance_resolution_check
                                    CHECK (distance = 0 OR distance >= 1e-6),
    duration       double precision NOT NULL CHECK (duration > 0 AND duration <= 1209600),
    source         text             NOT NULL CHECK (
                                        source IN ('Strava', 'Apple Health', 'Activity File')
                                    ),
    avg_heart_rate double precision CHECK (avg_heart_rate BETWEEN 20 AND 250),
    avg_power      double precision CHECK (avg_power >= 0 AND avg_power <= 2500),
    kilojoules     double precision CHECK (kilojoules >= 0 AND kilojoules <= 500000),
    bike_id        text             REFERENCES bikes (id),
    name           text             CHECK (char_length(name) <= 1000),
    notes          text             CHECK (char_length(notes) <= 100000),
    changed_at     timestamptz      NOT NULL DEFAULT now(),
    changed_by     text             CHECK (char_length(changed_by) <= 100),
    change_reason  text             CHECK (char_length(change_reason) <= 1000),
    CONSTRAINT rides_history_ride_id_version_number_key UNIQUE (ride_id, version_number)
);

CREATE INDEX rides_history_bike_id_idx ON rides_history (bike_id) WHERE bike_id IS NOT NULL;

-- Lifts (strength workouts, from Hevy): the exercises and sets of a lift are one JSONB value,
-- in the row and in each snapshot, so a version always holds the whole workout.
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

-- Hevy's exercise catalogue, cached: each exercise's muscle groups.
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

CREATE TRIGGER shoes_set_updated_at BEFORE UPDATE ON shoes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER runs_set_updated_at BEFORE UPDATE ON runs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER synced_runs_set_updated_at BEFORE UPDATE ON synced_runs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER sync_metadata_set_updated_at BEFORE UPDATE ON sync_metadata
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER oauth_credentials_set_updated_at BEFORE UPDATE ON oauth_credentials
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER runs_history_immutable BEFORE UPDATE ON runs_history
    FOR EACH ROW EXECUTE FUNCTION forbid_history_update();
CREATE TRIGGER bikes_set_updated_at BEFORE UPDATE ON bikes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER rides_set_updated_at BEFORE UPDATE ON rides
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER rides_history_immutable BEFORE UPDATE ON rides_history
    FOR EACH ROW EXECUTE FUNCTION forbid_history_update();
CREATE TRIGGER lifts_set_updated_at BEFORE UPDATE ON lifts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER exercise_templates_set_updated_at BEFORE UPDATE ON exercise_templates
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER lifts_history_immutable BEFORE UPDATE ON lifts_history
    FOR EACH ROW EXECUTE FUNCTION forbid_history_update();
CREATE TRIGGER api_keys_set_updated_at BEFORE UPDATE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
