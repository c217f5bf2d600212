"""`fitness shoes rename|undelete|merge|unmerge`: change what a shoe is called and which shoe
record stands for it."""

from __future__ import annotations

import argparse

from fitness.cli._common import AddCommand, Subcommands, command_group, count, prepare_database
from fitness.db import shoe_merges as db_merges
from fitness.db import shoes as db_shoes


def add(commands: Subcommands) -> None:
    command_group(
        commands,
        "shoes",
        SHOES_COMMANDS,
        "ACTION",
        help="rename, undelete, merge or unmerge shoes",
        description=(
            "A shoe keeps its id through renames, and imports find it by every name it has "
            "had. Merging moves one shoe's runs to another as new run versions; unmerge "
            "undoes it."
        ),
    )


def _add_rename(commands: Subcommands) -> None:
    parser = commands.add_parser("rename", help="give a shoe a new name (its id stays)")
    parser.add_argument("shoe_id", metavar="SHOE_ID")
    parser.add_argument("name", metavar="NEW_NAME")
    parser.set_defaults(handler=_rename)


def _rename(args: argparse.Namespace) -> int:
    prepare_database()
    shoe = db_shoes.rename_shoe(args.shoe_id, args.name)
    print(f"{shoe.id} is now {shoe.name!r} (former names: {', '.join(shoe.former_names)})")
    return 0


def _add_undelete(commands: Subcommands) -> None:
    parser = commands.add_parser("undelete", help="bring a deleted shoe back")
    parser.add_argument("shoe_id", metavar="SHOE_ID")
    parser.set_defaults(handler=_undelete)


def _undelete(args: argparse.Namespace) -> int:
    prepare_database()
    shoe = db_shoes.undelete_shoe(args.shoe_id)
    print(f"{shoe.id} ({shoe.name}) is back: {count(shoe.run_count, 'run')}, {shoe.mileage:.2f} mi")
    return 0


def _add_merge(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "merge",
        help="merge a shoe into another (its runs move as new versions)",
        description=(
            "Merge SHOE_ID into KEPT_ID: every run of SHOE_ID moves to KEPT_ID as a new "
            "version, SHOE_ID's names become KEPT_ID's former names, SHOE_ID is deleted. "
            "`fitness shoes unmerge SHOE_ID` undoes it."
        ),
    )
    parser.add_argument("shoe_id", metavar="SHOE_ID")
    parser.add_argument("kept_id", metavar="KEPT_ID")
    parser.add_argument("--reason", help="why (recorded on each run version)")
    parser.set_defaults(handler=_merge)


def _merge(args: argparse.Namespace) -> int:
    prepare_database()
    merge = db_merges.merge_shoe(
        args.shoe_id, args.kept_id, changed_by="cli", change_reason=args.reason
    )
    print(
        f"merged {merge.merged_shoe_id} into {merge.kept.id}: "
        f"{count(len(merge.run_ids), 'run')} moved; {merge.kept.name} now has "
        f"{count(merge.kept.run_count, 'run')}, {merge.kept.mileage:.2f} mi"
    )
    return 0


def _add_unmerge(commands: Subcommands) -> None:
    parser = commands.add_parser("unmerge", help="undo the merge of a shoe into another")
    parser.add_argument("shoe_id", metavar="SHOE_ID")
    parser.add_argument("--reason", help="why (recorded on each run version)")
    parser.set_defaults(handler=_unmerge)


def _unmerge(args: argparse.Namespace) -> int:
    prepare_database()
    merge = db_merges.unmerge_shoe(args.shoe_id, changed_by="cli", change_reason=args.reason)
    print(
        f"unmerged {merge.merged_shoe_id} from {merge.kept.id}: "
        f"{count(len(merge.run_ids), 'run')} moved back"
    )
    return 0


SHOES_COMMANDS: list[AddCommand] = [_add_rename, _add_undelete, _add_merge, _add_unmerge]
