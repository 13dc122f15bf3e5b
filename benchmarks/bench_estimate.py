"""In-process cost estimates: latency of ``Estimator.estimate`` on a SQLite store.

    PYTHONPATH=src python benchmarks/bench_estimate.py [--n 3000] [--fills 50] [--profile]

The member (PPO1001-001 of the sample book) has ``--fills`` paid fills in the year before the
estimate date, posted through the processor into a fresh SQLite store.  Each estimate answers
ZOMIG 5 MG NASAL SPRAY (which pays with a brand penalty) at retail 30 days and mail 90 days
and prices up to five cheaper alternatives (the generic, the other triptans, mail order).
Prints p50, p90, p99 and max wall time in microseconds, and the same percentiles of the thread's
CPU time (on a shared, overloaded machine the wall figures include time the process waited for a
core); ``--memory`` runs on the in-memory store too.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import tempfile
import time
from pathlib import Path

from pbm_engine.engine import Engine
from pbm_engine.portal.estimate import Estimator
from pbm_engine.processor import Processor
from pbm_engine.sources.loader import load_sample_book
from pbm_engine.store.base import Store
from pbm_engine.store.memory import MemoryStore
from pbm_engine.store.sqlite import SqliteStore

AS_OF = dt.date(2026, 12, 20)
HISTORY = (("16571080316", "9"), ("00054014025", "30"), ("00378410591", "30"),
           ("29300043001", "30"), ("50268005011", "30"))


def seed(store: Store, fills: int) -> None:
    """``fills`` paid claims for PPO1001-001 spread over the year before AS_OF."""
    book = load_sample_book()
    processor = Processor(Engine(book), store)
    paid = 0
    for i in range(fills * 4):
        if paid == fills:
            break
        ndc, qty = HISTORY[i % len(HISTORY)]
        day = AS_OF - dt.timedelta(days=350 - (i * 7) % 345)
        result = processor.submit({
            "transaction_code": "B1", "cardholder_id": "PPO1001", "person_code": "001",
            "date_of_service": day.isoformat(), "rx_number": f"{8000000 + i}", "fill_number": 0,
            "ndc": ndc, "quantity": qty, "days_supply": 30, "daw": 0,
            "pharmacy_id": "1234567893", "channel": "retail", "prescriber_id": "1003000126",
            "clarification_codes": [3]})
        paid += result.paid
    if paid < fills:
        raise SystemExit(f"only {paid} of {fills} seed fills paid")


def run(label: str, store: Store, n: int, profile: bool) -> None:
    book = load_sample_book()
    estimator = Estimator(book, store)
    question = {"member_id": "PPO1001-001", "ndc": "64896008412", "as_of": AS_OF}
    first = estimator.estimate(**question)  # type: ignore[arg-type]
    for _ in range(200):
        estimator.estimate(**question)  # type: ignore[arg-type]
    times = []
    cpu = []
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    for _ in range(n):
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        estimator.estimate(**question)  # type: ignore[arg-type]
        times.append(time.perf_counter_ns() - t0)
        cpu.append(time.thread_time_ns() - c0)
    if prof:
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    times.sort()
    cpu.sort()

    def pct(p: float, values: list[int] = times) -> float:
        return values[min(len(values) - 1, int(p * len(values)))] / 1000

    covered = [c.channel.value for c in first.channels if c.covered]
    print(f"{label:8s} n={n} channels covered={covered} alternatives="
          f"{len(first.alternatives)}: p50 {pct(0.50):7.1f} us  p90 {pct(0.90):7.1f} us  "
          f"p99 {pct(0.99):7.1f} us  max {times[-1] / 1000:7.1f} us (wall)\n{'':9s}CPU time "
          f"of the thread: p50 {pct(0.5, cpu):7.1f} us  p90 {pct(0.9, cpu):7.1f} us  "
          f"p99 {pct(0.99, cpu):7.1f} us (what the wall figures are on an idle core)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--fills", type=int, default=50)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--memory", action="store_true", help="also run on the in-memory store")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, SqliteStore(Path(tmp) / "bench.db") as store:
        seed(store, args.fills)
        count = sum(1 for e in store.entries("PPO1001-001") if e.active)
        print(f"member PPO1001-001: {count} paid fills in the window")
        run("sqlite", store, args.n, args.profile)
    if args.memory:
        memory = MemoryStore()
        seed(memory, args.fills)
        run("memory", memory, args.n, False)


if __name__ == "__main__":
    main()
