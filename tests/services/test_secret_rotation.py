"""`fitness secrets rotate`: every stored secret under a new key, all or nothing, with the key
kept where the next process will find it (dev's key file, or the operator's variables)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from fitness import crypto
from fitness.cli import main
from fitness.config import reset_settings
from fitness.db.oauth_credentials import get_credentials, upsert_credentials
from fitness.errors import ConfigurationError
from fitness.services import secret_rotation
from fitness.services.secret_rotation import rotate_secret_key

STRONG_NEW_KEY = "kP7wQ2nZ5xR9tB3vM8cL1sD6fH4gJ0yA"
SECRETS = "SELECT client_secret, access_token, refresh_token FROM oauth_credentials"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """This test's own data directory (and key file); settings follow `env.setenv`."""
    monkeypatch.setenv("FITNESS_DATA_DIR", str(tmp_path))
    reset_settings()
    yield monkeypatch
    monkeypatch.undo()
    reset_settings()


def set_environment(env: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        env.setenv(name, value)
    reset_settings()


def store_both() -> None:
    upsert_credentials("strava", "client-s", "secret-s", "refresh-s", "access-s")
    upsert_credentials("google", "client-g", "secret-g", "refresh-g")


def stored(conn: psycopg.Connection) -> list[str]:
    return sorted(value for row in conn.execute(SECRETS) for value in row if value is not None)


def test_dev_rotation_replaces_the_key_file_and_keeps_every_secret_readable(
    db: str, env: pytest.MonkeyPatch, tmp_path: Path, raw_conn: psycopg.Connection
) -> None:
    store_both()
    old_key = (tmp_path / "secret.key").read_text().strip()
    before = stored(raw_conn)

    result = rotate_secret_key()

    new_key = (tmp_path / "secret.key").read_text().strip()
    assert new_key != old_key
    assert (result.reencrypted, result.swap_variables) == (5, False)
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "secret.key.new").exists()
    after = stored(raw_conn)
    assert set(after).isdisjoint(before)
    assert all(crypto.decrypt(value, new_key) for value in after)
    with pytest.raises(ConfigurationError):
        crypto.decrypt(after[0], old_key)
    strava = get_credentials("strava")
    assert strava is not None and strava.refresh_token == "refresh-s"


def test_a_failed_rotation_changes_neither_the_database_nor_the_key_file(
    db: str, env: pytest.MonkeyPatch, tmp_path: Path, raw_conn: psycopg.Connection
) -> None:
    store_both()
    raw_conn.execute(
        "UPDATE oauth_credentials SET access_token = %s WHERE provider = 'google'",
        (crypto.encrypt("access-g", "a key nobody has"),),
    )
    key_before = (tmp_path / "secret.key").read_text()
    before = stored(raw_conn)

    with pytest.raises(ConfigurationError, match="nothing was re-encrypted"):
        rotate_secret_key()

    assert stored(raw_conn) == before
    assert (tmp_path / "secret.key").read_text() == key_before
    assert not (tmp_path / "secret.key.new").exists()


def test_a_rotation_interrupted_after_its_commit_is_finished_by_the_next(
    db: str, env: pytest.MonkeyPatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_both()
    real_replace = os.replace

    def crash(source: object, destination: object) -> None:
        raise KeyboardInterrupt  # the process dies between the commit and the rename

    monkeypatch.setattr(secret_rotation.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        rotate_secret_key()
    monkeypatch.setattr(secret_rotation.os, "replace", real_replace)
    assert (tmp_path / "secret.key.new").exists()
    with pytest.raises(ConfigurationError, match="cannot be decrypted"):
        get_credentials("strava")  # the database is under the pending key

    result = rotate_secret_key()

    assert result.finished_interrupted and result.reencrypted == 5
    assert not (tmp_path / "secret.key.new").exists()
    strava = get_credentials("strava")
    assert strava is not None and strava.client_secret == "secret-s"


def test_a_pending_key_the_database_never_got_is_discarded(
    db: str, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store_both()
    assert crypto.write_key_file(tmp_path / "secret.key.new", "never committed")

    result = rotate_secret_key()

    assert not result.finished_interrupted
    assert get_credentials("google").refresh_token == "refresh-g"  # type: ignore[union-attr]


def test_with_an_environment_key_the_new_one_comes_from_fitness_new_secret_key(
    db: str, env: pytest.MonkeyPatch, tmp_path: Path, raw_conn: psycopg.Connection
) -> None:
    set_environment(env, FITNESS_SECRET_KEY="old operator key")
    store_both()
    with pytest.raises(ConfigurationError, match="FITNESS_NEW_SECRET_KEY is not set"):
        rotate_secret_key()

    set_environment(env, FITNESS_NEW_SECRET_KEY=STRONG_NEW_KEY)
    result = rotate_secret_key()

    assert (result.reencrypted, result.swap_variables) == (5, True)
    assert all(crypto.decrypt(value, STRONG_NEW_KEY) for value in stored(raw_conn))
    assert not (tmp_path / "secret.key").exists()
    set_environment(env, FITNESS_SECRET_KEY=STRONG_NEW_KEY, FITNESS_NEW_SECRET_KEY="")
    assert get_credentials("strava").access_token == "access-s"  # type: ignore[union-attr]


def test_prod_refuses_a_weak_new_key(
    db: str, env: pytest.MonkeyPatch, raw_conn: psycopg.Connection
) -> None:
    set_environment(env, FITNESS_SECRET_KEY="Vq3k9XcN2b7LmT4sRz8YhW1pGd6FjK0a")
    store_both()
    before = stored(raw_conn)
    set_environment(env, FITNESS_ENV="prod", FITNESS_NEW_SECRET_KEY="new passphrase")

    with pytest.raises(ConfigurationError, match="FITNESS_NEW_SECRET_KEY is 14 characters"):
        rotate_secret_key()
    assert stored(raw_conn) == before


def test_the_command_says_what_it_did_and_where_the_key_is(
    db: str, env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_both()

    assert main(["secrets", "rotate"]) == 0
    out = capsys.readouterr().out
    assert out == (
        "re-encrypted 5 stored secrets under the new key\n"
        f"the new key is in {tmp_path / 'secret.key'}\n"
    )

    set_environment(env, FITNESS_SECRET_KEY="old operator key")
    assert main(["secrets", "rotate"]) == 1
    assert "fitness: error: FITNESS_NEW_SECRET_KEY is not set" in capsys.readouterr().err
