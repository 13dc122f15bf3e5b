"""Store connections for the service: read-only SQLite connections per thread, one writer.

Read endpoints never write, so each request thread reads through its own connection opened
``mode=ro`` (SQLite refuses any write on it; a replica on a read-only mount works as long as
its WAL files can be read).  Claim submission goes through the one read-write
:class:`~pbm_engine.store.sqlite.SqliteStore` of the process, which serializes writers with
``BEGIN IMMEDIATE`` across processes, so several uvicorn workers can share one file (WAL).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from pbm_engine.store.sqlite import SqliteStore

__all__ = ["ReadPool", "open_readonly"]


def open_readonly(path: str | os.PathLike[str]) -> SqliteStore:
    """A store opened for queries only (``SqliteStore(readonly=True)``: ``mode=ro``)."""
    return SqliteStore(path, readonly=True, timeout=5.0)


class ReadPool:
    """One read-only connection per thread, opened on first use; ``close`` closes them all."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._all: list[SqliteStore] = []
        self._lock = threading.Lock()

    def get(self) -> SqliteStore:
        store: SqliteStore | None = getattr(self._local, "store", None)
        if store is None:
            store = open_readonly(self.path)
            self._local.store = store
            with self._lock:
                self._all.append(store)
        return store

    def close(self) -> None:
        with self._lock:
            for store in self._all:
                store.close()
            self._all.clear()
