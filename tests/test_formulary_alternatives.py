"""``Formulary.step_alternatives`` reads a per-group index built once; it must answer exactly as
a scan of the prerequisite groups' drugs in order would."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbm_engine.formulary.model import Coverage, Drug, Formulary, StepTherapy

GROUPS = ("A", "B", "C")

_drug_lists = st.lists(
    st.builds(
        Drug, ndc=st.just(""), name=st.just("d"), tier=st.integers(1, 3),
        coverage=st.sampled_from(Coverage), pa_required=st.booleans(),
        step_therapy=st.none() | st.just(StepTherapy(frozenset({"A"}))),
        groups=st.frozensets(st.sampled_from(GROUPS), max_size=2)),
    max_size=25)


def scan(formulary: Formulary, drug: Drug) -> tuple[Drug, ...]:
    out: list[Drug] = []
    assert drug.step_therapy is not None
    for g in sorted(drug.step_therapy.prerequisites):
        for ndc in formulary.by_group.get(g, ()):
            d = formulary.drugs[ndc]
            if (d.coverage is Coverage.COVERED and not d.pa_required and not d.step_therapy
                    and d.ndc != drug.ndc):
                out.append(d)
    return tuple(out)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(_drug_lists, st.frozensets(st.sampled_from((*GROUPS, "Z"))))
def test_step_alternatives_match_a_scan(drugs: list[Drug], groups: frozenset[str]) -> None:
    numbered = [dataclasses.replace(d, ndc=f"{i:011d}") for i, d in enumerate(drugs)]
    formulary = Formulary.build("F", "f", numbered, {g: g for g in GROUPS})
    stepped = Drug(ndc="99999999999", name="stepped", tier=3,
                   step_therapy=StepTherapy(groups))
    assert formulary.step_alternatives(stepped) == scan(formulary, stepped)
