"""Validation rules for book files, beyond what the file models' types say.

Each rule function takes a validated file model (or the whole book) and returns
:class:`Problem` s: *errors* stop the load (:class:`~pbm_engine.errors.ConfigError` naming the
file, the field and, for list entries, the entry's key such as the NDC); *warnings* load but
are listed by ``pbm validate`` (and fail ``pbm validate --strict``).

Errors:

* money below zero or above :data:`MAX_MONEY` (copays, minimums, maximums, deductibles, OOP
  maximums, caps, dispensing fees, unit prices); coinsurance, refill threshold and AWP discount
  outside 0-100%; a WAC or NADAC markup outside -100..100%;
* a band whose minimum is above its maximum; days-supply bands that leave a gap (days 35-59 with
  no band) or do not start at day 1 (overlaps are refused where the bands are built);
* a family deductible or OOP maximum below the individual one, a per-person cap above the family
  amount; max days supply outside 1-999; a timely-filing limit below 1 day;
* a drug whose minimum age is above its maximum age; a quantity limit of zero;
* a contract, price row, coverage period or prior authorization that ends before it starts;
* a plan naming an unknown formulary or network; a member naming an unknown plan.

Warnings:

* a deductible above the OOP maximum;
* a price row for an NDC no formulary lists; a formulary drug with no price and no NADAC (its
  claims price only from what the pharmacy submits);
* a prior authorization for an NDC no formulary lists.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pbm_engine.money import PERCENT, to_cents, to_rate

if TYPE_CHECKING:
    from pbm_engine.book import Book
    from pbm_engine.pricing.prices import PricePoint

# The rule functions take the file models of :mod:`pbm_engine.sources.loader` (PlanModel,
# FormularyModel, NetworkModel, MembersModel), typed ``Any`` here so the loader can import the
# rules without an import cycle.

__all__ = ["MAX_MONEY", "Problem", "did_you_mean", "errors", "formulary_rules", "members_rules",
           "money_problem", "network_rules", "plan_rules", "price_row_rules", "price_warnings",
           "rate_problem", "reference_rules", "warnings"]

MAX_MONEY = 99_999_999_99
"""Largest money amount a plan file may hold: 99,999,999.99 in cents."""
_DAYS = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: ``error`` or ``warning``, where (field path with entry keys), what."""

    level: str
    where: str
    message: str

    def line(self, file: str) -> str:
        """The problem as one line naming ``file``."""
        return f"{file}: {self.where}: {self.message}" if self.where else f"{file}: {self.message}"


def _error(where: str, message: str) -> Problem:
    return Problem("error", where, message)


def _warning(where: str, message: str) -> Problem:
    return Problem("warning", where, message)


def errors(problems: Iterable[Problem]) -> list[Problem]:
    """The errors among ``problems``."""
    return [p for p in problems if p.level == "error"]


def warnings(problems: Iterable[Problem]) -> list[Problem]:
    """The warnings among ``problems``."""
    return [p for p in problems if p.level == "warning"]


# -- amounts -----------------------------------------------------------------------------------

def money_problem(where: str, value: object) -> tuple[int | None, Problem | None]:
    """Cents for a money field, or the problem with it (unreadable, negative, too large)."""
    if value is None:
        return None, None
    try:
        cents = to_cents(value)
    except (ValueError, TypeError) as exc:
        return None, _error(where, str(exc))
    if cents < 0:
        return None, _error(where, f"{value} is negative; money amounts are 0 or more")
    if cents > MAX_MONEY:
        return None, _error(where, f"{value} is more than {MAX_MONEY // 100:,}")
    return cents, None


def rate_problem(where: str, value: object, lo: int = 0, hi: int = 100
                 ) -> tuple[int | None, Problem | None]:
    """Parts per million for a percentage field, or the problem (outside lo..hi percent)."""
    if value is None:
        return None, None
    try:
        rate = to_rate(value)
    except (ValueError, TypeError) as exc:
        return None, _error(where, str(exc))
    if not lo * PERCENT <= rate <= hi * PERCENT:
        return None, _error(where, f"{value}% is outside {lo}-{hi}%")
    return rate, None


def _collect(out: list[Problem], pair: tuple[int | None, Problem | None]) -> int | None:
    value, problem = pair
    if problem is not None:
        out.append(problem)
    return value


