"""The cost of one more claim for a member with 10 / 100 / 1,000 / 10,000 fills in the history
window, on the memory, SQLite and PostgreSQL stores.

    PYTHONPATH=src python benchmarks/bench_history.py [--postgres URL|auto|none] [--claims 200]

For each store and size: the member's window (the 400 days before the claim) is filled with
that many paid fills of other therapies, then each measured claim is a B1 that pays (refill too
soon, DUR and the quantity limit all read the window) followed by its reversal, so the window
stays the same size; the B1 alone is timed (through the processor: member lookup, history,
accumulators, ledger write, commit).  SQLite runs with ``synchronous=NORMAL`` so an fsync per
commit does not hide the history cost.  ``--postgres auto`` starts a throw-away server with
tests/pg.py (PostgreSQL server binaries needed); ``none`` skips PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pbm_engine.accumulators import Fill, Totals
from pbm_engine.claim import ClaimKey
from pbm_engine.codes import Status, Transaction
from pbm_engine.engine import Engine
from pbm_engine.processor import Processor
from pbm_engine.result import ClaimResult
from pbm_engine.sources.loader import load_sample_book
from pbm_engine.store.base import LedgerEntry, Store
from pbm_engine.store.memory import MemoryStore
from pbm_engine.store.sqlite import SqliteStore

MEMBER, FAMILY, PLAN = "PPO1001-001", "PPO1001", "SAMPLE-PPO-2026"
DAY = dt.date(2026, 12, 15)
SIZES = (10, 100, 1_000, 10_000)


def fill_history(store: Store, n: int) -> None:
    """``n`` paid fills of other therapies in the 400 days before :data:`DAY`."""
    result = ClaimResult(Status.PAID, Transaction.BILLING, member_id=MEMBER, family_id=FAMILY,
                         plan_id=PLAN)
    with store.transaction():
        for i in range(n):
            day = DAY - dt.timedelta(days=1 + i * 399 // max(1, n))
            key = ClaimKey("9999999999", f"H{i:07d}", 0, day)
            fill = Fill(MEMBER, day, f"{90000000000 + i % 500:011d}", f"OTHER{i % 500}",
                        frozenset({f"CLASS:OTHER{i % 7}"}), 30_000, 30, key.rx_number, 0,
                        key.pharmacy_id)
            store.record(LedgerEntry(0, key, PLAN, dt.date(day.year, 1, 1), MEMBER, FAMILY,
                                     Totals(), fill, result))


def request(i: int, tx: str = "B1") -> dict[str, Any]:
    return {"transaction_code": tx, "cardholder_id": "PPO1001", "person_code": "001",
            "date_of_service": DAY.isoformat(), "rx_number": f"M{i:07d}", "fill_number": 0,
            "ndc": "00378410591", "quantity": "30", "days_supply": 30, "daw": 0,
            "pharmacy_id": "1234567893", "channel": "retail", "usual_and_customary": "200.00"}


def one_more_claim(make: Callable[[], Store], n: int, claims: int, engine: Engine) -> float:
    """Median seconds of one more (paid) claim with ``n`` fills in the window."""
    store = make()
    try:
        fill_history(store, n)
        processor = Processor(engine, store)
        samples = []
        for i in range(claims + 10):
            start = time.perf_counter()
            result = processor.submit(request(i))
            took = time.perf_counter() - start
            assert result.status is Status.PAID, result.rejects
            processor.submit(request(i, "B2"))
            if i >= 10:
                samples.append(took)
        return statistics.median(samples)
    finally:
        store.close()


@contextmanager
def postgres(choice: str) -> Iterator[Callable[[], str] | None]:
    if choice == "none":
        yield None
        return
    if choice != "auto":
        import psycopg

        counter = iter(range(1_000_000))

        def fresh_from_url() -> str:
            name = f"bench_{next(counter)}"
            with psycopg.connect(choice, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
                conn.execute(f"CREATE SCHEMA {name}")
            joiner = "&" if "?" in choice else "?"
            return f"{choice}{joiner}options=-csearch_path%3D{name}"

        yield fresh_from_url
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.pg import PostgresServer, unavailable

    why = unavailable()
    if why:
        print(f"PostgreSQL skipped: {why}")
        yield None
        return
    with PostgresServer() as server:
        yield server.fresh_url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default="auto", help="URL, auto or none")
    parser.add_argument("--claims", type=int, default=200)
    args = parser.parse_args()
    engine = Engine(load_sample_book())
    gc.freeze()
    with tempfile.TemporaryDirectory() as tmp, postgres(args.postgres) as pg_url:
        counter = iter(range(1_000_000))
        makers: list[tuple[str, Callable[[], Store]]] = [
            ("memory", MemoryStore),
            ("sqlite", lambda: SqliteStore(Path(tmp) / f"h{next(counter)}.db",
                                           synchronous="NORMAL")),
        ]
        if pg_url is not None:
            from pbm_engine.store.postgres import PostgresStore

            makers.append(("postgresql", lambda: PostgresStore(pg_url())))
        print(f"{'fills in window':>16}" + "".join(f"{name:>14}" for name, _ in makers)
              + "   (median per claim, microseconds)")
        for n in SIZES:
            cells = [one_more_claim(make, n, args.claims, engine) for _, make in makers]
            print(f"{n:>16,}" + "".join(f"{c * 1e6:>14,.0f}" for c in cells))


if __name__ == "__main__":
    main()
