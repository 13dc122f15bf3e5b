"""Scenario files: the runner library, ``pbm test`` and the pytest plugin."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pbm_engine.admin.scenarios import (
    PART_D_EXTRA_KEYS,
    RESULT_KEYS,
    ScenarioError,
    load_scenario,
    lookup,
    matches,
    run_paths,
)
from pbm_engine.cli import main

ROOT = Path(__file__).resolve().parents[2]
SMALL_BOOK = ROOT / "tests" / "fixtures" / "small" / "book.yaml"
DOCS = ROOT / "docs"

HEAD = f"""book: {SMALL_BOOK}
defaults: {{cardholder_id: F1, pharmacy_id: "1111111111", date_of_service: "2026-03-01",
           days_supply: 30, quantity: "30"}}
"""


def write(tmp_path: Path, name: str, body: str, head: str = HEAD) -> Path:
    path = tmp_path / f"{name}.scenario.yaml"
    path.write_text(head + body, encoding="utf-8")
    return path


PASSING = """name: passing
claims:
  - claim: {person_code: "001", rx_number: "1", ndc: "00000000003"}
    expect: {status: P, deductible_applied: "100.00", copay_amount: "21.00",
             accumulator_delta.deductible: "100.00", accumulator_delta.oop: "121.00"}
"""

FAILING = """name: failing
claims:
  - note: wrong on purpose
    claim: {person_code: "001", rx_number: "1", ndc: "00000000003"}
    expect: {status: P, copay_amount: "20.00", accumulator_delta.deductible: "99.00"}
  - claim: {person_code: "001", rx_number: "2", ndc: "00000000010"}
    expect: {status: P}
"""


def test_starting_state_accumulators_fills_and_prior_auths(tmp_path: Path) -> None:
    path = write(tmp_path, "state", """name: state
state:
  plan_year: 2026
  accumulators:
    members: {F1-001: {deductible: "60.00", oop: "60.00"}}
    families: {F1: {deductible: "150.00", oop: "150.00"}}
  fills:
    - {person_code: "002", ndc: "00000000001", date_of_service: "2026-02-01", rx_number: "900"}
  prior_authorizations:
    - {cardholder_id: F1, person_code: "003", number: PA9, ndc: "00000000004",
       start: 2026-01-01, end: 2026-12-31}
claims:
  # 40 of the member's 100 left (family: 50 left): deductible 40, then the 40 copay
  - claim: {person_code: "001", rx_number: "1", ndc: "00000000003"}
    expect: {status: P, deductible_applied: "40.00", copay_amount: "40.00",
             patient_pay: "80.00", accumulator_delta.oop: "80.00", remaining_oop: "860.00"}
  # the prior fill meets step therapy (which would reject 608); it is a duplication (88)
  - claim: {person_code: "002", rx_number: "2", ndc: "00000000005"}
    expect: {status: R, rejects: ["88"], "dur[0].previous_fill_date": 2026-02-01}
  - claim: {person_code: "003", rx_number: "3", ndc: "00000000005"}
    expect: {status: R, rejects: ["608"], "alternatives[0].ndc": "00000000001"}
  # the PA on file pays the specialty drug; the family has 10 of its 200 left
  - claim: {person_code: "003", rx_number: "4", ndc: "00000000004", channel: specialty}
    expect: {status: P, deductible_applied: "10.00", coinsurance_amount: "200.00"}
  # the same fill 14 days after the prior fill is too soon
  - claim: {person_code: "002", rx_number: "900", fill_number: 1, ndc: "00000000001",
            date_of_service: "2026-02-15"}
    expect: {status: R, rejects: ["79"], next_fill_date: 2026-02-25}
""")
    [outcome] = run_paths([path])
    assert outcome.error is None
    assert outcome.passed, outcome.describe_failures()


def test_without_the_state_the_same_claims_answer_differently(tmp_path: Path) -> None:
    path = write(tmp_path, "nostate", """claims:
  - claim: {person_code: "001", rx_number: "1", ndc: "00000000003"}
    expect: {deductible_applied: "40.00"}
  - claim: {person_code: "003", rx_number: "4", ndc: "00000000004", channel: specialty}
    expect: {status: P}
