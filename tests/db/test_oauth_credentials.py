"""fitness.db.oauth_credentials: tokens stored, rotated and encrypted at rest."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from fitness import crypto
from fitness.config import reset_settings
from fitness.db.connection import transaction
from fitness.db.oauth_credentials import (
    ENCRYPTED_COLUMNS,
    delete_credentials,
    get_credentials,
    get_credentials_for_update,
    reencrypt_secrets,
    stored_secrets_open_with,
    update_tokens,
    upsert_credentials,
)
from fitness.errors import ConfigurationError

EXPIRY = datetime(2030, 1, 1, tzinfo=UTC)
ALL_SECRETS = (
    "SELECT client_secret, access_token, refresh_token FROM oauth_credentials ORDER BY provider"
)


@pytest.fixture
def secret_key() -> Iterator[str]:
    os.environ["FITNESS_SECRET_KEY"] = "test operator key"
    reset_settings()
    yield "test operator key"
    os.environ.pop("FITNESS_SECRET_KEY", None)
    reset_settings()


@pytest.fixture
def own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data directory of this test's own (so its key file starts absent)."""
    monkeypatch.setenv("FITNESS_DATA_DIR", str(tmp_path))
    reset_settings()
    yield tmp_path
    monkeypatch.undo()
    reset_settings()


def store_strava() -> None:
    upsert_credentials("strava", "client-1", "client-secret-1", "refresh-1", "access-1", EXPIRY)


def raw_row(conn: psycopg.Connection) -> tuple[str, ...]:
    row = conn.execute(
        "SELECT client_secret, access_token, refresh_token FROM oauth_credentials"
    ).fetchone()
    assert row is not None
    return row


def test_credentials_round_trip(db: str) -> None:
    store_strava()
    creds = get_credentials("strava")
    assert creds is not None
    assert (creds.client_id, creds.client_secret, creds.access_token, creds.refresh_token) == (
        "client-1",
        "client-secret-1",
        "access-1",
        "refresh-1",
    )
    assert creds.expires_at == EXPIRY
    assert get_credentials("google") is None


def test_secrets_never_appear_in_repr(db: str) -> None:
    store_strava()
    text = repr(get_credentials("strava"))
    for secret in ("client-secret-1", "access-1", "refresh-1"):
        assert secret not in text


def test_update_tokens_persists_the_rotated_refresh_token(db: str) -> None:
    store_strava()
    later = EXPIRY + timedelta(hours=6)
    updated = update_tokens("strava", "access-2", "refresh-2", later)
    assert updated is not None
    assert (updated.access_token, updated.refresh_token, updated.expires_at) == (
        "access-2",
        "refresh-2",
        later,
    )
    assert get_credentials("strava").refresh_token == "refresh-2"  # type: ignore[union-attr]


def test_update_tokens_keeps_the_refresh_token_when_none_is_issued(db: str) -> None:
    store_strava()
    update_tokens("strava", "access-2", None, EXPIRY)
    assert get_credentials("strava").refresh_token == "refresh-1"  # type: ignore[union-attr]
    assert update_tokens("google", "a", "r", None) is None


def test_upsert_replaces_credentials_and_delete_forgets_them(db: str) -> None:
    store_strava()
    upsert_credentials("strava", "client-2", "secret-2", "refresh-9")
    creds = get_credentials("strava")
    assert creds is not None and creds.client_id == "client-2" and creds.access_token is None
    assert delete_credentials("strava") is True
    assert delete_credentials("strava") is False


def test_tokens_are_encrypted_at_rest_when_a_key_is_set(
    db: str, own_data_dir: Path, secret_key: str, raw_conn: psycopg.Connection
) -> None:
    store_strava()
    for stored in raw_row(raw_conn):
        assert stored.startswith("enc:v2:")
        assert "secret-1" not in stored and "refresh-1" not in stored and "access-1" not in stored
    assert get_credentials("strava").refresh_token == "refresh-1"  # type: ignore[union-attr]
    assert not (own_data_dir / "secret.key").exists()  # the env key was used


