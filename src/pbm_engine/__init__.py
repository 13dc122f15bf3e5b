"""pbm-engine: pharmacy claims adjudication (formulary, pricing, cost share, Medicare Part D).

The public API.  Everything else is importable but may change between minor versions.
"""

from pbm_engine.accumulators import EMPTY, Fill, MemberState, StaticHistory, Totals
from pbm_engine.book import Book
from pbm_engine.claim import Claim, ClaimKey, Issue, parse_claim
from pbm_engine.codes import DAW, Basis, Channel, Reject, Status, Transaction, reject_description
from pbm_engine.engine import Engine
from pbm_engine.errors import ConfigError, PbmError, StoreError, UsageError
from pbm_engine.money import Cents, fmt, to_cents, to_decimal
from pbm_engine.processor import Processor
from pbm_engine.result import ClaimResult, RejectInfo
from pbm_engine.sources.compiled import load_book, sample_book_path
from pbm_engine.store.memory import MemoryStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pbm_engine.sources.loader import load_formulary, load_plan, load_sample_book

# The file readers load pydantic and YAML; they are imported on first use, so that
# ``import pbm_engine`` stays cheap (``load_book`` reads a compiled book without them).
_LAZY = {"load_formulary", "load_plan", "load_sample_book"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from pbm_engine.sources import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'pbm_engine' has no attribute {name!r}")


__all__ = [
    "DAW",
    "EMPTY",
    "Basis",
    "Book",
    "Cents",
    "Channel",
    "Claim",
    "ClaimKey",
    "ClaimResult",
    "ConfigError",
    "Engine",
    "Fill",
    "Issue",
    "MemberState",
    "MemoryStore",
    "PbmError",
    "Processor",
    "Reject",
    "RejectInfo",
    "StaticHistory",
    "Status",
    "StoreError",
    "Totals",
    "Transaction",
    "UsageError",
    "fmt",
    "load_book",
    "load_formulary",
    "load_plan",
    "load_sample_book",
    "parse_claim",
    "reject_description",
    "sample_book_path",
    "to_cents",
    "to_decimal",
]
__version__ = "0.1.0"
