"""Token encryption at rest: round trips, tamper detection, legacy plaintext."""

from __future__ import annotations

import pytest

from fitness import crypto
from fitness.errors import ConfigurationError


def test_encrypted_values_round_trip_and_hide_the_plaintext() -> None:
    sealed = crypto.encrypt("refresh-token-123", "operator key")
    assert sealed.startswith(crypto.PREFIX)
    assert "refresh-token-123" not in sealed
    assert crypto.decrypt(sealed, "operator key") == "refresh-token-123"


def test_the_same_plaintext_encrypts_differently_each_time() -> None:
    assert crypto.encrypt("same", "k") != crypto.encrypt("same", "k")


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
