"""Encryption at rest for OAuth secrets, with AES-GCM keyed by FITNESS_SECRET_KEY.

Encrypted values are stored as `enc:v1:<base64(nonce + ciphertext)>`; anything without
that prefix is legacy plaintext, still readable, and encrypted on its next write.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fitness.errors import ConfigurationError

PREFIX = "enc:v1:"
_NONCE_BYTES = 12


def is_encrypted(value: str) -> bool:
    return value.startswith(PREFIX)


def encrypt(plaintext: str, secret_key: str) -> str:
    """Encrypt `plaintext`; a fresh random nonce each time, so equal inputs differ."""
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(_derive_key(secret_key)).encrypt(nonce, plaintext.encode(), PREFIX.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + ciphertext).decode("ascii")


def decrypt(stored: str, secret_key: str | None) -> str:
    """The plaintext of a stored value (legacy plaintext is returned as it is)."""
    if not is_encrypted(stored):
        return stored
    if not secret_key:
        raise ConfigurationError(
            "stored OAuth tokens are encrypted but FITNESS_SECRET_KEY is not set"
        )
    raw = base64.urlsafe_b64decode(stored[len(PREFIX) :].encode("ascii"))
    nonce, ciphertext = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    try:
        return AESGCM(_derive_key(secret_key)).decrypt(nonce, ciphertext, PREFIX.encode()).decode()
    except InvalidTag:
        raise ConfigurationError(
            "stored OAuth tokens cannot be decrypted with this FITNESS_SECRET_KEY"
        ) from None


def _derive_key(secret_key: str) -> bytes:
    # Any passphrase becomes a 256-bit key; SHA-256 is enough because the key is a
    # high-entropy secret chosen by the operator, not a user's password.
    return hashlib.sha256(secret_key.encode()).digest()
