"""Eligibility at PBM scale: import N members into a SQLite store, then claims/s, p99 and portal
lookups with N members in the store against 1,000.

    PYTHONPATH=src python benchmarks/bench_members.py [--members 1000000] [--claims 4000]

Generates an eligibility CSV (families of 1-4 on the sample book's two commercial plans; every
fourth family has had a plan change, i.e. two coverage periods), imports it with
``store.eligibility.import_members`` into a fresh SQLite file (one transaction), and reports the
time.  Then, for a store of 1,000 members and one of N: claims through the processor (members
read from the store; SQLite ``synchronous=NORMAL`` so the disk's fsync does not hide the lookup
cost), median and p99 per claim, and the portal's member, family and as-of accumulator lookups.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pbm_engine.book import Book
from pbm_engine.eligibility.members import Registry
from pbm_engine.engine import Engine
from pbm_engine.portal.views import Portal
from pbm_engine.processor import Processor
from pbm_engine.sources.loader import load_sample_book
from pbm_engine.store.eligibility import MEMBER_COLUMNS, import_members
from pbm_engine.store.sqlite import SqliteStore

PLANS = ("SAMPLE-PPO-2026", "SAMPLE-HDHP-2026")
DRUGS = (("00378410591", "30", "200.00"), ("61269060510", "60", "400.00"),
         ("00245531801", "30", None), ("00088222033", "10", None))


def write_members(path: Path, members: int, seed: int = 9) -> list[tuple[str, str]]:
    """An eligibility CSV of ``members`` people; returns every (cardholder, person)."""
    rng = random.Random(seed)
    keys: list[tuple[str, str]] = []
    with path.open("w") as out:
        out.write(",".join((*MEMBER_COLUMNS, "relationship")) + "\n")
        family = 0
        while len(keys) < members:
            cardholder = f"E{family:08d}"
            size = min(rng.randint(1, 4), members - len(keys))
            changed = family % 4 == 0
            for person in range(1, size + 1):
                code = f"{person:03d}"
                born = (f"{1950 + rng.randint(0, 70)}-{rng.randint(1, 12):02d}-"
                        f"{rng.randint(1, 28):02d}")
                gender = "MF"[rng.randint(0, 1)]
                relationship = "1" if person == 1 else ("2" if person == 2 else "3")
                first = PLANS[family % 2]
                if changed:  # a plan change on July 1: two periods
                    out.write(f"{cardholder},{code},,,{PLANS[1 - family % 2]},{born},{gender},"
                              f"2025-01-01,,{relationship}\n")
                out.write(f"{cardholder},{code},,,{first},{born},{gender},"
                          f"{'2026-01-01' if changed else '2025-01-01'},,{relationship}\n")
                keys.append((cardholder, code))
            family += 1
    return keys


def claims(keys: list[tuple[str, str]], n: int, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        cardholder, person = keys[rng.randrange(len(keys))]
        ndc, qty, uc = DRUGS[i % len(DRUGS)]
        c: dict[str, Any] = {
            "transaction_code": "B1", "cardholder_id": cardholder, "person_code": person,
            "date_of_service": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "rx_number": f"{i:07d}", "fill_number": 0, "ndc": ndc, "quantity": qty,
            "days_supply": 30, "pharmacy_id": "1234567893", "channel": "retail",
            "clarification_codes": [3]}
        if uc:
            c["usual_and_customary"] = uc
        out.append(c)
    return out


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        out.append(time.perf_counter() - start)
    return out


def p99(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.99)]


def measure(path: Path, keys: list[tuple[str, str]], book: Book, n_claims: int
            ) -> dict[str, float]:
    store = SqliteStore(path, synchronous="NORMAL", verify=False)
    processor = Processor(Engine(book), store)
    assert processor.engine.members is store
    requests = claims(keys, n_claims)
    for request in requests[:200]:  # warm up
        processor.submit(request)
    per_claim = []
    paid = 0
    for request in requests[200:]:
        start = time.perf_counter()
        paid += processor.submit(request).paid
        per_claim.append(time.perf_counter() - start)
    rng = random.Random(5)
    portal = Portal(book, store)
    picks = [keys[rng.randrange(len(keys))] for _ in range(500)]
    members = [portal.member(f"{c}-{p}") for c, p in picks]
    by_id = timed(lambda: portal.member(f"{picks[rng.randrange(500)][0]}-001"), 2000)
    family = timed(lambda: portal.family(members[rng.randrange(500)]), 2000)
    as_of = timed(lambda: portal.accumulators(members[rng.randrange(500)],
                                              as_of=dt.date(2026, 6, 30)), 2000)
    store.close()
    return {"claims/s": len(per_claim) / sum(per_claim), "median": statistics.median(per_claim),
            "p99": p99(per_claim), "paid": paid / len(per_claim),
            "member": statistics.median(by_id), "family": statistics.median(family),
            "as_of": statistics.median(as_of)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=4000)
    args = parser.parse_args()
    sample = load_sample_book()
    book = Book(sample.plans, sample.formularies, sample.networks, sample.prices, Registry(),
                sample.part_d_plans, sample.known_ndcs)
    gc.freeze()
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for n in (1_000, args.members):
            csv_path = Path(tmp) / f"members-{n}.csv"
            start = time.perf_counter()
            keys = write_members(csv_path, n)
            made = time.perf_counter() - start
            db = Path(tmp) / f"store-{n}.db"
            store = SqliteStore(db)
            start = time.perf_counter()
            report = import_members(store, csv_path)
            took = time.perf_counter() - start
            store.close()
            size = csv_path.stat().st_size / 1e6
            print(f"{n:>9,} members: CSV of {report.rows:,} rows ({size:,.0f} MB) written in "
                  f"{made:.1f} s; imported into SQLite in {took:.1f} s "
                  f"({report.rows / took:,.0f} rows/s); {report.members:,} members on file")
            results[n] = measure(db, keys, book, args.claims)
        print()
        print(f"{'members in store':>18} {'claims/s':>9} {'median us':>10} {'p99 us':>8} "
              f"{'member us':>10} {'family us':>10} {'as-of us':>9}")
        for n, r in results.items():
            print(f"{n:>18,} {r['claims/s']:>9,.0f} {r['median'] * 1e6:>10.0f} "
                  f"{r['p99'] * 1e6:>8.0f} {r['member'] * 1e6:>10.1f} {r['family'] * 1e6:>10.1f} "
                  f"{r['as_of'] * 1e6:>9.1f}")
        small, big = results[1_000], results[args.members]
        print(f"\nclaims/s ratio {big['claims/s'] / small['claims/s']:.2f}, p99 ratio "
              f"{big['p99'] / small['p99']:.2f} ({args.members:,} vs 1,000 members); "
              f"paid {small['paid']:.0%} / {big['paid']:.0%}")


if __name__ == "__main__":
    main()
