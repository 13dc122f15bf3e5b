"""Tests for Orange Book parsing, TE groups and the NADAC description matcher."""

from __future__ import annotations

from datetime import date

import pytest

from pbm_engine.formulary.orange_book import (
    BUNDLED_ORANGE_BOOK,
    HEADER,
    OrangeBook,
    normalize_strength,
    parse_description,
    parse_products,
)
from pbm_engine.pricing.nadac import load_nadac

ROWS = [
    "~".join(HEADER),
    "SERTRALINE HYDROCHLORIDE~TABLET;ORAL~ZOLOFT~VIATRIS~EQ 50MG BASE~N~019839~001~AB~"
    "Dec 30, 1991~Yes~No~RX~VIATRIS SPECIALTY LLC",
    "SERTRALINE HYDROCHLORIDE~TABLET;ORAL~SERTRALINE HYDROCHLORIDE~ACCORD HLTHCARE~EQ 50MG BASE~"
    "A~202825~002~AB~Nov 7, 2014~No~No~RX~ACCORD HEALTHCARE INC",
    "LEVOTHYROXINE SODIUM~TABLET;ORAL~SYNTHROID~ABBVIE~0.025MG~N~021402~001~AB1~Jul 24, 2002~"
    "Yes~No~RX~ABBVIE INC",
    "LEVOTHYROXINE SODIUM~TABLET;ORAL~UNITHROID~JEROME STEVENS~0.025MG~N~021210~001~AB2~"
    "Aug 21, 2000~Yes~No~RX~JEROME STEVENS PHARMACEUTICALS INC",
    "BUDESONIDE~AEROSOL, FOAM;RECTAL~UCERIS~SALIX~2MG/ACTUATION~N~205613~001~AB~"
    "Oct 7, 2014~Yes~Yes~RX~SALIX PHARMACEUTICALS INC",
    "ASPIRIN~TABLET;ORAL~ASPIRIN~OLD CO~325MG~A~080001~001~~Approved Prior to Jan 1, 1982~"
    "No~No~DISCN~OLD COMPANY",
]
TEXT = "\r\n".join(ROWS)  # CRLF and no final newline, as FDA ships it


@pytest.fixture(scope="module")
def book() -> OrangeBook:
    return OrangeBook.load()


def test_parse_quirks():
    products = parse_products(TEXT)
    assert len(products) == 6
    zoloft, generic, _syn, _uni, foam, aspirin = products
    assert (zoloft.dosage_form, zoloft.route, zoloft.df_route) == ("TABLET", "ORAL", "TABLET;ORAL")
    assert (foam.dosage_form, foam.route) == ("AEROSOL, FOAM", "RECTAL")
    assert zoloft.approval_date == date(1991, 12, 30) and zoloft.rld and not zoloft.rs
    assert (zoloft.appl_type, zoloft.appl_no, zoloft.product_no) == ("N", "019839", "001")
    assert generic.appl_type == "A" and generic.te_code == "AB"
    assert aspirin.approval_date is None and aspirin.type == "DISCN" and aspirin.te_code == ""
    assert aspirin.applicant_full_name == "OLD COMPANY"
    # LF files and a final newline are accepted too.
    assert parse_products(TEXT.replace("\r\n", "\n") + "\n") == products


def test_parse_errors():
    with pytest.raises(ValueError, match="line 1"):
        parse_products("Ingredient~Strength\r\nX~1MG")
    bad = TEXT.replace("~N~019839", "~X~019839")
    with pytest.raises(ValueError, match="line 2: Appl_Type"):
        parse_products(bad, "p.txt")
    with pytest.raises(ValueError, match="line 3: expected 14 fields"):
        parse_products(ROWS[0] + "\r\n" + ROWS[1] + "\r\nA~B")
    with pytest.raises(ValueError, match="Approval_Date"):
        parse_products(TEXT.replace("Dec 30, 1991", "1991-12-30"))


def test_grouping_by_full_te_code():
    ob = OrangeBook(parse_products(TEXT))
    sert = "TE:SERTRALINE HYDROCHLORIDE|TABLET;ORAL|EQ 50MG BASE|AB"
    assert set(ob.groups) == {
        sert,
        "TE:LEVOTHYROXINE SODIUM|TABLET;ORAL|0.025MG|AB1",
        "TE:LEVOTHYROXINE SODIUM|TABLET;ORAL|0.025MG|AB2",
        "TE:BUDESONIDE|AEROSOL, FOAM;RECTAL|2MG/ACTUATION|AB",
    }
    group = ob.groups[sert]
    assert [p.appl_type for p in group.products] == ["N", "A"]  # NDA first
    assert [p.trade_name for p in group.reference] == ["ZOLOFT"]


def test_bundled_copy_format():
    raw = BUNDLED_ORANGE_BOOK.read_bytes()
    assert raw.startswith(b"Ingredient~DF;Route~Trade_Name~")
    assert b"\r\n" in raw and not raw.endswith(b"\n")
    assert raw.count(b"\n") == raw.count(b"\r\n")
    products = parse_products(raw.decode("ascii"))
    assert len(products) == 941
    assert all(p.type != "DISCN" for p in products)


