"""IVR sentences and the type-ahead drug search."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from pbm_engine.book import Book
from pbm_engine.portal.estimate import estimate_cost
from pbm_engine.portal.search import DrugIndex
from pbm_engine.portal.speech import ivr_sentences, number_words, say_drug, say_money


def test_money_for_speech() -> None:
    assert say_money(1250) == "12 dollars and 50 cents"
    assert say_money(1250, words=True) == "twelve dollars and fifty cents"
    assert say_money(100) == "1 dollar"
    assert say_money(1) == "1 cent"
    assert say_money(0) == "nothing"
    assert say_money(123456789) == "1,234,567 dollars and 89 cents"
    assert number_words(342) == "three hundred forty-two"
    assert number_words(1_002_015) == "one million two thousand fifteen"


@settings(max_examples=50)
@given(st.integers(0, 10**12))
def test_number_words_has_no_digits(n: int) -> None:
    spoken = number_words(n)
    assert not any(ch.isdigit() for ch in spoken) and "  " not in spoken


def test_drug_names_spelled_out() -> None:
    assert say_drug("ZOLMITRIPTAN 2.5 MG ODT") == \
        "zolmitriptan 2.5 milligram orally disintegrating tablet"
    assert say_drug("ZOMIG 5MG NASAL SPRAY") == "zomig 5 milligram nasal spray"


def test_ivr_sentences_for_a_paid_and_a_step_drug(book: Book) -> None:
    day = dt.date(2026, 3, 2)
    paid = estimate_cost(book, as_of=day, member_id="PPO1001-001",
                         drug="zolmitriptan 2.5 mg tablet")
    lines = ivr_sentences(paid, words=True)
    assert lines[0] == ("At a retail pharmacy, a 30-day supply of zolmitriptan 2.5 milligram "
                        "tablet costs you ten dollars.")
    assert any(line.startswith("You could save by mail order") for line in lines)
    assert not any(ch.isdigit() for ch in lines[0].replace("30-day", "").replace("2.5", ""))
    step = estimate_cost(book, as_of=day, member_id="PPO1001-001",
                         drug="zituvio 100 mg tablet")
    lines = ivr_sentences(step)
    assert "is not covered as asked" in lines[0]
    assert lines[1].startswith("Step therapy: the plan covers this after you have tried ACARBOSE")
    assert lines[-1] == "Ask your doctor before you change medicines."


def test_search_by_prefix_strength_and_form(book: Book) -> None:
    index = DrugIndex.for_formulary(book.formularies["SAMPLE-COMMERCIAL-2026"])
    assert index is DrugIndex.for_formulary(book.formularies["SAMPLE-COMMERCIAL-2026"])
    (one,) = index.search("zolmitriptan 2.5 mg tablet")
    assert one.name == "ZOLMITRIPTAN 2.5 MG TABLET" and len(one.ndcs) == 8
    assert one.status == "covered" and one.quantity_limit
    assert [c.name for c in index.search("ZOLMI 2.5MG tab")] == ["ZOLMITRIPTAN 2.5 MG TABLET"]
    names = [c.name for c in index.search("zomig")]
    assert names == ["ZOMIG 2.5 MG NASAL SPRAY", "ZOMIG 5 MG NASAL SPRAY"]
    zith = index.search("zithromax")
    assert zith and zith[0].status == "non_formulary"
    assert index.search("acetaminophen")[0].status == "excluded"
    assert index.search("nothing-like-this") == []
    assert index.search("") == []
    covered_first = index.search("z")
    statuses = [c.status == "covered" for c in covered_first]
    assert statuses == sorted(statuses, reverse=True)
