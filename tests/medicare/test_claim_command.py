"""`pbm partd claim`: one what-if fill against any Defined Standard year or CMS plan id."""

from __future__ import annotations

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
    assert "N->G" in out and "2438.70" in out and "222.70" in out and "216.00" in out
    assert "63.30" in out


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
