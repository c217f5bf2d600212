"""Encryption at rest for stored secrets (OAuth client secrets and tokens), and its key.

The key is FITNESS_SECRET_KEY when set (required in prod), else, in dev, a random key kept
in the file `secret.key` of the data directory, created (mode 0600) the first time a secret
is stored; so a secret is never stored in clear. A key, passphrase or random, is
stretched by scrypt (n=2**15, r=8, p=1: 32 MiB and about 0.1 s) into an AES-256-GCM key.

Stored values, by prefix:
- `enc:v2:` + base64url(salt 16 bytes + nonce 12 bytes + ciphertext and tag): the scrypt
  salt is random, drawn once per process and key and stored in every value, so a value is
  readable with the key alone; keys derived for a salt are cached, so scrypt runs once per
  process and salt, not once per value.
- `enc:v1:` + base64url(nonce + ciphertext and tag), written by earlier versions with
  SHA-256(key) as the AES key: still read, written again as v2 on the next write of its row
  or by `fitness secrets rotate`.
- anything else is plaintext from before any key existed: read as it is, encrypted on the
  next write of its row or by `fitness secrets rotate`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import os
import secrets
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from fitness.config import Settings
from fitness.errors import ConfigurationError

logger = logging.getLogger(__name__)

PREFIX: Final = "enc:v2:"
LEGACY_PREFIX: Final = "enc:v1:"
KEY_FILE_NAME: Final = "secret.key"
# Where `fitness secrets rotate` keeps the next key until the database is re-encrypted.
PENDING_KEY_FILE_NAME: Final = "secret.key.new"
# What prod accepts as an API token or secret key: long, and not a short pattern repeated.
# A floor that stops typed passwords, not a measure of randomness: use
# `python -c "import secrets; print(secrets.token_urlsafe(32))"`.
MIN_SECRET_CHARS: Final = 32
MIN_DISTINCT_CHARS: Final = 10

_SALT_BYTES: Final = 16
_NONCE_BYTES: Final = 12
_SCRYPT_N: Final = 2**15
_SCRYPT_R: Final = 8
_SCRYPT_P: Final = 1


@dataclass(frozen=True, slots=True)
class SecretKey:
    """The key secrets are encrypted with, and where it comes from (for messages)."""

    value: str = field(repr=False)
    source: str


def is_encrypted(value: str) -> bool:
    """True for a value this module wrote (any version), False for legacy plaintext."""
    return value.startswith((PREFIX, LEGACY_PREFIX))


def encrypt(plaintext: str, secret_key: str) -> str:
    """`plaintext` sealed under `secret_key` (an `enc:v2:` value); equal inputs differ."""
    salt, key = _process_key(secret_key)
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), PREFIX.encode())
    return PREFIX + base64.urlsafe_b64encode(salt + nonce + sealed).decode("ascii")


def decrypt(stored: str, secret_key: str | None) -> str:
    """The plaintext of a stored value (legacy plaintext is returned as it is).

    Raises `ConfigurationError`, without the value, when the value is encrypted and
    `secret_key` is None, is not the key it was encrypted with, or the value is damaged.
    """
    if not is_encrypted(stored):
        return stored
    if not secret_key:
        raise ConfigurationError(
            "stored secrets are encrypted but there is no key: set FITNESS_SECRET_KEY, or "
            f"restore the key file ({KEY_FILE_NAME} in FITNESS_DATA_DIR)"
        )
    try:
        if stored.startswith(PREFIX):
            raw = base64.urlsafe_b64decode(stored[len(PREFIX) :].encode("ascii"))
            salt, rest = raw[:_SALT_BYTES], raw[_SALT_BYTES:]
            key, prefix = _derived_key(secret_key, salt), PREFIX
        else:
            rest = base64.urlsafe_b64decode(stored[len(LEGACY_PREFIX) :].encode("ascii"))
            key, prefix = hashlib.sha256(secret_key.encode()).digest(), LEGACY_PREFIX
        nonce, sealed = rest[:_NONCE_BYTES], rest[_NONCE_BYTES:]
        return AESGCM(key).decrypt(nonce, sealed, prefix.encode()).decode()
    except (InvalidTag, binascii.Error, ValueError):
        raise ConfigurationError(
            "stored secrets cannot be decrypted with this key (FITNESS_SECRET_KEY or the "
            "key file): it is not the key they were encrypted with, or they are damaged"
        ) from None


def secret_key(settings: Settings, *, create: bool) -> SecretKey | None:
    """The key stored secrets are encrypted with, or None when there is none yet.

    FITNESS_SECRET_KEY when set. Otherwise in dev the key file in the data directory,
    created with a random key when `create` (one log line says where, never the key); in
    prod, `ConfigurationError`: the key must come from the environment there.
    """
    if settings.secret_key:
        return SecretKey(settings.secret_key, "FITNESS_SECRET_KEY")
    if settings.is_prod:
        raise ConfigurationError(
            "FITNESS_SECRET_KEY is not set: FITNESS_ENV=prod needs it to store or read "
            "OAuth secrets"
        )
    path = key_file(settings)
    value = read_key_file(path)
    if value is None and create:
        value = secrets.token_urlsafe(32)
        if write_key_file(path, value):
            logger.warning(
                "Created %s, the key that encrypts stored OAuth secrets: keep it with your "
                "backups (without it they cannot be read), or set FITNESS_SECRET_KEY",
                path,
            )
        else:  # another process created it first: use theirs
            value = read_key_file(path)
    return None if value is None else SecretKey(value, str(path))


def key_file(settings: Settings) -> Path:
    """Where dev keeps its key when FITNESS_SECRET_KEY is not set."""
    return settings.data_dir.expanduser() / KEY_FILE_NAME


def pending_key_file(settings: Settings) -> Path:
    """Where `fitness secrets rotate` keeps the next key until the database has it."""
    return settings.data_dir.expanduser() / PENDING_KEY_FILE_NAME


def read_key_file(path: Path) -> str | None:
    """The key in `path`, or None when there is no such file.

    Raises `ConfigurationError` for a file other users can read (POSIX), or an empty one.
    """
    try:
        mode = path.stat().st_mode
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if sys.platform != "win32" and mode & 0o077:
        raise ConfigurationError(
            f"{path} can be read by other users (mode {mode & 0o777:o}): run `chmod 600 {path}`"
        )
    if not value:
        raise ConfigurationError(f"{path} is empty: restore the key from a backup")
    return value


def write_key_file(path: Path, value: str) -> bool:
    """Create `path` holding `value`, readable by its owner only; False if it exists.

    Written to a temporary file first and linked into place, so the file is never seen
    half-written and never replaces one another process created meanwhile.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(value + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return True


def weakness(secret: str) -> str | None:
    """Why `secret` is too weak for prod (an API token or secret key), or None.

    The rule: at least MIN_SECRET_CHARS characters, of which at least MIN_DISTINCT_CHARS
    differ. It never repeats the secret.
    """
    if len(secret) < MIN_SECRET_CHARS:
        return f"is {len(secret)} characters long; prod needs at least {MIN_SECRET_CHARS}"
    if len(set(secret)) < MIN_DISTINCT_CHARS:
        return (
            f"uses only {len(set(secret))} different characters; prod needs at least "
            f"{MIN_DISTINCT_CHARS}"
        )
    return None


@lru_cache(maxsize=8)
def _process_key(secret_key: str) -> tuple[bytes, bytes]:
    # One salt per process and key: each value still carries it, and scrypt runs once.
    salt = os.urandom(_SALT_BYTES)
    return salt, _derived_key(secret_key, salt)


@lru_cache(maxsize=64)
def _derived_key(secret_key: str, salt: bytes) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return kdf.derive(secret_key.encode())
