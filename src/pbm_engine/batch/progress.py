"""Progress of a batch run: a bar on a terminal, plain periodic lines otherwise, or nothing.

The bar (tqdm, from the ``batch`` extra) shows claims done, claims per second and time left.
Without a terminal (or without tqdm) a line goes to the stream every ``every`` seconds.  No
member data is ever printed: only counts and rates.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["Progress", "make_progress"]


class Progress:
    """Counts claims done against a total; the quiet base class prints nothing."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.started = time.monotonic()

    def note(self, text: str) -> None:
        """A one-line message (a phase starting)."""

    def start(self, total: int, done: int = 0) -> None:
        """The claims to adjudicate and how many a previous attempt already did (resume)."""
        self.total, self.done = total, done
        self.started = time.monotonic()

    def advance(self, claims: int) -> None:
        self.done += claims

    def close(self) -> None:
        """The run is over."""


class _Lines(Progress):
    def __init__(self, stream: TextIO, every: float) -> None:
        super().__init__()
        self.stream = stream
        self.every = every
        self.last = 0.0
        self.base = 0

    def note(self, text: str) -> None:
        print(f"pbm reprocess: {text}", file=self.stream, flush=True)

    def start(self, total: int, done: int = 0) -> None:
        super().start(total, done)
        self.base = done
        self.last = time.monotonic()

    def advance(self, claims: int) -> None:
        super().advance(claims)
        now = time.monotonic()
        if now - self.last >= self.every or self.done >= self.total:
            self.last = now
            elapsed = max(now - self.started, 1e-9)
            rate = (self.done - self.base) / elapsed
            left = (self.total - self.done) / rate if rate > 0 else 0.0
            pct = 100.0 * self.done / self.total if self.total else 100.0
            print(f"pbm reprocess: {self.done:,}/{self.total:,} claims ({pct:.1f}%), "
                  f"{rate:,.0f} claims/s, {left:,.0f} s left", file=self.stream, flush=True)


class _Bar(Progress):
    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self.bar: Any = None

    def note(self, text: str) -> None:
        print(f"pbm reprocess: {text}", file=self.stream, flush=True)

    def start(self, total: int, done: int = 0) -> None:
        from tqdm import tqdm

        super().start(total, done)
        self.bar = tqdm(total=total, initial=done, unit=" claims", unit_scale=True,
                        file=self.stream, dynamic_ncols=True, smoothing=0.1)

    def advance(self, claims: int) -> None:
        super().advance(claims)
        if self.bar is not None:
            self.bar.update(claims)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def make_progress(quiet: bool = False, stream: TextIO | None = None, every: float = 5.0
                  ) -> Progress:
    """The right reporter for ``stream`` (default stderr): bar, lines, or quiet."""
    if quiet:
        return Progress()
    out = stream if stream is not None else sys.stderr
    if out.isatty():
        try:
            import tqdm  # noqa: F401
        except ImportError:
            return _Lines(out, every)
        return _Bar(out)
    return _Lines(out, every)