# -- plans -------------------------------------------------------------------------------------

def _cell_key(cell: Any) -> str:
    tiers = cell.tier if isinstance(cell.tier, list) else [cell.tier]
    channels = cell.channel if isinstance(cell.channel, list) else [cell.channel]
    return (f"tier {'/'.join(str(t) for t in tiers)} "
            f"{'/'.join(getattr(c, 'value', str(c)) for c in channels)}")


def plan_rules(model: Any) -> list[Problem]:
    """Money, rates, bands and limits of one commercial plan file."""
    out: list[Problem] = []
    for cell in model.cost_share:
        key = f"cost_share[{_cell_key(cell)}]"
        spans: list[tuple[int, int]] = []
        for band in cell.bands:
            where = f"{key}.bands[{band.days}]"
            _collect(out, money_problem(f"{where}.copay", band.copay))
            _collect(out, rate_problem(f"{where}.coinsurance", band.coinsurance))
            low = _collect(out, money_problem(f"{where}.min", band.min))
            high = _collect(out, money_problem(f"{where}.max", band.max))
            if low is not None and high is not None and low > high:
                out.append(_error(where, f"minimum {band.min} is above maximum {band.max}"))
            m = _DAYS.match(band.days)
            if m:
                spans.append((int(m[1]), int(m[2])))
        spans.sort()
        if spans and spans[0][0] != 1:
            out.append(_error(f"{key}.bands", f"the first band starts at day {spans[0][0]}; "
                              f"days 1-{spans[0][0] - 1} would have no cost share"))
        for (_a0, a1), (b0, _b1) in itertools.pairwise(spans):
            if b0 > a1 + 1:
                out.append(_error(f"{key}.bands", f"days {a1 + 1}-{b0 - 1} have no band"))
    limits = {}
    for name in ("deductible", "oop_max"):
        limit = getattr(model, name)
        if limit is None:
            continue
        individual = _collect(out, money_problem(f"{name}.individual", limit.individual))
        family = _collect(out, money_problem(f"{name}.family", limit.family))
        cap = _collect(out, money_problem(f"{name}.per_person_cap", limit.per_person_cap))
        if individual is not None and family is not None and family < individual:
            out.append(_error(f"{name}.family", f"family {limit.family} is below the "
                              f"individual {limit.individual}"))
        if cap is not None and family is not None and cap > family:
            out.append(_error(f"{name}.per_person_cap", f"per-person cap {limit.per_person_cap}"
                              f" is above the family {limit.family}"))
        limits[name] = individual
    ded, oop = limits.get("deductible"), limits.get("oop_max")
    if ded is not None and oop is not None and ded > oop:
        out.append(_warning("deductible.individual", "the deductible is above the OOP maximum"))
    for name in ("insulin_cap_30_days", "max_claim_cost", "annual_benefit_max"):
        _collect(out, money_problem(name, getattr(model, name)))
    _collect(out, rate_problem("refill_threshold_percent", model.refill_threshold_percent))
    for channel, days in model.max_days_supply.items():
        if not 1 <= days <= 999:
            out.append(_error(f"max_days_supply.{getattr(channel, 'value', channel)}",
                              f"{days} is outside 1-999 days"))
    if model.timely_filing_days is not None and model.timely_filing_days < 1:
        out.append(_error("timely_filing_days", f"{model.timely_filing_days} is below 1 day"))
    return out


# -- formularies, networks, members ------------------------------------------------------------

def formulary_rules(model: Any) -> list[Problem]:
    """Age ranges and quantity limits of each drug (keyed by NDC)."""
    out: list[Problem] = []
    for drug in model.drugs:
        where = f"drugs[ndc {drug.ndc}]"
        if drug.min_age is not None and drug.max_age is not None and drug.min_age > drug.max_age:
            out.append(_error(f"{where}.min_age", f"minimum age {drug.min_age} is above the "
                              f"maximum age {drug.max_age}"))
        if drug.quantity_limit is not None:
            try:
                from pbm_engine.money import to_qty

                quantity = to_qty(drug.quantity_limit.quantity)
            except (ValueError, TypeError) as exc:
                out.append(_error(f"{where}.quantity_limit.quantity", str(exc)))
            else:
                if quantity <= 0:
                    out.append(_error(f"{where}.quantity_limit.quantity",
                                      "must be more than zero"))
    return out


