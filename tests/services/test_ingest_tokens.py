"""Ingest tokens (fitness/services/ingest_tokens.py): shown once, stored as a digest only,
revoked at once."""

from __future__ import annotations

import psycopg
import pytest

from fitness.errors import IngestTokenExists, IngestTokenNotFound, InvalidUpdate
from fitness.services.ingest_tokens import (
    authenticate_ingest_token,
    list_ingest_tokens,
    mint_ingest_token,
    revoke_ingest_token,
)


def test_a_minted_token_authenticates_and_only_its_digest_is_stored(
    db: str, raw_conn: psycopg.Connection
) -> None:
    minted = mint_ingest_token("  iphone ")

    assert minted.token.name == "iphone"
    assert minted.secret.startswith("fit_ingest_") and len(minted.secret) == 54
    assert authenticate_ingest_token(minted.secret) == "iphone"
    stored = raw_conn.execute("SELECT t::text FROM ingest_tokens AS t").fetchone()
    assert stored is not None and minted.secret not in stored[0]
    assert minted.secret.removeprefix("fit_ingest_") not in stored[0]


def test_tokens_are_listed_with_their_last_use_and_never_shown_again(db: str) -> None:
    first = mint_ingest_token("iphone")
    mint_ingest_token("ipad")
    authenticate_ingest_token(first.secret)

    listed = list_ingest_tokens()

    assert [token.name for token in listed] == ["iphone", "ipad"]
    assert listed[0].last_used_at is not None and listed[1].last_used_at is None
    assert not any(first.secret in repr(token) for token in listed)


def test_a_revoked_token_opens_nothing(db: str) -> None:
    minted = mint_ingest_token("iphone")

    revoke_ingest_token("iphone")

    assert authenticate_ingest_token(minted.secret) is None
    with pytest.raises(IngestTokenNotFound):
        revoke_ingest_token("iphone")


@pytest.mark.parametrize("value", ["fit_ingest_", "fit_ingest_guess", "api-token", "x" * 500])
def test_values_that_are_no_minted_token_authenticate_nothing(db: str, value: str) -> None:
    mint_ingest_token("iphone")
    assert authenticate_ingest_token(value) is None


def test_names_are_unique_and_bounded(db: str) -> None:
    mint_ingest_token("iphone")
    with pytest.raises(IngestTokenExists):
        mint_ingest_token("iphone")
    for bad in ("", "   ", "x" * 101, "a\x00b"):
        with pytest.raises(InvalidUpdate):
            mint_ingest_token(bad)
