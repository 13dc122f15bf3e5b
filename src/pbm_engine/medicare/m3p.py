"""Medicare Prescription Payment Plan (M3P), 2025+: monthly caps and bills (reference 6).

* First month of election: ``cap = (OOP threshold - TrOOP before election) / months left``
  and the bill is the lesser of that month's OOP and the cap.
* Each later month: ``bill = (unbilled balance + that month's OOP) / months left``.
* "Months left" counts the current month (January 12 ... December 1), so December clears the
  balance.  Bills and caps round half-up to the cent; the exact unbilled remainder is carried,
  so the bills sum exactly to the OOP incurred after election.
* A month's OOP counts only up to the threshold: ``min(oop, threshold - TrOOP so far)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pbm_engine.money import Cents, div_round

__all__ = ["M3PMonth", "M3PSchedule", "m3p_schedule"]


@dataclass(frozen=True, slots=True)
class M3PMonth:
    """One month under the plan (cents)."""

    month: int
    oop_incurred: Cents
    """Cost sharing incurred this month that counts (capped at the threshold)."""
    cap: Cents
    """The statutory maximum monthly bill."""
    bill: Cents
    balance_after: Cents
    """OOP incurred since election and not yet billed, carried to the next month."""


@dataclass(frozen=True, slots=True)
class M3PSchedule:
    """The months from election through December."""

    election_month: int
    months: tuple[M3PMonth, ...]

    @property
    def total_billed(self) -> Cents:
        return sum(m.bill for m in self.months)

    @property
    def total_oop(self) -> Cents:
        return sum(m.oop_incurred for m in self.months)


def m3p_schedule(
    election_month: int,
    troop_before_election: Cents,
    oop_threshold: Cents,
    monthly_oop: Sequence[Cents],
) -> M3PSchedule:
    """Monthly caps, bills and balances from ``election_month`` (1-12) through December.

    ``monthly_oop`` is the enrollee's cost sharing incurred each month: either 12 entries,
    January to December (months before the election are ignored: paid at the pharmacy as usual
    and part of ``troop_before_election``), or up to ``13 - election_month`` entries starting
    at the election month (months not given are $0).
    """
    if not 1 <= election_month <= 12:
        raise ValueError("election_month must be 1-12")
    left = 13 - election_month
    if len(monthly_oop) == 12:
        from_election = list(monthly_oop[election_month - 1:])
    elif len(monthly_oop) <= left:
        from_election = list(monthly_oop) + [0] * (left - len(monthly_oop))
    else:
        raise ValueError(f"monthly_oop needs 12 entries (January to December) or at most {left} "
                         f"from election month {election_month}")
    if troop_before_election < 0 or oop_threshold < 0 or min(from_election, default=0) < 0:
        raise ValueError("amounts must be non-negative")
    room = max(0, oop_threshold - troop_before_election)
    balance = 0
    months: list[M3PMonth] = []
    for month in range(election_month, 13):
        left = 13 - month
        incurred = min(from_election[month - election_month], room)
        room -= incurred
        if month == election_month:
            cap = div_round(max(0, oop_threshold - troop_before_election), left)
            bill = min(incurred, cap)
        else:
            cap = div_round(balance + incurred, left)
            bill = cap
        balance = balance + incurred - bill
        months.append(M3PMonth(month, incurred, cap, bill, balance))
    return M3PSchedule(election_month, tuple(months))
