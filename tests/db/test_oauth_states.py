"""fitness.db.oauth_states: consent states consumed once, and their PKCE verifiers sealed
like every other secret (a key rotation moves them too)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from fitness import crypto
from fitness.config import reset_settings
from fitness.db.oauth_credentials import reencrypt_secrets, upsert_credentials
from fitness.db.oauth_states import consume_state, create_state
from fitness.errors import InvalidOAuthState

STATE, BINDING = "a" * 64, "b" * 64


@pytest.fixture
def secret_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("FITNESS_SECRET_KEY", "the operator's key for this test")
    reset_settings()
    yield "the operator's key for this test"
    monkeypatch.undo()
    reset_settings()


def start(verifier: str | None = "the-verifier") -> None:
    create_state(
        STATE,
        provider="google",
        flow="browser",
        binding_hash=BINDING,
        code_verifier=verifier,
        redirect_uri="http://127.0.0.1:8000/oauth/google/callback",
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    )


def test_a_state_is_consumed_once_with_its_verifier(db: str) -> None:
    start()

    consumed = consume_state(STATE, provider="google", flow="browser", binding_hash=BINDING)

    assert (consumed.provider, consumed.code_verifier) == ("google", "the-verifier")
    with pytest.raises(InvalidOAuthState, match="already used"):
        consume_state(STATE, provider="google", flow="browser", binding_hash=BINDING)


def test_expired_states_are_forgotten_when_a_new_one_starts(
    db: str, raw_conn: psycopg.Connection
) -> None:
    start()
    raw_conn.execute("UPDATE oauth_states SET expires_at = now() - interval '1 minute'")

    create_state(
        "c" * 64,
        provider="strava",
        flow="terminal",
        binding_hash=BINDING,
        code_verifier=None,
        redirect_uri="http://127.0.0.1:8000/oauth/strava/callback",
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    )

    assert raw_conn.execute("SELECT state_hash FROM oauth_states").fetchall() == [("c" * 64,)]


def test_a_key_rotation_moves_verifiers_and_fingerprints_too(
    db: str, secret_key: str, raw_conn: psycopg.Connection
) -> None:
    start()
    upsert_credentials("google", "client-g", "secret-g", "refresh-g", seed_fingerprint="f" * 64)

    assert reencrypt_secrets([secret_key], "the new key for this test") == 4

    (verifier,) = raw_conn.execute("SELECT code_verifier FROM oauth_states").fetchone()
    (fingerprint,) = raw_conn.execute("SELECT seed_fingerprint FROM oauth_credentials").fetchone()
    for sealed, plain in ((verifier, "the-verifier"), (fingerprint, "f" * 64)):
        assert crypto.decrypt(sealed, "the new key for this test") == plain
