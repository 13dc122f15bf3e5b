"""Plan policies the shared steps read: DAW and generic substitution, DUR screens, edit limits.

A plan design (commercial :class:`~pbm_engine.benefit.plan.Plan`, or the edit policy of a Part D
plan) sets these switches; utilization edits, pricing and the benefit read them.  They live here,
below all of those packages, so that none of them imports another for a policy type.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from pbm_engine.codes import Channel
from pbm_engine.money import Cents

__all__ = ["Daw0Policy", "DawPolicy", "DurPolicy", "EditPolicy", "Interaction"]


class Daw0Policy(StrEnum):
    """What a DAW 0 claim for a multi-source brand gets."""

    PENALTY = "penalty"  # price the brand, charge the brand-generic difference
    REJECT = "reject"  # reject UU, the pharmacy should dispense the generic
    ALLOW = "allow"  # brand cost share, no penalty


@dataclass(frozen=True, slots=True)
class DawPolicy:
    """Generic substitution and brand penalty policy (408-D8 semantics per plan)."""

    penalty_codes: frozenset[int] = frozenset({2})
    daw0_multisource_brand: Daw0Policy = Daw0Policy.PENALTY
    generic_price_codes: frozenset[int] = frozenset({3, 5})
    generic_cost_share_codes: frozenset[int] = frozenset({5, 9})
    penalty_base: str = "generic"  # cost share under the penalty: "generic" or "brand" tier
    penalty_counts_toward_deductible: bool = False
    penalty_counts_toward_oop: bool = False


@dataclass(frozen=True, slots=True)
class Interaction:
    """A drug-drug interaction the plan screens for: any drug matching ``a`` with any drug
    matching ``b`` (group ids, TE groups, therapy keys or NDCs)."""

    a: frozenset[str]
    b: frozenset[str]
    severity: str = "1"  # 528-FS clinical significance: 1 major, 2 moderate, 3 minor
    message: str = ""


@dataclass(frozen=True, slots=True)
class DurPolicy:
    """The plan's DUR screens and which submitted result-of-service codes override them."""

    duplication_groups: frozenset[str] = frozenset()
    interactions: tuple[Interaction, ...] = ()
    override_results: frozenset[str] = frozenset(
        {"1A", "1B", "1C", "1D", "1E", "1F", "1G", "1H", "1J", "1K"})

    @property
    def active(self) -> bool:
        """Whether any DUR screen is configured."""
        return bool(self.duplication_groups or self.interactions)


class EditPolicy(Protocol):
    """What the shared steps read from a plan: edit limits, DAW and DUR policy, review cap.

    A commercial :class:`~pbm_engine.benefit.plan.Plan` is one; a Part D plan carries one as its
    ``edits``.
    """

    @property
    def plan_id(self) -> str: ...
    @property
    def max_days_supply(self) -> dict[Channel, int]: ...
    @property
    def refill_threshold(self) -> int: ...
    @property
    def refill_override_codes(self) -> frozenset[int]: ...
    @property
    def specialty_channel_required(self) -> bool: ...
    @property
    def timely_filing_days(self) -> int | None: ...
    @property
    def max_claim_cost(self) -> Cents | None: ...
    @property
    def daw(self) -> DawPolicy: ...
    @property
    def dur(self) -> DurPolicy: ...
