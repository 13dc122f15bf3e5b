"""Part D plans of a book file (``part_d_plans:``): each spec becomes a
:class:`~pbm_engine.medicare.plans.PartDPlan` once the book's formularies, networks and prices are
loaded.  The spec keys are described in :mod:`pbm_engine.medicare.plans`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pbm_engine.book import Book
from pbm_engine.formulary.model import Coverage, Drug, Formulary, QuantityLimit, StepTherapy
from pbm_engine.medicare.design import BenefitDesign
from pbm_engine.medicare.parameters import parameters_for
from pbm_engine.medicare.phases import FeeAllocation, InsulinScaling, LisCopayBasis, PartDPolicy
from pbm_engine.medicare.plans import (
    CHANNEL_ORDER,
    PartDPlan,
    design_channels,
    part_d_drug,
    part_d_edit_plan,
    spuf_design,
)
from pbm_engine.medicare.spuf import SpufLibrary, SpufPlan, bundled_spuf_library
from pbm_engine.sources.paths import resolve

__all__ = ["load_part_d_plans"]

_BUNDLED_SPUF = "pkg:cms_spuf_2026q2"
_COMMON_KEYS = {"plan_id", "name", "network", "policy", "edits"}
_DS_KEYS = _COMMON_KEYS | {"defined_standard", "formulary"}
_CMS_KEYS = _COMMON_KEYS | {"spuf", "contract", "plan", "segment", "drug_master", "year",
                            "pharmacy"}


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
        drugs = [part_d_drug(d) for d in formulary.drugs.values()]
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
    if pharmacy not in CHANNEL_ORDER:
        raise ValueError(f"pharmacy: {pharmacy!r} is not preferred or non_preferred")
    formulary_id = f"CMS-{spuf.formulary_id}"
    found = book.formularies.get(formulary_id)
    if found is not None:
        formulary = found
    else:
        formulary = _spuf_formulary(formulary_id, spuf, master, book)
        book.formularies[formulary_id] = formulary
    design, insulin = spuf_design(spuf)
    name = str(spec.get("name") or f"{spuf.plan_name or spuf.key} ({spuf.key})")
    return PartDPlan(
        plan_id=plan_id, name=name, year=year, design=design, parameters=params,
        formulary=formulary, network_id=network,
        edits=part_d_edit_plan(plan_id, name, formulary_id, network, spec.get("edits")),
        policy=policy, spuf_key=spuf.key, channels=design_channels(design, pharmacy),
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
    folder = resolve(ref, base)
    if not folder.is_dir():
        raise ValueError(f"spuf: {folder} is not a folder")
    return _load_library(str(folder))


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
            prerequisites: frozenset[str] = frozenset()
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
                drugs.append(dataclasses.replace(part_d_drug(drug),
                                                 coverage=Coverage.EXCLUDED))
    groups = dict(master.group_names) if master else {}
    return Formulary.build(formulary_id, f"CMS formulary {spuf.formulary_id}", drugs, groups,
                           f"CMS SPUF, plan {spuf.key}")
