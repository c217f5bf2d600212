"""`fitness tokens mint|list|revoke` and `fitness serve --ingest-only`, as a user runs them."""

from __future__ import annotations

import dataclasses

import pytest

from fitness.cli import main
from fitness.cli.serve import _check_exposure
from fitness.config import get_settings
from fitness.errors import ConfigurationError
from fitness.services.ingest_tokens import authenticate_ingest_token


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_mint_shows_the_token_once_and_list_never(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(capsys, "tokens", "mint", "iphone")
    token = out.splitlines()[1]
    listed_status, listed, _ = run_cli(capsys, "tokens", "list")

    assert status == 0, err
    assert out.splitlines()[0] == "ingest token 'iphone' (shown once, keep it in the app only):"
    assert authenticate_ingest_token(token) == "iphone"
    assert listed_status == 0
    assert listed.splitlines()[0].split() == ["name", "minted", "last", "used"]
    assert listed.splitlines()[1].startswith("iphone")
    assert token not in listed


def test_revoke_ends_a_token_and_mistakes_are_one_line(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run_cli(capsys, "tokens", "mint", "iphone")
    token = out.splitlines()[1]

    assert run_cli(capsys, "tokens", "revoke", "iphone") == (
        0,
        "revoked ingest token 'iphone'\n",
        "",
    )
    assert authenticate_ingest_token(token) is None
    for argv, message in (
        (("tokens", "revoke", "iphone"), "fitness: error: no ingest token is named 'iphone'\n"),
        (
            ("tokens", "mint", " "),
            "fitness: error: invalid update: name: must be non-empty text "
            "of at most 100 characters\n",
        ),
    ):
        status, _, err = run_cli(capsys, *argv)
        assert (status, err) == (1, message)
    run_cli(capsys, "tokens", "mint", "ipad")
    status, _, err = run_cli(capsys, "tokens", "mint", "ipad")
    assert (status, err) == (1, "fitness: error: an ingest token named 'ipad' already exists\n")


def test_list_without_tokens_says_how_to_make_one(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "tokens", "list")[1] == (
        "no ingest tokens (mint one with `fitness tokens mint NAME`)\n"
    )


def test_serve_without_api_tokens_listens_beyond_loopback_only_for_ingest() -> None:
    settings = dataclasses.replace(get_settings(), api_tokens=())

    _check_exposure(settings, "0.0.0.0", ingest_only=True)
    with pytest.raises(ConfigurationError, match="--ingest-only"):
        _check_exposure(settings, "0.0.0.0")
    with pytest.raises(ConfigurationError, match="prod never serves"):
        _check_exposure(dataclasses.replace(settings, env="prod"), "0.0.0.0", ingest_only=True)
