"""Fuzz the claim path: N random mutations of the bundled claims, as a hostile sender would.

    python benchmarks/fuzz_claims.py [--n 1000000] [--seed 1] [--sqlite-every 50]

Each input is one bundled claim (commercial or Part D sample) with one to three mutations: a
field replaced by a hostile value (huge, exponent or non-ASCII numbers, odd dates, surrogates,
control characters, containers, 64 KB strings), a field deleted or renamed to its D.0 id, or the
whole request sent as JSON text/bytes with a byte flipped or cut.  Every input goes through
``Engine.adjudicate`` (empty views) and ``Processor.submit`` on a memory store; every
``--sqlite-every``-th one also through a SQLite store.  Prints:

* uncaught exceptions (by type, with one example input each),
* results that do not serialize (orjson) or paid results that do not balance,
* the slowest single input in milliseconds and its size.  On a shared machine one timing can
  include a pause of the whole process, so the ten slowest inputs of each entry point are run
  again five times at the end; the figure is the slowest of those best-of-five times (the first,
  single timing is printed too).  The engine is a pure function, so its re-runs repeat the same
  work; a store may answer a re-run as a duplicate, so the engine figure is the one to quote.

Deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from pbm_engine.claim import FIELDS
from pbm_engine.cli.partd import sample_partd_book_path, sample_partd_claims_path
from pbm_engine.engine import Engine
from pbm_engine.processor import Processor
from pbm_engine.result import ClaimResult
from pbm_engine.sources.loader import load_book, sample_book_path
from pbm_engine.store.memory import MemoryStore
from pbm_engine.store.sqlite import SqliteStore

SAMPLE_CLAIMS = sample_book_path().parent / "claims.jsonl"

HOSTILE: list[Any] = [
    None, True, False, 0, -1, 1, 99, 100, 2**63, -(2**63), 10**20, 10**400, 1.5, 1e308, -0.0,
    float("inf"), float("nan"), "", " ", "0", "-0", "1e999999", "1e999990", "-1e999999",
    "1E5", "1e-999999", "9" * 5000, "0." + "0" * 4000 + "1", "999999.99", "1000000.00",
    "9999999.999", "10000000", "٣٠", "３０", "30\x00", "\ud800", "\udfff\ud800", "a\u202eb",
    "\x1b[31m", "\n", "x" * 65_536, "0001-01-01", "9999-12-31", "1979-12-31", "2100-01-01",
    "2026-02-30", "20260230", "2026-W01-1", "+2026-01-01", 20260202, 2026, "00378410591 ",
    "0037841059", "00378-4105-91", "ndc", "NaN", "Infinity", "0x1F", "1_000", "$12.34",
    "1,234.00", "12.345", "12.340", [], {}, [1, 2], {"a": 1}, [[[[[]]]]], ["x"] * 100,
    [{"reason": "\ud800", "professional": 1, "result": None}],
    [{"reason": "DD", "professional": "M0", "result": "1G"}] * 20,
]
TX_CODES = ["B1", "B2", "B3", "b3", "X1", ""]


def hostile(rng: random.Random) -> Any:
    if rng.random() < 0.15:
        width = rng.choice((1, 8, 20, 400, 5000))
        return "".join(chr(rng.choice((rng.randint(0, 0x7F), rng.randint(0, 0x10FFFF))))
                       for _ in range(rng.randint(0, width)))
    if rng.random() < 0.1:
        return rng.choice(("", "-")) + str(rng.randint(0, 10**rng.randint(1, 30)))
    return rng.choice(HOSTILE)


def mutate(rng: random.Random, base: dict[str, Any]) -> Any:
    claim = dict(base)
    claim.pop("note", None)
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        field = rng.choice(list(FIELDS))
        if roll < 0.65:
            claim[field] = hostile(rng)
        elif roll < 0.75:
            claim.pop(field, None)
        elif roll < 0.82 and field in claim:
            claim[FIELDS[field][0]] = claim.pop(field)
        elif roll < 0.88:
            claim["transaction_code"] = rng.choice(TX_CODES)
        else:
            key = hostile(rng)
            claim[key if isinstance(key, str) else "unknown"] = hostile(rng)
    form = rng.random()
    if form < 0.8:
        return claim
    try:
        data = orjson.dumps(claim)
    except (TypeError, orjson.JSONEncodeError):
        return claim
    if form < 0.9:
        return data.decode("utf-8")
    raw = bytearray(data)
    if raw and rng.random() < 0.5:
        raw[rng.randrange(len(raw))] = rng.randrange(256)
    else:
        del raw[rng.randrange(len(raw) + 1):]
    return bytes(raw)


def check(result: Any, problems: Counter[str], examples: dict[str, Any], sample: Any) -> None:
    if not isinstance(result, ClaimResult):
        problems["not a ClaimResult"] += 1
        return
    try:
        orjson.dumps(result.to_dict())
    except (TypeError, orjson.JSONEncodeError) as exc:
        problems[f"does not serialize: {exc}"] += 1
        examples.setdefault("serialize", sample)
    if result.paid:
        parts = result.member_paid + result.other_payer_paid + result.plan_pay
        extra = result.extra or {}
        if "manufacturer_discount" in extra:  # Part D: the sponsor's and others' shares
            return
        if parts != result.total_price:
            problems["paid result does not balance"] += 1
            examples.setdefault("imbalance", sample)


def load_claims(path: Path) -> list[dict[str, Any]]:
    out = []
    with path.open("rb") as handle:
        for line in handle:
            try:
                out.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="inputs (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sqlite-every", type=int, default=50,
                        help="send every k-th input through a SQLite store too")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    books = [(load_book(sample_book_path()), load_claims(SAMPLE_CLAIMS)),
             (load_book(sample_partd_book_path()), load_claims(sample_partd_claims_path()))]
    with tempfile.TemporaryDirectory() as tmp:
        setups = []
        for i, (book, claims) in enumerate(books):
            engine = Engine(book)
            setups.append((engine, Processor(engine, MemoryStore()),
                           Processor(engine, SqliteStore(Path(tmp) / f"fuzz{i}.db",
                                                         synchronous="NORMAL")), claims))
        for engine, _memory, _sqlite, claims in setups:  # warm the lazily built parameters
            for claim in claims:
                engine.adjudicate(claim)
        exceptions: Counter[str] = Counter()
        problems: Counter[str] = Counter()
        examples: dict[str, Any] = {}
        slowest: dict[str, list[tuple[float, Any, Any]]] = {}
        start = time.perf_counter()
        for i in range(args.n):
            engine, memory, sqlite, claims = setups[0 if rng.random() < 0.75 else 1]
            sample = mutate(rng, rng.choice(claims))
            targets = [("engine", engine.adjudicate), ("memory store", memory.submit)]
            if args.sqlite_every and i % args.sqlite_every == 0:
                targets.append(("SQLite store", sqlite.submit))
            for where, target in targets:
                t0 = time.perf_counter()
                try:
                    result = target(sample)
                except Exception as exc:  # what the fuzzer is looking for
                    name = type(exc).__name__
                    exceptions[name] += 1
                    examples.setdefault(name, (repr(sample)[:300], str(exc)[:200]))
                    continue
                elapsed = time.perf_counter() - t0
                top = slowest.setdefault(where, [])
                if len(top) < 10 or elapsed > top[-1][0]:
                    top.append((elapsed, sample, target))
                    top.sort(key=lambda x: -x[0])
                    del top[10:]
                check(result, problems, examples, sample)
            if (i + 1) % 100_000 == 0:
                print(f"  {i + 1:,} inputs, {time.perf_counter() - start:.0f} s", flush=True)
        retimed = {where: max(((_best_of(5, target, sample), first, sample)
                               for first, sample, target in top), key=lambda x: x[0])
                   for where, top in slowest.items()}
        for _engine, _memory, sqlite, _claims in setups:
            sqlite.store.close()
    total = time.perf_counter() - start
    print(f"inputs: {args.n:,} (seed {args.seed}) in {total:.0f} s")
    print(f"uncaught exceptions: {sum(exceptions.values())}")
    for name, count in exceptions.most_common():
        print(f"  {name}: {count}  e.g. {examples[name]}")
    print(f"results that do not serialize: "
          f"{sum(v for k, v in problems.items() if k.startswith('does not'))}")
    print(f"paid results that do not balance: {problems['paid result does not balance']}")
    for name, count in problems.items():
        if name != "paid result does not balance":
            print(f"  {name}: {count}")
    for where, (best, first, sample) in retimed.items():
        print(f"slowest single input, {where}: {best * 1000:.2f} ms best of 5 (first timing "
              f"{first * 1000:.2f} ms; {_size(sample):,} bytes as JSON): {repr(sample)[:90]}")
    return 1 if exceptions or problems else 0


def _best_of(n: int, target: Any, sample: Any) -> float:
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        target(sample)
        best = min(best, time.perf_counter() - t0)
    return best


def _size(sample: Any) -> int:
    if isinstance(sample, str | bytes):
        return len(sample)
    try:
        return len(orjson.dumps(sample, default=str, option=orjson.OPT_NON_STR_KEYS))
    except (TypeError, orjson.JSONEncodeError):
        return -1


if __name__ == "__main__":
    sys.exit(main())
