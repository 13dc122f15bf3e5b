"""CMS Part D SPUF loader: bundled 2026Q2 sample, pipe fixtures, lookups and errors."""

from __future__ import annotations

import csv
import shutil
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from pbm_engine.medicare.spuf import (
    BUNDLED_SPUF_DIR,
    Channel,
    CostType,
    DaysSupplyCode,
    PlanKey,
    SpufLibrary,
    SpufLookupError,
    UnknownPlanError,
    bundled_spuf_library,
    days_supply_code,
    detect_format,
    read_basic_formulary,
    read_beneficiary_cost,
    read_excluded_drugs,
    read_indication_coverage,
    read_insulin_cost,
    read_plan_information,
)

PIPE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "spuf_pipe"
LANTUS = "00088222033"

READERS = {
    "plan_information": read_plan_information,
    "basic_drugs_formulary": read_basic_formulary,
    "beneficiary_cost": read_beneficiary_cost,
    "insulin_beneficiary_cost": read_insulin_cost,
    "excluded_drugs_formulary": read_excluded_drugs,
    "indication_based_coverage": read_indication_coverage,
}


@pytest.fixture(scope="module")
def lib() -> SpufLibrary:
    return bundled_spuf_library()


def pipe_to_csv(src: Path, dst: Path) -> Path:
    """Re-encode the pipe fixtures as RFC-4180 UTF-8 CSV, the bundled sample's encoding."""
    dst.mkdir(parents=True, exist_ok=True)
    for path in src.glob("*.txt"):
        text = path.read_bytes().decode("latin-1")
        rows = [line.split("|") for line in text.split("\r\n") if line]
        with (dst / f"{path.stem}_2026Q2.csv").open("w", encoding="utf-8", newline="") as out:
            csv.writer(out, lineterminator="\n").writerows(rows)
    return dst


# -- bundled data ---------------------------------------------------------------------------


def test_bundled_library_loads_every_plan_once(lib: SpufLibrary) -> None:
    assert bundled_spuf_library() is lib
    assert len(lib) == 19
    assert lib.plans()[0] == PlanKey("H1671", "001", "000")
    assert PlanKey("S5743", "001", "000") in lib
    assert {key.contract_id for key in lib.plans()} == {"H1671", "H4057", "H5050", "S5743"}
    for name in ("README.md", "catalog.json"):
        assert (BUNDLED_SPUF_DIR / name).is_file()


def test_s5743_standalone_pdp(lib: SpufLibrary) -> None:
    plan = lib.plan("S5743", "001", "000")
    assert plan.is_pdp
    assert plan.plan_name == "MedicareBlue Rx Standard (PDP)"
    assert plan.contract_name == "WELLMARK  IA & SD, & BCBS MN, MT, NE, ND,& WY"
    assert plan.formulary_id == "00026248"
    assert plan.deductible == 61500
    assert plan.premium == 10100
    assert plan.snp == 0
    assert plan.state is None and plan.info.county_code is None
    assert plan.info.pdp_region_code == "25"
    assert plan.info.suppressed is False
    assert plan.tiers == (1, 2, 3, 4, 5)
    assert all(plan.deductible_applies(tier) for tier in plan.tiers)
    assert [plan.is_specialty(tier) for tier in plan.tiers] == [False] * 4 + [True]
    assert len(plan.formulary) == 3014


def test_s5743_coinsurance_tiers_and_deductible_phase(lib: SpufLibrary) -> None:
    plan = lib.plan("S5743", "001")
    pref = plan.cost_cell(1, 3, 30, Channel.RETAIL_PREF)
    assert pref is not None
    assert pref.cost_type is CostType.COINSURANCE
    assert (pref.coinsurance, pref.copay) == (220_000, None)
    assert plan.cost_cell(1, 3, 30, "retail_nonpref").coinsurance == 250_000
    assert plan.cost_cell(1, 4, 90, "mail_nonpref").coinsurance == 500_000
    generic = plan.cost_cell(1, 1, 30, "retail_nonpref")
    assert (generic.cost_type, generic.copay) == (CostType.COPAY, 500)
    # The deductible applies to every tier, so there is no pre-deductible (level 0) row.
    assert plan.cost_cell(0, 3, 30, "retail_pref") is None
    catastrophic = plan.cost_cell(3, 5, 30, "retail_pref")
    assert (catastrophic.cost_type, catastrophic.coinsurance) == (CostType.COINSURANCE, 0)


