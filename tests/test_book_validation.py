"""Plan and book validation: one test per rule, each naming file, field and entry key; the
loader raises nothing but ConfigError, whatever the files hold."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pbm_engine.cli import main
from pbm_engine.errors import ConfigError
from pbm_engine.sources.loader import load_book

SMALL = Path(__file__).parent / "fixtures" / "small"


@pytest.fixture
def book_dir(tmp_path: Path) -> Path:
    for f in SMALL.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def load_error(folder: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_book(folder / "book.yaml")
    return str(info.value)


TIER1_RETAIL = '[{days: "1-34", copay: "10.00"}, {days: "35-90", copay: "20.00"}]'


@pytest.mark.parametrize(("file", "old", "new", "expected"), [
    ("plan_ppo.yaml", '{days: "1-34", copay: "10.00"}', '{days: "1-34", copay: "-10.00"}',
     'plan_ppo.yaml: cost_share[tier 1 retail].bands[1-34].copay: -10.00 is negative'),
    ("plan_ppo.yaml", 'coinsurance: "30"', 'coinsurance: "150"',
     "cost_share[tier 3 retail].bands[1-34].coinsurance: 150% is outside 0-100%"),
    ("plan_ppo.yaml", 'min: "20.00", max: "100.00"', 'min: "200.00", max: "100.00"',
     "cost_share[tier 3 retail].bands[1-34]: minimum 200.00 is above maximum 100.00"),
    ("plan_ppo.yaml", 'deductible: {individual: "100.00", family: "200.00"',
     'deductible: {individual: "100.00", family: "50.00"',
     "deductible.family: family 50.00 is below the individual 100.00"),
    ("plan_ppo.yaml", 'oop_max: {individual: "1000.00", family: "2000.00"',
     'oop_max: {individual: "1000.00", family: "999.99"',
     "oop_max.family: family 999.99 is below the individual 1000.00"),
    ("plan_ppo.yaml", TIER1_RETAIL,
     '[{days: "1-34", copay: "10.00"}, {days: "60-90", copay: "20.00"}]',
     "cost_share[tier 1 retail].bands: days 35-59 have no band"),
    ("plan_ppo.yaml", TIER1_RETAIL,
     '[{days: "2-34", copay: "10.00"}, {days: "35-90", copay: "20.00"}]',
     "cost_share[tier 1 retail].bands: the first band starts at day 2"),
    ("plan_ppo.yaml", TIER1_RETAIL,
     '[{days: "1-34", copay: "10.00"}, {days: "30-90", copay: "20.00"}]',
     "bands 1-34 and 30-90 overlap"),
    ("plan_ppo.yaml", "max_days_supply: {retail: 90", "max_days_supply: {retail: 1000",
     "max_days_supply.retail: 1000 is outside 1-999 days"),
    ("plan_ppo.yaml", 'insulin_cap_30_days: "25.00"', 'insulin_cap_30_days: "-1"',
     "insulin_cap_30_days: -1 is negative"),
    ("plan_ppo.yaml", 'max_claim_cost: "50000.00"', "max_claim_cost: '1e999999'",
     "max_claim_cost: number out of range"),
    ("plan_ppo.yaml", "network: TEST-NET", "network: TEST-NETT",
     "plan_ppo.yaml: network: unknown network 'TEST-NETT' (did you mean 'TEST-NET'?)"),
    ("plan_ppo.yaml", "formulary: TEST-FORM", "formulary: NOPE",
     "plan_ppo.yaml: formulary: unknown formulary 'NOPE'"),
    ("plan_ppo.yaml", "insulin_cap_30_days:", "insulin_cap_30_dayz:",
     "plan_ppo.yaml: insulin_cap_30_dayz: unknown key (did you mean "
     "'insulin_cap_30_days'?)"),
    ("network.yaml", 'awp_discount: "20"', 'awp_discount: "120"',
     "network.yaml: contracts[retail brand from 2000-01-01].awp_discount: 120% is outside "
     "0-100%"),
    ("network.yaml", 'wac_markup: "10"', 'wac_markup: "-150"',
     "wac_markup: -150% is outside -100-100%"),
    ("network.yaml", 'dispensing_fee: "1.00"}', 'dispensing_fee: "-1.00"}',
     "dispensing_fee: -1.00 is negative"),
    ("network.yaml", 'awp_discount: "25", dispensing_fee: "0.00"',
     'awp_discount: "25", dispensing_fee: "0.00", start: 2026-01-01, end: 2025-01-01',
     ".end: 2025-01-01 is before the start 2026-01-01"),
    ("members.yaml", "coverage: [{start: 2025-01-01, end: 2026-06-30}]",
     "coverage: [{start: 2025-01-01, end: 2024-06-30}]",
     "members.yaml: members[S1-001].coverage: ends 2024-06-30 before it starts 2025-01-01"),
    ("members.yaml", "number: PA1, ndc: \"00000000004\", start: 2026-01-01, end: 2026-12-31",
     "number: PA1, ndc: \"00000000004\", start: 2026-01-01, end: 2025-12-31",
     "prior_authorizations[PA1].end: 2025-12-31 is before the start 2026-01-01"),
    ("members.yaml", "plan_id: TEST-AGG, date_of_birth: 1970-01-01",
     "plan_id: TEST-AGX, date_of_birth: 1970-01-01",
     "members.yaml: members[G2-001].plan_id: unknown plan 'TEST-AGX' (did you mean "
     "'TEST-AGG'?)"),
    ("members.yaml", "date_of_birth: 1980-05-01", "date_of_birth: 1978-13-45",
     "members.yaml: month must be in 1..12"),
    ("members.yaml", "gender: F, coverage", "gendr: F, coverage",
     "members.yaml: members[F1-001].gendr: unknown key (did you mean 'gender'?)"),
    ("prices.csv", "00000000002,2026-01-01,,10.00000", "00000000002,2026-01-01,,-10.00000",
     "prices.csv: line 4 (ndc 00000000002): awp is negative"),
    ("prices.csv", "00000000003,2026-01-01,,5.00000", "00000000003,2026-01-01,2025-01-01,5.0",
     "end_date 2025-01-01 is before effective_date 2026-01-01"),
])
def test_each_rule_is_an_error_naming_file_field_and_entry(
        book_dir: Path, file: str, old: str, new: str, expected: str) -> None:
    edit(book_dir, file, old, new)
    assert expected in load_error(book_dir)


def test_formulary_rules_name_the_ndc(book_dir: Path) -> None:
    text = (book_dir / "formulary.yaml").read_text()
    first = text.index("ndc:")
    line_end = text.index("\n", first)
    line = text[first:line_end]
    ndc = line.split('"')[1] if '"' in line else line.split()[1].strip(",}")
    (book_dir / "formulary.yaml").write_text(
        text[:line_end].replace(line, line.rstrip("}").rstrip() + ", min_age: 70, max_age: 10")
        + text[line_end:] if not line.rstrip().endswith("}") else
        text[:first] + line[:-1] + ", min_age: 70, max_age: 10}" + text[line_end:])
    message = load_error(book_dir)
    assert f"formulary.yaml: drugs[ndc {ndc}].min_age: minimum age 70 is above the maximum age " \
           "10" in message


def test_a_pydantic_error_in_a_list_names_the_entry_key(book_dir: Path) -> None:
    edit(book_dir, "formulary.yaml", "tier: 1", "tier: 12")
    message = load_error(book_dir)
    assert "formulary.yaml: drugs[ndc " in message and "].tier:" in message


@pytest.mark.parametrize("content", [
    "[" * 5000,
    "a: " + "[" * 5000 + "]" * 5000,
    "- " * 3000 + "x",
    "\udcff".encode("utf-8", "surrogatepass").decode("latin-1"),
    "plans: 7",
    "plans: [{a: 1}]",
    "!!python/object:os.system {}",
    "max_claim_cost: 1e999999",
])
def test_the_loader_raises_only_config_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "book.yaml").write_text(content, encoding="utf-8", errors="surrogateescape")
    with pytest.raises(ConfigError, match=r"book\.yaml"):
        load_book(tmp_path / "book.yaml")


def test_a_listed_directory_is_a_config_error(book_dir: Path) -> None:
    (book_dir / "plans").mkdir()
    edit(book_dir, "book.yaml", "plans: [plan_ppo.yaml, plan_agg.yaml]", "plans: [plans]")
    assert "is a directory" in load_error(book_dir)


def test_warnings_are_documented_and_strict_fails_them(
        book_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (book_dir / "prices.csv").open("a") as handle:
        handle.write("99999999999,2026-01-01,,1.00000,,\n")
    edit(book_dir, "plan_ppo.yaml", 'deductible: {individual: "100.00", family: "200.00"',
         'deductible: {individual: "1500.00", family: "3000.00"')
    assert main(["validate", str(book_dir / "book.yaml")]) == 0
    out = capsys.readouterr().out
    assert "warning: prices: 2 price row NDC(s) on no formulary (e.g. 00000000099)" in out
    assert "TEST-FORM: 1 drug(s) with no price and no NADAC (e.g. 00000000013)" in out
    assert "plan_ppo.yaml: deductible.individual: the deductible is above the OOP maximum" in out
    assert main(["validate", "--strict", str(book_dir / "book.yaml")]) == 1
    assert "--strict" in capsys.readouterr().err


def test_validate_lists_every_error_and_exits_1(
        book_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(book_dir, "plan_ppo.yaml", 'coinsurance: "30"', 'coinsurance: "150"')
    edit(book_dir, "plan_ppo.yaml", '{days: "1-34", copay: "10.00"}',
         '{days: "1-34", copay: "-10.00"}')
    assert main(["validate", str(book_dir / "book.yaml")]) == 1
    err = capsys.readouterr().err
    assert err.count("error: ") == 2 and "2 error(s)" in err
    assert main(["validate", str(book_dir / "missing.yaml")]) == 2
    assert capsys.readouterr().err.strip() == \
        f"pbm: {book_dir / 'missing.yaml'}: no such file (BOOK)"


def test_negative_copay_can_no_longer_make_the_plan_pay_more(book_dir: Path) -> None:
    """The issue's case: a -10.00 copay made the plan pay 16.00 on a 6.00 claim."""
    edit(book_dir, "plan_ppo.yaml", '{days: "1-34", copay: "10.00"}',
         '{days: "1-34", copay: "-10.00"}')
    assert "is negative" in load_error(book_dir)
