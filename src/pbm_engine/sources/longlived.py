"""Long-lived reference data and the garbage collector.

A book is built once and read for the life of the process: hundreds of thousands of objects
that never die.  CPython's cyclic collector would otherwise walk them again and again, twice
over: while they are built (each young-generation collection promotes them, and full
collections grow with the heap, which made a 50,000-drug formulary load super-linearly) and
while claims run (a full collection over a big book puts milliseconds into the p99).

:func:`paused_gc` pauses the collector while a book is built; :func:`settle` then moves
everything alive into the permanent generation (``gc.freeze``), where the collector no
longer looks.  Reference counting still frees objects as usual; only reference cycles among
frozen objects would outlive their last use, and a book has none.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc", "settle"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (restored as it was after)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def settle() -> None:
    """Put everything alive now out of the collector's way (``gc.freeze``).

    Call it once a long-lived book is built; every entry point that loads a book (the ``pbm``
    command, :func:`pbm_engine.load_book`) does.
    """
    gc.freeze()
