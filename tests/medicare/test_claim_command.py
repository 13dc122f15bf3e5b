"""`pbm partd claim`: one what-if fill against any Defined Standard year or CMS plan id."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from pbm_engine.cli import main


def test_defined_standard_of_any_year_straddles_into_the_gap(
        capsys: pytest.CaptureFixture[str]) -> None:
    # 2013: ICL 2,970.  Gross 2,900 before, so 70.00 (the 2.00 fee first) at 25% = 17.50;
    # the 432.00 of ingredient in the gap: beneficiary 47.5% = 205.20, discount 50% = 216.00,
    # plan 2.5% = 10.80 (+ 52.50 initial coverage).  TrOOP 2,000 + 17.50 + 205.20 + 216.00.
    code = main(["partd", "claim", "--plan", "DS-2013", "--ndc", "61269063530", "--quantity",
                 "30", "--troop", "2000", "--gross", "2900", "--cost", "500.00", "--fee", "2.00"])
    out = capsys.readouterr().out
    assert code == 0
    assert "priced at the submitted cost 502.00 (no contract price, submitted 502.00)" in out
    assert "patient pays 222.70 (deductible applied 0.00)" in out
    assert "2000.00 -> 2438.70" in out and "discount 216.00, plan pays 63.30" in out
    assert "beginning_benefit_phase=N, ending_benefit_phase=G" in out


def test_json_says_which_price_won(capsys: pytest.CaptureFixture[str]) -> None:
    # A $10,000 submitted cost for 10 units of Humalog: the contract price (AWP - 17% + fee)
    # is lower and wins, and the answer says so rather than silently capping the cost.
    code = main(["partd", "claim", "--plan", "DS-2026", "--ndc", "00002751001", "--quantity",
                 "10", "--cost", "10000", "--json"])
    data = orjson.loads(capsys.readouterr().out)
    assert code == 0
    assert (data["price_won"], data["contract_price"], data["submitted_price"]) == (
        "contract", "230.33", "10000.00")
    assert data["gross_drug_cost"] == "230.33" and data["pde"]["gross_drug_cost"] == "230.33"


def test_json_published_2021_first_fill(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["partd", "claim", "--plan", "DS-2021", "--ndc", "59467067901", "--cost",
                 "10000.00", "--json"])
    data = orjson.loads(capsys.readouterr().out)
    assert code == 0
    assert (data["price_won"], data["patient_pay"], data["deductible_applied"]) == (
        "submitted", "2751.07", "445.00")
    assert (data["troop_after"], data["cost_share_above_threshold"]) == ("6550.00", "20.68")


def test_m3p_json_from_the_election_month(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["partd", "m3p", "--election-month", "11", "--troop-before", "0", "--json"]
    assert main([*args, "--costs", "0,0,0,0,0,0,0,0,0,0,300,100"]) == 0
    calendar = orjson.loads(capsys.readouterr().out)
    assert main([*args, "--costs", "300,100", "--from-election"]) == 0
    assert orjson.loads(capsys.readouterr().out) == calendar
    assert [m["bill"] for m in calendar["months"]] == ["300.00", "100.00"]


def test_adjudicate_and_year_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["partd", "adjudicate", "--json", "--out", str(tmp_path / "r.jsonl")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(orjson.loads(line)["status"] for line in lines)
    first = orjson.loads(lines[0])
    assert main(["partd", "year", "--plan", first["plan_id"], "--member",
                 first["cardholder_id"], "--json"]) == 0
    assert orjson.loads(capsys.readouterr().out)[0]["plan_id"] == first["plan_id"]


def test_cms_plan_by_id_insulin_copay(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["partd", "claim", "--plan", "CMS-H1671-001-000", "--ndc", "00088222033",
                 "--quantity", "10"])
    out = capsys.readouterr().out
    assert code == 0 and "35.00" in out and "PDE:" in out


def test_unknown_plan_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["partd", "claim", "--plan", "XYZ", "--ndc", "00088222033",
                 "--quantity", "10"]) == 2
    assert "unknown Part D plan" in capsys.readouterr().err
    assert main(["partd", "claim", "--plan", "DS-2031", "--ndc", "00088222033",
                 "--quantity", "10"]) == 2
