"""History-reading edits: quantity limits across fills, therapeutic duplication, interactions.

Each function is pure: it gets the claim facts, the drug, the plan's policy and the member's
fills, and returns what it found; the engine turns findings into rejects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from pbm_engine.accumulators import Fill
from pbm_engine.formulary.model import Drug, QuantityLimit
from pbm_engine.policy import DurPolicy

__all__ = [
    "DurFinding",
    "dur_findings",
    "keys_of_drug",
    "keys_of_fill",
    "on_hand",
    "quantity_in_window",
    "quantity_window",
]


@dataclass(frozen=True, slots=True)
class DurFinding:
    """One DUR conflict: 439-E4 reason (TD or DD), the other fill, and a message."""

    reason: str
    fill: Fill
    severity: str
    message: str


def keys_of_drug(drug: Drug) -> frozenset[str]:
    """The keys a drug matches in DUR screens: its groups, NDC, therapy key and TE group."""
    keys = set(drug.groups) | {drug.ndc, drug.therapy_key}
    if drug.te_group:
        keys.add(drug.te_group)
    return frozenset(keys)


def keys_of_fill(fill: Fill) -> frozenset[str]:
    """The keys a past fill matches in DUR screens: its groups, NDC and therapy key."""
    return fill.groups | {fill.ndc, fill.therapy_key}


def on_hand(fill: Fill, day: dt.date) -> bool:
    """Whether the fill's supply still covers ``day``."""
    return fill.date_of_service <= day < fill.date_of_service + dt.timedelta(
        days=fill.days_supply)


def quantity_window(limit: QuantityLimit, days_supply: int) -> tuple[int, int]:
    """(window in days, quantity allowed in it) for a claim of ``days_supply`` days."""
    periods = max(1, -(-days_supply // limit.days))
    return limit.days * periods, limit.quantity * periods


def quantity_in_window(fills: Iterable[Fill], therapy_key: str) -> int:
    """Quantity of the same therapy among the given fills (already windowed by date)."""
    return sum(f.quantity for f in fills if f.therapy_key == therapy_key)


def dur_findings(policy: DurPolicy, drug: Drug, day: dt.date, fills: Iterable[Fill]
                 ) -> list[DurFinding]:
    """Therapeutic duplication and drug-drug interactions against fills on hand on ``day``."""
    mine = keys_of_drug(drug)
    dup_groups = policy.duplication_groups & drug.groups
    found: list[DurFinding] = []
    therapy = drug.therapy_key
    for fill in fills:
        held = (day - fill.date_of_service).days  # on hand: 0 <= held < days supply
        if held < 0 or held >= fill.days_supply or fill.therapy_key == therapy:
            continue  # a refill of the same therapy is refill-too-soon's business
        theirs = keys_of_fill(fill)
        shared = dup_groups & fill.groups
        if shared:
            found.append(DurFinding("TD", fill, "2", f"therapeutic duplication with {fill.ndc} "
                                    f"({', '.join(sorted(shared))}) filled {fill.date_of_service}"))
        for rule in policy.interactions:
            if (rule.a & mine and rule.b & theirs) or (rule.b & mine and rule.a & theirs):
                text = rule.message or "drug-drug interaction"
                found.append(DurFinding("DD", fill, rule.severity,
                                        f"{text}: {fill.ndc} filled {fill.date_of_service}"))
    return found
