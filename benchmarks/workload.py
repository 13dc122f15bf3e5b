"""A deterministic claim mix over the bundled sample book, for the benchmarks."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from pbm_engine.book import Book
from pbm_engine.eligibility.members import CoveragePeriod, Member
from pbm_engine.formulary.model import Coverage


def add_members(book: Book, families: int, seed: int = 7) -> Book:
    """Add synthetic families (1-4 people each) on the book's commercial plans."""
    rng = random.Random(seed)
    plans = sorted(book.plans)
    for f in range(families):
        plan = plans[f % len(plans)]
        for person in range(1, rng.randint(1, 4) + 1):
            year = 1950 + rng.randint(0, 70) if person < 3 else 2008 + rng.randint(0, 15)
            book.registry.add(Member(
                cardholder_id=f"SYN{f:06d}", person_code=f"{person:03d}", family_id=f"SYN{f:06d}",
                plan_id=plan, date_of_birth=dt.date(year, rng.randint(1, 12), rng.randint(1, 28)),
                gender=rng.choice((1, 2)), coverage=(CoveragePeriod(dt.date(2026, 1, 1)),)))
    return book


def claim_mix(book: Book, n: int, seed: int = 20260101) -> list[dict[str, Any]]:
    """``n`` claims: mostly payable fills, with rejects of every kind mixed in (~20%)."""
    rng = random.Random(seed)  # benchmarks only: the engine itself never draws a number
    members = sorted(book.registry.members.values(), key=lambda m: m.member_id)
    formulary = next(iter(book.formularies.values()))
    drugs = sorted(formulary.drugs.values(), key=lambda d: d.ndc)
    covered = [d for d in drugs if d.coverage is Coverage.COVERED and not d.specialty]
    out = []
    for i in range(n):
        member = rng.choice(members)
        drug = rng.choice(covered if rng.random() < 0.85 else drugs)
        days = rng.choice((30, 30, 30, 28, 60, 90))
        channel = "mail" if days == 90 and rng.random() < 0.7 else "retail"
        if drug.specialty:
            channel, days = "specialty", 28
        month, day = 1 + (i * 12) // n, rng.randint(1, 28)
        claim = {
            "cardholder_id": member.cardholder_id,
            "person_code": member.person_code,
            "date_of_service": f"2026-{month:02d}-{day:02d}",
            "rx_number": str(1_000_000 + i),
            "fill_number": 0,
            "ndc": drug.ndc,
            "quantity": str(days if drug.quantity_limit is None else 1),
            "days_supply": days,
            "daw": rng.choice((0, 0, 0, 0, 1, 2)),
            "pharmacy_id": "1234567893",
            "channel": channel,
            "usual_and_customary": f"{rng.randint(500, 90000) / 100:.2f}",
        }
        if rng.random() < 0.05:
            claim["other_payer_amount"] = "25.00"
        out.append(claim)
    return out
