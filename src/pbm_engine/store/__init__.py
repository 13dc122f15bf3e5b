"""Claim stores: :class:`MemoryStore` (tests, what-ifs) and :class:`SqliteStore` (durable)."""

from pbm_engine.store.base import AccumulatorStore, ClaimLedger, LedgerEntry, Store
from pbm_engine.store.codec import result_from_dict, result_to_dict
from pbm_engine.store.memory import MemoryStore
from pbm_engine.store.sqlite import SqliteStore

__all__ = [
    "AccumulatorStore",
    "ClaimLedger",
    "LedgerEntry",
    "MemoryStore",
    "SqliteStore",
    "Store",
    "result_from_dict",
    "result_to_dict",
]
