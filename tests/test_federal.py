"""Federal limits as dated data, and the plan checks that use them."""

from __future__ import annotations

import dataclasses

from pbm_engine.benefit.federal import plan_warnings
from pbm_engine.benefit.plan import Limit
from pbm_engine.sources.federal import limits_for
from pbm_engine.sources.loader import load_sample_book


def test_limits_by_year() -> None:
    assert (limits_for(2026).moop_self, limits_for(2026).moop_other) == (1_060_000, 2_120_000)
    assert limits_for(2025).moop_self == 920_000  # the 2025 decrease
    assert limits_for(2026).hdhp_min_deductible_family == 340_000
    assert limits_for(2026).hdhp_max_oop_self == 850_000
    empty = limits_for(1999)
    assert empty.moop_self is None and empty.hdhp_max_oop_self is None


def test_sample_plans_keep_the_2026_limits() -> None:
    book = load_sample_book()
    assert all(plan_warnings(plan, limits_for) == [] for plan in book.plans.values())


def test_plans_breaking_the_limits_are_named() -> None:
    book = load_sample_book()
    ppo = dataclasses.replace(book.plans["SAMPLE-PPO-2026"],
                              oop_max=Limit(1_100_000, 2_000_000, embedded=False))
    text = "\n".join(plan_warnings(ppo, limits_for))
    assert "individual out-of-pocket maximum 11000.00 is above the ACA self-only" in text
    assert "per-person cost sharing on family coverage 20000.00" in text
    hdhp = dataclasses.replace(book.plans["SAMPLE-HDHP-2026"],
                               deductible=Limit(150_000, 300_000, embedded=True),
                               oop_max=Limit(900_000, 1_000_000))
    text = "\n".join(plan_warnings(hdhp, limits_for))
    assert "individual deductible 1500.00 is below the HDHP minimum 1700.00" in text
    assert "embedded individual deductible on family coverage 1500.00" in text
    assert "individual out-of-pocket maximum 9000.00 is above the HDHP maximum 8500.00" in text
    assert plan_warnings(dataclasses.replace(hdhp, year=None), limits_for) == []
