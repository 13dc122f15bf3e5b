"""Part D plans of a book: the Defined Standard benefit of a year, or a real CMS plan.

A book file lists them under ``part_d_plans:``;
:func:`pbm_engine.sources.part_d.load_part_d_plans` turns each spec into a :class:`PartDPlan`
once the book's formularies, networks and prices are loaded::

    part_d_plans:
      # The Defined Standard benefit of any year 2006-2026, drugs from a loaded formulary.
      - {plan_id: DS-2026, defined_standard: 2026, formulary: SAMPLE-COMMERCIAL-2026,
         network: SAMPLE-NETWORK-2026}
      # A 2026 CMS plan from the SPUF: deductible, tier cost shares, insulin cells, formulary.
      - {plan_id: CMS-H5050-004-000, spuf: "pkg:cms_spuf_2026q2", contract: H5050,
         plan: "004", segment: "000", network: SAMPLE-NETWORK-2026,
         drug_master: SAMPLE-COMMERCIAL-2026}

Optional keys: ``name``; ``year`` (CMS plans, default 2026); ``pharmacy`` (``preferred`` or
``non_preferred``: which SPUF cost-share channel a network pharmacy gets, default preferred);
``policy`` (the :class:`PartDPolicy` switches by name); ``edits`` (``max_days_supply`` by channel,
``refill_threshold_percent``, ``specialty_channel_required``, ``timely_filing_days``).

CMS formulary entries (tier, PA, step therapy, quantity limit, selected drug) come from the SPUF;
names and brand/insulin/vaccine flags from the ``drug_master`` formulary where it lists the NDC,
else from the NADAC file (name, ``B`` classification = brand).  Drugs the master excludes (OTC
products) are kept as exclusions so that they reject A5 rather than MR.  A CMS formulary is also
added to ``book.formularies`` (id ``CMS-<SPUF formulary id>``) so its NDCs are known to the parser.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pbm_engine.benefit.plan import Plan, Schedule
from pbm_engine.codes import Channel as ClaimChannel
from pbm_engine.formulary.model import Drug, Formulary
from pbm_engine.medicare.design import BenefitDesign, Channel, CostShare, CostShareRow
from pbm_engine.medicare.design import CoverageLevel as Level
from pbm_engine.medicare.parameters import PartDParameters
from pbm_engine.medicare.phases import (
    PartDPolicy,
)
from pbm_engine.medicare.spuf import Channel as SpufChannel
from pbm_engine.medicare.spuf import DaysSupplyCode, InsulinKey, PlanKey, SpufPlan
from pbm_engine.money import to_rate
from pbm_engine.policy import Daw0Policy, DawPolicy

__all__ = [
    "CHANNEL_ORDER",
    "INSULIN_TIER_BASE",
    "PartDPlan",
    "design_channels",
    "part_d_drug",
    "part_d_edit_plan",
    "spuf_design",
]

INSULIN_TIER_BASE = 10
"""Design tier of insulin cells: ``10 + formulary tier`` (SPUF insulin cost-share rows)."""

CHANNEL_ORDER = {
    "preferred": {
        ClaimChannel.RETAIL: (Channel.RETAIL_PREF, Channel.RETAIL_NONPREF),
        ClaimChannel.MAIL: (Channel.MAIL_PREF, Channel.MAIL_NONPREF, Channel.RETAIL_PREF,
                            Channel.RETAIL_NONPREF),
        ClaimChannel.SPECIALTY: (Channel.RETAIL_PREF, Channel.RETAIL_NONPREF),
    },
    "non_preferred": {
        ClaimChannel.RETAIL: (Channel.RETAIL_NONPREF, Channel.RETAIL_PREF),
        ClaimChannel.MAIL: (Channel.MAIL_NONPREF, Channel.MAIL_PREF, Channel.RETAIL_NONPREF,
                            Channel.RETAIL_PREF),
        ClaimChannel.SPECIALTY: (Channel.RETAIL_NONPREF, Channel.RETAIL_PREF),
    },
}
"""Per pharmacy kind, the SPUF cost-share channels a claim channel tries, in order."""


@dataclass(frozen=True, slots=True)
class PartDPlan:
    """A loaded Part D plan: benefit design, year parameters, formulary and edit policies.

    ``edits`` is a commercial :class:`Plan` used only for its edit policies (days-supply
    limits, refill threshold and override codes, specialty channel, DAW pricing) and has an
    empty schedule.  ``channels`` maps (claim channel, design tier) to the SPUF cost-share
    channel a claim is priced at (empty for the Defined Standard benefit, whose cells are
    statutory).  ``insulin_tiers``: True when the design carries SPUF insulin cells at
    ``INSULIN_TIER_BASE + tier``.  ``selected_ndcs``: the SPUF's selected (negotiated) drugs.
    """

    plan_id: str
    name: str
    year: int
    design: BenefitDesign
    parameters: PartDParameters
    formulary: Formulary
    network_id: str
    edits: Plan
    policy: PartDPolicy = field(default_factory=PartDPolicy)
    spuf_key: PlanKey | None = None
    channels: Mapping[tuple[ClaimChannel, int], Channel] = field(
        default_factory=lambda: MappingProxyType({}))
    insulin_tiers: bool = False
    selected_ndcs: frozenset[str] = frozenset()

    def design_tier(self, drug: Drug) -> int:
        """The design tier a drug is priced at (insulin cells have their own tiers)."""
        if drug.insulin and self.insulin_tiers:
            return INSULIN_TIER_BASE + drug.tier
        return drug.tier

    def design_channel(self, channel: ClaimChannel, tier: int) -> Channel:
        """The cost-share channel of a fill (preferred retail when the plan has no choice)."""
        return self.channels.get((channel, tier), Channel.RETAIL_PREF)


def part_d_edit_plan(plan_id: str, name: str, formulary_id: str, network_id: str,
                     edits: Mapping[str, Any] | None = None) -> Plan:
    """The edit-policy :class:`Plan` of a Part D plan (no schedule, no brand penalty).

    Defaults: up to 90 days retail/mail, 30 specialty; refill at 80% of the previous supply; any
    network pharmacy may fill specialty drugs; no timely-filing limit; DAW 3/5 priced as the
    generic, no DAW penalty.
    """
    edits = dict(edits or {})
    unknown = set(edits) - {"max_days_supply", "refill_threshold_percent",
                            "specialty_channel_required", "timely_filing_days"}
    if unknown:
        raise ValueError(f"edits: unknown key(s) {sorted(unknown)}")
    max_days = {ClaimChannel.RETAIL: 90, ClaimChannel.MAIL: 90, ClaimChannel.SPECIALTY: 30}
    for key, value in dict(edits.get("max_days_supply") or {}).items():
        try:
            channel = ClaimChannel(key)
        except ValueError:
            raise ValueError(f"edits.max_days_supply: unknown channel {key!r}") from None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"edits.max_days_supply.{key}: {value!r} is not a positive int")
        max_days[channel] = value
    threshold = edits.get("refill_threshold_percent", "80")
    if isinstance(threshold, float | bool):
        raise ValueError("edits.refill_threshold_percent: write it as a string, e.g. \"80\"")
    timely = edits.get("timely_filing_days")
    if timely is not None and (not isinstance(timely, int) or isinstance(timely, bool)
                               or timely < 1):
        raise ValueError(f"edits.timely_filing_days: {timely!r} is not a positive int")
    return Plan(
        plan_id=plan_id,
        name=name,
        formulary_id=formulary_id,
        network_id=network_id,
        schedule=Schedule({}),
        max_days_supply=max_days,
        refill_threshold=to_rate(threshold),
        daw=DawPolicy(penalty_codes=frozenset(), daw0_multisource_brand=Daw0Policy.ALLOW),
        preventive_zero=False,
        timely_filing_days=timely,
        specialty_channel_required=bool(edits.get("specialty_channel_required", False)),
    )


# -- formularies -------------------------------------------------------------------------------

def part_d_drug(drug: Drug) -> Drug:
    """A formulary entry as the Part D adjudicator uses it.

    The therapy key is the NDC: ``Engine.fill_for`` records Part D fills with the NDC as their
    therapy key (it looks drugs up in commercial plans only), so refill-too-soon compares like
    with like.
    """
    if drug.therapy_key == drug.ndc:
        return drug
    return dataclasses.replace(drug, therapy_key=drug.ndc)


# -- benefit designs ---------------------------------------------------------------------------

def _cost_share(copay: int | None, rate: int | None, low: int | None, high: int | None
                ) -> CostShare | None:
    if copay is not None:
        return CostShare.of_copay(copay)
    if rate is not None:
        return CostShare.of_coinsurance(rate, low or None, high or None)
    return None


def spuf_design(spuf: SpufPlan) -> tuple[BenefitDesign, bool]:
    """The tiered design of a SPUF plan, with insulin cells at ``INSULIN_TIER_BASE + tier``.

    An insulin cell that publishes both a copay and a coinsurance becomes the coinsurance capped
    at the copay (the enrollee pays the lesser).
    """
    rows: list[CostShareRow] = []
    for key, cell in spuf.cost_cells.items():
        share = _cost_share(cell.copay, cell.coinsurance, cell.min_amount, cell.max_amount)
        if cell.offered and share is not None:
            rows.append(CostShareRow(key.tier, key.coverage_level, key.channel.value,
                                     key.days_supply_code, share))
    insulin = False
    for tier in spuf.tiers:
        for code in DaysSupplyCode:
            for channel in SpufChannel:
                found = spuf.insulin_cells.get(InsulinKey(tier, code, channel)) or \
                    spuf.insulin_cells.get(InsulinKey(None, code, channel))
                if found is None or not found.offered:
                    continue
                if found.copay is not None and found.coinsurance is not None:
                    share = CostShare.of_coinsurance(found.coinsurance, None, found.copay)
                else:
                    share = _cost_share(found.copay, found.coinsurance, None, None)
                assert share is not None
                rows.append(CostShareRow(INSULIN_TIER_BASE + tier, Level.INITIAL,
                                         channel.value, int(code), share))
                insulin = True
    exempt = [t for t in spuf.tiers if not spuf.deductible_applies(t)]
    exempt += [INSULIN_TIER_BASE + t for t in spuf.tiers]
    design = BenefitDesign.from_rows(str(spuf.plan_name or spuf.key), rows,
                                     deductible=spuf.deductible, deductible_exempt_tiers=exempt)
    return design, insulin


def design_channels(design: BenefitDesign, pharmacy: str
                    ) -> Mapping[tuple[ClaimChannel, int], Channel]:
    """Which SPUF cost-share channel each (claim channel, design tier) is priced at."""
    offered = {(key.channel, key.tier) for key in design.cells if key.level == Level.INITIAL}
    tiers = {tier for _, tier in offered}
    out: dict[tuple[ClaimChannel, int], Channel] = {}
    for claim_channel, order in CHANNEL_ORDER[pharmacy].items():
        for tier in tiers:
            for channel in order:
                if (channel, tier) in offered:
                    out[(claim_channel, tier)] = channel
                    break
    return MappingProxyType(out)
