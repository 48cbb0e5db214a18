"""``python -m tutorial_lib.workshop create|status|reset|delete``: the instructor's tool."""

from __future__ import annotations

import argparse
from pathlib import Path

import tutorial_lib as tl
from tutorial_lib.errors import TutorialError
from tutorial_lib.workshop import access, rooms


def _attendees(text: str) -> int:
    count = int(text)
    if not 1 <= count <= 99:
        raise argparse.ArgumentTypeError("from 1 to 99 (the rooms are numbered with two digits)")
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutorial_lib.workshop", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="a namespace, rights, quota and kubeconfig each")
    create.add_argument("--attendees", type=_attendees, required=True, help="1 to 99")
    create.add_argument("--prefix", default="attendee")
    create.add_argument("--out", type=Path, default=Path("workshop"), help="for the kubeconfigs")
    create.add_argument("--hours", type=float, default=12, help="how long the tokens last")
    commands.add_parser("status", help="each attendee's objects and pod")
    reset = commands.add_parser("reset", help="one attendee back to the start")
    reset.add_argument("name")
    delete = commands.add_parser("delete", help="every room, and the kubeconfigs in --out")
    delete.add_argument("--out", type=Path, default=Path("workshop"))
    args = parser.parse_args(argv)
    try:
        cluster = tl.connect()
        if args.command == "create":
            names = rooms.attendee_names(args.attendees, args.prefix)
            rooms.create(cluster, names)
            for name in names:
                access.write(cluster, name, args.out, hours=args.hours)
            print(f"{len(names)} attendees; hand out {args.out}/<name>.env and .kubeconfig:")
            print(f"  source {args.out}/{names[0]}.env && jupyter lab notebooks/")
            if cluster.local:
                print(
                    "The local cluster is this account's alone: a room used from another Unix "
                    "account is refused (docs/instructors.md, One machine for everyone)."
                )
        elif args.command == "status":
            print(rooms.status(cluster).to_string(index=False))
        elif args.command == "reset":
            print(rooms.reset(cluster, args.name).to_string(index=False))
        else:
            gone = rooms.rooms(cluster)
            rooms.delete(cluster)
            for name in gone:
                access.remove(args.out, name)
            print(f"Deleted {len(gone)} rooms: {', '.join(gone) or 'none'}.")
    except TutorialError as exc:
        print(exc)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
