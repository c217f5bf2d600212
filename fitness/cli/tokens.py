"""`fitness tokens ...`: mint, list and revoke the ingest tokens a phone pushes runs with."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from fitness.cli._common import AddCommand, Subcommands, command_group, prepare_database
from fitness.services.ingest_tokens import (
    list_ingest_tokens,
    mint_ingest_token,
    revoke_ingest_token,
)


def add(commands: Subcommands) -> None:
    command_group(
        commands,
        "tokens",
        TOKENS_COMMANDS,
        "ACTION",
        help="mint, list and revoke ingest tokens (for a phone pushing runs)",
        description=(
            "Ingest tokens open only the ingest routes (POST /ingest/hae, where the Health "
            "Auto Export app pushes Apple Health workouts); FITNESS_API_TOKENS open "
            "everything. A token is shown once, when minted, and stored as a digest."
        ),
    )


def _add_mint(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "mint",
        help="make a new ingest token and show it (once)",
        description=(
            "Make a new ingest token called NAME and print it. It is shown this once: put it "
            "in the app's automation as the header `Authorization: Bearer <token>`."
        ),
    )
    parser.add_argument("name", metavar="NAME", help="what the token is for, e.g. iphone")
    parser.set_defaults(handler=_mint)


def _mint(args: argparse.Namespace) -> int:
    prepare_database()
    minted = mint_ingest_token(args.name)
    print(f"ingest token {minted.token.name!r} (shown once, keep it in the app only):")
    print(minted.secret)
    return 0


def _add_list(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "list",
        help="list the ingest tokens (names and dates, never the tokens)",
        description="List the ingest tokens: name, when minted, when last used.",
    )
    parser.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    prepare_database()
    tokens = list_ingest_tokens()
    if not tokens:
        print("no ingest tokens (mint one with `fitness tokens mint NAME`)")
        return 0
    width = max(len(token.name) for token in tokens)
    print(f"{'name':<{width}}  {'minted':<17}  last used")
    for token in tokens:
        print(f"{token.name:<{width}}  {_when(token.created_at):<17}  {_when(token.last_used_at)}")
    return 0


def _add_revoke(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "revoke",
        help="revoke an ingest token at once",
        description="Revoke the ingest token called NAME: it opens nothing from now on.",
    )
    parser.add_argument("name", metavar="NAME")
    parser.set_defaults(handler=_revoke)


def _revoke(args: argparse.Namespace) -> int:
    prepare_database()
    token = revoke_ingest_token(args.name)
    print(f"revoked ingest token {token.name!r}")
    return 0


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


TOKENS_COMMANDS: list[AddCommand] = [_add_mint, _add_list, _add_revoke]
