"""Sub-commands of `prosync`: each module defines `register(subparsers)` and sets `func`."""