""")
    [outcome] = run_paths([path])
    got = [(m.path, m.got) for s in outcome.steps for m in s.mismatches]
    assert got == [("deductible_applied", "100.00"), ("status", "R")]


def test_pbm_test_passes_and_fails_with_expected_vs_got(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "a_passing", PASSING)
    assert main(["test", str(tmp_path)]) == 0
    write(tmp_path, "b_failing", FAILING)
    capsys.readouterr()
    assert main(["test", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "ok  " in out and "FAIL  " in out
    assert "claim 1 (wrong on purpose):" in out
    assert "copay_amount: expected '20.00', got '21.00'" in out
    assert "accumulator_delta.deductible: expected '99.00', got '100.00'" in out
    assert "status: expected 'P', got 'R' (rejects MR)" in out
    assert "2 scenarios: 1 passed, 1 failed" in out


def test_the_command_book_replaces_the_scenario_book(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "nobook", PASSING, head=HEAD.replace(f"book: {SMALL_BOOK}\n", ""))
    assert main(["test", str(path)]) == 2
    assert "no book" in capsys.readouterr().out
    assert main(["test", str(SMALL_BOOK), str(path)]) == 0
    assert main(["test", "--book", str(SMALL_BOOK), str(path)]) == 0


def test_misspelled_claim_key_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "typo", """claims:
  - claim: {person_code: "001", rx_number: "1", ndc: "00000000003",
            usual_and_customery: "5.00"}
    expect: {status: P, deductable_applied: "0.00"}
  - claim: {rx_number: "2"}
    expcet: {status: P}
""")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert "claims[0].claim: unknown key 'usual_and_customery' (did you mean " \
           "'usual_and_customary'?)" in text
    assert "unknown result field 'deductable_applied' (did you mean " \
           "'deductible_applied'?)" in text
    assert "claims[1]: unknown key 'expcet' (did you mean 'expect'?)" in text
    assert main(["test", str(path)]) == 2


def test_other_schema_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "bad", """stat: {}
state:
  acumulators: {}
  fills: [{ndcc: "1"}]
  prior_authorizations: [{cardholder_id: F1, number: X, start: 2026-01-01, end: 2026-12-31}]
claims:
  - claim: {rx_number: "1", quantity: 30.5}
    expect: {rejects: "79"}
""")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    for part in ("unknown key 'stat' (did you mean 'state'?)",
                 "state: unknown key 'acumulators' (did you mean 'accumulators'?)",
                 "state.fills[0]: unknown key 'ndcc' (did you mean 'ndc'?)",
                 "needs ndc, te_group, group or rxcui",
                 "claims[0].claim.quantity: 30.5: write money and quantities as text",
                 "claims[0].expect.rejects: give a list of reject codes"):
        assert part in text


def test_unknown_member_in_state_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "who", """state:
  accumulators: {members: {F1-010: {deductible: "1.00"}}, families: {F9: {oop: "1.00"}}}
claims:
  - claim: {rx_number: "1", ndc: "00000000001"}
""")
    [outcome] = run_paths([path])
    assert outcome.error is not None
    assert "F1-010: no such member in the book (did you mean 'F1-0" in outcome.error
    assert "families.F9: no such family" in outcome.error


def test_step_without_expect_is_a_setup_step_and_failures_do_not_hide_others(
        tmp_path: Path) -> None:
    path = write(tmp_path, "setup", """claims:
  - claim: {person_code: "001", rx_number: "1", ndc: "00000000003"}
  - claim: {person_code: "001", rx_number: "2", ndc: "00000000003", date_of_service: "2026-04-01"}
    expect: {deductible_applied: "5.00"}
  - claim: {person_code: "001", rx_number: "3", ndc: "00000000003", date_of_service: "2026-05-01"}
    expect: {deductible_applied: "6.00", no_such: {x: 1}}
