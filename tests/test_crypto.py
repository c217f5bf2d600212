"""Encryption at rest: round trips, tamper detection, legacy values, dev's key file and the
strength prod asks of tokens and keys."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fitness import crypto
from fitness.config import Settings, get_settings
from fitness.errors import ConfigurationError


@pytest.fixture
def dev(tmp_path: Path) -> Settings:
    """Dev settings without FITNESS_SECRET_KEY, with a data directory of their own."""
    return dataclasses.replace(get_settings(), env="dev", secret_key=None, data_dir=tmp_path)


def test_encrypted_values_round_trip_and_hide_the_plaintext() -> None:
    sealed = crypto.encrypt("refresh-token-123", "operator key")
    assert sealed.startswith("enc:v2:")
    assert "refresh-token-123" not in sealed
    assert crypto.decrypt(sealed, "operator key") == "refresh-token-123"


def test_the_same_plaintext_encrypts_differently_each_time() -> None:
    assert crypto.encrypt("same", "k") != crypto.encrypt("same", "k")


def test_a_value_is_readable_with_the_key_alone_in_another_process() -> None:
    sealed = crypto.encrypt("token", "operator key")
    # Another process has none of this one's derived keys or salt.
    crypto._process_key.cache_clear()
    crypto._derived_key.cache_clear()
    assert crypto.decrypt(sealed, "operator key") == "token"


def test_a_passphrase_is_stretched_by_scrypt_not_hashed() -> None:
    sealed = crypto.encrypt("token", "operator key")
    raw = base64.urlsafe_b64decode(sealed.removeprefix("enc:v2:"))
    nonce, ciphertext = raw[16:28], raw[28:]
    quick_key = hashlib.sha256(b"operator key").digest()
    with pytest.raises(InvalidTag):
        AESGCM(quick_key).decrypt(nonce, ciphertext, b"enc:v2:")


def test_values_written_by_earlier_versions_stay_readable() -> None:
    # enc:v1: exactly as fitness wrote it before: AES-GCM under SHA-256 of the key.
    nonce = os.urandom(12)
    key = hashlib.sha256(b"old operator key").digest()
    legacy = "enc:v1:" + base64.urlsafe_b64encode(
        nonce + AESGCM(key).encrypt(nonce, b"refresh-1", b"enc:v1:")
    ).decode("ascii")
    assert crypto.is_encrypted(legacy)
    assert crypto.decrypt(legacy, "old operator key") == "refresh-1"


@pytest.mark.parametrize(
    "damaged",
    ["enc:v2:not base64!", "enc:v2:", "enc:v1:AAAA", "enc:v2:" + "A" * 80],
)
def test_a_damaged_value_is_a_clear_error(damaged: str) -> None:
    with pytest.raises(ConfigurationError, match="cannot be decrypted"):
        crypto.decrypt(damaged, "k")


def test_a_wrong_key_is_a_clear_error_without_the_value() -> None:
    sealed = crypto.encrypt("refresh-token-123", "right key")
    with pytest.raises(ConfigurationError, match="cannot be decrypted") as caught:
        crypto.decrypt(sealed, "wrong key")
    assert "refresh-token-123" not in str(caught.value)


def test_encrypted_values_cannot_be_read_without_a_key() -> None:
    sealed = crypto.encrypt("x", "k")
    with pytest.raises(ConfigurationError, match="FITNESS_SECRET_KEY"):
        crypto.decrypt(sealed, None)


def test_legacy_plaintext_is_returned_as_it_is() -> None:
    assert crypto.decrypt("plain-old-token", "k") == "plain-old-token"
    assert crypto.decrypt("plain-old-token", None) == "plain-old-token"


# --- the key ------------------------------------------------------------------------------


def test_dev_creates_a_private_key_file_on_first_need_and_says_where(
    dev: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    assert crypto.secret_key(dev, create=False) is None
    assert not (dev.data_dir / "secret.key").exists()
    caplog.set_level(logging.INFO)

    key = crypto.secret_key(dev, create=True)

    assert key is not None
    path = dev.data_dir / "secret.key"
    assert key.source == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key.value) >= crypto.MIN_SECRET_CHARS
    created = [record.getMessage() for record in caplog.records]
    assert len(created) == 1 and str(path) in created[0]
    assert key.value not in caplog.text
    assert crypto.secret_key(dev, create=True) == key  # used, not replaced
    assert [name for name in os.listdir(dev.data_dir)] == ["secret.key"]


def test_processes_racing_to_create_the_key_file_agree(dev: Settings) -> None:
    found: list[crypto.SecretKey | None] = []
    threads = [
        threading.Thread(target=lambda: found.append(crypto.secret_key(dev, create=True)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({key.value for key in found if key}) == 1


def test_the_environment_key_wins_over_the_key_file(dev: Settings) -> None:
    crypto.secret_key(dev, create=True)
    key = crypto.secret_key(dataclasses.replace(dev, secret_key="from the env"), create=True)
    assert key == crypto.SecretKey("from the env", "FITNESS_SECRET_KEY")


def test_prod_never_uses_or_creates_a_key_file(dev: Settings) -> None:
    prod = dataclasses.replace(dev, env="prod")
    with pytest.raises(ConfigurationError, match="FITNESS_SECRET_KEY is not set"):
        crypto.secret_key(prod, create=True)
    assert not (dev.data_dir / "secret.key").exists()


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_key_file_others_can_read_is_refused(dev: Settings) -> None:
    crypto.secret_key(dev, create=True)
    (dev.data_dir / "secret.key").chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        crypto.secret_key(dev, create=True)


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("short-token", "11 characters long"),
        ("a" * 64, "only 1 different characters"),
        ("passwordpasswordpasswordpassword", "only 7 different characters"),
        ("0123456789" * 3 + "01", None),
        ("Z3dX1m2f0c8Q4a5t7yUoP9rLkJhGfDsA", None),
        ("9f86d081884c7d659a2feaa0c55ad015", None),  # 128 random bits in hex
    ],
)
def test_prod_strength_rule(secret: str, problem: str | None) -> None:
    found = crypto.weakness(secret)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found and secret not in found
