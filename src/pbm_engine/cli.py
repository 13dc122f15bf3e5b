"""The ``pbm`` command.

    pbm adjudicate [CLAIMS.jsonl ...] [--book BOOK] [--out RESULTS.jsonl] [--trace]
    pbm validate [BOOK]

With no claim files, ``adjudicate`` runs the bundled sample claims against the bundled sample
book.  It prints a readable table and writes one JSON result per line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import orjson

from .errors import PbmError
from .loader import load_book, sample_book_path
from .money import fmt
from .result import ClaimResult


def sample_claims_path() -> Path:
    return Path(str(resources.files("pbm_engine") / "data" / "sample" / "claims.jsonl"))


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed object or raw bytes when malformed) for each non-blank line."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, orjson.loads(line)
            except orjson.JSONDecodeError:
                yield number, line  # the engine turns it into an R8 reject


_COLUMNS = ("#", "tx", "member", "rx/fill", "date", "drug", "st", "rejects", "price", "patient",
            "plan", "ded", "basis")


def format_row(n: int, r: ClaimResult) -> tuple[str, ...]:
    paid = r.status.value in ("P", "D")
    member = f"{r.cardholder_id}-{r.person_code}" if r.cardholder_id else "?"
    return (
        str(n), r.transaction.value, member, f"{r.rx_number}/{r.fill_number}",
        r.date_of_service.isoformat() if r.date_of_service else "",
        (r.drug_name or r.ndc)[:26], r.status.value, ",".join(r.reject_codes),
        fmt(r.total_price) if paid else "", fmt(r.patient_pay) if paid else "",
        fmt(r.plan_pay) if paid else "", fmt(r.deductible_applied) if paid else "",
        r.basis if paid else "",
    )


def print_table(rows: list[tuple[str, ...]], out: TextIO) -> None:
    widths = [max(len(c[i]) for c in [_COLUMNS, *rows]) for i in range(len(_COLUMNS))]
    line = "  ".join(h.ljust(w) for h, w in zip(_COLUMNS, widths, strict=True))
    out.write(line + "\n" + "-" * len(line) + "\n")
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")


def cmd_adjudicate(args: argparse.Namespace) -> int:
    from .engine import Engine
    from .processor import Processor
    from .store.memory import MemoryStore

    book = load_book(args.book)
    engine = Engine(book, trace=args.trace)
    store = MemoryStore()
    processor = Processor(engine, store)
    files = [Path(p) for p in args.claims] or [sample_claims_path()]
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    rows = []
    counts: dict[str, int] = {}
    with out_path.open("wb") as out:
        n = 0
        for path in files:
            for _, request in read_jsonl(path):
                n += 1
                result = processor.submit(request, as_of=as_of)
                counts[result.status.value] = counts.get(result.status.value, 0) + 1
                rows.append(format_row(n, result))
                out.write(orjson.dumps(result.to_dict()) + b"\n")
    if not args.quiet:
        print_table(rows, sys.stdout)
    summary = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
    print(f"\n{len(rows)} transactions ({summary}); results written to {out_path}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    book = load_book(args.book)
    print(f"ok: {len(book.plans)} plans, {len(book.formularies)} formularies, "
          f"{sum(len(f.drugs) for f in book.formularies.values())} drugs, "
          f"{len(book.registry.members)} members")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pbm", description="Pharmacy claims adjudication.")
    sub = parser.add_subparsers(dest="command", required=True)

    adj = sub.add_parser("adjudicate", help="adjudicate claims (JSON lines) and print a table")
    adj.add_argument("claims", nargs="*", help="claim files, one JSON claim per line "
                     "(default: the bundled sample claims)")
    adj.add_argument("--book", default=str(sample_book_path()), help="book file")
    adj.add_argument("--out", default="out/results.jsonl", help="results file (JSON lines)")
    adj.add_argument("--as-of", help="processing date for the post-dated and timely-filing "
                     "edits (YYYY-MM-DD; default: not checked)")
    adj.add_argument("--trace", action="store_true", help="record an explanation per claim")
    adj.add_argument("--quiet", action="store_true", help="print only the summary")
    adj.set_defaults(func=cmd_adjudicate)

    val = sub.add_parser("validate", help="load and check a book and every file it lists")
    val.add_argument("book", nargs="?", default=str(sample_book_path()))
    val.set_defaults(func=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PbmError as exc:
        print(f"pbm: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
