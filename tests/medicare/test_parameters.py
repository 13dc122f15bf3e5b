"""Dated Part D parameters and LIS tables against the domain reference."""

from __future__ import annotations

from fractions import Fraction

import pytest

from pbm_engine.errors import UsageError
from pbm_engine.medicare import (
    Confidence,
    Era,
    InsulinCapRule,
    LisLevel,
    PlanYearError,
    lis_for,
    parameters_for,
    supported_years,
)
from pbm_engine.medicare.parameters import load_lis_table, load_parameter_table
from pbm_engine.money import to_cents, to_rate

# Reference 1.1: year -> (deductible, ICL, OOP, catastrophic generic, other), dollars.
TABLE_1_1 = {
    2006: ("250", "2250", "3600", "2.00", "5.00"),
    2007: ("265", "2400", "3850", "2.15", "5.35"),
    2008: ("275", "2510", "4050", "2.25", "5.60"),
    2009: ("295", "2700", "4350", "2.40", "6.00"),
    2010: ("310", "2830", "4550", "2.50", "6.30"),
    2011: ("310", "2840", "4550", "2.50", "6.30"),
    2012: ("320", "2930", "4700", "2.60", "6.50"),
    2013: ("325", "2970", "4750", "2.65", "6.60"),
    2014: ("310", "2850", "4550", "2.55", "6.35"),
    2015: ("320", "2960", "4700", "2.65", "6.60"),
    2016: ("360", "3310", "4850", "2.95", "7.40"),
    2017: ("400", "3700", "4950", "3.30", "8.25"),
    2018: ("405", "3750", "5000", "3.35", "8.35"),
    2019: ("415", "3820", "5100", "3.40", "8.50"),
    2020: ("435", "4020", "6350", "3.60", "8.95"),
    2021: ("445", "4130", "6550", "3.70", "9.20"),
    2022: ("480", "4430", "7050", "3.95", "9.85"),
    2023: ("505", "4660", "7400", "4.15", "10.35"),
    2024: ("545", "5030", "8000", "4.50", "11.20"),
    2025: ("590", None, "2000", "4.90", "12.15"),
    2026: ("615", None, "2100", "5.10", "12.65"),
}

# Reference 1.1 published non-applicable totals, 2006-2023.
PUBLISHED_NON_APPLICABLE = {
    2006: "5100.00", 2007: "5451.25", 2008: "5726.25", 2009: "6153.75", 2010: "6440.00",
    2011: "6447.50", 2012: "6657.50", 2013: "6733.75", 2014: "6455.00", 2015: "6680.00",
    2016: "7062.50", 2017: "7425.00", 2018: "7508.75", 2019: "7653.75", 2020: "9038.75",
    2021: "9313.75", 2022: "10012.50", 2023: "10516.25",
}  # fmt: skip

# Reference 1.3: year -> (generic gap coins., applicable gap %, discount, brand coins.), percent.
TABLE_1_3 = {
    2011: ("93", "100", "50", "50"),
    2012: ("86", "100", "50", "50"),
    2013: ("79", "97.5", "50", "47.5"),
    2014: ("72", "97.5", "50", "47.5"),
    2015: ("65", "95", "50", "45"),
    2016: ("58", "95", "50", "45"),
    2017: ("51", "90", "50", "40"),
    2018: ("44", "85", "50", "35"),
    2019: ("37", "75", "70", "25"),
    **{y: ("25", "75", "70", "25") for y in range(2020, 2025)},
}

# Reference 2.2: year -> (FBDE G, FBDE O, partial deductible or None).
TABLE_2_2 = {
    2006: ("1.00", "3.00", "50"), 2007: ("1.00", "3.10", "53"), 2008: ("1.05", "3.10", "56"),
    2009: ("1.10", "3.20", "60"), 2010: ("1.10", "3.30", "63"), 2011: ("1.10", "3.30", "63"),
    2012: ("1.10", "3.30", "65"), 2013: ("1.15", "3.50", "66"), 2014: ("1.20", "3.60", "63"),
    2015: ("1.20", "3.60", "66"), 2016: ("1.20", "3.60", "74"), 2017: ("1.20", "3.70", "82"),
    2018: ("1.25", "3.70", "83"), 2019: ("1.25", "3.80", "85"), 2020: ("1.30", "3.90", "89"),
    2021: ("1.30", "4.00", "92"), 2022: ("1.35", "4.00", "99"), 2023: ("1.45", "4.30", "104"),
    2024: ("1.55", "4.60", None), 2025: ("1.60", "4.80", None), 2026: ("1.60", "4.90", None),
}  # fmt: skip


def test_supported_years() -> None:
    assert supported_years() == range(2006, 2027)


@pytest.mark.parametrize("year", sorted(TABLE_1_1))
def test_main_table(year: int) -> None:
    deductible, icl, oop, generic, other = TABLE_1_1[year]
    p = parameters_for(year)
    assert p.year == year
    assert p.deductible == to_cents(deductible)
    assert p.initial_coverage_limit == (None if icl is None else to_cents(icl))
    assert p.oop_threshold == to_cents(oop)
    assert p.catastrophic_copay_generic == to_cents(generic)
    assert p.catastrophic_copay_other == to_cents(other)
    assert p.initial_coverage_coinsurance == 250_000
    assert p.catastrophic_coinsurance == (50_000 if year <= 2023 else None)
    assert p.catastrophic_zero is (year >= 2024)
    assert p.has_gap is (year <= 2024)
    assert p.has_cgdp is (2011 <= year <= 2024)
    assert p.has_mdp is (year >= 2025)
    assert p.era is Era.of(year)
    for name, prov in p.provenance.items():
        assert prov.source, name
        assert isinstance(prov.confidence, Confidence)


