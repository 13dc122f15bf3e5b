"""Tests for the NADAC weekly-file loader."""

from __future__ import annotations

import io
from datetime import date

import pytest

from pbm_engine.money import to_price
from pbm_engine.pricing.nadac import BUNDLED_NADAC, load_nadac

NEW_HEADER = (
    '"NDC Description",NDC,"NADAC Per Unit","Effective Date","Pricing Unit",'
    '"Pharmacy Type Indicator",OTC,"Explanation Code","Classification for Rate Setting",'
    '"Corresponding Generic Drug NADAC Per Unit","Corresponding Generic Drug Effective Date",'
    '"As of Date"\n'
)
OLD_HEADER = (
    "NDC_Description,NDC,NADAC_Per_Unit,Effective_Date,Pricing_Unit,Pharmacy_Type_Indicator,"
    "OTC,Explanation_Code,Classification_for_Rate_Setting,"
    "Corresponding_Generic_Drug_NADAC_Per_Unit,Corresponding_Generic_Drug_Effective_Date,"
    "As_of_Date\n"
)
BRAND = (
    '"ZOLOFT 50 MG TABLET",00049490041,14.92582,01/01/2026,EA,C/I,N,2,B,0.0345,04/22/2026,'
    "04/29/2026\n"
)
GENERIC = (
    '"ACETAMINOPHEN 160 MG/5 ML LIQ",54859080916,0.01284,04/22/2026,ML,C/I,Y,"1, 5",G,,,'
    "04/29/2026\n"
)


@pytest.fixture(scope="module")
def bundled():
    return {r.ndc: r for r in load_nadac()}


def test_bundled_file_loads_every_row(bundled):
    assert len(bundled) == 513
    assert all(len(n) == 11 and n.isdigit() for n in bundled)
    assert {r.pricing_unit for r in bundled.values()} == {"EA", "ML", "GM"}
    assert {r.classification for r in bundled.values()} == {"G", "B", "B-ANDA"}


def test_acetaminophen(bundled):
    r = bundled["00536132701"]
    assert r.description == "ACETAMINOPHEN 325 MG TABLET"
    assert r.unit_price == to_price("0.02600") == 2600
    assert r.pricing_unit == "EA" and r.otc is True
    assert r.classification == "G" and not r.is_brand
    assert r.effective_date == date(2026, 4, 22)
    assert r.as_of_date == date(2026, 4, 29)
    assert r.generic_unit_price is None and r.generic_effective_date is None


def test_abilify_brand_with_generic(bundled):
    r = bundled["59148000813"]
    assert r.unit_price == 1_858_017
    assert r.generic_unit_price == 10_076
    assert r.generic_effective_date == date(2026, 4, 22)
    assert r.classification == "B" and r.is_brand and not r.otc


def test_multi_value_explanation_codes(bundled):
    assert bundled["46122038576"].explanation_codes == ("1", "5")
    assert bundled["51672206200"].explanation_codes == ("1", "5", "6")
    assert bundled["00536132701"].explanation_codes == ("1",)


def test_generic_price_with_fewer_decimals(bundled):
    # ZOLOFT 50 MG publishes its generic NADAC as 0.0345 (four places).
    assert bundled["00049490041"].generic_unit_price == 3450


@pytest.mark.parametrize("header", [NEW_HEADER, OLD_HEADER])
def test_both_header_spellings(header):
    rows = load_nadac(io.StringIO(header + BRAND + GENERIC))
    assert [r.ndc for r in rows] == ["00049490041", "54859080916"]
    assert rows[0].generic_unit_price == 3450
    assert rows[1].explanation_codes == ("1", "5") and rows[1].pricing_unit == "ML"


def test_path_and_binary_file(tmp_path):
    p = tmp_path / "nadac.csv"
    p.write_bytes(("\ufeff" + OLD_HEADER + BRAND).encode("utf-8"))
    assert load_nadac(p)[0].unit_price == 1_492_582
    assert load_nadac(str(p))[0].ndc == "00049490041"
    with p.open("rb") as fh:
        assert load_nadac(fh)[0].ndc == "00049490041"
        assert not fh.closed
    with BUNDLED_NADAC.open(newline="") as fh:
        assert len(load_nadac(fh)) == 513


@pytest.mark.parametrize(
    ("row", "where"),
    [
        (BRAND.replace("14.92582", "14.9x"), "line 3, column 3 ('NADAC Per Unit')"),
        (BRAND.replace("01/01/2026", "2026-01-01"), "line 3, column 4 ('Effective Date')"),
        (BRAND.replace("00049490041", "4949004"), "line 3, column 2 ('NDC')"),
        (BRAND.replace(",EA,", ",BX,"), "line 3, column 5 ('Pricing Unit')"),
        (BRAND.replace("14.92582", "14.925821"), "line 3, column 3"),
        (BRAND.replace(",N,2,", ",X,2,"), "line 3, column 7 ('OTC')"),
    ],
)
def test_malformed_row_names_file_line_and_column(row, where):
    f = io.StringIO(NEW_HEADER + GENERIC + row)
    f.name = "weekly.csv"
    with pytest.raises(ValueError, match=r"weekly\.csv") as err:
        load_nadac(f)
    assert where in str(err.value)


def test_wrong_field_count_and_header():
    with pytest.raises(ValueError, match="line 2: expected 12 fields"):
        load_nadac(io.StringIO(NEW_HEADER + "a,b,c\n"))
    with pytest.raises(ValueError, match="not a NADAC header"):
        load_nadac(io.StringIO("foo,bar\n1,2\n"))
    with pytest.raises(ValueError, match="empty file"):
        load_nadac(io.StringIO(""))
