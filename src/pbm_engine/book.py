"""The reference book: every plan, formulary, network, price and member the engine reads.

Built once by a loader (:func:`pbm_engine.sources.loader.load_book`), validated for cross
references, then shared read-only by any number of engines and threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pbm_engine.benefit.federal import FederalLimits, plan_warnings
from pbm_engine.benefit.plan import Plan
from pbm_engine.eligibility.members import Registry
from pbm_engine.errors import ConfigError
from pbm_engine.formulary.model import Formulary
from pbm_engine.medicare.plans import PartDPlan
from pbm_engine.pricing.contract import Network
from pbm_engine.pricing.prices import PriceIndex

__all__ = ["Book"]


@dataclass(slots=True)
class Book:
    """Plans, formularies, networks, prices and the member registry."""

    plans: dict[str, Plan] = field(default_factory=dict)
    formularies: dict[str, Formulary] = field(default_factory=dict)
    networks: dict[str, Network] = field(default_factory=dict)
    prices: PriceIndex = field(default_factory=PriceIndex)
    registry: Registry = field(default_factory=Registry)
    part_d_plans: dict[str, PartDPlan] = field(default_factory=dict)
    known_ndcs: frozenset[str] = frozenset()
    notes: list[str] = field(default_factory=list)
    """Warnings found while loading (see :mod:`pbm_engine.sources.rules`)."""

    def check(self) -> Book:
        """Verify cross references (plan -> formulary, network; member -> plan)."""
        for plan in self.plans.values():
            if plan.formulary_id not in self.formularies:
                raise ConfigError(f"plan {plan.plan_id}: unknown formulary {plan.formulary_id!r}")
            if plan.network_id not in self.networks:
                raise ConfigError(f"plan {plan.plan_id}: unknown network {plan.network_id!r}")
        for member in self.registry.members.values():
            if member.plan_id not in self.plans and member.plan_id not in self.part_d_plans:
                raise ConfigError(f"member {member.member_id}: unknown plan {member.plan_id!r}")
        ndcs: set[str] = set()
        for formulary in self.formularies.values():
            ndcs.update(formulary.drugs)
        self.known_ndcs = frozenset(ndcs)
        return self

    def warnings(self, limits_for: Callable[[int], FederalLimits] | None = None) -> list[str]:
        """Things that load but probably are not what the plan administrator meant.

        With ``limits_for`` (:func:`pbm_engine.sources.federal.limits_for`), plans are also
        checked against the federal limits of their year.
        """
        out: list[str] = list(self.notes)
        for formulary in self.formularies.values():
            fid = formulary.formulary_id
            empty = sorted(g for g in formulary.group_names if g not in formulary.by_group)
            if empty:
                out.append(f"formulary {fid}: groups with no drugs: {', '.join(empty)}")
            unmet: dict[str, list[str]] = {}
            for drug in formulary.drugs.values():
                if drug.step_therapy and not any(
                        formulary.by_group.get(g) for g in drug.step_therapy.prerequisites):
                    key = ", ".join(sorted(drug.step_therapy.prerequisites))
                    unmet.setdefault(key, []).append(drug.ndc)
            for groups, ndcs in sorted(unmet.items()):
                out.append(f"formulary {fid}: step therapy on {len(ndcs)} drug(s) (e.g. "
                           f"{ndcs[0]}) needs {groups}, which has no drugs: only a PA or "
                           "earlier fills of the same therapy can meet it")
            lone = [d.ndc for d in formulary.drugs.values()
                    if d.multi_source_brand and not formulary.generic_equivalents(d)]
            if lone:
                out.append(f"formulary {fid}: {len(lone)} multi-source brand(s) without a "
                           f"covered generic equivalent (e.g. {lone[0]}): no brand penalty "
                           "can be computed for them")
        for plan in self.plans.values():
            if limits_for is not None:
                out.extend(plan_warnings(plan, limits_for))
            tiers = {d.tier for d in self.formularies[plan.formulary_id].drugs.values()}
            missing = sorted(t for t in tiers
                             if not any(k[0] == t for k in plan.schedule.cells))
            if missing:
                out.append(f"plan {plan.plan_id}: no cost share for tier(s) {missing}; "
                           "claims for those drugs reject 70 (unless preventive at $0)")
            for channel, days in sorted(plan.max_days_supply.items()):
                bands = [b for (t, c), bs in plan.schedule.cells.items() if c is channel
                         for b in bs]
                if bands and max(b.max_days for b in bands) < days:
                    out.append(f"plan {plan.plan_id}: {channel.value} allows {days} days but "
                               f"its cost-share bands stop at {max(b.max_days for b in bands)}")
        for member in self.registry.members.values():
            if not member.coverage:
                out.append(f"member {member.member_id}: no coverage periods")
        return out
