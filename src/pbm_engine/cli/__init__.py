"""The ``pbm`` command: one module per group of subcommands.

Each group module has a ``register(subparsers)`` function and imports what its commands need
only when a command runs, so ``pbm --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module
from typing import Any, NoReturn

from pbm_engine.errors import PbmError

__all__ = ["build_parser", "main"]


# The command groups, one module of this package each, in the order ``pbm --help`` lists them.
GROUPS = (
    "claims",
    "store",
    "members",
    "partd",
    "portal",
    "batch",
    "serve",
    "scenarios",
    "formulary",
    "plans",
    "impact",
)


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line: ``pbm: <what> (<which argument>)``, exit 2."""

    def error(self, message: str) -> NoReturn:
        what, arg = message, ""
        if message.startswith("argument ") and ": " in message:
            arg, what = message[len("argument "):].split(": ", 1)
        elif message.startswith("the following arguments are required: "):
            arg, what = message.split(": ", 1)[1], "missing"
        print(f"pbm: {what}{f' ({arg})' if arg else ''}", file=sys.stderr)
        sys.exit(2)


def version() -> str:
    """The installed pbm-engine version (the package's metadata, defined once in
    pyproject.toml)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("pbm-engine")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed)"


class _Version(argparse.Action):
    """``--version``, looked up only when asked for (keeps ``pbm --help`` fast)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        print(f"pbm {version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The ``pbm`` argument parser with every command group registered."""
    parser = _Parser(prog="pbm", description="Pharmacy claims adjudication.",
                     epilog="Exit status: 0 done; 1 some input lines failed (see the errors "
                     "file) or a transaction was refused; 2 a usage or configuration error.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in GROUPS:
        import_module(f"pbm_engine.cli.{name}").register(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    lines = str(exc).splitlines() or [type(exc).__name__]
    return lines[0] + (f" (and {len(lines) - 1} more lines)" if len(lines) > 1 else "")


def main(argv: list[str] | None = None) -> int:
    """Run ``pbm`` with ``argv`` (default: the process arguments); return the exit status.

    Never prints a traceback: every error is one line on stderr, ``pbm: <what> (<argument>)``
    (a report such as the bad rows of an import adds its detail lines, each ``pbm:   ...``).
    """
    try:
        args = build_parser().parse_args(argv)
        status = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, inside the handlers below
        return status
    except SystemExit as exc:  # argparse: --help, --version, a usage error (one line)
        return exc.code if isinstance(exc.code, int) else 2
    except PbmError as exc:  # a report (bad rows of an import) keeps its detail lines
        lines = str(exc).splitlines() or [type(exc).__name__]
        print("\n".join(f"pbm: {'  ' if i else ''}{text}" for i, text in enumerate(lines)),
              file=sys.stderr)
        return 2
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"pbm: {where}{exc.strerror or _one_line(exc)}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"pbm: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pbm: interrupted", file=sys.stderr)
        return 130
    except RecursionError as exc:
        print(f"pbm: input nested too deeply ({_one_line(exc)})", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: still one line, never a traceback
        print(f"pbm: internal error ({type(exc).__name__}: {_one_line(exc)})", file=sys.stderr)
        return 2


def _quiet_stdout() -> None:
    """After a closed pipe (``pbm ... | head``), send what is left of stdout nowhere so the
    interpreter's final flush does not fail too."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
