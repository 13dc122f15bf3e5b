"""Commercial plans from the CMS Exchange PUF (the bundled Alaska 2026 slice)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pbm_engine.admin.scenarios import run_paths
from pbm_engine.cli import main
from pbm_engine.sources.aca import (
    DRUG_BENEFITS,
    NotConvertible,
    bundled_puf_dir,
    convert,
    parse_cost_share,
    read_puf,
)
from pbm_engine.sources.loader import load_book, load_plan


def test_every_cost_sharing_string_in_the_file_is_handled() -> None:
    seen = set()
    with (bundled_puf_dir() / "benefits_cost_sharing_AK_2026.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            assert row["BenefitName"] in DRUG_BENEFITS
            for col in ("CopayInnTier1", "CopayInnTier2", "CopayOutofNet", "CoinsInnTier1",
                        "CoinsInnTier2", "CoinsOutofNet"):
                seen.add(row[col])
                parse_cost_share(row[col])  # raises on an unknown pattern
    assert {"$80.00 Copay after deductible", "40.00% Coinsurance after deductible", "$15.00",
            "0.00%", "100.00%", "Not Applicable", ""} <= seen


@pytest.mark.parametrize(("text", "kind", "amount", "after"), [
    ("$10.00 Copay after deductible", "copay", "10.00", True),
    ("$1,250.00", "copay", "1250.00", False),
    ("20.00% Coinsurance after deductible", "coinsurance", "20.00", True),
    ("20% Coinsurance before deductible", "coinsurance", "20", False),
    ("No Charge", "free", "0", False),
    ("No Charge after deductible", "free", "0", True),
    ("$5 Copay with deductible", "copay", "5", True),
])
def test_cost_sharing_patterns(text: str, kind: str, amount: str, after: bool) -> None:
    share = parse_cost_share(text)
    assert share is not None
    assert (share.kind, share.amount, share.after_deductible) == (kind, amount, after)


def test_unknown_patterns_are_reported() -> None:
    assert parse_cost_share("Not Applicable") is None
    with pytest.raises(ValueError, match="not a known pattern"):
        parse_cost_share("$10 Copay per day")


def test_every_alaska_plan_converts_or_is_reported_with_the_reason(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    puf = read_puf(bundled_puf_dir())
    assert len(puf.plans) == 98
    reasons: dict[str, int] = {}
    converted = 0
    for plan in puf.plans.values():
        try:
            design = convert(plan)
        except NotConvertible as exc:
            reasons[str(exc)] = reasons.get(str(exc), 0) + 1
            continue
        converted += 1
        assert design["year"] == 2026
    assert converted == 64
    assert reasons == {"dental-only plan: no drug benefit": 34}
    assert main(["plans", "from-aca", "--all", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "98 plans: 64 converted, 34 not converted" in out
    assert len(list(tmp_path.glob("*.yaml"))) == 64
    for path in tmp_path.glob("*.yaml"):
        load_plan(path)
    # a second in-network tier exists for 19 plans; the others say why not
    assert main(["plans", "from-aca", "--all", "--network", "in2"]) == 0
    out = capsys.readouterr().out
    assert "19 converted" in out and "the plan has one in-network tier" in out


def test_one_plan_deductible_moop_and_tiers(tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    assert main(["plans", "from-aca", str(bundled_puf_dir()), "--plan-id", "38344AK1060001-01",
                 "--out", str(out)]) == 0
    plan = load_plan(out)
    assert plan.deductible is not None and plan.oop_max is not None
    assert (plan.deductible.individual, plan.deductible.family) == (150000, 300000)
    assert (plan.oop_max.individual, plan.oop_max.family) == (630000, 1260000)
    assert plan.deductible_exempt_tiers == frozenset({0, 1, 2})
    assert main(["plans", "from-aca", "--plan-id", "38344AK1060001-1", "--out",
                 str(out)]) == 2
    assert main(["plans", "from-aca", "--plan-id", "74819AK0020007-00", "--out",
                 str(tmp_path / "dental.yaml")]) == 1


PLANS = {"A1": "38344AK1060001-01",   # Gold 1500: $15 / $45 / 50% after ded / 40% after ded
         "B1": "73836AK0950001-01",   # Standard Silver: $20 / $40 / $80 after ded / $350 after
         "C1": "73836AK0970002-01",   # Bronze HDHP 5500: 35% after the deductible on every tier
         "D1": "73836AK0930001-02"}   # AI/AN zero cost sharing


def _book(tmp_path: Path) -> Path:
    for pid in PLANS.values():
        assert main(["plans", "from-aca", "--plan-id", pid, "--out",
                     str(tmp_path / f"{pid}.yaml")]) == 0
    (tmp_path / "members.yaml").write_text("members:\n" + "".join(
        f"  - {{cardholder_id: {m}, plan_id: {pid}, date_of_birth: 1980-01-01, gender: F, "
        "coverage: [{start: 2026-01-01}]}\n" for m, pid in PLANS.items()))
    book = tmp_path / "book.yaml"
    book.write_text(f"plans: [{', '.join(f'{p}.yaml' for p in PLANS.values())}]\n"
                    "formularies: ['pkg:sample/formulary.yaml']\n"
                    "networks: ['pkg:sample/network.yaml']\n"
                    "prices: ['pkg:sample/prices.csv']\n"
                    "nadac: ['pkg:nadac/nadac_2026-04-29_sample_rows.csv']\n"
                    "members: [members.yaml]\n")
    load_book(book)
    return book


def test_converted_plans_adjudicate_to_hand_computed_amounts(tmp_path: Path) -> None:
    book = _book(tmp_path)
    # generic abacavir 300 mg x30 prices at 22.88; Klonopin 0.5 mg x60 (tier 3) at 164.59
    scenario = tmp_path / "aca.scenario.yaml"
    scenario.write_text(f"""name: ACA plans, hand-computed
