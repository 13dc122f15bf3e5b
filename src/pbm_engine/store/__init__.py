"""Claim stores: :class:`MemoryStore` (tests, what-ifs) and :class:`SqliteStore` (durable)."""

from .base import AccumulatorStore, ClaimLedger, LedgerEntry, Store
from .codec import result_from_dict, result_to_dict
from .memory import MemoryStore
from .sqlite import SqliteStore

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
