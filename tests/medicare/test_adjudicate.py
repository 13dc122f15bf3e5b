"""Part D claims end to end: Engine.adjudicate and Processor.submit on the Part D sample book."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbm_engine.accumulators import MemberState, Totals
from pbm_engine.book import Book
from pbm_engine.cli import main
from pbm_engine.cli.partd import sample_partd_book_path, sample_partd_claims_path
from pbm_engine.engine import Engine
from pbm_engine.medicare import (
    BeneficiaryState,
    ClaimFacts,
    LisLevel,
    lis_for,
    lis_level_of,
    split_claim,
)
from pbm_engine.processor import Processor
from pbm_engine.result import ClaimResult
from pbm_engine.sources.loader import load_book
from pbm_engine.store.memory import MemoryStore

ZYPREXA, LABETALOL, LANTUS, HUMALOG = "61269063530", "58657060450", "00088222033", "00002751001"
NOVOLOG, SHINGRIX, KISQALI, OTC = "00169750111", "58160082311", "00078087463", "24385005452"


@pytest.fixture(scope="module")
def book() -> Book:
    return load_book(sample_partd_book_path())


@pytest.fixture(scope="module")
def engine(book: Book) -> Engine:
    return Engine(book)


def claim(member: str, dos: str, ndc: str, qty: str = "30", days: int = 30, rx: str = "1",
          fill: int = 0, **kw: Any) -> dict[str, Any]:
    out = {"cardholder_id": member, "date_of_service": dos, "rx_number": rx,
           "fill_number": fill, "ndc": ndc, "quantity": qty, "days_supply": days,
           "pharmacy_id": "1234567893", "channel": "retail"}
    return out | kw


def check_paid(r: ClaimResult) -> None:
    """Every identity a paid Part D result keeps."""
    assert r.paid, r.rejects
    pde = r.part_d
    pde.check()
    x = r.extra or {}
    lics, discount = _cents(x["lics"]), _cents(x["manufacturer_discount"])
    assert r.member_paid + r.other_payer_paid + r.plan_pay + lics + discount == r.total_price
    assert r.patient_pay == r.member_paid + r.other_payer_paid == \
        pde.patient_pay + pde.other_troop_amount
    assert r.patient_pay == r.deductible_applied + r.copay_amount + r.coinsurance_amount
    assert r.plan_pay == pde.covered_plan_paid + pde.non_covered_plan_paid + pde.plro
    assert r.total_price == pde.gross_drug_cost == r.ingredient_cost_paid + \
        r.dispensing_fee_paid
    assert r.delta == Totals(oop=r.patient_pay, plan_paid=r.plan_pay,
                             troop=pde.troop_accumulator_after - pde.troop_accumulator_before,
                             gross_drug_cost=r.total_price)
    assert min(r.patient_pay, r.plan_pay, lics, discount) >= 0


def _cents(text: str) -> int:
    return round(float(text) * 100)


# -- hand-computed claims ----------------------------------------------------------------------

def test_ds_2026_first_brand_fill_by_hand(engine: Engine) -> None:
    r = engine.adjudicate(claim("MBI2026A01", "2026-02-01", ZYPREXA))
    check_paid(r)
    # AWP 60.86 x 30 less 17% + $1.25 fee = 1516.67.  $615 deductible, then 25% of 901.67.
    assert r.total_price == 151667
    assert r.deductible_applied == 61500
    assert r.coinsurance_amount == 22542  # 25% of 901.67 = 225.4175
    assert r.patient_pay == 84042
    assert r.part_d.manufacturer_discount == 9017  # MDP 10% of the initial-coverage portion
    assert r.plan_pay == 151667 - 84042 - 9017
    assert r.delta.troop == 84042 and r.delta.gross_drug_cost == 151667
    assert (r.extra or {})["benefit_phase_before"] == "D"
    assert (r.extra or {})["benefit_phase_after"] == "N"
    assert r.remaining_deductible == 0 and r.remaining_oop == 210000 - 84042


@pytest.mark.parametrize(("member", "dos", "ndc", "kw"), [
    ("MBI2026G01", "2026-01-09", "64380075806", {"quantity": "90"}),
    ("MBI2026G01", "2026-01-09", HUMALOG, {"quantity": "10"}),
    ("MBI2026G01", "2026-02-10", KISQALI, {"quantity": "63", "days_supply": 28,
                                           "channel": "specialty"}),
    ("MBI2026H01", "2026-01-12", NOVOLOG, {"quantity": "10"}),
    ("MBI2026H01", "2026-02-01", "27241002168", {"quantity": "27", "days_supply": 90,
                                                 "channel": "mail"}),
    ("MBI2026D01", "2026-01-07", HUMALOG, {"quantity": "10"}),
])
def test_cms_plans_match_the_phase_engine(book: Book, engine: Engine, member: str, dos: str,
                                          ndc: str, kw: dict[str, Any]) -> None:
    base = claim(member, dos, ndc)
    r = engine.adjudicate(base | kw)
    check_paid(r)
    m = book.registry.get(member, "001")
    assert m is not None
    plan = book.part_d_plans[m.plan_id]
    drug = plan.formulary.get(ndc)
    tier = plan.design_tier(drug)
    channel = {"retail": "retail", "mail": "mail", "specialty": "specialty"}[
        kw.get("channel", "retail")]
    from pbm_engine.codes import Channel as ClaimChannel

    facts = ClaimFacts(ingredient_cost=r.ingredient_cost_paid,
                       dispensing_fee=r.dispensing_fee_paid, tier=tier,
                       channel=plan.design_channel(ClaimChannel(channel), tier),
                       days_supply=kw.get("days_supply", 30), applicable_drug=drug.brand,
                       generic_or_preferred_multisource=not drug.brand, insulin=drug.insulin,
                       vaccine=drug.vaccine, selected_drug=ndc in plan.selected_ndcs)
    lis = lis_level_of(m.lis_level, 2026)
    expected = split_claim(plan.parameters, plan.design, BeneficiaryState(lis=lis), facts)
    assert r.part_d.patient_pay == expected.patient_pay
    assert r.part_d.covered_plan_paid == expected.covered_plan_paid
    assert r.part_d.manufacturer_discount == expected.manufacturer_discount


def test_cms_pdp_deductible_then_coinsurance(engine: Engine) -> None:
    r = engine.adjudicate(claim("MBI2026G01", "2026-02-10", KISQALI, "63", 28,
                                channel="specialty"))
    check_paid(r)
    # $615 deductible (every tier), then tier 5's 25% until TrOOP reaches $2,100.
    assert r.deductible_applied == 61500
    assert r.patient_pay == 210000
    assert (r.extra or {})["benefit_phase_after"] == "C"


def test_cms_mapd_copay_and_zero_deductible(engine: Engine) -> None:
    r = engine.adjudicate(claim("MBI2026H01", "2026-01-12", "00245083611", "60"))
    check_paid(r)
    assert r.deductible_applied == 0 and r.copay_amount == 500  # tier 2 preferred retail $5


def test_insulin_cap_and_no_deductible(engine: Engine) -> None:
    r = engine.adjudicate(claim("MBI2026A01", "2026-01-20", LANTUS, "10"))
    check_paid(r)
    assert r.patient_pay == 3500 and r.deductible_applied == 0
    r = engine.adjudicate(claim("MBI2026G01", "2026-01-20", HUMALOG, "10"))
    check_paid(r)
    assert r.patient_pay == 3500 and r.deductible_applied == 0


def test_vaccine_is_free(engine: Engine) -> None:
    for member in ("MBI2026A01", "MBI2026G01", "MBI2026H01", "MBI2026C01"):
        r = engine.adjudicate(claim(member, "2026-03-01", SHINGRIX, "1", 1))
        check_paid(r)
        assert r.patient_pay == 0 and r.delta.troop == 0


def test_lis_levels(engine: Engine) -> None:
    full = lis_for(2026, LisLevel.FULL)
    r = engine.adjudicate(claim("MBI2026C01", "2026-01-06", ZYPREXA))
    check_paid(r)
    assert r.patient_pay == full.copay_other and r.copay_amount == full.copay_other
    assert r.part_d.lics == r.part_d.troop_accumulator_after - full.copay_other
    r = engine.adjudicate(claim("MBI2025E01", "2025-04-02", ZYPREXA))
    check_paid(r)
    assert r.patient_pay == 0 and r.part_d.lics > 0
    r = engine.adjudicate(claim("MBI2011F01", "2011-01-15", ZYPREXA,
                                ingredient_cost="1000.00", dispensing_fee="2.00"))
    check_paid(r)
    partial = lis_for(2011, LisLevel.PARTIAL)
    assert r.patient_pay == partial.deductible + (100200 - partial.deductible) * 15 // 100


def test_lis_aliases() -> None:
    assert lis_level_of(None, 2026) is None
    assert lis_level_of(" None ", 2026) is None
    assert lis_level_of("Full-Subsidy", 2026) is LisLevel.FULL
    assert lis_level_of("3", 2026) is LisLevel.INSTITUTIONAL
    assert lis_level_of("partial", 2023) is LisLevel.PARTIAL
    assert lis_level_of("partial", 2024) is LisLevel.FULL
    with pytest.raises(ValueError, match="not recognised"):
        lis_level_of("gold", 2026)


# -- rejects -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("request_", "code"), [
    (claim("MBI2026A01", "2025-12-30", LABETALOL), "65"),
    (claim("MBI2026A01", "2026-10-02", OTC, "20", 10), "A5"),
    (claim("MBI2026D01", "2026-01-07", ZYPREXA), "MR"),
    (claim("MBI2026G01", "2026-01-07", KISQALI, "63", 28), "75"),  # PA on file: other member
    (claim("MBI2026H01", "2026-01-07", "00000000000"), "54"),
    (claim("MBI2026A01", "2026-01-07", ZYPREXA, days=120), "7X"),
])
def test_rejects(engine: Engine, request_: dict[str, Any], code: str) -> None:
    if code == "75":
        request_ = request_ | {"cardholder_id": "MBI2026D01"}
    r = engine.adjudicate(request_)
    assert not r.paid and code in r.reject_codes, r.rejects
    assert r.part_d is None


def test_unknown_lis_level_rejects(book: Book) -> None:
    from dataclasses import replace

    from pbm_engine.eligibility.members import Registry

    registry = Registry()
    for m in book.registry.members.values():
        registry.add(replace(m, lis_level="gold") if m.cardholder_id == "MBI2026A01" else m)
    other = Book(plans=book.plans, formularies=book.formularies, networks=book.networks,
                 prices=book.prices, registry=registry, part_d_plans=book.part_d_plans,
                 known_ndcs=book.known_ndcs)
    r = Engine(other).adjudicate(claim("MBI2026A01", "2026-02-01", ZYPREXA))
    assert r.reject_codes == ("85",) and "gold" in r.rejects[0].message


class _Broken:
    def state(self, plan_id: str, year_start: dt.date, member_id: str, family_id: str
              ) -> MemberState:
        return MemberState(Totals(troop=-5, gross_drug_cost=-1))

    def fills(self, member_id: str, start: dt.date, end: dt.date) -> list:
        return []


def test_bad_accumulators_reject_not_raise(engine: Engine) -> None:
    r = engine.adjudicate(claim("MBI2026A01", "2026-02-01", ZYPREXA), accumulators=_Broken())
    assert r.reject_codes == ("85",)


# -- a year through the processor --------------------------------------------------------------

def _sample_claims(member: str) -> list[dict[str, Any]]:
    lines = sample_partd_claims_path().read_text().splitlines()
    out = [json.loads(line) for line in lines if line.strip()]
    return sorted((c for c in out if c["cardholder_id"] == member),
                  key=lambda c: c["date_of_service"])


@pytest.mark.parametrize(("member", "phases", "troop_end"), [
    ("MBI2026A01", {"D", "N", "C"}, 210000),
    ("MBI2019B01", {"D", "N", "G", "C"}, None),
    ("MBI2006J01", {"D", "N", "G", "C"}, None),
    ("MBI2024K01", {"D", "N", "G", "C"}, 800000),
    ("MBI2026G01", {"D", "C"}, 210000),
])
def test_member_year_crosses_every_phase(engine: Engine, member: str, phases: set[str],
                                         troop_end: int | None) -> None:
    store = MemoryStore()
    processor = Processor(engine, store)
    seen: set[str] = set()
    troop = 0
    for c in _sample_claims(member):
        r = processor.submit(c)
        if not r.paid:
            continue
        check_paid(r)
        assert r.part_d.troop_accumulator_before == troop  # carried by the processor
        troop = r.part_d.troop_accumulator_after
        seen |= {r.part_d.beginning_benefit_phase.value, r.part_d.ending_benefit_phase.value}
    assert phases <= seen
    if troop_end is not None:
        assert troop == troop_end


def test_reversal_restores_troop_exactly(engine: Engine) -> None:
    store = MemoryStore()
    processor = Processor(engine, store)
    claims = _sample_claims("MBI2026A01")
    for c in claims[:4]:
        processor.submit(c)
    before = store.totals()
    extra = claim("MBI2026A01", "2026-04-21", LABETALOL, rx="998")
    r = processor.submit(extra)
    check_paid(r)
    assert store.totals() != before
    reversal = processor.submit(extra | {"transaction_code": "B2"})
    assert reversal.status.value == "A"
    assert store.totals() == before


# -- properties --------------------------------------------------------------------------------

MEMBERS = {"MBI2026A01": 2026, "MBI2026C01": 2026, "MBI2026D01": 2026, "MBI2026G01": 2026,
           "MBI2026H01": 2026, "MBI2025E01": 2025, "MBI2024K01": 2024, "MBI2019B01": 2019,
           "MBI2011F01": 2011, "MBI2006J01": 2006}
NDCS = [ZYPREXA, LABETALOL, LANTUS, HUMALOG, NOVOLOG, SHINGRIX, KISQALI, OTC, "00245083611",
        "64380075806", "27241002168"]


@st.composite
def claim_sequences(draw: st.DrawFn) -> list[dict[str, Any]]:
    member = draw(st.sampled_from(sorted(MEMBERS)))
    year = MEMBERS[member]
    n = draw(st.integers(1, 10))
    days = sorted(draw(st.lists(st.integers(0, 364), min_size=n, max_size=n)))
    out = []
    for i, day in enumerate(days):
        dos = dt.date(year, 1, 1) + dt.timedelta(days=day)
        c = claim(member, dos.isoformat(), draw(st.sampled_from(NDCS)),
                  str(draw(st.integers(1, 90))), draw(st.sampled_from([1, 7, 28, 30, 60, 90])),
                  rx=str(5000 + i), channel=draw(st.sampled_from(["retail", "mail",
                                                                 "specialty"])))
        if draw(st.booleans()):
            c["ingredient_cost"] = f"{draw(st.integers(0, 3_000_000)) / 100:.2f}"
            c["dispensing_fee"] = f"{draw(st.integers(0, 500)) / 100:.2f}"
        if draw(st.integers(0, 9)) == 0:
            c["other_payer_amount"] = f"{draw(st.integers(0, 20_000)) / 100:.2f}"
        out.append(c)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claim_sequences())
def test_pde_identity_on_every_paid_claim(engine: Engine, claims: list[dict[str, Any]]) -> None:
    store = MemoryStore()
    processor = Processor(engine, store)
    troop = 0
    for c in claims:
        r = processor.submit(c)
        if r.paid:
            check_paid(r)
            assert r.part_d.troop_accumulator_before == troop
            troop = r.part_d.troop_accumulator_after
    # Reversing everything restores the accumulators to zero.
    for c in reversed(claims):
        processor.submit(c | {"transaction_code": "B2"})
    assert all(v.is_zero() for v in store.totals().values())


JUNK = st.one_of(st.none(), st.text(max_size=12), st.integers(-10, 10**6), st.booleans(),
                 st.floats(allow_nan=True), st.lists(st.integers(), max_size=2))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(MEMBERS)), st.dictionaries(
    st.sampled_from(["date_of_service", "ndc", "quantity", "days_supply", "ingredient_cost",
                     "dispensing_fee", "other_payer_amount", "usual_and_customary",
                     "gross_amount_due", "channel", "daw", "date_of_birth", "gender",
                     "pa_number", "clarification_codes"]), JUNK, max_size=5))
def test_bad_input_never_raises(engine: Engine, member: str, junk: dict[str, Any]) -> None:
    base = claim(member, f"{MEMBERS[member]}-03-01", ZYPREXA)
    r = engine.adjudicate(base | junk)
    assert r.status.value in ("P", "R")
    if r.paid:
        check_paid(r)


# -- command line ------------------------------------------------------------------------------

def test_cli_adjudicate_year_and_m3p(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    out = tmp_path / "results.jsonl"
    assert main(["partd", "adjudicate", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "TrOOP after" in text and "P=71, R=4" in text
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    paid = [row for row in rows if row["status"] == "P"]
    assert all("part_d" in row and "benefit_phase_after" in row for row in paid)
    assert main(["partd", "year", "--plan", "DS-2019", "--member", "MBI2019B01"]) == 0
    text = capsys.readouterr().out
    assert "N->G" in text and "G->C" in text
    assert main(["partd", "year", "--plan", "DS-2026", "--member", "MBI2019B01"]) == 2
    assert main(["partd", "m3p", "--election-month", "3", "--troop-before", "400",
                 "--costs", "200,200,900,50,1500"]) == 0
    text = capsys.readouterr().out
    assert "total  1700.00" in text


def test_troop_stops_at_the_threshold_and_oop_keeps_the_whole_year() -> None:
    """2019 Defined Standard: a $10,000 brand first fill lands TrOOP on the $5,100 threshold;
    a second fill is wholly catastrophic: TrOOP stays, its 5% goes to the member's ``oop``."""
    from pbm_engine.eligibility.members import CoveragePeriod, Member

    book = load_book(sample_partd_book_path())
    book.registry.add(Member("CAT2019", "001", "CAT2019", "DS-2019",
                             coverage=(CoveragePeriod(dt.date(2019, 1, 1)),)))
    store = MemoryStore()
    processor = Processor(Engine(book), store)
    first = processor.submit(claim("CAT2019", "2019-03-01", ZYPREXA, ingredient_cost="10000.00",
                                   dispensing_fee="0.00"))
    second = processor.submit(claim("CAT2019", "2019-04-01", ZYPREXA, rx="2",
                                    ingredient_cost="1000.00", dispensing_fee="0.00"))
    check_paid(first)
    check_paid(second)
    assert first.patient_pay == 238_236 and second.patient_pay == 5_000  # 5% of $1,000
    totals = store.state("DS-2019", dt.date(2019, 1, 1), first.member_id, first.family_id).member
    assert totals.troop == 510_000
    assert totals.oop == first.patient_pay + second.patient_pay
    assert second.delta.troop == 0 and second.part_d.catastrophic_coverage_code.value == "C"