book: {book}
defaults: {{pharmacy_id: "1234567893", date_of_service: "2026-03-02", days_supply: 30}}
state:
  accumulators:
    members: {{A1-001: {{deductible: "1500.00", oop: "1500.00"}},
              B1-001: {{deductible: "6000.00", oop: "6000.00"}}}}
claims:
  # Gold 1500: the generic copay does not wait for the deductible
  - claim: {{cardholder_id: A1, rx_number: "1", ndc: "00378410591", quantity: "30"}}
    expect: {{status: P, total_price: "22.88", copay_amount: "15.00", patient_pay: "15.00",
             deductible_applied: "0.00", plan_pay: "7.88"}}
  # 31-60 days: two copays
  - claim: {{cardholder_id: A1, rx_number: "2", ndc: "00378410591", quantity: "60",
            days_supply: 60, date_of_service: "2026-04-15"}}
    expect: {{status: P, copay_amount: "30.00"}}
  # deductible met: 50% of 164.59 = 82.295, half up 82.30
  - claim: {{cardholder_id: A1, rx_number: "3", ndc: "61269060510", quantity: "60"}}
    expect: {{status: P, total_price: "164.59", deductible_applied: "0.00",
             coinsurance_amount: "82.30", plan_pay: "82.29"}}
  # Standard Silver, deductible met: "$80.00 Copay after deductible"
  - claim: {{cardholder_id: B1, rx_number: "4", ndc: "61269060510", quantity: "60"}}
    expect: {{status: P, copay_amount: "80.00", patient_pay: "80.00", plan_pay: "84.59"}}
  # Bronze HDHP: nothing met, so the whole generic goes to the 5,500 deductible
  - claim: {{cardholder_id: C1, rx_number: "5", ndc: "00378410591", quantity: "30"}}
    expect: {{status: P, deductible_applied: "22.88", patient_pay: "22.88", plan_pay: "0.00",
             remaining_deductible: "5477.12"}}
  # zero cost sharing: the member pays nothing
  - claim: {{cardholder_id: D1, rx_number: "6", ndc: "61269060510", quantity: "60"}}
    expect: {{status: P, patient_pay: "0.00", plan_pay: "164.59"}}
""")
    [outcome] = run_paths([scenario])
    assert outcome.passed, outcome.describe_failures() or outcome.error