def network_rules(model: Any) -> list[Problem]:
    """Fees, discounts and dates of each contract."""
    out: list[Problem] = []
    for c in model.contracts:
        where = f"contracts[{c.channel.value} {c.drug_type} from {c.start}]"
        _collect(out, money_problem(f"{where}.dispensing_fee", c.dispensing_fee))
        _collect(out, rate_problem(f"{where}.awp_discount", c.awp_discount))
        _collect(out, rate_problem(f"{where}.wac_markup", c.wac_markup, -100, 100))
        _collect(out, rate_problem(f"{where}.nadac_markup", c.nadac_markup, -100, 100))
        if c.end is not None and c.end < c.start:
            out.append(_error(f"{where}.end", f"{c.end} is before the start {c.start}"))
    return out


def members_rules(model: Any) -> list[Problem]:
    """Coverage periods and prior authorizations that end before they start."""
    out: list[Problem] = []
    for m in model.members:
        where = f"members[{m.cardholder_id}-{m.person_code.zfill(3)}]"
        for c in m.coverage:
            if c.end is not None and c.end < c.start:
                out.append(_error(f"{where}.coverage", f"ends {c.end} before it starts "
                                  f"{c.start}"))
        if m.date_of_birth is not None and m.date_of_birth < dt.date(1850, 1, 1):
            out.append(_error(f"{where}.date_of_birth", f"{m.date_of_birth} is not plausible"))
    for pa in model.prior_authorizations:
        if pa.end < pa.start:
            out.append(_error(f"prior_authorizations[{pa.number}].end",
                              f"{pa.end} is before the start {pa.start}"))
    return out


def price_row_rules(ndc: str, point: PricePoint) -> None:
    """A price row: no negative or absurd unit price, no end before its start (ValueError)."""
    for name in ("awp", "wac", "mac"):
        value = getattr(point, name)
        if value is not None and not 0 <= value <= MAX_MONEY * 1000:
            raise ValueError(f"{name} is negative or too large")
    if point.end is not None and point.end < point.start:
        raise ValueError(f"end_date {point.end} is before effective_date {point.start}")


# -- the whole book ----------------------------------------------------------------------------

def reference_rules(book: Book, plan_files: dict[str, str], member_files: dict[str, str]
                    ) -> list[str]:
    """Cross references, as error lines naming the file: plans -> formulary and network,
    members -> plan."""
    out: list[str] = []
    for plan in book.plans.values():
        file = plan_files.get(plan.plan_id, f"plan {plan.plan_id}")
        if plan.formulary_id not in book.formularies:
            out.append(f"{file}: formulary: unknown formulary {plan.formulary_id!r}"
                       f"{did_you_mean(plan.formulary_id, book.formularies)}")
        if plan.network_id not in book.networks:
            out.append(f"{file}: network: unknown network {plan.network_id!r}"
                       f"{did_you_mean(plan.network_id, book.networks)}")
    for member in book.registry.members.values():
        if member.plan_id not in book.plans and member.plan_id not in book.part_d_plans:
            file = member_files.get(member.member_id, "members")
            out.append(f"{file}: members[{member.member_id}].plan_id: unknown plan "
                       f"{member.plan_id!r}"
                       f"{did_you_mean(member.plan_id, [*book.plans, *book.part_d_plans])}")
    return out


def price_warnings(book: Book) -> list[str]:
    """Prices nobody can use, drugs that have no price, PAs for drugs nobody lists."""
    out: list[str] = []
    listed = set(book.known_ndcs)
    stray = sorted(book.prices.listed_ndcs() - listed)
    if stray:
        out.append(f"prices: {len(stray)} price row NDC(s) on no formulary (e.g. {stray[0]})")
    priced = book.prices.ndcs()
    for formulary in book.formularies.values():
        missing = sorted(n for n in formulary.drugs if n not in priced)
        if missing:
            out.append(f"formulary {formulary.formulary_id}: {len(missing)} drug(s) with no "
                       f"price and no NADAC (e.g. {missing[0]}): their claims are priced only "
                       "from the submitted cost")
    for pas in book.registry.prior_auths.values():
        for pa in pas:
            if pa.ndc and pa.ndc not in listed:
                out.append(f"prior authorization {pa.number}: NDC {pa.ndc} is on no formulary")
    return out


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or nothing."""
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""

