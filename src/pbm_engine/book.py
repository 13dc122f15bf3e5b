"""The reference book: every plan, formulary, network, price and member the engine reads.

Built once by a loader (:func:`pbm_engine.loader.load_book`), validated for cross references,
then shared read-only by any number of engines and threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .eligibility import Registry
from .errors import ConfigError
from .formulary.model import Formulary
from .plan import Plan
from .pricing.contract import Network
from .pricing.prices import PriceIndex

if TYPE_CHECKING:
    from .medicare.plans import PartDPlan


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
