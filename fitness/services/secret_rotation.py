"""Rotating the key that encrypts stored secrets: the database and the key agree at every
moment a crash could leave them in.

Where the new key comes from:
- FITNESS_NEW_SECRET_KEY when set (required when FITNESS_SECRET_KEY is: the process cannot
  change its own environment). After the commit the operator swaps the variables.
- Otherwise (dev with its key file), a new random key, written first to
  `secret.key.new` (0600) so that it is on disk before the database depends on it; the
  database is re-encrypted in one transaction; only after the commit does the new file
  replace `secret.key` (an atomic rename). A rotation interrupted between the commit and
  the rename leaves `secret.key.new`: the next rotation finds it, sees which key the
  database is under, and finishes or discards it before starting.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass

from fitness import crypto
from fitness.config import Settings, get_settings
from fitness.db.oauth_credentials import reencrypt_secrets, stored_secrets_open_with
from fitness.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class KeyRotation:
    """What `rotate_secret_key` did.

    `reencrypted`: how many stored values are now under the new key. `new_key_source`:
    `FITNESS_NEW_SECRET_KEY` or the key file's path. `swap_variables`: True when the
    operator must now set FITNESS_SECRET_KEY to the new key (and drop the new variable).
    `finished_interrupted`: True when an earlier, interrupted rotation was completed first.
    """

    reencrypted: int
    new_key_source: str
    swap_variables: bool
    finished_interrupted: bool


def rotate_secret_key(settings: Settings | None = None) -> KeyRotation:
    """Re-encrypt every stored secret under a new key, all or nothing (see the module).

    Raises `ConfigurationError` when the new key cannot come from anywhere (FITNESS_SECRET_KEY
    is set but FITNESS_NEW_SECRET_KEY is not), is too weak for prod, or when a stored secret
    does not open with the current key; nothing is changed then.
    """
    settings = settings or get_settings()
    if settings.new_secret_key:
        return _rotate_to(settings, settings.new_secret_key)
    if settings.secret_key or settings.is_prod:
        raise ConfigurationError(
            "FITNESS_NEW_SECRET_KEY is not set: with FITNESS_SECRET_KEY in the environment the "
            "new key comes from there too (make one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    return _rotate_key_file(settings)


def _rotate_to(settings: Settings, new_key: str) -> KeyRotation:
    problem = crypto.weakness(new_key)
    if settings.is_prod and problem:
        raise ConfigurationError(f"FITNESS_NEW_SECRET_KEY {problem}")
    current = crypto.secret_key(settings, create=False)
    count = reencrypt_secrets([current.value] if current else [], new_key)
    return KeyRotation(count, "FITNESS_NEW_SECRET_KEY", True, False)


def _rotate_key_file(settings: Settings) -> KeyRotation:
    path, pending = crypto.key_file(settings), crypto.pending_key_file(settings)
    finished = _settle_interrupted_rotation(settings)
    current = crypto.read_key_file(path)
    new_key = secrets.token_urlsafe(32)
    if not crypto.write_key_file(pending, new_key):
        raise ConfigurationError(f"{pending} appeared meanwhile: is another rotation running?")
    try:
        count = reencrypt_secrets([current] if current else [], new_key)
    except BaseException:
        pending.unlink()
        raise
    os.replace(pending, path)
    return KeyRotation(count, str(path), False, finished)


def _settle_interrupted_rotation(settings: Settings) -> bool:
    """Finish or discard what an interrupted rotation left; True if it was finished."""
    pending = crypto.pending_key_file(settings)
    left = crypto.read_key_file(pending)
    if left is None:
        return False
    if stored_secrets_open_with(left):
        os.replace(pending, crypto.key_file(settings))
        return True
    with contextlib.suppress(FileNotFoundError):
        pending.unlink()
    return False