@pytest.mark.parametrize("year", sorted(TABLE_1_3))
def test_gap_table(year: int) -> None:
    generic, gap_pct, discount, brand = TABLE_1_3[year]
    p = parameters_for(year)
    assert p.gap_generic_coinsurance == to_rate(generic)
    assert p.gap_applicable_percentage == to_rate(gap_pct)
    assert p.gap_discount == to_rate(discount)
    assert p.gap_brand_coinsurance == to_rate(brand)
    # Brand coinsurance = applicable gap % - discount %, with 50% used from 2019 (statute).
    assert p.gap_brand_coinsurance == p.gap_applicable_percentage - 500_000
    fee = 1_000_000 if year <= 2012 else p.gap_brand_coinsurance
    assert p.gap_brand_fee_coinsurance == fee


def test_gap_absent_outside_cgdp_years() -> None:
    for year in (2006, 2010, 2025, 2026):
        p = parameters_for(year)
        assert p.gap_discount is None and p.gap_brand_coinsurance is None
    assert parameters_for(2010).gap_generic_coinsurance == 1_000_000


def test_catastrophic_shares_and_mdp() -> None:
    assert parameters_for(2023).catastrophic_plan_share == 150_000
    assert parameters_for(2024).catastrophic_plan_share == 200_000
    p25, p26 = parameters_for(2025), parameters_for(2026)
    for p in (p25, p26):
        assert p.catastrophic_plan_share == 600_000
        assert (p.reinsurance_applicable, p.reinsurance_non_applicable) == (200_000, 400_000)
        assert (p.initial_plan_share_applicable, p.initial_plan_share_other) == (
            650_000,
            750_000,
        )
        assert (p.mdp_initial_discount, p.mdp_catastrophic_discount) == (100_000, 200_000)
    assert parameters_for(2019).reinsurance_applicable == 800_000
    assert (p25.mdp_phase_in_initial_discount, p25.mdp_phase_in_catastrophic_discount) == (
        10_000,
        10_000,
    )
    assert p26.mdp_phase_in_initial_discount == 20_000
    assert p25.selected_drug_subsidy is None and p26.selected_drug_subsidy == 100_000
    assert parameters_for(2024).mdp_phase_in_initial_discount is None


def test_insulin_and_vaccines() -> None:
    assert parameters_for(2022).insulin_cap is None
    assert not parameters_for(2022).vaccine_zero_cost_sharing
    for year in (2023, 2024, 2025):
        p = parameters_for(year)
        assert p.insulin_cap == 3500 and p.insulin_cap_rule is InsulinCapRule.FLAT
        assert p.vaccine_zero_cost_sharing
    p = parameters_for(2026)
    assert p.insulin_cap_rule is InsulinCapRule.LESSER_OF and p.insulin_price_share == 250_000


def test_non_applicable_totals_reproduce_to_the_cent() -> None:
    """Reference 1.2: TrOOP_at_ICL = D + 0.25(I - D); total = I + (O - TrOOP_at_ICL)."""
    for year, published in PUBLISHED_NON_APPLICABLE.items():
        p = parameters_for(year)
        d, i, o = p.deductible, p.initial_coverage_limit, p.oop_threshold
        assert i is not None
        troop_at_icl = Fraction(d) + Fraction(1, 4) * (i - d)
        total = i + (o - troop_at_icl)
        assert total == to_cents(published), year
        assert p.total_spend_at_oop_non_applicable == to_cents(published)


def test_derived_2025_2026_totals() -> None:
    """Reference note d: deductible + (OOP - deductible) / 0.25."""
    for year, expected in ((2025, "6230"), (2026, "6555")):
        p = parameters_for(year)
        total = p.deductible + (p.oop_threshold - p.deductible) * 4
        assert total == to_cents(expected) == p.total_spend_at_oop_non_applicable
    assert parameters_for(2024).total_spend_at_oop_non_applicable == to_cents("11477.39")


@pytest.mark.parametrize("year", [2005, 2027, 1999])
def test_years_outside_data_raise(year: int) -> None:
    with pytest.raises(PlanYearError):
        parameters_for(year)
    with pytest.raises(UsageError):
        lis_for(year, LisLevel.FULL)
    with pytest.raises(ValueError):
        parameters_for(year)


@pytest.mark.parametrize("year", sorted(TABLE_2_2))
def test_lis_table(year: int) -> None:
    fbde_g, fbde_o, partial_deductible = TABLE_2_2[year]
    p = parameters_for(year)
    fbde = lis_for(year, LisLevel.FBDE)
    assert (fbde.copay_generic, fbde.copay_other) == (to_cents(fbde_g), to_cents(fbde_o))
    full = lis_for(year, LisLevel.FULL)
    assert full.copay_generic == p.catastrophic_copay_generic
    assert full.copay_other == p.catastrophic_copay_other
    assert full.deductible == 0 and full.catastrophic_copay_generic is None
    inst = lis_for(year, LisLevel.INSTITUTIONAL)
    assert (inst.copay_generic, inst.copay_other, inst.deductible) == (0, 0, 0)
    if partial_deductible is None:
        with pytest.raises(PlanYearError):
            lis_for(year, LisLevel.PARTIAL)
    else:
        partial = lis_for(year, LisLevel.PARTIAL)
        assert partial.deductible == to_cents(partial_deductible)
        assert partial.coinsurance == 150_000
        assert partial.catastrophic_copay_generic == p.catastrophic_copay_generic
        assert partial.catastrophic_copay_other == p.catastrophic_copay_other


def test_tables_are_immutable_and_cached() -> None:
    table = load_parameter_table()
    assert table is load_parameter_table()
    with pytest.raises(TypeError):
        table[2030] = table[2026]  # type: ignore[index]
    assert len(load_lis_table()) == 21 * 3 + 18
