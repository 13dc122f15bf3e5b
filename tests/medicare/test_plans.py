"""Part D plans of a book: Defined Standard and CMS SPUF specs, and bad specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbm_engine.book import Book
from pbm_engine.cli.partd import sample_partd_book_path
from pbm_engine.codes import Channel as ClaimChannel
from pbm_engine.errors import ConfigError
from pbm_engine.formulary.model import Coverage
from pbm_engine.medicare import (
    INSULIN_TIER_BASE,
    CostShare,
    CoverageLevel,
    PartDPlan,
    parameters_for,
)
from pbm_engine.medicare.design import Channel
from pbm_engine.sources.loader import load_book
from pbm_engine.sources.part_d import load_part_d_plans

BOOK_PATH = sample_partd_book_path()


@pytest.fixture(scope="module")
def book() -> Book:
    return load_book(BOOK_PATH)


def test_sample_book_has_every_plan(book: Book) -> None:
    assert set(book.part_d_plans) == {"DS-2006", "DS-2011", "DS-2019", "DS-2024", "DS-2025",
                                      "DS-2026", "CMS-S5743-001-000", "CMS-H5050-004-000"}
    for plan in book.part_d_plans.values():
        assert isinstance(plan, PartDPlan)
        assert plan.parameters == parameters_for(plan.year)
        assert plan.edits.plan_id == plan.plan_id
        assert not plan.edits.schedule.cells
    ds = book.part_d_plans["DS-2019"]
    assert ds.design.standard and ds.year == 2019 and ds.spuf_key is None


def test_cms_pdp_design(book: Book) -> None:
    plan = book.part_d_plans["CMS-S5743-001-000"]
    assert str(plan.spuf_key) == "S5743-001-000" and plan.year == 2026
    assert plan.design.deductible == 61500
    assert not plan.design.standard
    cell = plan.design.lookup(3, CoverageLevel.INITIAL, Channel.RETAIL_PREF, 30)
    assert cell == CostShare.of_coinsurance(220000)
    assert plan.design.lookup(1, CoverageLevel.INITIAL, Channel.RETAIL_NONPREF, 30) == \
        CostShare.of_copay(500)
    # Insulin cells: tier 3 publishes a $35 copay and 22% coinsurance: the enrollee pays the
    # lesser, i.e. 22% capped at $35.
    assert plan.insulin_tiers
    insulin = plan.design.lookup(INSULIN_TIER_BASE + 3, CoverageLevel.INITIAL,
                                 Channel.RETAIL_PREF, 30)
    assert insulin == CostShare.of_coinsurance(220000, None, 3500)
    # The deductible applies to every tier of this plan; insulin tiers are exempt.
    assert 3 not in plan.design.deductible_exempt_tiers
    assert INSULIN_TIER_BASE + 3 in plan.design.deductible_exempt_tiers


def test_cms_mapd_design_and_channels(book: Book) -> None:
    plan = book.part_d_plans["CMS-H5050-004-000"]
    assert plan.design.deductible == 0
    # This plan publishes no preferred mail cells: mail claims price at non-preferred mail.
    assert plan.design_channel(ClaimChannel.MAIL, 2) is Channel.MAIL_NONPREF
    assert plan.design_channel(ClaimChannel.RETAIL, 2) is Channel.RETAIL_PREF
    assert plan.design.lookup(4, CoverageLevel.INITIAL, Channel.RETAIL_PREF, 30) == \
        CostShare.of_copay(9900)


def test_cms_formulary_entries(book: Book) -> None:
    pdp = book.part_d_plans["CMS-S5743-001-000"]
    drugs = pdp.formulary
    lantus, humalog = drugs.get("00088222033"), drugs.get("00002751001")
    shingrix, novolog = drugs.get("58160082311"), drugs.get("00169750111")
    assert lantus and lantus.insulin and lantus.brand and lantus.tier == 3
    assert humalog and humalog.insulin and humalog.quantity_limit is not None
    assert shingrix and shingrix.vaccine and shingrix.tier == 1
    assert novolog and novolog.ndc in pdp.selected_ndcs
    kisqali = drugs.get("00078087463")
    assert kisqali and kisqali.pa_required and kisqali.specialty
    otc = drugs.get("24385005452")
    assert otc and otc.coverage is Coverage.EXCLUDED and otc.otc
    assert drugs.get("61269063530") is None  # Zyprexa: not on this plan's formulary
    # SPUF NDCs absent from the drug master keep their SPUF terms.
    assert len(drugs.drugs) > 3000
    # The CMS formulary is registered in the book so the parser knows its NDCs.
    assert "CMS-00026248" in book.formularies
    assert "00088222033" in book.known_ndcs


def test_ds_formulary_uses_ndc_therapy_keys(book: Book) -> None:
    ds = book.part_d_plans["DS-2026"]
    assert all(d.therapy_key == d.ndc for d in ds.formulary.drugs.values())
    assert len(ds.formulary.drugs) == len(book.formularies["SAMPLE-COMMERCIAL-2026"].drugs)


GOOD_DS = {"plan_id": "X", "defined_standard": 2020, "formulary": "SAMPLE-COMMERCIAL-2026",
           "network": "SAMPLE-NETWORK-2026"}
GOOD_CMS = {"plan_id": "Y", "spuf": "pkg:cms_spuf_2026q2", "contract": "H5050", "plan": "4",
            "network": "SAMPLE-NETWORK-2026", "drug_master": "SAMPLE-COMMERCIAL-2026"}


def test_good_specs(book: Book) -> None:
    plans = load_part_d_plans([GOOD_DS, {**GOOD_CMS, "pharmacy": "non_preferred",
                                         "policy": {"insulin_scaling": "next_whole_month"},
                                         "edits": {"max_days_supply": {"retail": 34}}}],
                              BOOK_PATH.parent, book)
    assert plans["X"].parameters.year == 2020
    y = plans["Y"]
    assert str(y.spuf_key) == "H5050-004-000"  # plan id zero-padded, segment defaulted
    assert y.design_channel(ClaimChannel.RETAIL, 2) is Channel.RETAIL_NONPREF
    assert y.edits.max_days_supply[ClaimChannel.RETAIL] == 34
    assert y.policy.insulin_scaling.value == "next_whole_month"


@pytest.mark.parametrize(("spec", "message"), [
    ({**GOOD_DS, "network": "NOPE"}, "network 'NOPE' is not loaded"),
    ({**GOOD_DS, "formulary": "NOPE"}, "formulary 'NOPE' is not loaded"),
    ({**GOOD_DS, "defined_standard": 2031}, "no Part D parameters for plan year 2031"),
    ({**GOOD_DS, "defined_standard": "2020"}, "is not a plan year"),
    ({**GOOD_DS, "spuf": "pkg:cms_spuf_2026q2"}, "exactly one of defined_standard"),
    ({k: v for k, v in GOOD_DS.items() if k != "plan_id"}, "plan_id is required"),
    ({**GOOD_DS, "colour": "red"}, "unknown key(s) ['colour']"),
    ({**GOOD_DS, "policy": {"fee_allocation": "sideways"}}, "policy.fee_allocation"),
    ({**GOOD_DS, "policy": {"speed": 1}}, "unknown switch 'speed'"),
    ({**GOOD_DS, "edits": {"max_days_supply": {"drone": 5}}}, "unknown channel 'drone'"),
    ({**GOOD_CMS, "plan": "999"}, "no Part D plan H5050-999-000"),
    ({**GOOD_CMS, "pharmacy": "cheap"}, "pharmacy: 'cheap'"),
    ({**GOOD_CMS, "spuf": "no/such/folder"}, "is not a folder"),
    ({k: v for k, v in GOOD_CMS.items() if k != "contract"}, "contract is required"),
    ("DS-2026", "each plan must be a mapping"),
])
def test_bad_specs(book: Book, spec: object, message: str) -> None:
    with pytest.raises(ValueError, match=r"^\[0\]") as info:
        load_part_d_plans([spec], BOOK_PATH.parent, book)  # type: ignore[list-item]
    assert message in str(info.value)


def test_duplicate_plan_id(book: Book) -> None:
    with pytest.raises(ValueError, match="defined twice"):
        load_part_d_plans([GOOD_DS, GOOD_DS], BOOK_PATH.parent, book)


def test_loader_wraps_bad_spec_in_config_error(tmp_path: Path) -> None:
    sample = BOOK_PATH.parent.parent / "sample"
    text = (f"formularies: [{sample / 'formulary.yaml'}]\n"
            f"networks: [{sample / 'network.yaml'}]\n"
            "part_d_plans:\n  - {plan_id: DS-1999, defined_standard: 1999, "
            "formulary: SAMPLE-COMMERCIAL-2026, network: SAMPLE-NETWORK-2026}\n")
    path = tmp_path / "book.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"part_d_plans: \[0\] DS-1999: .*1999"):
        load_book(path)
