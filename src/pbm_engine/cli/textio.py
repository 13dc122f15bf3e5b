"""Text in and out for the command line: JSON-lines claim files and plain tables."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import orjson

__all__ = ["print_table", "read_jsonl", "read_requests"]


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed object or raw bytes when malformed) for each non-blank line.

    Malformed lines are passed on as bytes so that the engine answers them with an R8 reject
    instead of the whole run stopping.
    """
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, orjson.loads(line)
            except orjson.JSONDecodeError:
                yield number, line


def read_requests(paths: Iterable[Path]) -> Iterator[Any]:
    """Every request of every file, in order."""
    for path in paths:
        for _, request in read_jsonl(path):
            yield request


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Left-aligned columns under a header and a rule."""
    widths = [max(len(r[i]) for r in [tuple(header), *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()
    out.write(line + "\n" + "-" * len(line) + "\n")
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
