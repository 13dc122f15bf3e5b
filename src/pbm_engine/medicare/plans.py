"""Part D plans of a book: the Defined Standard benefit of a year, or a real CMS plan.

A book file lists them under ``part_d_plans:``; :func:`load_part_d_plans` turns each spec into a
:class:`PartDPlan` once the book's formularies, networks and prices are loaded::

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
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pbm_engine.benefit.plan import Daw0Policy, DawPolicy, Plan, Schedule
from pbm_engine.book import Book
from pbm_engine.codes import Channel as ClaimChannel
from pbm_engine.formulary.model import Coverage, Drug, Formulary, QuantityLimit, StepTherapy
from pbm_engine.medicare.design import BenefitDesign, Channel, CostShare, CostShareRow
from pbm_engine.medicare.design import CoverageLevel as Level
from pbm_engine.medicare.parameters import PartDParameters, parameters_for
from pbm_engine.medicare.phases import (
    FeeAllocation,
    InsulinScaling,
    LisCopayBasis,
    PartDPolicy,
)
from pbm_engine.medicare.spuf import (
    DaysSupplyCode,
    PlanKey,
    SpufLibrary,
    SpufPlan,
    bundled_spuf_library,
)
from pbm_engine.money import to_rate

__all__ = ["INSULIN_TIER_BASE", "PartDPlan", "load_part_d_plans", "part_d_edit_plan"]

INSULIN_TIER_BASE = 10
"""Design tier of insulin cells: ``10 + formulary tier`` (SPUF insulin cost-share rows)."""

_BUNDLED_SPUF = "pkg:cms_spuf_2026q2"
_COMMON_KEYS = {"plan_id", "name", "network", "policy", "edits"}
_DS_KEYS = _COMMON_KEYS | {"defined_standard", "formulary"}
_CMS_KEYS = _COMMON_KEYS | {"spuf", "contract", "plan", "segment", "drug_master", "year",
                            "pharmacy"}
_CHANNEL_ORDER = {
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


def load_part_d_plans(specs: list[dict[str, Any]], base: Path, book: Book
                      ) -> dict[str, PartDPlan]:
    """Build the Part D plans listed in a book file; ``ValueError`` names the bad spec."""
    plans: dict[str, PartDPlan] = {}
    for index, spec in enumerate(specs):
        where = f"[{index}]"
        try:
            if not isinstance(spec, Mapping):
                raise ValueError("each plan must be a mapping")
            where = f"[{index}] {spec.get('plan_id', '')}".rstrip()
            plan = _load_one(spec, base, book)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if plan.plan_id in plans or plan.plan_id in book.plans:
            raise ValueError(f"{where}: plan {plan.plan_id} is defined twice")
        plans[plan.plan_id] = plan
    return plans


def _load_one(spec: Mapping[str, Any], base: Path, book: Book) -> PartDPlan:
    plan_id = _text(spec, "plan_id")
    network = _text(spec, "network")
    if network not in book.networks:
        raise ValueError(f"network {network!r} is not loaded (networks: "
                         f"{', '.join(sorted(book.networks)) or 'none'})")
    policy = _policy(spec.get("policy"))
    if ("defined_standard" in spec) == ("spuf" in spec):
        raise ValueError("give exactly one of defined_standard (a year) or spuf (a SPUF folder)")
    if "defined_standard" in spec:
        _check_keys(spec, _DS_KEYS)
        year = spec["defined_standard"]
        if not isinstance(year, int) or isinstance(year, bool):
            raise ValueError(f"defined_standard: {year!r} is not a plan year")
        params = parameters_for(year)  # PlanYearError is a ValueError
        formulary = _formulary(book, _text(spec, "formulary"))
        drugs = [_part_d_drug(d) for d in formulary.drugs.values()]
        part_d_formulary = Formulary.build(formulary.formulary_id, formulary.name, drugs,
                                           formulary.group_names, formulary.source)
        name = str(spec.get("name") or f"Defined Standard {year}")
        return PartDPlan(
            plan_id=plan_id, name=name, year=year, design=BenefitDesign.defined_standard(),
            parameters=params, formulary=part_d_formulary, network_id=network,
            edits=part_d_edit_plan(plan_id, name, formulary.formulary_id, network,
                                   spec.get("edits")),
            policy=policy,
        )
    _check_keys(spec, _CMS_KEYS)
    year = spec.get("year", 2026)
    if not isinstance(year, int) or isinstance(year, bool):
        raise ValueError(f"year: {year!r} is not a plan year")
    params = parameters_for(year)
    library = _library(_text(spec, "spuf"), base)
    try:
        spuf = library.plan(_text(spec, "contract"), _text(spec, "plan"),
                            str(spec.get("segment", "000")))
    except KeyError as exc:
        raise ValueError(str(exc)) from None
    master = _formulary(book, spec["drug_master"]) if spec.get("drug_master") else None
    pharmacy = str(spec.get("pharmacy", "preferred"))
    if pharmacy not in _CHANNEL_ORDER:
        raise ValueError(f"pharmacy: {pharmacy!r} is not preferred or non_preferred")
    formulary_id = f"CMS-{spuf.formulary_id}"
    formulary = book.formularies.get(formulary_id)
    if formulary is None:
        formulary = _spuf_formulary(formulary_id, spuf, master, book)
        book.formularies[formulary_id] = formulary
    design, insulin = _spuf_design(spuf)
    name = str(spec.get("name") or f"{spuf.plan_name or spuf.key} ({spuf.key})")
    return PartDPlan(
        plan_id=plan_id, name=name, year=year, design=design, parameters=params,
        formulary=formulary, network_id=network,
        edits=part_d_edit_plan(plan_id, name, formulary_id, network, spec.get("edits")),
        policy=policy, spuf_key=spuf.key, channels=_channels(design, pharmacy),
        insulin_tiers=insulin,
        selected_ndcs=frozenset(n for n, e in spuf.formulary.items() if e.selected_drug),
    )


# -- spec helpers ------------------------------------------------------------------------------

def _text(spec: Mapping[str, Any], key: str) -> str:
    value = spec.get(key)
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        raise ValueError(f"{key} is required")
    return str(value).strip()


def _check_keys(spec: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(spec) - allowed
    if unknown:
        raise ValueError(f"unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


def _formulary(book: Book, formulary_id: Any) -> Formulary:
    formulary = book.formularies.get(str(formulary_id))
    if formulary is None:
        raise ValueError(f"formulary {formulary_id!r} is not loaded (formularies: "
                         f"{', '.join(sorted(book.formularies)) or 'none'})")
    return formulary


_POLICY_ENUMS = {"fee_allocation": FeeAllocation, "insulin_scaling": InsulinScaling,
                 "lis_copay_basis": LisCopayBasis}


def _policy(raw: Any) -> PartDPolicy:
    if raw is None:
        return PartDPolicy()
    if not isinstance(raw, Mapping):
        raise ValueError("policy must be a mapping")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _POLICY_ENUMS:
            try:
                values[key] = _POLICY_ENUMS[key](value)
            except ValueError:
                choices = ", ".join(m.value for m in _POLICY_ENUMS[key])
                raise ValueError(f"policy.{key}: {value!r} is not one of {choices}") from None
        elif key == "prorate_short_fill_copays":
            if not isinstance(value, bool):
                raise ValueError(f"policy.{key}: {value!r} is not true/false")
            values[key] = value
        else:
            raise ValueError(f"policy: unknown switch {key!r}")
    return PartDPolicy(**values)


@cache
def _load_library(folder: str) -> SpufLibrary:
    return SpufLibrary.load(folder)


def _library(ref: str, base: Path) -> SpufLibrary:
    if ref == _BUNDLED_SPUF:
        return bundled_spuf_library()
    from pbm_engine.sources.loader import resolve

    folder = resolve(ref, base)
    if not folder.is_dir():
        raise ValueError(f"spuf: {folder} is not a folder")
    return _load_library(str(folder))


# -- formularies -------------------------------------------------------------------------------

def _part_d_drug(drug: Drug) -> Drug:
    """A formulary entry as the Part D adjudicator uses it.

    The therapy key is the NDC: ``Engine.fill_for`` records Part D fills with the NDC as their
    therapy key (it looks drugs up in commercial plans only), so refill-too-soon compares like
    with like.
    """
    if drug.therapy_key == drug.ndc:
        return drug
    return dataclasses.replace(drug, therapy_key=drug.ndc)


def _spuf_formulary(formulary_id: str, spuf: SpufPlan, master: Formulary | None,
                    book: Book) -> Formulary:
    drugs: list[Drug] = []
    prices = book.prices
    for ndc, entry in sorted(spuf.formulary.items()):
        known = master.get(ndc) if master else None
        ql = None
        if entry.quantity_limit and entry.quantity_limit_amount and entry.quantity_limit_days:
            ql = QuantityLimit(entry.quantity_limit_amount, entry.quantity_limit_days)
        step = None
        if entry.step_therapy:
            prerequisites = frozenset()
            if known is not None:
                prerequisites = (known.step_therapy.prerequisites if known.step_therapy
                                 else known.groups)
            step = StepTherapy(prerequisites)
        name = (known.name if known else prices.nadac_names.get(ndc)) or f"NDC {ndc}"
        brand = known.brand if known else prices.nadac_class.get(ndc) == "B"
        drugs.append(Drug(
            ndc=ndc, name=name, tier=entry.tier, rxcui=entry.rxcui or (known.rxcui if known
                                                                       else None),
            brand=brand, multi_source=known.multi_source if known else False,
            te_group=known.te_group if known else None,
            groups=known.groups if known else frozenset(),
            pa_required=entry.prior_authorization, step_therapy=step, quantity_limit=ql,
            specialty=spuf.tier_specialty.get(entry.tier, False),
            insulin=known.insulin if known else False,
            vaccine=known.vaccine if known else False,
            otc=known.otc if known else False, therapy_key=ndc,
            min_age=known.min_age if known else None,
            max_age=known.max_age if known else None,
            gender=known.gender if known else None,
            therapeutic_class=known.therapeutic_class if known else None,
        ))
    if master is not None:
        for drug in master.drugs.values():
            if drug.ndc not in spuf.formulary and (drug.coverage is Coverage.EXCLUDED
                                                   or drug.otc):
                drugs.append(dataclasses.replace(_part_d_drug(drug),
                                                 coverage=Coverage.EXCLUDED))
    groups = dict(master.group_names) if master else {}
    return Formulary.build(formulary_id, f"CMS formulary {spuf.formulary_id}", drugs, groups,
                           f"CMS SPUF, plan {spuf.key}")


# -- benefit designs ---------------------------------------------------------------------------

def _cost_share(copay: int | None, rate: int | None, low: int | None, high: int | None
                ) -> CostShare | None:
    if copay is not None:
        return CostShare.of_copay(copay)
    if rate is not None:
        return CostShare.of_coinsurance(rate, low or None, high or None)
    return None


def _spuf_design(spuf: SpufPlan) -> tuple[BenefitDesign, bool]:
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
            for channel in Channel:
                found = spuf.insulin_cells.get((tier, code, channel)) or \
                    spuf.insulin_cells.get((None, code, channel))
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


def _channels(design: BenefitDesign, pharmacy: str) -> Mapping[tuple[ClaimChannel, int], Channel]:
    offered = {(key.channel, key.tier) for key in design.cells if key.level == Level.INITIAL}
    tiers = {tier for _, tier in offered}
    out: dict[tuple[ClaimChannel, int], Channel] = {}
    for claim_channel, order in _CHANNEL_ORDER[pharmacy].items():
        for tier in tiers:
            for channel in order:
                if (channel, tier) in offered:
                    out[(claim_channel, tier)] = channel
                    break
    return MappingProxyType(out)