def test_without_a_key_dev_encrypts_with_its_key_file_never_in_clear(
    db: str, own_data_dir: Path, raw_conn: psycopg.Connection
) -> None:
    store_strava()
    assert all(stored.startswith("enc:v2:") for stored in raw_row(raw_conn))
    assert (own_data_dir / "secret.key").exists()
    assert get_credentials("strava").client_secret == "client-secret-1"  # type: ignore[union-attr]


def test_plaintext_rows_of_older_versions_are_encrypted_on_their_next_write(
    db: str, raw_conn: psycopg.Connection
) -> None:
    raw_conn.execute(
        "INSERT INTO oauth_credentials (provider, client_id, client_secret, refresh_token) "
        "VALUES ('strava', 'client-1', 'client-secret-1', 'refresh-1')"
    )
    assert get_credentials("strava").client_secret == "client-secret-1"  # type: ignore[union-attr]
    update_tokens("strava", "access-2", None, EXPIRY)
    assert all(value.startswith("enc:v2:") for value in raw_row(raw_conn))
    creds = get_credentials("strava")
    assert creds is not None
    assert (creds.client_secret, creds.refresh_token) == ("client-secret-1", "refresh-1")


@pytest.mark.parametrize("table", ["oauth_credentials", "oauth_states", "api_keys"])
def test_every_secret_looking_column_is_encrypted(raw_conn: psycopg.Connection, table: str) -> None:
    columns = [
        row[0]
        for row in raw_conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
            (table,),
        )
    ]
    secret_like = {
        name
        for name in columns
        if re.search(r"(secret|_token|verifier|fingerprint|api_key)$", name)
    }
    assert secret_like == set(ENCRYPTED_COLUMNS[table])


def test_reencrypting_moves_every_secret_to_the_new_key(
    db: str, secret_key: str, raw_conn: psycopg.Connection
) -> None:
    store_strava()
    upsert_credentials("google", "client-g", "secret-g", "refresh-g")
    raw_conn.execute(
        "INSERT INTO oauth_credentials (provider, client_id, client_secret, refresh_token) "
        "VALUES ('legacy', 'client-l', 'plain-secret', 'plain-refresh')"
    )

    assert reencrypt_secrets([secret_key], "the new key") == 7

    values = [v for row in raw_conn.execute(ALL_SECRETS) for v in row if v is not None]
    assert len(values) == 7
    assert all(crypto.decrypt(value, "the new key") for value in values)
    with pytest.raises(ConfigurationError):
        crypto.decrypt(values[0], secret_key)
    assert stored_secrets_open_with("the new key") and not stored_secrets_open_with(secret_key)


def test_reencrypting_is_all_or_nothing(
    db: str, secret_key: str, raw_conn: psycopg.Connection
) -> None:
    upsert_credentials("google", "client-g", "secret-g", "refresh-g")
    store_strava()
    raw_conn.execute(
        "UPDATE oauth_credentials SET access_token = %s WHERE provider = 'strava'",
        (crypto.encrypt("access-x", "some other key"),),
    )
    before = list(raw_conn.execute(ALL_SECRETS))

    with pytest.raises(ConfigurationError, match="nothing was re-encrypted"):
        reencrypt_secrets([secret_key], "the new key")

    assert list(raw_conn.execute(ALL_SECRETS)) == before


def test_the_row_lock_serialises_refreshers(db: str, database_url: str) -> None:
    store_strava()
    with transaction() as conn:
        locked = get_credentials_for_update("strava", conn=conn)
        assert locked is not None
        with psycopg.connect(database_url, autocommit=True) as other:
            other.execute("SET lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(
                    "SELECT 1 FROM oauth_credentials WHERE provider = 'strava' FOR UPDATE"
                )
