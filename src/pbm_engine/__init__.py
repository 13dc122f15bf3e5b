"""pbm-engine: pharmacy claims adjudication (formulary, pricing, cost share, Medicare Part D).

The public API: what most users reach for, importable from here.  Everything else is importable
from its module but may change between minor versions.

* adjudicate: :class:`Engine` (pure: claim in, :class:`ClaimResult` out) over a :class:`Book`
  loaded with :func:`load_book` / :func:`load_sample_book`;
* keep state: :class:`Processor` (B1/B2/B3, duplicates) on a :class:`MemoryStore` or
  :class:`SqliteStore`; :class:`Portal` shows a member's accumulators and history;
* Medicare Part D: :func:`parameters_for` a year, :class:`BenefitDesign`,
  :func:`split_claim` of one fill (:class:`BeneficiaryState`, :class:`ClaimFacts`),
  :func:`build_pde`, :func:`m3p_schedule`; Part D plans of a book are :class:`PartDPlan`;
  :func:`price_fill` prices one what-if fill (a year or plan, an NDC, a quantity or cost).

The file readers (``load_*``) are imported on first use, so that ``import pbm_engine`` and the
engine load neither pydantic nor the YAML parser until a file is read.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from pbm_engine.accumulators import EMPTY, Fill, MemberState, StaticHistory, Totals
from pbm_engine.book import Book
from pbm_engine.claim import Claim, ClaimKey, Issue, parse_claim
from pbm_engine.codes import DAW, Basis, Channel, Reject, Status, Transaction, reject_description
from pbm_engine.engine import Engine
from pbm_engine.errors import ConfigError, PbmError, StoreError, UsageError
from pbm_engine.medicare.design import BenefitDesign
from pbm_engine.medicare.m3p import m3p_schedule
from pbm_engine.medicare.parameters import LisLevel, parameters_for
from pbm_engine.medicare.pde import build_pde
from pbm_engine.medicare.phases import BeneficiaryState, ClaimFacts, split_claim
from pbm_engine.medicare.plans import PartDPlan
from pbm_engine.money import Cents, fmt, to_cents, to_decimal
from pbm_engine.portal.views import Portal
from pbm_engine.processor import Processor
from pbm_engine.result import ClaimResult, RejectInfo
from pbm_engine.store.memory import MemoryStore
from pbm_engine.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from pbm_engine.portal.whatif import price_fill
    from pbm_engine.sources.compiled import load_book, sample_book_path
    from pbm_engine.sources.loader import load_formulary, load_plan, load_sample_book

__version__ = "0.1.0"
"""The package version (the one place it is written; pyproject.toml reads it)."""

__all__ = [
    "DAW",
    "EMPTY",
    "Basis",
    "BeneficiaryState",
    "BenefitDesign",
    "Book",
    "Cents",
    "Channel",
    "Claim",
    "ClaimFacts",
    "ClaimKey",
    "ClaimResult",
    "ConfigError",
    "Engine",
    "Fill",
    "Issue",
    "LisLevel",
    "MemberState",
    "MemoryStore",
    "PartDPlan",
    "PbmError",
    "Portal",
    "Processor",
    "Reject",
    "RejectInfo",
    "SqliteStore",
    "StaticHistory",
    "Status",
    "StoreError",
    "Totals",
    "Transaction",
    "UsageError",
    "__version__",
    "build_pde",
    "fmt",
    "load_book",
    "load_formulary",
    "load_plan",
    "load_sample_book",
    "m3p_schedule",
    "parameters_for",
    "parse_claim",
    "price_fill",
    "reject_description",
    "sample_book_path",
    "split_claim",
    "to_cents",
    "to_decimal",
]

# load_book reads a compiled book when it is current (no pydantic, no YAML); the validating
# readers load both.
_LAZY = {"load_book": "pbm_engine.sources.compiled",
         "sample_book_path": "pbm_engine.sources.compiled",
         **{name: "pbm_engine.sources.loader"
            for name in ("load_formulary", "load_plan", "load_sample_book")},
         "price_fill": "pbm_engine.portal.whatif"}


def __getattr__(name: str) -> Any:
    """The file readers and the Part D what-if, imported on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pbm_engine' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
