"""estimate_cost: the engine's answer per channel, conditions in plain terms, and cheaper
options priced for the member -- on the memory and SQLite stores, never writing them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pbm_engine.accumulators import Totals
from pbm_engine.book import Book
from pbm_engine.codes import Channel
from pbm_engine.engine import Engine
from pbm_engine.portal.estimate import EstimateError, Estimator, estimate_cost
from pbm_engine.processor import Processor
from pbm_engine.store.base import Store
from pbm_engine.store.sqlite import SqliteStore
from tests.portal.conftest import fill

DAY = dt.date(2026, 3, 2)
ZOMIG_NASAL = "64896008412"
ZOLMI_TABLET = "16571080316"
ABILIFY_MAINTENA_300 = "59148004580"


def _by_channel(estimate, channel: Channel):  # type: ignore[no-untyped-def]
    return next(c for c in estimate.channels if c.channel is channel)


def test_deductible_applies_then_copay_tier(book: Book, store: Store) -> None:
    est = estimate_cost(book, store, as_of=DAY, member_id="PPO1001-001", drug="klonopin 2 mg")
    retail = _by_channel(est, Channel.RETAIL)
    assert retail.covered and retail.deductible_applied == retail.member_pays == 13109
    assert retail.deductible_left == 25000 - 13109
    assert retail.plan_pays == 0 and retail.oop_left == 300000 - 13109


def test_coinsurance_minimum_after_the_deductible(book: Book, store: Store) -> None:
    Processor(Engine(book), store).carry_in("PPO1001-002", "PPO1001", "SAMPLE-PPO-2026",
                                            dt.date(2026, 1, 1), Totals(25000, 25000), "C1")
    est = estimate_cost(book, store, as_of=DAY, member_id="PPO1001-002",
                        drug="klonopin 0.5 mg", alternatives=False)
    retail = _by_channel(est, Channel.RETAIL)
    # 30% of $82.92 is $24.88, below the tier's $50 minimum.
    assert (retail.deductible_applied, retail.coinsurance, retail.total_cost) == (0, 5000, 8292)
    assert retail.deductible_left == 0


def test_specialty_coinsurance_maximum_with_pa_on_file(book: Book, store: Store) -> None:
    est = estimate_cost(book, store, as_of=DAY, cardholder_id="PPO1004",
                        ndc=ABILIFY_MAINTENA_300)
    specialty, retail = est.channels
    assert specialty.channel is Channel.SPECIALTY and specialty.covered
    assert specialty.coinsurance == 25000 and specialty.deductible_applied == 25000
    assert [c.kind for c in specialty.conditions] == ["prior_authorization"]
    assert not specialty.conditions[0].blocking
    assert not retail.covered
    assert [c.kind for c in retail.conditions] == ["specialty_pharmacy"]
    # An injectable is never answered with tablets of the same class.
    assert all("ZYPREXA" not in a.estimate.drug_name for a in est.alternatives)


def test_daw_penalty_and_the_generic_offered(book: Book, store: Store) -> None:
    processor = Processor(Engine(book), store)
    assert processor.submit(fill("PPO1001", ZOLMI_TABLET, "2026-02-01", quantity="9")).paid
    est = estimate_cost(book, store, as_of=DAY, member_id="PPO1001-001", ndc=ZOMIG_NASAL)
    retail = _by_channel(est, Channel.RETAIL)
    assert retail.covered and retail.brand_penalty > 0
    assert retail.member_pays == retail.copay + retail.brand_penalty
    assert "dispense_as_written" in [c.kind for c in retail.conditions]
    best = est.alternatives[0]
    assert best.kind == "generic" and best.estimate.drug_name == "ZOLMITRIPTAN 5 MG NASAL SPRAY"
    assert best.estimate.member_pays == 1000
    assert best.saving_per_fill == retail.member_pays - 1000
    assert best.saving_per_year == (best.saving_per_fill * 365 * 2 + 30) // 60
    names = [a.estimate.drug_name for a in est.alternatives if a.kind != "mail"]
    assert len(names) == len(set(names))
    assert all(a.estimate.per_30_days < retail.per_30_days for a in est.alternatives)


def test_prior_authorization_required(book: Book, store: Store) -> None:
    est = estimate_cost(book, store, as_of=DAY, member_id="PPO1001-001",
                        ndc=ABILIFY_MAINTENA_300)
    assert not est.covered
    assert est.channels[0].conditions[0].kind == "prior_authorization"
    assert est.channels[0].conditions[0].reject_code == "75"
    assert est.alternatives == ()


def test_step_therapy_names_the_drugs_first_and_prices_them(book: Book, store: Store) -> None:
    est = estimate_cost(book, store, as_of=DAY, member_id="PPO1001-001",
                        drug="zituvio 100 mg tablet")
    step = est.channels[0].conditions[0]
    assert step.kind == "step_therapy" and step.blocking and step.reject_code == "608"
    assert step.drugs_first == ("ACARBOSE 100 MG TABLET", "ACARBOSE 25 MG TABLET",
                                "ACARBOSE 50 MG TABLET")
    names = [a.estimate.drug_name for a in est.alternatives]
    assert names and all(n.startswith("ACARBOSE") for n in names)
    assert len(names) == len(set(names))
    pays = [a.estimate.per_30_days for a in est.alternatives]
    assert pays == sorted(pays)


def test_empty_prerequisite_group_suggests_nothing(book: Book, store: Store) -> None:
    est = estimate_cost(book, store, as_of=DAY, member_id="PPO1001-001", drug="zoloft 50 mg")
    assert est.channels[0].conditions[0].kind == "step_therapy"
    assert "Generic SSRI antidepressants" in est.channels[0].conditions[0].text
    assert est.alternatives == ()


def test_quantity_limit(book: Book, store: Store) -> None:
    est = estimate_cost(book, store, as_of=DAY, member_id="PPO1001-001", ndc=ZOLMI_TABLET,
                        quantity="20", days_supply=30, channel="retail")
    (retail,) = est.channels
    assert not retail.covered
    assert retail.conditions[0].kind == "quantity_limit" and retail.conditions[0].blocking
    assert "up to 9 per 30 days" in retail.conditions[0].text


def test_refill_too_soon_gives_the_earliest_date(book: Book, store: Store) -> None:
    processor = Processor(Engine(book), store)
    assert processor.submit(fill("PPO1001", ZOLMI_TABLET, "2026-02-25", quantity="9")).paid
    est = estimate_cost(book, store, as_of=DAY, member_id="PPO1001-001", ndc=ZOLMI_TABLET)
    retail = _by_channel(est, Channel.RETAIL)
    rts = next(c for c in retail.conditions if c.reject_code == "79")
    assert rts.kind == "refill_too_soon" and rts.earliest_date == dt.date(2026, 3, 21)
    assert "March 21, 2026" in rts.text


def test_part_d_phase_crossing(partd_book: Book, store: Store) -> None:
    est = estimate_cost(partd_book, store, as_of=DAY, member_id="MBI2026A01-001",
                        drug="zolmitriptan 5 mg nasal spray")
    retail, mail = est.channels
    assert retail.phase is not None and mail.phase is not None
    assert (retail.phase.before, retail.phase.after, retail.phase.next_phase) == ("D", "D", "N")
    assert retail.phase.to_next == 61500 - retail.member_pays
    assert (mail.phase.before, mail.phase.after, mail.phase.next_phase) == ("D", "N", "C")
    assert mail.phase.to_next == 210000 - mail.phase.troop_after
    assert mail.plan_pays > 0


def test_part_d_catastrophic_after_one_specialty_fill(partd_book: Book, store: Store) -> None:
    est = estimate_cost(partd_book, store, as_of=DAY, member_id="MBI2026G01-001",
                        ndc="00078087463")
    specialty = est.channels[0]
    assert specialty.covered and specialty.member_pays == 210000  # the 2026 OOP threshold
    assert specialty.phase is not None and specialty.phase.after == "C"
    assert specialty.phase.next_phase is None


def test_unknown_member_and_drug_are_errors_with_reject_codes(book: Book) -> None:
    est = Estimator(book)
    with pytest.raises(EstimateError) as exc:
        est.estimate(as_of=DAY, member_id="NOPE-001", ndc=ZOLMI_TABLET)
    assert exc.value.reject_code == "52"
    with pytest.raises(EstimateError) as exc:
        est.estimate(as_of=DAY, cardholder_id="PPO1001", person_code="009", ndc=ZOLMI_TABLET)
    assert exc.value.reject_code == "53"
    with pytest.raises(EstimateError) as exc:
        est.estimate(as_of=DAY, member_id="PPO1001-001", ndc="99999999999")
    assert exc.value.reject_code == "54"
    with pytest.raises(EstimateError) as exc:
        est.estimate(as_of=DAY, member_id="PPO1001-001", drug="zituvio")
    assert exc.value.status == 409 and len(exc.value.candidates) == 3
    with pytest.raises(EstimateError):
        est.estimate(as_of=DAY, member_id="PPO1001-001", ndc=ZOLMI_TABLET, quantity="-3",
                     days_supply=30)


def test_estimating_never_writes_the_store(book: Book, tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SqliteStore(path) as store:
        processor = Processor(Engine(book), store)
        assert processor.submit(fill("PPO1001", ZOLMI_TABLET, "2026-02-01", quantity="9")).paid
    before = path.read_bytes()
    with SqliteStore(path) as store:
        entries = list(store.entries())
        totals = store.totals()
        est = Estimator(book, store)
        for question in ({"ndc": ZOMIG_NASAL}, {"ndc": ZOLMI_TABLET},
                         {"drug": "zituvio 100 mg tablet"}, {"ndc": ABILIFY_MAINTENA_300}):
            est.estimate(as_of=DAY, member_id="PPO1001-001", **question)  # type: ignore[arg-type]
        assert list(store.entries()) == entries and store.totals() == totals
    assert path.read_bytes() == before


def test_engine_rejects_name_related_alternatives_once(book: Book) -> None:
    result = Engine(book).adjudicate(fill("PPO1001", "70710124203", "2026-03-02"))
    assert result.reject_codes == ("608",)
    names = [a.name for a in result.alternatives]
    assert names and len(names) == len(set(names))
    assert all(n.startswith("ACARBOSE") for n in names)
    maintena = Engine(book).adjudicate(fill("PPO1001", ABILIFY_MAINTENA_300, "2026-03-02",
                                            quantity="1", channel="specialty"))
    assert "75" in maintena.reject_codes
    assert all("ZYPREXA" not in a.name for a in maintena.alternatives)


def test_members_imported_into_the_store_are_estimated(book: Book, store: Store) -> None:
    """A member on file only in the store (an imported eligibility file) is found, and the
    estimate answers as for the same member in the book."""
    from pbm_engine.eligibility.members import Member

    in_book = book.registry.get("PPO1001", "001")
    assert in_book is not None
    store.put_members([
        in_book,
        Member("STORE01", "001", "STORE01", in_book.plan_id, in_book.date_of_birth,
               in_book.gender, in_book.coverage)])
    est = estimate_cost(book, store, as_of=DAY, member_id="STORE01-001", drug="klonopin 2 mg")
    same = estimate_cost(book, store, as_of=DAY, member_id="PPO1001-001", drug="klonopin 2 mg")
    retail, expected = _by_channel(est, Channel.RETAIL), _by_channel(same, Channel.RETAIL)
    assert retail.covered and retail.member_pays == expected.member_pays == 13109
    with pytest.raises(EstimateError):  # the store's members replace the book's
        estimate_cost(book, store, as_of=DAY, member_id="PPO1002-001", drug="klonopin 2 mg")
