"""Claims per second through the processor: in memory vs SQLite (durable and not).

    PYTHONPATH=src python benchmarks/bench_store.py [--claims 3000] [--profile]

The claims are a generated mix over four drugs that pay, each with its own Rx number (so every
one is adjudicated, posted and committed), for the bundled sample book plus synthetic
two-person families on its two plans (``--families``; a few claims per member, as in real
traffic: with only the eleven sample members each would carry hundreds of fills a year and
the history edits would dominate).  SCC 3 (vacation supply) keeps refill-too-soon quiet.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from pbm_engine.book import Book
from pbm_engine.eligibility.members import CoveragePeriod, Member
from pbm_engine.engine import Engine
from pbm_engine.processor import Processor
from pbm_engine.sources.loader import load_sample_book
from pbm_engine.store.base import Store
from pbm_engine.store.memory import MemoryStore
from pbm_engine.store.sqlite import SqliteStore

SAMPLE_MEMBERS = (("PPO1001", "001"), ("PPO1001", "002"), ("PPO1001", "003"),
                  ("PPO1001", "004"), ("PPO1004", "001"), ("HSA2001", "001"), ("HSA2001", "002"),
                  ("HSA2001", "003"), ("HSA2002", "001"))


def add_families(book: Book, n: int) -> list[tuple[str, str]]:
    """Add ``n`` synthetic two-person families to the book; return every member to bill."""
    members = list(SAMPLE_MEMBERS)
    for i in range(n):
        cardholder = f"BENCH{i:05d}"
        plan = "SAMPLE-PPO-2026" if i % 2 else "SAMPLE-HDHP-2026"
        for person, born, gender in (("001", dt.date(1980, 1, 1), 1),
                                     ("002", dt.date(1982, 6, 1), 2)):
            book.registry.add(Member(cardholder, person, cardholder, plan, born, gender,
                                     (CoveragePeriod(dt.date(2026, 1, 1)),)))
            members.append((cardholder, person))
    return members
DRUGS = (("00378410591", "30", "200.00"), ("61269060510", "60", "400.00"),
         ("00245531801", "30", None), ("00088222033", "10", None))


def claims(n: int, members: list[tuple[str, str]]) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        cardholder, person = members[i % len(members)]
        ndc, qty, uc = DRUGS[(i // len(members)) % len(DRUGS)]
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


def run(make: Callable[[Path], Store], requests: list[dict[str, Any]], engine: Engine,
        batch: int = 1) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        store = make(Path(tmp) / "bench.db")
        processor = Processor(engine, store)
        paid = 0
        start = time.perf_counter()
        for i in range(0, len(requests), batch):
            with store.transaction() if batch > 1 else nullcontext():
                for request in requests[i:i + batch]:
                    paid += processor.submit(request).paid
        elapsed = time.perf_counter() - start
        store.close()
    return len(requests) / elapsed, paid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=3000)
    parser.add_argument("--families", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="cProfile the durable run")
    args = parser.parse_args()
    book = load_sample_book()
    members = add_families(book, args.families)
    engine = Engine(book)
    requests = claims(args.claims, members)
    for r in requests[:50]:  # warm up caches
        engine.adjudicate(r)

    start = time.perf_counter()
    for r in requests:
        engine.adjudicate(r)
    rate = len(requests) / (time.perf_counter() - start)
    print(f"{'engine only (no store)':34} {rate:8,.0f} claims/s")
    modes: list[tuple[str, Callable[[Path], Store], int]] = [
        ("memory store", lambda p: MemoryStore(), 1),
        ("sqlite FULL, commit per claim", lambda p: SqliteStore(p), 1),
        ("sqlite NORMAL, commit per claim", lambda p: SqliteStore(p, synchronous="NORMAL"), 1),
        ("sqlite FULL, group commit of 100", lambda p: SqliteStore(p), 100),
    ]
    for name, make, batch in modes:
        rate, paid = run(make, requests, engine, batch)
        print(f"{name:34} {rate:8,.0f} claims/s  ({paid} of {len(requests)} paid)")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run(lambda p: SqliteStore(p), requests, engine)
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(12)
        print(text.getvalue())


if __name__ == "__main__":
    main()
