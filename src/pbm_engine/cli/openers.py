"""Open what command-line arguments name (books, stores), with one-line errors.

Each helper turns a library error into one naming the argument, ``"<what> (<argument>)"``,
which ``pbm`` prints as ``pbm: ...`` with exit status 2.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pbm_engine.errors import ConfigError, StoreError, UsageError

if TYPE_CHECKING:
    from pbm_engine.book import Book
    from pbm_engine.store.base import Store

__all__ = ["check_store_path", "load_book_arg", "open_store", "store_errors"]


def load_book_arg(path: str | os.PathLike[str], arg: str = "--book") -> Book:
    """Load a book; a bad one is a :class:`ConfigError` whose first line names the problem."""
    from pbm_engine.sources.compiled import load_book

    try:
        return load_book(Path(path))
    except ConfigError as exc:
        lines = str(exc).splitlines() or ["invalid book"]
        more = f" (and {len(lines) - 1} more: run pbm validate {path})" if len(lines) > 1 else ""
        raise ConfigError(f"{lines[0]}{more} ({arg})") from None


def check_store_path(db: str | os.PathLike[str], arg: str) -> None:
    """Refuse, without opening it, a store path that exists but is not a regular file."""
    try:
        info = Path(db).stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"{db}: cannot use: {exc.strerror} ({arg})") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{db}: is a directory, not a store ({arg})")
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{db}: is not a regular file, not a store ({arg})")


@contextmanager
def store_errors(arg: str) -> Iterator[None]:
    """Re-raise a :class:`StoreError` with the argument named."""
    try:
        yield
    except StoreError as exc:
        raise StoreError(f"{exc} ({arg})") from None


def open_store(db: str | os.PathLike[str], arg: str, **options: Any) -> Store:
    """The store ``db`` names: a ``postgresql://`` URL, or a SQLite file (``options`` as
    :class:`~pbm_engine.store.sqlite.SqliteStore` takes them; PostgreSQL has its own)."""
    from pbm_engine.store import is_postgres
    from pbm_engine.store import open_store as open_target

    target = os.fspath(db)
    if not is_postgres(target):
        check_store_path(target, arg)
    with store_errors(arg):
        return open_target(target, **options)
