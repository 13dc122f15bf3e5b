"""Drug search for type-ahead: name prefix, strength and form, case-insensitive.

An index is built once per formulary (:meth:`DrugIndex.for_formulary` caches it) and answers a
query such as ``"zolmi 2.5 mg tab"`` by matching every query word as the prefix of a word of the
product name (numbers and their units exactly, ``2.5MG`` read as ``2.5 MG``), the first query word
against the first word of the name.  Products sharing a name (several NDCs, several labelers)
come back as one candidate listing its NDCs, with the formulary status a member would meet.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import ClassVar

from pbm_engine.formulary.model import Coverage, Drug, Formulary

_SPLIT = re.compile(r"(\d+(?:\.\d+)?)([A-Za-z%]+)")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


def words_of(text: str) -> tuple[str, ...]:
    """Upper-case words, numbers split from their units (``2.5MG`` -> ``2.5``, ``MG``)."""
    spaced = _SPLIT.sub(r"\1 \2", text.upper().replace(",", " "))
    return tuple(spaced.split())


@dataclass(frozen=True, slots=True)
class Candidate:
    """One product name matching a search, with its formulary status."""

    name: str
    ndcs: tuple[str, ...]
    tier: int
    status: str  # covered / non_formulary / excluded
    brand: bool
    generic_available: bool
    prior_authorization: bool
    step_therapy: bool
    quantity_limit: bool
    specialty: bool
    therapeutic_class: str | None

    @property
    def ndc(self) -> str:
        """The first NDC (the one an estimate uses when asked by name)."""
        return self.ndcs[0]

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "ndcs": list(self.ndcs), "tier": self.tier,
                "status": self.status, "brand": self.brand,
                "generic_available": self.generic_available,
                "prior_authorization": self.prior_authorization,
                "step_therapy": self.step_therapy, "quantity_limit": self.quantity_limit,
                "specialty": self.specialty, "therapeutic_class": self.therapeutic_class}


class DrugIndex:
    """Search index over one formulary (immutable once built; safe to share by threads)."""

    _cache: ClassVar[dict[int, tuple[Formulary, DrugIndex]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, formulary: Formulary) -> None:
        by_name: dict[str, list[Drug]] = {}
        for drug in formulary.drugs.values():
            by_name.setdefault(drug.name.upper(), []).append(drug)
        self._entries: list[tuple[tuple[str, ...], Candidate]] = []
        self._by_initial: dict[str, list[int]] = {}
        for name in sorted(by_name):
            drugs = sorted(by_name[name], key=lambda d: d.ndc)
            first = drugs[0]
            candidate = Candidate(
                name=first.name, ndcs=tuple(d.ndc for d in drugs), tier=first.tier,
                status=first.coverage.value, brand=first.brand,
                generic_available=bool(formulary.generic_equivalents(first)),
                prior_authorization=first.pa_required,
                step_therapy=first.step_therapy is not None,
                quantity_limit=first.quantity_limit is not None, specialty=first.specialty,
                therapeutic_class=first.therapeutic_class)
            words = words_of(name)
            if not words:
                continue
            self._by_initial.setdefault(words[0][:1], []).append(len(self._entries))
            self._entries.append((words, candidate))

    @classmethod
    def for_formulary(cls, formulary: Formulary) -> DrugIndex:
        """The index of a formulary, built on first use and kept."""
        key = id(formulary)
        hit = cls._cache.get(key)
        if hit is not None and hit[0] is formulary:
            return hit[1]
        with cls._lock:
            hit = cls._cache.get(key)
            if hit is None or hit[0] is not formulary:
                hit = (formulary, cls(formulary))
                cls._cache[key] = hit
        return hit[1]

    def search(self, query: str, limit: int = 20) -> list[Candidate]:
        """Candidates whose name matches every word of ``query`` (covered ones first)."""
        q = words_of(query)
        if not q:
            return []
        found: list[Candidate] = []
        for i in self._by_initial.get(q[0][:1], ()):
            words, candidate = self._entries[i]
            if _matches(q, words):
                found.append(candidate)
        found.sort(key=lambda c: (c.status != Coverage.COVERED.value, c.tier, c.name))
        return found[:limit]


def _matches(query: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not words[0].startswith(query[0]):
        return False
    for qw in query[1:]:
        if _NUMBER.match(qw):
            if not any(w == qw or _same_number(w, qw) for w in words):
                return False
        elif not any(w.startswith(qw) for w in words):
            return False
    return True


def _same_number(a: str, b: str) -> bool:
    if not _NUMBER.match(a):
        return False
    return float(a) == float(b)


__all__ = ["Candidate", "DrugIndex", "words_of"]
