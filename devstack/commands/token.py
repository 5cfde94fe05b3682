"""`prosync token --tier pro [--user ID]`: a dev JWT accepted by the running `prosync up`, printed
alone on stdout (so `TOKEN=$(prosync token)` works). The user row is created or moved to that tier."""

from __future__ import annotations

from pathlib import Path

from devstack.stackstate import TIERS, StackInfo


def register(sub) -> None:
    parser = sub.add_parser("token", help="print a dev JWT for the running local stack")
    parser.add_argument("--tier", choices=TIERS, default="pro")
    parser.add_argument("--user", default=None, help="the token's sub (default dev-<tier>)")
    parser.add_argument("--state-dir", type=Path, default=None, help="default $PROSYNC_HOME or ~/.prosync")
    parser.set_defaults(func=run)


def run(args) -> int:
    info = StackInfo.for_command(args.state_dir)
    if info is None:
        return 1
    print(info.issue_token(args.tier, args.user))
    return 0
