"""`prosync token --tier pro [--user ID]`: a dev JWT accepted by the running `prosync up`, printed
alone on stdout (so `TOKEN=$(prosync token)` works). The user row is created or moved to that tier."""

from __future__ import annotations

import sys
from pathlib import Path

from devstack.stackstate import TIERS, StackInfo, default_state_dir


def register(sub) -> None:
    parser = sub.add_parser("token", help="print a dev JWT for the running local stack")
    parser.add_argument("--tier", choices=TIERS, default="pro")
    parser.add_argument("--user", default=None, help="the token's sub (default dev-<tier>)")
    parser.add_argument("--state-dir", type=Path, default=None, help="default $PROSYNC_HOME or ~/.prosync")
    parser.set_defaults(func=run)


def run(args) -> int:
    info = StackInfo.read(args.state_dir or default_state_dir())
    if info is None:
        print("no local stack is running: start one with `prosync up` (or `make up`)", file=sys.stderr)
        return 1
    print(info.issue_token(args.tier, args.user))
    return 0
