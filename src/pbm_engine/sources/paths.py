"""Where a file named in a book file is: relative to the book, or bundled (``pkg:...``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["resolve", "sample_book_path"]


def resolve(ref: str, base: Path) -> Path:
    """A path relative to a book file, or ``pkg:...`` for bundled data."""
    if ref.startswith("pkg:"):
        return Path(str(resources.files("pbm_engine") / "data" / ref[4:]))
    path = Path(ref)
    return path if path.is_absolute() else base / path


def sample_book_path() -> Path:
    """The bundled sample book (plans, formulary, prices, members)."""
    return Path(str(resources.files("pbm_engine") / "data" / "sample" / "book.yaml"))
