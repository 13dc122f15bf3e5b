"""Properties of every estimate: it balances, it never offers an unrelated or a dearer drug,
and it repeats the engine's own answer."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from pbm_engine.book import Book
from pbm_engine.formulary.model import route_of
from pbm_engine.portal.estimate import Estimator
from pbm_engine.sources.loader import load_sample_book

BOOK: Book = load_sample_book()
ESTIMATOR = Estimator(BOOK)
FORMULARY = BOOK.formularies["SAMPLE-COMMERCIAL-2026"]
NDCS = sorted(FORMULARY.drugs)
MEMBERS = sorted(m.member_id for m in BOOK.registry.members.values())


@settings(max_examples=60, deadline=None)
@given(ndc=st.sampled_from(NDCS), member=st.sampled_from(MEMBERS),
       day=st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)))
def test_estimates_balance_and_offer_only_related_cheaper_drugs(ndc: str, member: str,
                                                                 day: dt.date) -> None:
    est = ESTIMATOR.estimate(as_of=day, member_id=member, ndc=ndc)
    drug = FORMULARY.drugs[ndc]
    for ch in est.channels:
        if ch.covered:
            r = ch.result
            assert ch.member_pays + ch.plan_pays == ch.total_cost == r.total_price
            assert ch.member_pays == (ch.deductible_applied + ch.copay + ch.coinsurance
                                      + ch.brand_penalty + r.exceeding_benefit_max)
        else:
            assert ch.conditions and any(c.blocking for c in ch.conditions)
    base = est.channels[0]
    names = [a.estimate.drug_name for a in est.alternatives if a.kind != "mail"]
    assert len(names) == len(set(names)) and len(est.alternatives) <= 5
    prerequisites = drug.step_therapy.prerequisites if drug.step_therapy else frozenset()
    for alt in est.alternatives:
        e = alt.estimate
        other = FORMULARY.drugs[e.ndc]
        assert e.covered
        if base.covered:
            assert e.per_30_days < base.per_30_days
            assert alt.saving_per_fill is not None and alt.saving_per_fill > 0
        if alt.kind == "generic":
            assert other.te_group == drug.te_group and other.te_group and not other.brand
        elif alt.kind == "therapeutic":
            assert (other.groups & prerequisites) or (
                other.therapeutic_class == drug.therapeutic_class is not None
                and other.tier < drug.tier and route_of(other.name) == route_of(drug.name))
        else:
            assert alt.kind == "mail" and e.ndc == drug.ndc
