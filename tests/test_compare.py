"""`pbm compare`: the impact of a plan change on the same claims."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from pbm_engine.admin.compare import compare
from pbm_engine.cli import main
from pbm_engine.cli.claims import sample_claims_path
from pbm_engine.cli.textio import read_requests
from pbm_engine.sources.loader import load_book, load_sample_book

PROPOSED = Path(__file__).parent.parent / "src/pbm_engine/data/sample/book_proposed.yaml"


def test_the_same_book_changes_nothing() -> None:
    impact = compare(load_sample_book(), load_sample_book(),
                     list(read_requests([sample_claims_path()])))
    assert impact.claims == 42 and impact.changes == []
    assert impact.totals_before == impact.totals_after


def test_proposed_design_impact() -> None:
    impact = compare(load_sample_book(), load_book(PROPOSED),
                     list(read_requests([sample_claims_path()])))
    by_rx = {(c.before.rx_number, c.before.fill_number): c for c in impact.changes}
    generic = by_rx[("7000001", 1)]
    assert (generic.before.copay_amount, generic.after.copay_amount) == (1000, 1500)
    assert generic.patient_pay_delta == 500
    specialty = by_rx[("7000021", 0)]  # over the new $1,000 high-dollar review threshold
    assert specialty.before.paid and specialty.after.reject_codes == ("78",)
    assert impact.newly_rejected == 1
    # totals are the sums of the paid claims under each design
    assert impact.totals_before["plan_pay"] - impact.totals_after["plan_pay"] == sum(
        (c.before.plan_pay if c.before.paid else 0) - (c.after.plan_pay if c.after.paid else 0)
        for c in impact.changes)


def test_pbm_compare_prints_and_writes(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "diff.jsonl"
    assert main(["compare", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "claims answer differently (1 newly rejected" in printed
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert rows and all(r["before"] != r["after"] for r in rows)
