"""Ingest tokens: minted for a device that pushes runs (a phone), shown once, stored as a
digest, and accepted by the ingest routes only.

A token is `fit_ingest_` followed by 43 characters of `secrets.token_urlsafe(32)`: 256 random
bits. Its SHA-256 digest is what the database keeps. A plain digest (no salt, no slow key
derivation) is enough because the token is random: a slow hash protects passwords people
choose, which can be guessed; 2^256 tokens cannot be tried, with or without the digests.
The fixed prefix says what a leaked token is (secret scanners match on such prefixes) and
lets the API tell an ingest token from an API token without a database query.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Final

from pydantic import TypeAdapter, ValidationError

from fitness.db import ingest_tokens as db_tokens
from fitness.errors import InvalidUpdate
from fitness.models import IngestToken
from fitness.rules import IngestTokenName, describe

TOKEN_PREFIX: Final = "fit_ingest_"
TOKEN_BYTES: Final = 32
# Longer than any token minted here: a longer bearer value is not looked up at all.
MAX_TOKEN_CHARS: Final = 100

_NAME: Final = TypeAdapter(IngestTokenName)


@dataclass(frozen=True, slots=True)
class MintedIngestToken:
    """A new token: `token` is shown this once and never again."""

    token: IngestToken
    secret: str


def mint_ingest_token(name: str) -> MintedIngestToken:
    """A new ingest token called `name` (1-100 characters, e.g. `iphone`).

    `InvalidUpdate` for a bad name, `IngestTokenExists` if the name is taken.

    >>> mint_ingest_token("iphone").secret   # doctest: +SKIP
    'fit_ingest_4qRr...'
    """
    clean = _name(name)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    token = db_tokens.insert_ingest_token(clean, token_digest(secret))
    return MintedIngestToken(token=token, secret=secret)


def list_ingest_tokens() -> list[IngestToken]:
    """Every ingest token: name, when minted, when last used (never the token)."""
    return db_tokens.get_ingest_tokens()


def revoke_ingest_token(name: str) -> IngestToken:
    """Revoke the token called `name` at once; `IngestTokenNotFound` if there is none."""
    return db_tokens.delete_ingest_token(_name(name))


def looks_like_ingest_token(value: str) -> bool:
    """True when `value` has the shape of an ingest token (so it is worth looking up)."""
    return value.startswith(TOKEN_PREFIX) and len(value) <= MAX_TOKEN_CHARS


def authenticate_ingest_token(value: str) -> str | None:
    """The name of the ingest token `value`, or None if it is not one (revoked, never
    minted, or not shaped like one). Records the use."""
    if not looks_like_ingest_token(value):
        return None
    return db_tokens.use_ingest_token(token_digest(value))


def token_digest(value: str) -> bytes:
    """The SHA-256 digest under which a token is stored."""
    return hashlib.sha256(value.encode("utf-8")).digest()


def _name(name: str) -> str:
    try:
        return _NAME.validate_python(name.strip() if isinstance(name, str) else name)
    except ValidationError as error:
        item = error.errors(include_url=False)[0]
        if item["type"] == "value_error":
            message = str(item["ctx"]["error"])
        else:
            message = "must be " + describe(_NAME.json_schema())
        raise InvalidUpdate({"name": message}) from None
