"""Claim stores: :class:`MemoryStore` (tests, what-ifs), :class:`SqliteStore` (durable, one
machine) and ``PostgresStore`` (:mod:`pbm_engine.store.postgres`, deployments past one machine).
:func:`open_store` picks SQLite or PostgreSQL from a ``--db`` value."""

from __future__ import annotations

from typing import Any

from pbm_engine.store.base import AccumulatorStore, ClaimLedger, LedgerEntry, MemberStore, Store
from pbm_engine.store.codec import result_from_dict, result_to_dict
from pbm_engine.store.memory import MemoryStore
from pbm_engine.store.sqlite import SqliteStore

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(target: str) -> bool:
    """Whether a ``--db`` value names a PostgreSQL database (a URL) rather than a SQLite file."""
    return target.startswith(POSTGRES_SCHEMES)


def redact(target: str) -> str:
    """A ``--db`` value fit to print: a PostgreSQL URL or connection string without its
    password."""
    if is_postgres(target):
        scheme, rest = target.split("://", 1)
        if "@" in rest:
            who, where = rest.rsplit("@", 1)
            return f"{scheme}://{who.split(':', 1)[0]}@{where}"
        return target
    if "password=" in target:
        return " ".join(p for p in target.split() if not p.startswith("password="))
    return target


def open_store(target: str, *, create: bool = True, **options: Any) -> Store:
    """The store a ``--db`` value names: ``postgresql://...`` opens PostgreSQL (psycopg 3, the
    ``postgres`` extra); anything else is a SQLite file.  ``options`` go to the SQLite store
    (``synchronous``, ``verify``, ``timeout``, ``readonly``); of them PostgreSQL takes only
    ``readonly`` (it has its own durability settings)."""
    if is_postgres(target):
        from pbm_engine.store.postgres import PostgresStore

        return PostgresStore(target, readonly=bool(options.get("readonly", False)))
    return SqliteStore(target, create=create, **options)


__all__ = [
    "AccumulatorStore",
    "ClaimLedger",
    "LedgerEntry",
    "MemberStore",
    "MemoryStore",
    "SqliteStore",
    "Store",
    "is_postgres",
    "open_store",
    "redact",
    "result_from_dict",
    "result_to_dict",
]