def test_strength_and_description_parsing():
    assert normalize_strength("EQ 50MG BASE") == "50MG"
    assert normalize_strength("0.50MG") == "0.5MG"
    assert normalize_strength("5MG/SPRAY") == "5MG/SPRAY"
    assert normalize_strength("2MG/ACTUATION") is None
    assert parse_description("SERTRALINE 50MG TAB").strength == "50MG"
    assert parse_description("ABACAVIR-LAMIVUDINE 600-300 MG") is None
    assert parse_description("ACETAMINOPHEN 160 MG/5 ML LIQ") is None


@pytest.mark.parametrize(
    ("brand", "generic", "group"),
    [
        (
            "ZOLOFT 50 MG TABLET",
            "SERTRALINE HCL 50 MG TABLET",
            "TE:SERTRALINE HYDROCHLORIDE|TABLET;ORAL|EQ 50MG BASE|AB",
        ),
        ("ZOCOR 20 MG TABLET", "SIMVASTATIN 20 MG TABLET", "TE:SIMVASTATIN|TABLET;ORAL|20MG|AB"),
        ("ABILIFY 10 MG TABLET", "ARIPIPRAZOLE 10MG TAB", "TE:ARIPIPRAZOLE|TABLET;ORAL|10MG|AB"),
        ("ZYPREXA 5 MG TABLET", "OLANZAPINE 5 MG TABLET", "TE:OLANZAPINE|TABLET;ORAL|5MG|AB"),
        ("KLONOPIN 0.5 MG TABLET", "CLONAZEPAM 0.5 MG TAB", "TE:CLONAZEPAM|TABLET;ORAL|0.5MG|AB"),
        (
            "ZOMIG 5 MG NASAL SPRAY",
            "ZOLMITRIPTAN 5 MG NASAL SPRAY",
            "TE:ZOLMITRIPTAN|SPRAY;NASAL|5MG/SPRAY|AB",
        ),
    ],
)
def test_brand_and_generic_land_in_one_group(book, brand, generic, group):
    b = book.match_description(brand)
    g = book.match_description(generic)
    assert b is not None and g is not None
    assert b.group_id == g.group_id == group
    assert (b.role, b.rld) == ("brand", True)
    assert (g.role, g.rld) == ("generic", False)
    assert "trade name" in b.reason and "NDA" in b.reason


def test_release_forms_and_base_names(book):
    er = book.match_description("ZOLPIDEM TART ER 12.5 MG TAB")
    assert er is not None
    assert er.group_id == "TE:ZOLPIDEM TARTRATE|TABLET, EXTENDED RELEASE;ORAL|12.5MG|AB"
    assert book.match_description("ZOLPIDEM TARTRATE 10 MG TABLET").group_id.endswith(
        "|TABLET;ORAL|10MG|AB"
    )
    dr = book.match_description("ACAMPROSATE CALC DR 333 MG TAB")
    assert dr is not None and "DELAYED RELEASE" in dr.group_id
    base = book.match_description("SERTRALINE 100 MG TABLET")
    assert base is not None and "base name SERTRALINE" in base.reason
    assert book.match_description("ZOLPIDEM TART 3.5 MG TABLET SL").group_id.startswith(
        "TE:ZOLPIDEM TARTRATE|TABLET;SUBLINGUAL|3.5MG|"
    )
    # ABSORICA is AB2: its own group, separate from other isotretinoin TE codes.
    assert book.match_description("ABSORICA 20 MG CAPSULE").group_id.endswith("|AB2")


@pytest.mark.parametrize(
    "description",
    [
        "ZITHROMAX 250 MG Z-PAK TABLET",  # unknown pack word
        "ZOLPIDEM TARTRATE 7.5 MG CAP",  # NDA with no TE code
        "ZOLOFT 75 MG TABLET",  # no such strength
        "ZOLOFT 50 MG CAPSULE",  # no such form
        "ABILIFY MAINTENA ER 300 MG VL",  # injectable vial: not handled
        "ACETAMINOPHEN 325 MG TABLET",  # OTC monograph, not in the Orange Book
        "NOTADRUG 10 MG TABLET",
        "3-DAY VAGINAL CREAM",
    ],
)
def test_non_matches(book, description):
    assert book.match_description(description) is None


def test_match_ndcs_on_bundled_nadac(book):
    rows = load_nadac()
    matched = book.match_ndcs((r.ndc, r.description) for r in rows)
    assert matched["00049490041"].group_id.startswith("TE:SERTRALINE HYDROCHLORIDE|")
    assert matched["59148000813"].role == "brand"
    assert "00536132701" not in matched  # acetaminophen: unmatched rows are absent
    by_class = {r.ndc: r.classification for r in rows}
    for ndc, m in matched.items():
        assert m.group_id in book.groups
        assert (m.role == "brand") == (by_class[ndc] == "B"), ndc
