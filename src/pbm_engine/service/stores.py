"""Store connections for the service: read-only SQLite connections per thread, one writer.

Read endpoints never write, so each request thread reads through its own connection opened
``mode=ro`` (SQLite refuses any write on it; a replica on a read-only mount works as long as
its WAL files can be read).  Claim submission goes through the one read-write
:class:`~pbm_engine.store.sqlite.SqliteStore` of the process, which serializes writers with
``BEGIN IMMEDIATE`` across processes, so several uvicorn workers can share one file (WAL).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

from pbm_engine.errors import StoreError
from pbm_engine.store.sqlite import SqliteStore

__all__ = ["ReadOnlySqliteStore", "ReadPool"]


class ReadOnlySqliteStore(SqliteStore):
    """A :class:`SqliteStore` opened read-only (``mode=ro``): reads and snapshots only."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.synchronous = "FULL"
        self._lock = threading.RLock()
        self._depth = 0
        self.reset_caches()
        if not self.path.is_file():
            raise StoreError(f"{self.path}: no such store")
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        try:
            self._db = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None,
                                       check_same_thread=False)
            if self._check_version(self._db) == 0:
                raise StoreError(f"{self.path}: an empty database, not a pbm-engine store")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open read-only: {exc}") from None


class ReadPool:
    """One read-only connection per thread, opened on first use; ``close`` closes them all."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._all: list[ReadOnlySqliteStore] = []
        self._lock = threading.Lock()

    def get(self) -> ReadOnlySqliteStore:
        store: ReadOnlySqliteStore | None = getattr(self._local, "store", None)
        if store is None:
            store = ReadOnlySqliteStore(self.path)
            self._local.store = store
            with self._lock:
                self._all.append(store)
        return store

    def close(self) -> None:
        with self._lock:
            for store in self._all:
                store.close()
            self._all.clear()


__all__ = ["ReadOnlySqliteStore", "ReadPool"]
