"""The `prosync` command. Each module in devstack/commands/ adds its sub-command with `register()`."""

import argparse
import importlib
import pkgutil
import sys

from devstack import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prosync", description="ProSync local stack and client")
    sub = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        importlib.import_module(f"devstack.commands.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
