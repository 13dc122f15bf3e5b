"""Federal limits on commercial plan designs (ACA maximum out-of-pocket, HSA-qualified HDHP):
one year's limits as a value, and the plan checks that use them.

The figures are dated data with sources (``data/commercial/federal_limits.yaml``), read by
:func:`pbm_engine.sources.federal.limits_for`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pbm_engine.benefit.plan import Plan
from pbm_engine.money import Cents, fmt

__all__ = ["FederalLimits", "plan_warnings"]


@dataclass(frozen=True, slots=True)
class FederalLimits:
    """One plan year's limits (None where the year is not in the data)."""

    year: int
    moop_self: Cents | None = None
    moop_other: Cents | None = None
    hdhp_min_deductible_self: Cents | None = None
    hdhp_min_deductible_family: Cents | None = None
    hdhp_max_oop_self: Cents | None = None
    hdhp_max_oop_family: Cents | None = None


def plan_warnings(plan: Plan, limits_for: Callable[[int], FederalLimits]) -> list[str]:
    """Where a plan's design breaks the federal limits of its year (needs ``plan.year``).

    ``limits_for`` gives a year's limits (:func:`pbm_engine.sources.federal.limits_for`).
    """
    if plan.year is None:
        return []
    limits = limits_for(plan.year)
    out: list[str] = []
    name = f"plan {plan.plan_id} ({plan.year})"

    def over(what: str, amount: Cents | None, limit: Cents | None, rule: str) -> None:
        if amount is not None and limit is not None and amount > limit:
            out.append(f"{name}: {what} {fmt(amount)} is above the {rule} {fmt(limit)}")

    def under(what: str, amount: Cents | None, limit: Cents | None, rule: str) -> None:
        if amount is not None and limit is not None and amount < limit:
            out.append(f"{name}: {what} {fmt(amount)} is below the {rule} {fmt(limit)}")

    oop, ded = plan.oop_max, plan.deductible
    if oop is not None:
        over("individual out-of-pocket maximum", oop.individual, limits.moop_self,
             "ACA self-only maximum")
        over("family out-of-pocket maximum", oop.family, limits.moop_other,
             "ACA other-than-self-only maximum")
        if not oop.embedded:
            cap = oop.per_person_cap if oop.per_person_cap is not None else oop.family
            over("per-person cost sharing on family coverage", cap, limits.moop_self,
                 "ACA self-only maximum (embedded self-only cap)")
    if plan.hdhp:
        if ded is None:
            out.append(f"{name}: an HDHP needs a deductible")
        else:
            under("individual deductible", ded.individual, limits.hdhp_min_deductible_self,
                  "HDHP minimum")
            under("family deductible", ded.family, limits.hdhp_min_deductible_family,
                  "HDHP minimum")
            if ded.embedded and ded.family is not None:
                under("embedded individual deductible on family coverage", ded.individual,
                      limits.hdhp_min_deductible_family, "HDHP minimum family deductible")
        if oop is not None:
            over("individual out-of-pocket maximum", oop.individual, limits.hdhp_max_oop_self,
                 "HDHP maximum")
            over("family out-of-pocket maximum", oop.family, limits.hdhp_max_oop_family,
                 "HDHP maximum")
    return out
