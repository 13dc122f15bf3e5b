"""Text in and out for the command line: JSON-lines claim files and plain tables.

A claim file is read line by line and never stops on a line: a line that is not UTF-8 JSON
becomes an :class:`Unreadable` naming the file and the line number, and reading goes on.  A
UTF-8 byte-order mark at the start of a file is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import orjson

from pbm_engine.errors import UsageError

__all__ = ["Unreadable", "print_table", "read_jsonl", "read_lines", "read_requests"]

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A line of a claim file that could not be read as JSON: where, and why."""

    path: Path
    line: int
    reason: str


def read_jsonl(path: Path, arg: str = "CLAIMS") -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed value or :class:`Unreadable`) for each non-blank line.

    A file that cannot be read at all (or fails part-way) is a :class:`UsageError` naming
    ``arg``.
    """
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if number == 1 and line.startswith(BOM):
                    line = line[len(BOM):]
                if not line.strip():
                    continue
                try:
                    yield number, orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    yield number, Unreadable(path, number, f"not valid JSON ({_first(exc)})")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc} ({arg})") from None


def _first(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def read_lines(paths: Iterable[Path], arg: str = "CLAIMS"
               ) -> Iterator[tuple[Path, int, Any]]:
    """(file, line number, parsed value or :class:`Unreadable`) for every line of every file."""
    for path in paths:
        for number, value in read_jsonl(path, arg):
            yield path, number, value


def read_requests(paths: Iterable[Path], unreadable: list[Unreadable] | None = None
                  ) -> Iterator[Any]:
    """Every readable request of every file, in order; unreadable lines are appended to
    ``unreadable`` (when given) and skipped."""
    for _path, _number, value in read_lines(paths):
        if isinstance(value, Unreadable):
            if unreadable is not None:
                unreadable.append(value)
            continue
        yield value


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Left-aligned columns under a header and a rule."""
    widths = [max(len(r[i]) for r in [tuple(header), *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()
    out.write(line + "\n" + "-" * len(line) + "\n")
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