def test_specialty_tier_falls_back_to_one_month_row(lib: SpufLibrary) -> None:
    plan = lib.plan("S5743", "001")
    # Tier 5 publishes only a 30-day row at level 1: 60/90/120 days fall back to code 1.
    for days in (60, 90, 120):
        cell = plan.cost_cell(1, 5, days, "retail_pref")
        assert cell.days_supply_code == DaysSupplyCode.DAYS_30
        assert cell.coinsurance == 250_000


def test_h5050_days_supply_copays(lib: SpufLibrary) -> None:
    plan = lib.plan("H5050", "004", "000")
    assert not plan.is_pdp
    assert plan.plan_name == "Kaiser Permanente Medicare Advantage Optimal (HMO)"
    assert (plan.premium, plan.deductible, plan.state) == (6020, 0, "WA")
    assert len(plan.service_area) == 7
    assert plan.deductible_applies(3) is False

    def copay(tier: int, days: int, channel: str) -> int | None:
        return plan.cost_cell(1, tier, days, channel).copay

    assert [copay(3, d, "retail_pref") for d in (30, 60, 90)] == [4500, 9000, 13500]
    assert [copay(3, d, "retail_nonpref") for d in (30, 60, 90)] == [4500, 9000, 13500]
    assert copay(3, 90, "mail_nonpref") == 11250
    assert [copay(4, d, "retail_pref") for d in (30, 60, 90)] == [9900, 19800, 29700]
    assert copay(4, 90, "mail_nonpref") == 24750
    assert plan.cost_cell(1, 3, 90, "retail_pref").days_supply_code == DaysSupplyCode.DAYS_90
    mail_pref = plan.cost_cell(1, 3, 30, "mail_pref")
    assert not mail_pref.offered and mail_pref.copay is None and mail_pref.coinsurance is None
    assert plan.cost_cell(3, 3, 90, "retail_pref").copay == 0
    assert plan.cost_cell(1, 7, 30, "retail_pref") is None


def test_h5050_plans_with_a_deductible(lib: SpufLibrary) -> None:
    plan = lib.plan("H5050", "017")
    assert plan.deductible == 10000
    assert [plan.deductible_applies(t) for t in (1, 2, 3, 4, 5)] == [False, False] + [True] * 3
    assert plan.cost_cell(0, 1, 30, "retail_pref") is not None
    assert plan.cost_cell(0, 3, 30, "retail_pref") is None


@pytest.mark.parametrize(
    ("days", "code"),
    [(1, 1), (28, 1), (30, 1), (31, 4), (60, 4), (61, 2), (90, 2), (91, 3), (365, 3)],
)
def test_days_supply_code(days: int, code: int) -> None:
    assert days_supply_code(days) == code


