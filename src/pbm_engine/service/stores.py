"""Store connections for the service: read-only connections per thread, one writer.

Read endpoints never write, so each request thread reads through its own read-only connection:
on SQLite opened ``mode=ro`` (SQLite refuses any write on it; a replica on a read-only mount
works), on PostgreSQL a session whose transactions are read-only (the server refuses any write).
Claim submission goes through the one read-write store of the process; SQLite serializes writers
with ``BEGIN IMMEDIATE`` across processes and PostgreSQL with advisory locks per claim, member
and family, so several uvicorn workers can share one store on either backend.
"""

from __future__ import annotations

import os
import threading

from pbm_engine.store import is_postgres, open_store
from pbm_engine.store.base import Store

__all__ = ["ReadPool", "open_readonly", "open_writer", "store_target"]


def store_target(db: str | os.PathLike[str]) -> str:
    """``db`` as the service keeps it: a ``postgresql://`` URL as given, a SQLite path made
    absolute (uvicorn workers may start in another directory)."""
    text = os.fspath(db)
    return text if is_postgres(text) else os.path.abspath(text)


def open_readonly(db: str | os.PathLike[str]) -> Store:
    """A store opened for queries only (SQLite ``mode=ro``; PostgreSQL read-only session)."""
    return open_store(os.fspath(db), create=False, readonly=True, timeout=5.0)


def open_writer(db: str | os.PathLike[str]) -> Store:
    """The process's read-write store (it must exist; no integrity scan on SQLite)."""
    return open_store(os.fspath(db), create=False, verify=False)


class ReadPool:
    """One read-only connection per thread, opened on first use; ``close`` closes them all."""

    def __init__(self, db: str | os.PathLike[str]) -> None:
        self.db = os.fspath(db)
        self._local = threading.local()
        self._all: list[Store] = []
        self._lock = threading.Lock()

    def get(self) -> Store:
        """This thread's read-only store."""
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = open_readonly(self.db)
            self._local.store = store
            with self._lock:
                self._all.append(store)
        return store

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            for store in self._all:
                store.close()
            self._all.clear()