""")
    with pytest.raises(ScenarioError, match="unknown result field 'no_such'"):
        load_scenario(path)
    path.write_text(path.read_text().replace(", no_such: {x: 1}", ""))
    [outcome] = run_paths([path])
    assert [s.passed for s in outcome.steps] == [True, False, False]
    assert [m.got for s in outcome.steps for m in s.mismatches] == ["0.00", "0.00"]


def test_rejects_compare_in_any_order(tmp_path: Path) -> None:
    path = write(tmp_path, "order", """claims:
  - claim: {cardholder_id: G2, rx_number: "34", ndc: "00000000007", days_supply: 0, daw: 11}
    expect: {status: R, rejects: ["22", "19"], rejects_include: ["19"]}
  - claim: {cardholder_id: G2, rx_number: "35", ndc: "00000000007", days_supply: 0, daw: 11}
    expect: {rejects: ["19"]}
""")
    [outcome] = run_paths([path])
    assert [s.passed for s in outcome.steps] == [True, False]
    [miss] = outcome.steps[1].mismatches
    assert (miss.expected, sorted(miss.got)) == (["19"], ["19", "22"])


def test_lookup_and_matching_rules() -> None:
    result = {"a": {"b": [{"c": "1.50"}]}, "n": 2, "s": "00012"}
    assert lookup(result, "a.b[0].c") == ("1.50", "")
    value, hint = lookup(result, "a.bb")
    assert repr(value) == "(absent)" and "did you mean 'b'" in hint
    assert "has 1 item" in lookup(result, "a.b[3].c")[1]
    assert matches("1.5", "1.50") and matches(2, "2.00") and not matches("1.51", "1.50")
    assert matches({"c": "1.5"}, {"c": "1.50", "d": "x"})
    assert not matches("12", "00012") and matches("00012", "00012")
    assert not matches(True, 1)


def test_part_d_extra_keys_are_the_real_ones(tmp_path: Path) -> None:
    part_d = [p for p in _doc_blocks(tmp_path) if "sample_partd" in p.read_text()]
    [outcome] = run_paths(part_d[:1])
    extra = set(outcome.steps[0].result) - (RESULT_KEYS - set(PART_D_EXTRA_KEYS))
    assert extra == set(PART_D_EXTRA_KEYS)


def _doc_blocks(tmp_path: Path) -> list[Path]:
    """Every ``<!-- scenario -->`` fenced YAML block of the docs, written as a file."""
    out = []
    for doc in sorted([*DOCS.glob("*.md"), ROOT / "README.md"]):
        text = doc.read_text(encoding="utf-8")
        for i, m in enumerate(re.finditer(r"<!-- scenario -->\n```yaml\n(.*?)```", text, re.S)):
            path = tmp_path / f"{doc.stem}-{i}.scenario.yaml"
            path.write_text(m.group(1), encoding="utf-8")
            out.append(path)
    return out


def test_every_scenario_example_in_the_docs_passes(tmp_path: Path) -> None:
    paths = _doc_blocks(tmp_path)
    assert len(paths) >= 2  # a commercial and a Part D example
    for outcome in run_paths(paths):
        assert outcome.passed, outcome.describe_failures()


def test_pytest_plugin_collects_one_item_per_scenario(tmp_path: Path) -> None:
    write(tmp_path, "a_passing", PASSING)
    write(tmp_path, "b_failing", FAILING)
    write(tmp_path, "c_invalid", "claims:\n  - claim: {usual_and_customery: '1'}\n")
    (tmp_path / "notes.yaml").write_text("not: a scenario\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA",
                          str(tmp_path)], capture_output=True, text=True, cwd=tmp_path,
                         timeout=300)
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "1 passed" in out and "2 failed" in out
    assert "PASSED a_passing.scenario.yaml::passing" in out
    assert "copay_amount: expected '20.00', got '21.00'" in out
    assert "did you mean 'usual_and_customary'" in out
    assert "Traceback" not in out