@pytest.mark.parametrize("bad", [0, -30])
def test_days_supply_code_rejects_non_positive(bad: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        days_supply_code(bad)


def test_unknown_channel_is_rejected(lib: SpufLibrary) -> None:
    with pytest.raises(ValueError, match="specialty_mail"):
        lib.plan("S5743", "001").cost_cell(1, 1, 30, "specialty_mail")


def test_insulin_cells(lib: SpufLibrary) -> None:
    plan = lib.plan("S5743", "001")
    cell = plan.insulin_cell(3, 30, "retail_pref")
    assert (cell.copay, cell.coinsurance, cell.tier) == (3500, 220_000, 3)
    assert plan.insulin_cell(3, 60, "retail_pref").copay == 7000
    assert plan.insulin_cell(3, 90, "mail_nonpref").copay == 10500
    assert plan.insulin_cell(1, 30, "retail_pref").copay == 0
    assert plan.insulin_cell(None, 30, "retail_pref") is None  # no all-tiers row
    h5050 = lib.plan("H5050", "004")
    tier1 = h5050.insulin_cell(1, 30, "retail_nonpref")
    assert (tier1.copay, tier1.coinsurance) == (1500, 250_000)
    not_offered = h5050.insulin_cell(1, 30, "mail_pref")
    assert not not_offered.offered


def test_formulary_lookup_lantus(lib: SpufLibrary) -> None:
    expected = {"S5743": (60_000, 30), "H1671": (40_000, 28), "H4057": (40_000, 28)}
    for contract, (ql_amount, ql_days) in expected.items():
        entry = lib.plan(contract, "001").formulary_entry(LANTUS)
        assert entry is not None
        assert (entry.ndc, entry.rxcui, entry.tier) == (LANTUS, "285018", 3)
        assert entry.quantity_limit
        assert (entry.quantity_limit_amount, entry.quantity_limit_days) == (ql_amount, ql_days)
        assert not entry.prior_authorization and not entry.selected_drug
    assert lib.plan("H5050", "004").formulary_entry(LANTUS) is None
    # Plans sharing a formulary share one index.
    assert lib.plan("H5050", "004").formulary is lib.plan("H5050", "032").formulary


def test_formulary_entry_keeps_codes_as_text(lib: SpufLibrary) -> None:
    entry = lib.plan("S5743", "001").formulary_entry("00002143380")
    assert entry.formulary_id == "00026248" and entry.rxcui == "1551300"
    assert (entry.quantity_limit_amount, entry.quantity_limit_days) == (2_000, 28)
    assert entry.prior_authorization and not entry.step_therapy
    selected = [e for e in lib.plan("S5743", "001").formulary.values() if e.selected_drug]
    assert selected
    fractional = [e.quantity_limit_amount for e in lib.plan("H5050", "004").formulary.values()]
    assert all(q is None or isinstance(q, int) for q in fractional)


def test_excluded_drugs(lib: SpufLibrary) -> None:
    plan = lib.plan("H4057", "001")
    assert [drug.rxcui for drug in plan.excluded_drugs] == ["312950", "314228", "314229"]
    drug = plan.excluded_drug("312950")
    assert drug.tier == 4
    assert drug.quantity_limit is True
    assert (drug.quantity_limit_amount, drug.quantity_limit_days) == (6_000, 30)
    assert (drug.prior_authorization, drug.step_therapy, drug.capped_benefit) == (
        False,
        False,
        True,
    )
    assert plan.excluded_drug("999") is None
    assert lib.plan("S5743", "001").excluded_drugs == ()


def test_indication_based_coverage(lib: SpufLibrary) -> None:
    plan = lib.plan("H5050", "004")
    assert plan.indications["1745108"] == (
        "ARTHRITIS, PSORIATIC",
        "SPONDYLARTHRITIS",
        "SPONDYLITIS, ANKYLOSING",
    )
    assert plan.indications["727714"] == ("CRYOPYRIN-ASSOCIATED PERIODIC SYNDROMES",)
    assert lib.plan("S5743", "001").indications == {}


def test_unknown_plan_error(lib: SpufLibrary) -> None:
    with pytest.raises(UnknownPlanError, match="S9999-001-000") as info:
        lib.plan("S9999", "001", "000")
    assert isinstance(info.value, KeyError)
    with pytest.raises(KeyError):
        lib.plan("H5050", "005")
    # Ids are normalised: zero-padded plan/segment, upper-case contract.
    assert lib.plan("h5050", 4, 0).key == PlanKey("H5050", "004", "000")


def test_unknown_tier_error(lib: SpufLibrary) -> None:
    plan = lib.plan("S5743", "001")
    with pytest.raises(SpufLookupError, match="tier 6"):
        plan.deductible_applies(6)
    with pytest.raises(KeyError):
        plan.is_specialty(6)


def test_plans_are_immutable(lib: SpufLibrary) -> None:
    plan = lib.plan("S5743", "001")
    with pytest.raises(FrozenInstanceError):
        plan.info = plan.info  # type: ignore[misc]
    with pytest.raises(TypeError):
        plan.formulary[LANTUS] = None  # type: ignore[index]
    with pytest.raises(TypeError):
        del plan.cost_cells[next(iter(plan.cost_cells))]  # type: ignore[attr-defined]


# -- original CMS (pipe) format -------------------------------------------------------------


def test_pipe_fixture_is_cms_format() -> None:
    raw = (PIPE_DIR / "plan_information.txt").read_bytes()
    assert b"\r\n" in raw and b",PLAN_ID" not in raw
    assert "Salud Médica".encode("latin-1") in raw
    assert detect_format(raw.split(b"\r\n", 1)[0]) == "pipe"
    assert detect_format("CONTRACT_ID,PLAN_ID") == "csv"
    with pytest.raises(ValueError, match="format"):
        detect_format("CONTRACT_ID")


@pytest.mark.parametrize("table", sorted(READERS))
def test_pipe_and_csv_parse_identically(table: str, tmp_path: Path) -> None:
    pipe_to_csv(PIPE_DIR, tmp_path)
    reader = READERS[table]
    from_pipe = reader(PIPE_DIR / f"{table}.txt")
    from_csv = reader(tmp_path / f"{table}_2026Q2.csv")
    assert from_pipe == from_csv
    assert from_pipe == reader(PIPE_DIR / f"{table}.txt", "pipe")
    # Every real row in the pipe fixture equals the bundled CSV's record for it.
    bundled = set(reader(BUNDLED_SPUF_DIR / f"{table}_2026Q2.csv", "csv"))
    real = [rec for rec in from_pipe if getattr(rec, "contract_id", "") != "H9999"]
    real = [rec for rec in real if getattr(rec, "formulary_id", "") != "00099999"]
    assert real and all(rec in bundled for rec in real)


def test_pipe_library_matches_csv_library(tmp_path: Path) -> None:
    from_pipe = SpufLibrary.load(PIPE_DIR)
    from_csv = SpufLibrary.load(pipe_to_csv(PIPE_DIR, tmp_path))
    assert from_pipe.plans() == from_csv.plans()
    assert len(from_pipe) == 4
    for key in from_pipe.plans():
        assert from_pipe.plan(*key) == from_csv.plan(*key)
    real = from_pipe.plan("H5050", "004")
    assert real.cost_cell(1, 3, 90, "mail_nonpref").copay == 11250
    assert real.info == bundled_spuf_library().plan("H5050", "004").info


def test_latin1_name_and_sas_blanks() -> None:
    plan = SpufLibrary.load(PIPE_DIR).plan("H9999", "001", "000")
    assert plan.plan_name == "Salud Médica Plus (HMO)"
    assert plan.contract_name == "ASOCIACIÓN DE SALUD"
    assert plan.premium is None  # "."
    assert plan.deductible == 25000
    assert plan.info.ma_region_code is None  # " "
    entry = plan.formulary_entry(LANTUS)
    assert entry.quantity_limit and entry.quantity_limit_amount is None
    assert entry.quantity_limit_days is None
    cell = plan.cost_cell(1, 3, 30, "retail_pref")
    assert (cell.copay, cell.min_amount, cell.max_amount) == (4000, None, None)
    mail = plan.cost_cell(1, 3, 30, "mail_nonpref")
    assert (mail.coinsurance, mail.min_amount, mail.max_amount) == (300_000, 1000, 10000)
    # TIER "." is the all-tiers insulin row; any tier falls back to it.
    insulin = plan.insulin_cell(2, 30, "retail_pref")
    assert (insulin.tier, insulin.copay, insulin.coinsurance) == (None, 3500, 250_000)
    assert plan.insulin_cell(None, 90, "retail_nonpref").coinsurance is None
    assert not plan.insulin_cell(5, 30, "mail_pref").offered
    assert plan.indications == {"1745108": ("ARTRITIS PSORIÁSICA",)}
    excluded = plan.excluded_drug("1049221")
    assert (excluded.tier, excluded.quantity_limit) == (None, False)


def test_cms_style_member_names(tmp_path: Path) -> None:
    names = {
        "plan_information": "plan information  PPUF_2026Q2.txt",
        "basic_drugs_formulary": "Basic Drugs Formulary File  PPUF_2026Q2.txt",
        "beneficiary_cost": "beneficiary cost file  PPUF_2026Q2.txt",
    }
    for table, name in names.items():
        shutil.copy(PIPE_DIR / f"{table}.txt", tmp_path / name)
    (tmp_path / "notes.md").write_text("ignored")
    lib = SpufLibrary.load(tmp_path)
    plan = lib.plan("S5743", "001")
    assert plan.formulary_entry(LANTUS) is not None
    assert plan.insulin_cells == {} and plan.excluded_drugs == ()
    (tmp_path / "plan information  PPUF_2026Q2.txt").unlink()
    with pytest.raises(ValueError, match="plan_information"):
        SpufLibrary.load(tmp_path)


# -- malformed input ------------------------------------------------------------------------


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(rows)
    return path


FORMULARY_HEADER = [
    "FORMULARY_ID",
    "FORMULARY_VERSION",
    "CONTRACT_YEAR",
    "RXCUI",
    "NDC",
    "TIER_LEVEL_VALUE",
    "QUANTITY_LIMIT_YN",
    "QUANTITY_LIMIT_AMOUNT",
    "QUANTITY_LIMIT_DAYS",
    "PRIOR_AUTHORIZATION_YN",
    "STEP_THERAPY_YN",
    "SELECTED_DRUG_YN",
]
GOOD = ["00026248", "13", "2026", "285018", LANTUS, "3", "Y", "60", "30", "N", "N", "N"]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("NDC", "88222033", "not an 11-digit NDC"),
        ("TIER_LEVEL_VALUE", "X", "not an integer"),
        ("QUANTITY_LIMIT_YN", "maybe", "not a flag"),
        ("QUANTITY_LIMIT_AMOUNT", "1.2345", "not a quantity"),
        ("FORMULARY_ID", " ", "blank"),
    ],
)
def test_malformed_row_names_file_line_and_column(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    bad = list(GOOD)
    bad[FORMULARY_HEADER.index(column)] = value
    path = write_csv(tmp_path / "basic.csv", [FORMULARY_HEADER, GOOD, bad])
    with pytest.raises(ValueError, match=rf"basic\.csv, line 3, column {column}: .*{message}"):
        read_basic_formulary(path)


def test_malformed_money_and_field_count(tmp_path: Path) -> None:
    header = (PIPE_DIR / "plan_information.txt").read_bytes().decode("latin-1").split("\r\n")[0]
    good = "S5743|001|000|X|Y|00026248|101.00|615| |25| | |0|N"
    lines = [header, good, good.replace("101.00", "1O1.00"), good.rsplit("|", 1)[0]]
    path = tmp_path / "plan_information.txt"
    path.write_bytes("\r\n".join(lines[:3]).encode("latin-1"))
    with pytest.raises(ValueError, match=r"line 3, column PREMIUM: '1O1.00'"):
        read_plan_information(path)
    path.write_bytes("\r\n".join([*lines[:2], lines[3]]).encode("latin-1"))
    with pytest.raises(ValueError, match=r"line 3, column PLAN_SUPPRESSED_YN: row has 13 fields"):
        read_plan_information(path)
    path.write_bytes("\r\n".join([header, good.replace("101.00", "101.005")]).encode("latin-1"))
    with pytest.raises(ValueError, match="PREMIUM"):
        read_plan_information(path)


def test_coinsurance_must_be_a_fraction(tmp_path: Path) -> None:
    src = (PIPE_DIR / "beneficiary_cost.txt").read_bytes().decode("latin-1").split("\r\n")
    header, row = src[0], src[1].split("|")
    columns = header.split("|")
    row[columns.index("COST_TYPE_PREF")] = "2"
    row[columns.index("COST_AMT_PREF")] = "25"
    path = tmp_path / "beneficiary_cost.txt"
    path.write_bytes(f"{header}\r\n{'|'.join(row)}\r\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"line 2, column COST_AMT_PREF: coinsurance"):
        read_beneficiary_cost(path)


def test_missing_header_column_and_wrong_format(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "basic.csv", [FORMULARY_HEADER[:-1], GOOD[:-1]])
    with pytest.raises(ValueError, match="SELECTED_DRUG_YN"):
        read_basic_formulary(path)
    with pytest.raises(ValueError, match="header lacks"):
        read_excluded_drugs(PIPE_DIR / "excluded_drugs_formulary.txt", "csv")
    with pytest.raises(ValueError, match=r"line 6: not valid utf-8"):
        read_plan_information(PIPE_DIR / "plan_information.txt", "csv")
    with pytest.raises(ValueError, match="unknown SPUF format"):
        read_plan_information(PIPE_DIR / "plan_information.txt", "tsv")  # type: ignore[arg-type]


def test_invalid_utf8_csv_names_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    text = (BUNDLED_SPUF_DIR / "plan_information_2026Q2.csv").read_bytes().split(b"\n")[:3]
    path.write_bytes(b"\n".join([*text[:2], text[2].replace(b"KERN", b"K\xe9RN")]))
    with pytest.raises(ValueError, match=r"plan\.csv, line 3: not valid utf-8"):
        read_plan_information(path)


def test_duplicate_cost_row_is_rejected(tmp_path: Path) -> None:
    for name in ("plan_information", "basic_drugs_formulary"):
        shutil.copy(PIPE_DIR / f"{name}.txt", tmp_path)
    lines = (PIPE_DIR / "beneficiary_cost.txt").read_bytes().split(b"\r\n")
    (tmp_path / "beneficiary_cost.txt").write_bytes(b"\r\n".join([*lines[:2], lines[1]]))
    with pytest.raises(ValueError, match="duplicate row"):
        SpufLibrary.load(tmp_path)
