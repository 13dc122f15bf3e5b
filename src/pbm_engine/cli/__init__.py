"""The ``pbm`` command: one module per group of subcommands.

Each group module has a ``register(subparsers)`` function and imports what its commands need
only when a command runs, so ``pbm --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys

from pbm_engine.errors import PbmError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``pbm`` argument parser with every command group registered."""
    from pbm_engine.cli import claims, partd, store

    parser = argparse.ArgumentParser(prog="pbm", description="Pharmacy claims adjudication.")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (claims, store, partd):
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``pbm`` with ``argv`` (default: the process arguments); return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PbmError as exc:
        print(f"pbm: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # a bad --date
        print(f"pbm: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
