"""`fitness secrets rotate`: re-encrypt every stored secret under a new key."""

from __future__ import annotations

import argparse

from fitness.cli._common import AddCommand, Subcommands, command_group, count, prepare_database
from fitness.services.secret_rotation import rotate_secret_key


def add(commands: Subcommands) -> None:
    command_group(
        commands,
        "secrets",
        SECRETS_COMMANDS,
        "ACTION",
        help="look after the key that encrypts stored OAuth secrets",
        description=(
            "OAuth client secrets and tokens are stored encrypted with FITNESS_SECRET_KEY, "
            "or in dev without it with the key file secret.key in FITNESS_DATA_DIR."
        ),
    )


def _add_rotate(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "rotate",
        help="re-encrypt every stored secret under a new key",
        description=(
            "Re-encrypt every stored OAuth secret under a new key, in one transaction: all "
            "or nothing. With FITNESS_SECRET_KEY set, the new key is FITNESS_NEW_SECRET_KEY; "
            "afterwards set FITNESS_SECRET_KEY to it and remove FITNESS_NEW_SECRET_KEY. "
            "Without it (dev), a new random key replaces the key file once the database "
            "holds the new encryption. Stop `fitness serve` and any sync first: until they "
            "restart they hold the old key."
        ),
    )
    parser.set_defaults(handler=_rotate)


def _rotate(args: argparse.Namespace) -> int:
    prepare_database()
    result = rotate_secret_key()
    if result.finished_interrupted:
        print("finished an interrupted rotation first")
    print(f"re-encrypted {count(result.reencrypted, 'stored secret')} under the new key")
    if result.swap_variables:
        print(
            "now set FITNESS_SECRET_KEY to the value of FITNESS_NEW_SECRET_KEY, remove "
            "FITNESS_NEW_SECRET_KEY, and restart fitness serve"
        )
    else:
        print(f"the new key is in {result.new_key_source}")
    return 0


SECRETS_COMMANDS: list[AddCommand] = [_add_rotate]
