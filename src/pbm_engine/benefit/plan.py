"""Commercial benefit design: cost-share schedule, deductible, out-of-pocket maximum, policies."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from pbm_engine.codes import Channel
from pbm_engine.money import Cents
from pbm_engine.policy import Daw0Policy, DawPolicy, DurPolicy

__all__ = [
    "AssistancePolicy",
    "Band",
    "CopayAssistance",
    "CostShareRule",
    "Daw0Policy",
    "DawPolicy",
    "DurPolicy",
    "Limit",
    "Plan",
    "Schedule",
]

@dataclass(frozen=True, slots=True)
class CostShareRule:
    """Copay (cents) or coinsurance (ppm) with optional minimum and maximum per fill."""

    copay: Cents | None = None
    rate: int | None = None
    minimum: Cents | None = None
    maximum: Cents | None = None

    def describe(self) -> str:
        from pbm_engine.money import fmt, fmt_rate

        if self.copay is not None:
            return f"${fmt(self.copay)} copay"
        text = f"{fmt_rate(self.rate or 0)}% coinsurance"
        if self.minimum is not None:
            text += f" min ${fmt(self.minimum)}"
        if self.maximum is not None:
            text += f" max ${fmt(self.maximum)}"
        return text


@dataclass(frozen=True, slots=True)
class Band:
    """A days-supply band (inclusive) and its rule."""

    min_days: int
    max_days: int
    rule: CostShareRule


@dataclass(frozen=True, slots=True)
class Schedule:
    """Cost share by (tier, channel) and days-supply band."""

    cells: dict[tuple[int, Channel], tuple[Band, ...]]

    def rule(self, tier: int, channel: Channel, days_supply: int) -> CostShareRule | None:
        for band in self.cells.get((tier, channel), ()):
            if band.min_days <= days_supply <= band.max_days:
                return band.rule
        return None


@dataclass(frozen=True, slots=True)
class Limit:
    """A deductible or out-of-pocket maximum.

    ``embedded``: each member meets ``individual`` or the family meets ``family``, whichever comes
    first.  Not embedded (aggregate): the family amount applies to everyone on family coverage;
    ``per_person_cap`` (the ACA self-only limit) still caps any one person when set.
    """

    individual: Cents
    family: Cents | None = None
    embedded: bool = True
    per_person_cap: Cents | None = None


class AssistancePolicy(StrEnum):
    """How manufacturer copay assistance (coupons, 431-DV) counts toward the member's limits."""

    STANDARD = "standard"  # the coupon counts toward deductible and OOP like member money
    ACCUMULATOR = "accumulator"  # only the member's own money counts
    MAXIMIZER = "maximizer"  # cost share set to absorb the coupon; nothing counts


@dataclass(frozen=True, slots=True)
class CopayAssistance:
    """Copay-assistance policy, optionally restricted to some tiers."""

    policy: AssistancePolicy = AssistancePolicy.STANDARD
    tiers: frozenset[int] | None = None  # None: every tier

    def applies(self, tier: int) -> bool:
        return self.tiers is None or tier in self.tiers


@dataclass(frozen=True, slots=True)
class Plan:
    """A commercial plan's benefit design, as loaded from its plan file."""

    plan_id: str
    name: str
    formulary_id: str
    network_id: str
    schedule: Schedule
    deductible: Limit | None = None
    oop_max: Limit | None = None
    deductible_exempt_tiers: frozenset[int] = frozenset()
    year_start: tuple[int, int] = (1, 1)  # month, day
    max_days_supply: dict[Channel, int] = field(
        default_factory=lambda: {Channel.RETAIL: 34, Channel.MAIL: 90, Channel.SPECIALTY: 30}
    )
    refill_threshold: int = 800_000  # share of the previous days supply consumed (ppm)
    refill_override_codes: frozenset[int] = frozenset({3, 4, 5, 7, 13, 14})
    daw: DawPolicy = field(default_factory=DawPolicy)
    copay_assistance: CopayAssistance = CopayAssistance()
    generic_tier: int = 1
    preventive_zero: bool = True
    insulin_cap_30: Cents | None = None  # per 30-day supply ceiling on cost share
    insulin_deductible_exempt: bool = False  # HSA safe harbor
    timely_filing_days: int | None = 90
    max_claim_cost: Cents | None = None  # high-dollar safety edit (78)
    annual_benefit_max: Cents | None = None  # plan-paid maximum per member per year (520-FK)
    specialty_channel_required: bool = True
    hdhp: bool = False
    year: int | None = None  # the plan year the design is for (federal-limit checks)
    dur: DurPolicy = field(default_factory=DurPolicy)
    description: str = ""

    def year_of(self, day: dt.date) -> dt.date:
        """The first day of the plan year containing ``day``."""
        month, dom = self.year_start
        start = dt.date(day.year, month, dom)
        return start if day >= start else dt.date(day.year - 1, month, dom)
