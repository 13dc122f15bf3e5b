"""The commercial cost-share waterfall: deductible, copay or coinsurance, caps, penalty.

Order of operations (one claim):

1. The base amount is the allowed price less any brand penalty (the "as if generic" cost).
2. Deductible: ``min(base, deductible remaining)`` unless the tier, preventive status or an
   insulin safe harbor exempts the drug.
3. Copay or coinsurance on what is left after the deductible; coinsurance is clamped to its
   minimum and maximum; neither exceeds what is left.
4. Caps inside the waterfall: an insulin ceiling, then the out-of-pocket maximum remaining
   (member and family).  A cap first trims copay/coinsurance, then the deductible portion, so
   no claim ever carries a member or family past a cap.
5. The brand penalty is added on top (capped by the OOP maximum only when the plan counts it
   toward OOP).
"""

from __future__ import annotations

from dataclasses import dataclass

from pbm_engine.benefit.plan import CostShareRule, Limit
from pbm_engine.money import RATE_SCALE, Cents, div_round

__all__ = ["CostShare", "compute", "remaining"]


@dataclass(frozen=True, slots=True)
class CostShare:
    """One claim's cost share, in cents, and what counts toward the member's limits."""

    deductible: Cents
    copay: Cents
    coinsurance: Cents
    penalty: Cents
    deductible_credit: Cents
    oop_credit: Cents
    capped_by: str = ""

    @property
    def total(self) -> Cents:
        return self.deductible + self.copay + self.coinsurance + self.penalty


def remaining(limit: Limit | None, member_met: Cents, family_met: Cents,
              family_coverage: bool) -> Cents | None:
    """What is left of a deductible or OOP limit for this member (None: no limit)."""
    if limit is None:
        return None
    if not family_coverage or limit.family is None:
        return max(0, limit.individual - member_met)
    left = limit.family - family_met
    if limit.embedded:
        left = min(left, limit.individual - member_met)
    elif limit.per_person_cap is not None:
        left = min(left, limit.per_person_cap - member_met)
    return max(0, left)


def compute(
    *,
    allowed: Cents,
    penalty: Cents,
    rule: CostShareRule,
    deductible_left: Cents | None,
    oop_left: Cents | None,
    deductible_applies: bool,
    zero_cost_share: bool,
    cap: Cents | None,
    penalty_counts_toward_deductible: bool,
    penalty_counts_toward_oop: bool,
) -> CostShare:
    """Run the waterfall for one claim (see the module docstring)."""
    penalty = max(0, min(penalty, allowed))
    base = allowed - penalty
    if zero_cost_share:
        ded = copay = coins = 0
    else:
        ded = min(base, deductible_left) if deductible_applies and deductible_left else 0
        rest = base - ded
        copay = coins = 0
        if rest > 0:
            if rule.copay is not None:
                copay = min(rule.copay, rest)
            else:
                coins = div_round(rest * (rule.rate or 0), RATE_SCALE)
                if rule.minimum is not None:
                    coins = max(coins, rule.minimum)
                if rule.maximum is not None:
                    coins = min(coins, rule.maximum)
                coins = min(coins, rest)
    capped_by = ""
    if cap is not None and ded + copay + coins > cap:
        ded, copay, coins = _trim(ded, copay, coins, cap)
        capped_by = "insulin cap"
    if oop_left is not None and ded + copay + coins > oop_left:
        ded, copay, coins = _trim(ded, copay, coins, oop_left)
        capped_by = "out-of-pocket maximum"
    ded_credit = ded
    oop_credit = ded + copay + coins
    if penalty:
        if penalty_counts_toward_oop and oop_left is not None:
            penalty = min(penalty, oop_left - oop_credit)
        if penalty_counts_toward_deductible and deductible_left is not None:
            ded_credit += min(penalty, max(0, deductible_left - ded))
        if penalty_counts_toward_oop:
            oop_credit += penalty
    return CostShare(ded, copay, coins, penalty, ded_credit, oop_credit, capped_by)


def _trim(ded: Cents, copay: Cents, coins: Cents, ceiling: Cents) -> tuple[Cents, Cents, Cents]:
    """Reduce the parts to sum to ``ceiling``: copay/coinsurance first, then the deductible."""
    excess = ded + copay + coins - max(0, ceiling)
    for_coins = min(coins, excess)
    coins -= for_coins
    excess -= for_coins
    for_copay = min(copay, excess)
    copay -= for_copay
    excess -= for_copay
    ded -= min(ded, excess)
    return ded, copay, coins
