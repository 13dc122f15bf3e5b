"""The ``pbm`` command: one module per group of subcommands.

Each group module has a ``register(subparsers)`` function and imports what its commands need
only when a command runs, so ``pbm --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from pbm_engine.errors import PbmError

__all__ = ["build_parser", "main"]


# The command groups, one module of this package each, in the order ``pbm --help`` lists them.
GROUPS = (
    "claims",
    "store",
    "partd",
    "batch",
    "serve",
    "scenarios",
    "formulary",
    "plans",
    "impact",
)


def build_parser() -> argparse.ArgumentParser:
    """The ``pbm`` argument parser with every command group registered."""
    parser = argparse.ArgumentParser(prog="pbm", description="Pharmacy claims adjudication.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in GROUPS:
        import_module(f"pbm_engine.cli.{name}").register(sub)
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
