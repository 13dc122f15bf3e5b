"""Tests for the generated sample formulary, price table and trimmed Orange Book."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
import yaml

from pbm_engine.formulary.orange_book import OrangeBook
from pbm_engine.money import to_price
from pbm_engine.pricing.nadac import load_nadac

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src" / "pbm_engine" / "data"
SHARED = Path("/work/shared/data")
OUTPUTS = ("sample/formulary.yaml", "sample/prices.csv", "orange_book/products.txt")


@pytest.fixture(scope="module")
def formulary() -> dict:
    with (DATA / "sample" / "formulary.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def drugs(formulary) -> dict[str, dict]:
    return {d["ndc"]: d for d in formulary["drugs"]}


@pytest.fixture(scope="module")
def prices() -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    with (DATA / "sample" / "prices.csv").open(newline="", encoding="ascii") as fh:
        for row in csv.DictReader(fh):
            out[row["ndc"]].append(row)
    return out


def test_header_and_ndcs(formulary):
    assert formulary["formulary_id"] == "SAMPLE-COMMERCIAL-2026"
    ndcs = [d["ndc"] for d in formulary["drugs"]]
    assert len(ndcs) == len(set(ndcs)) == 517
    assert all(isinstance(n, str) and re.fullmatch(r"\d{11}", n) for n in ndcs)
    assert all(isinstance(d.get("rxcui", ""), str) for d in formulary["drugs"])


def test_every_nadac_row_is_a_drug(drugs):
    for row in load_nadac():
        assert drugs[row.ndc]["name"] == row.description
        assert drugs[row.ndc]["otc"] is row.otc


def test_fields_are_valid(formulary):
    group_ids = {g["id"] for g in formulary["groups"]}
    for d in formulary["drugs"]:
        assert d["tier"] in (0, 1, 2, 3, 4)
        assert d["status"] in ("covered", "excluded", "non_formulary")
        for g in d.get("groups", []):
            assert g in group_ids
        for g in d.get("step_therapy", {}).get("prerequisites", []):
            assert g in group_ids
        if "quantity_limit" in d:
            assert isinstance(d["quantity_limit"]["quantity"], str)
        assert d.get("gender", "F") in ("M", "F")
        if d["specialty"]:
            assert d["tier"] == 4
        if d["otc"]:
            assert d["status"] == "excluded"


def test_every_rule_has_examples(drugs):
    by_name = {d["name"]: d for d in drugs.values()}
    assert by_name["ABSORICA 20 MG CAPSULE"]["pa_required"]
    assert by_name["KISQALI 600 MG DAILY DOSE"]["pa_required"]
    assert by_name["KISQALI 600 MG DAILY DOSE"]["specialty"]
    assert by_name["ZOLOFT 50 MG TABLET"]["step_therapy"]["prerequisites"] == ["CLASS:SSRI-GENERIC"]
    assert "step_therapy" in by_name["ZOCOR 20 MG TABLET"]
    assert "step_therapy" in by_name["ABILIFY 10 MG TABLET"]
    zolpidem = by_name["ZOLPIDEM TARTRATE 10 MG TABLET"]
    assert zolpidem["quantity_limit"] == {"quantity": "30", "days": 30}
    assert zolpidem["min_age"] == 18
    assert by_name["ZOLMITRIPTAN 2.5 MG TABLET"]["quantity_limit"]["quantity"] == "9"
    assert by_name["KLONOPIN 1 MG TABLET"]["max_age"] == 64
    assert by_name["ABIRATERONE ACETATE 250 MG TAB"]["gender"] == "M"
    zovia = by_name["ZOVIA 1-35 TABLET"]
    assert (zovia["gender"], zovia["preventive"], zovia["tier"]) == ("F", True, 0)
    assert by_name["ZITHROMAX 250 MG Z-PAK TABLET"]["status"] == "non_formulary"
    assert by_name["ACETAMINOPHEN 325 MG TABLET"]["status"] == "excluded"
    for ndc in ("00088222033", "00002751001", "00169750111"):
        assert drugs[ndc]["insulin"] and drugs[ndc]["tier"] == 2
    shingrix = drugs["58160082311"]
    assert shingrix["vaccine"] and shingrix["preventive"] and shingrix["tier"] == 0
    assert shingrix["rxcui"] == "1986830"


def test_tiers_follow_nadac_classification(drugs):
    for row in load_nadac():
        d = drugs[row.ndc]
        if d["specialty"] or d["tier"] == 0:
            continue
        if row.classification == "G":
            assert d["tier"] == 1
        elif row.generic_unit_price is not None:
            assert d["tier"] == 3
        else:
            assert d["tier"] == 2


def test_te_groups_match_the_orange_book(formulary, drugs):
    ob = OrangeBook.load()
    for d in formulary["drugs"]:
        if "te_group" in d:
            assert d["te_group"] in ob.groups
            m = ob.match_description(d["name"])
            assert m is not None and m.group_id == d["te_group"]
    zomig = drugs["64896008412"]
    assert zomig["multi_source"] and zomig["brand"]
    members = [x for x in drugs.values() if x.get("te_group") == zomig["te_group"]]
    assert any(not x["brand"] for x in members)
    linked = [g for g in formulary["te_groups"] if g["nadac_generic_link"]]
    assert [g["id"] for g in linked] == [zomig["te_group"]]
    # Brand rows NADAC links to a generic price are multi-source.
    for row in load_nadac():
        if row.generic_unit_price is not None:
            assert drugs[row.ndc]["multi_source"], row.description


def test_every_ndc_has_two_price_periods(drugs, prices):
    assert set(prices) == set(drugs)
    for ndc, rows in prices.items():
        assert [(r["effective_date"], r["end_date"]) for r in rows] == [
            ("2025-01-01", "2025-12-31"),
            ("2026-01-01", ""),
        ], ndc
        for r in rows:
            date.fromisoformat(r["effective_date"])
            for col in ("awp", "wac", "mac"):
                assert r[col] == "" or re.fullmatch(r"\d+\.\d{5}", r[col]), (ndc, col)
        old, new = (to_price(r["awp"]) for r in rows)
        assert old == (new * 95 + 50) // 100


def test_synthetic_price_multipliers(prices):
    nadac = {r.ndc: r for r in load_nadac()}
    generic = prices["00536132701"][1]  # acetaminophen, NADAC 0.02600
    assert (generic["awp"], generic["wac"], generic["mac"]) == ("0.15600", "0.13000", "0.02860")
    brand = prices["59148000813"][1]  # ABILIFY 10 MG, NADAC 18.58017
    wac = to_price(brand["wac"])
    assert wac == (nadac["59148000813"].unit_price * 102 + 50) // 100
    assert to_price(brand["awp"]) == (wac * 120 + 50) // 100
    assert brand["mac"] == ""
    assert prices["00088222033"][1]["awp"] == "30.00000"


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared public data folder not available")
def test_script_reproduces_bundled_files(tmp_path):
    for run in ("a", "b"):
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "build_sample_data.py"), "--out",
             str(tmp_path / run), "--data", str(SHARED)],
            check=True,
            capture_output=True,
        )  # fmt: skip
    for rel in OUTPUTS:
        first = (tmp_path / "a" / rel).read_bytes()
        assert first == (tmp_path / "b" / rel).read_bytes(), rel
        assert first == (DATA / rel).read_bytes(), rel
