"""Part D throughput against the commercial rate, measured in the same run.

    python benchmarks/bench_partd.py [MEMBERS] [FILLS]

A year of claims for MEMBERS Part D enrollees (default 10,000 x 12 fills, in date order) through
the processor with the in-memory store, trace off: the enrollees are spread over the Part D
sample's plans (Defined Standard 2026 and 2019, the two CMS 2026 plans) and LIS levels, and fill
drugs of every kind (generic, brand, insulin, specialty) so their years cross every phase.  The
commercial rate is the commercial workload (``workload.claim_mix``) on the commercial sample book
through the same processor and store.  Target: Part D no slower than 1.5x the commercial time
per claim.  ``--profile`` prints the top functions of a cProfile run over the Part D claims.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import gc
import pstats
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from workload import claim_mix

from pbm_engine.book import Book
from pbm_engine.cli.partd import sample_partd_book_path
from pbm_engine.eligibility.members import CoveragePeriod, Member
from pbm_engine.engine import Engine
from pbm_engine.processor import Processor
from pbm_engine.sources.loader import load_book, load_sample_book
from pbm_engine.store.memory import MemoryStore

PLANS = (("DS-2026", 2026), ("DS-2019", 2019), ("CMS-S5743-001-000", 2026),
         ("CMS-H5050-004-000", 2026))
LIS = (None, None, None, "full", "fbde", "institutional")
# NDC, quantity, days, channel, submitted ingredient cost for years without a price file.
DRUGS = (("58657060450", "30", 30, "retail", "12.00"),   # labetalol (generic)
         ("00245083611", "60", 30, "retail", "14.00"),   # Klor-Con (generic)
         ("64380075806", "90", 30, "retail", "20.00"),   # acarbose (generic)
         ("00002751001", "10", 30, "retail", "230.00"),  # Humalog (insulin)
         ("00169750111", "10", 30, "retail", "240.00"),  # Novolog (insulin, selected)
         ("59467067901", "2", 30, "retail", "120.00"),   # Kloxxado (brand)
         ("52652800101", "150", 30, "retail", "400.00"))  # Zonisade (brand)


def partd_members(book: Book, n: int) -> list[Member]:
    """Add ``n`` synthetic enrollees to the book's registry."""
    rng = random.Random(2026)  # benchmarks only
    members = []
    for i in range(n):
        plan_id, year = PLANS[i % len(PLANS)]
        lis = rng.choice(LIS)
        member = Member(f"BENCH{i:06d}", "001", f"BENCH{i:06d}", plan_id,
                        coverage=(CoveragePeriod(dt.date(year, 1, 1)),),
                        lis_level=lis)
        book.registry.add(member)
        members.append(member)
    return members


def partd_claims(members: list[Member], fills: int) -> list[dict[str, Any]]:
    """``fills`` claims per member over the year, all members interleaved in date order."""
    rng = random.Random(20260101)
    out = []
    for m in members:
        year = m.coverage[0].start.year
        drugs = rng.sample(DRUGS, 3)
        for f in range(fills):
            ndc, qty, days, channel, cost = drugs[f % 3]
            month = 1 + f * 12 // fills
            claim = {"cardholder_id": m.cardholder_id, "date_of_service":
                     f"{year}-{month:02d}-{rng.randint(1, 28):02d}", "rx_number":
                     f"{m.cardholder_id[5:]}{f % 3}", "fill_number": f // 3, "ndc": ndc,
                     "quantity": qty, "days_supply": days, "pharmacy_id": "1234567893",
                     "channel": channel}
            if year < 2025:
                claim |= {"ingredient_cost": cost, "dispensing_fee": "1.50"}
            out.append(claim)
    out.sort(key=lambda c: c["date_of_service"])
    return out


def commercial_members(book: Book, n: int) -> None:
    """Give the commercial book ``n`` self-only members (copies of its sample members), so
    ``claim_mix`` spreads its claims over as many people as the Part D run."""
    from dataclasses import replace

    sample = sorted(book.registry.members.values(), key=lambda m: m.member_id)
    for i in range(n):
        m = sample[i % len(sample)]
        book.registry.add(replace(m, cardholder_id=f"COMM{i:06d}", person_code="001",
                                  family_id=f"COMM{i:06d}"))


def run(processor: Processor, claims: list[dict[str, Any]]) -> tuple[float, int]:
    t0 = time.perf_counter()
    paid = sum(1 for c in claims if processor.submit(c).paid)
    return time.perf_counter() - t0, paid


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 10_000
    fills = int(args[1]) if len(args) > 1 else 12
    book = load_book(sample_partd_book_path())
    claims = partd_claims(partd_members(book, n), fills)
    commercial_book = load_sample_book()
    commercial_members(commercial_book, n)
    commercial = sorted(claim_mix(commercial_book, len(claims)),
                        key=lambda c: c["date_of_service"])
    gc.collect()
    gc.freeze()

    c_time, c_paid = run(Processor(Engine(commercial_book), MemoryStore()), commercial)
    c_rate = len(commercial) / c_time
    print(f"commercial {len(commercial):>8,} claims  {c_rate:>8,.0f} claims/s  "
          f"({c_paid / len(commercial):.0%} paid)")
    processor = Processor(Engine(book), MemoryStore())
    if "--profile" in sys.argv:
        profile = cProfile.Profile()
        profile.enable()
        p_time, p_paid = run(processor, claims)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(18)
    else:
        p_time, p_paid = run(processor, claims)
    p_rate = len(claims) / p_time
    print(f"part D     {len(claims):>8,} claims  {p_rate:>8,.0f} claims/s  "
          f"({p_paid / len(claims):.0%} paid; {n:,} members x {fills} fills)")
    ratio = c_rate / p_rate
    print(f"time per claim, Part D / commercial: {ratio:.2f}x (target <= 1.5x: "
          f"{'met' if ratio <= 1.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
