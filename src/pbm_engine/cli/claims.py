"""``pbm adjudicate``, ``pbm compare`` and ``pbm validate``.

    pbm adjudicate [CLAIMS.jsonl ...] [--book BOOK] [--out RESULTS.jsonl] [--trace]
                   [--db PATH [--fresh] [--synchronous FULL|NORMAL]]
    pbm compare [CLAIMS.jsonl ...] --before BOOK --after BOOK
    pbm validate [BOOK]

With no claim files, ``adjudicate`` runs the bundled sample claims against the bundled sample
book, in a fresh SQLite store (``pbm-demo.db`` unless ``--db`` is given).  It prints a readable
table and writes one JSON result per line.  With claim files, the store is ``--db`` (kept between
runs; ``--fresh`` starts it over) or, without ``--db``, memory.  A store that cannot be used
(missing, damaged, newer schema) is a one-line error and exit code 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from pbm_engine.cli.openers import check_store_path, load_book_arg, open_store, store_errors
from pbm_engine.cli.paths import SafeOutput, input_file, parse_date, store_files
from pbm_engine.cli.runner import errors_path, run_claims
from pbm_engine.cli.textio import Unreadable, print_table, read_requests
from pbm_engine.errors import UsageError
from pbm_engine.money import fmt
from pbm_engine.result import ClaimResult
from pbm_engine.sources.paths import sample_book_path

if TYPE_CHECKING:
    from pbm_engine.processor import Processor

__all__ = ["register", "sample_claims_path", "sample_proposed_book_path"]

DEMO_DB = "pbm-demo.db"


def sample_claims_path() -> Path:
    """The bundled sample claims (JSON lines)."""
    return Path(str(resources.files("pbm_engine") / "data" / "sample" / "claims.jsonl"))


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


def cmd_adjudicate(args: argparse.Namespace) -> int:
    from pbm_engine.engine import Engine
    from pbm_engine.processor import Processor
    from pbm_engine.store import is_postgres
    from pbm_engine.store.base import Store
    from pbm_engine.store.memory import MemoryStore
    from pbm_engine.store.sqlite import remove_store

    demo = not args.claims
    db = args.db or (DEMO_DB if demo else None)
    # Every check first; nothing is opened for writing until all pass.
    files = [input_file(p, "CLAIMS") for p in args.claims] or [sample_claims_path()]
    book_path = input_file(args.book, "--book")
    protect = [*files, book_path, *store_files(db)]
    results = SafeOutput(args.out, "--out", protect)
    errors = SafeOutput(errors_path(results.path), "--out", protect)
    results.protects(errors)
    as_of = parse_date(args.as_of, "--as-of")
    if args.commit_every < 1:
        raise UsageError(f"{args.commit_every} is not a positive number (--commit-every)")
    if db is not None:
        check_store_path(db, "--db")
    book = load_book_arg(book_path)
    engine = Engine(book, trace=args.trace)
    store: Store
    if db is None:
        store = MemoryStore()
    else:
        if args.fresh or (demo and args.db is None):
            if is_postgres(db):
                raise UsageError("--fresh deletes a SQLite file; it does not apply to "
                                 "PostgreSQL (--fresh)")
            with store_errors("--db"):
                remove_store(db)
        store = open_store(db, "--db", synchronous=args.synchronous)
    try:
        return _adjudicate(args, Processor(engine, store), db, files, results, errors, as_of)
    finally:
        store.close()


def _adjudicate(args: argparse.Namespace, processor: Processor, db: str | None,
                files: list[Path], results: SafeOutput, errors: SafeOutput,
                as_of: dt.date | None) -> int:
    rows: list[tuple[str, ...]] = []

    def each(result: ClaimResult) -> None:
        if not args.quiet:
            rows.append(format_row(len(rows) + 1, result))

    summary = run_claims(processor.submit_many, files, results, errors, each, as_of=as_of,
                         commit_every=args.commit_every)
    if not args.quiet:
        print_table(_COLUMNS, rows, sys.stdout)
    from pbm_engine.store import redact

    counts = ", ".join(f"{k}={v}" for k, v in sorted(summary.counts.items()))
    where = f"store {redact(db)}" if db else "in-memory store"
    print(f"\n{summary.total} transactions ({counts}); results written to {results.path}; "
          f"{where}")
    return summary.report(errors.path)


def sample_proposed_book_path() -> Path:
    """The bundled proposed plan change (``pbm compare``'s default after-book)."""
    return Path(str(resources.files("pbm_engine") / "data" / "sample" / "book_proposed.yaml"))


def cmd_compare(args: argparse.Namespace) -> int:
    from pbm_engine.admin.compare import compare

    before_path = input_file(args.before, "--before")
    after_path = input_file(args.after, "--after")
    files = [input_file(p, "CLAIMS") for p in args.claims] or [sample_claims_path()]
    as_of = parse_date(args.as_of, "--as-of")
    out = SafeOutput(args.out, "--out", [*files, before_path, after_path]) if args.out else None
    before = load_book_arg(before_path, "--before")
    after = load_book_arg(after_path, "--after")
    unreadable: list[Unreadable] = []
    impact = compare(before, after, read_requests(files, unreadable), as_of=as_of)
    print(f"{impact.claims} transactions through {args.before} (before) and {args.after} "
          "(after)\n")
    paid = (str(impact.status_before.get("P", 0)), str(impact.status_after.get("P", 0)))
    rows = [("paid claims", *paid, f"{int(paid[1]) - int(paid[0]):+d}")]
    for name in ("total_price", "plan_pay", "patient_pay", "member_paid", "deductible_applied",
                 "copay_amount", "coinsurance_amount", "product_selection_amount"):
        a, b = impact.totals_before[name], impact.totals_after[name]
        rows.append((name.replace("_", " "), fmt(a), fmt(b), ("+" if b >= a else "") + fmt(b - a)))
    print_table(("", "before", "after", "change"), rows, sys.stdout)
    print(f"\n{len(impact.changes)} claims answer differently ({impact.newly_rejected} newly "
          f"rejected, {impact.newly_paid} newly paid)")
    shown = sorted(impact.changes, key=lambda c: -abs(c.patient_pay_delta))[: args.show]
    if shown:
        print()
        header = ("#", "member", "rx/fill", "drug", "status", "patient pay", "plan pay",
                  "changed")
        table = []
        for c in sorted(shown, key=lambda c: c.index):
            old, new = c.before, c.after
            table.append((
                str(c.index), f"{old.cardholder_id}-{old.person_code}",
                f"{old.rx_number}/{old.fill_number}",
                (old.drug_name or new.drug_name or old.ndc)[:24],
                f"{old.status.value}->{new.status.value}" + (
                    f" {','.join(new.reject_codes)}" if new.rejects and not new.paid else ""),
                f"{fmt(old.patient_pay) if old.paid else '-'} -> "
                f"{fmt(new.patient_pay) if new.paid else '-'}",
                f"{fmt(old.plan_pay) if old.paid else '-'} -> "
                f"{fmt(new.plan_pay) if new.paid else '-'}",
                ",".join(c.changed)))
        print_table(header, table, sys.stdout)
    if out is not None:
        with out.open() as handle:
            for c in impact.changes:
                handle.write(orjson.dumps({"index": c.index, "changed": list(c.changed),
                                           "before": c.before.to_dict(),
                                           "after": c.after.to_dict()}) + b"\n")
        print(f"\nchanged claims written to {out.path}")
    if unreadable:
        first = unreadable[0]
        print(f"pbm: {len(unreadable)} line(s) could not be read (first: {first.path} line "
              f"{first.line}: {first.reason})", file=sys.stderr)
        return 1
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Exit 0: valid (warnings listed); 1: errors (or warnings with --strict); 2: usage."""
    from pbm_engine.errors import ConfigError
    from pbm_engine.sources.federal import limits_for
    from pbm_engine.sources.loader import load_book

    path = input_file(args.book, "BOOK")
    try:
        book = load_book(path)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        for line in lines:
            print(f"error: {line}", file=sys.stderr)
        print(f"pbm: {len(lines)} error(s) in {path}", file=sys.stderr)
        if args.report:
            _validate_report(args.report, path, [("book", "not loaded")],
                             [("error", line) for line in lines])
        return 1
    print(f"ok: {len(book.plans)} plans, {len(book.part_d_plans)} Part D plans, "
          f"{len(book.formularies)} formularies, "
          f"{sum(len(f.drugs) for f in book.formularies.values())} drugs, "
          f"{len(book.registry.members)} members")
    warnings = book.warnings(limits_for)
    for warning in warnings:
        print(f"warning: {warning}")
    if args.report:
        summary = [("plans", str(len(book.plans))), ("Part D plans", str(len(book.part_d_plans))),
                   ("formularies", str(len(book.formularies))),
                   ("members", str(len(book.registry.members)))]
        _validate_report(args.report, path, summary, [("warning", w) for w in warnings])
    if args.strict and warnings:
        print(f"pbm: {len(warnings)} warning(s), and --strict makes them fail", file=sys.stderr)
        return 1
    return 0


def _validate_report(out: str, path: Any, summary: list[tuple[str, str]],
                     findings: list[tuple[str, str]]) -> None:
    from pbm_engine.admin.report import findings_report, write_report

    write_report(findings_report("Book check", f"pbm validate {path}", summary, findings), out)
    print(f"report written to {out}")


def register(sub: Any) -> None:
    """Add ``adjudicate``, ``compare`` and ``validate`` to the ``pbm`` parser."""

    adj = sub.add_parser("adjudicate", help="adjudicate claims (JSON lines) and print a table")
    adj.add_argument("claims", nargs="*", help="claim files, one JSON claim per line "
                     "(default: the bundled sample claims)")
    adj.add_argument("--book", default=str(sample_book_path()), help="book file")
    adj.add_argument("--out", default="out/results.jsonl", help="results file (JSON lines)")
    adj.add_argument("--as-of", help="processing date for the post-dated and timely-filing "
                     "edits (YYYY-MM-DD; default: not checked)")
    adj.add_argument("--trace", action="store_true", help="record an explanation per claim")
    adj.add_argument("--quiet", action="store_true", help="print only the summary")
    adj.add_argument("--db", help="SQLite file or postgresql:// URL (default: memory; the "
                     f"bundled demo uses a fresh {DEMO_DB} in the working directory); members "
                     "imported into it (pbm members import) are used instead of the book's")
    adj.add_argument("--fresh", action="store_true", help="delete the --db store first")
    adj.add_argument("--commit-every", type=int, default=1, metavar="N",
                     help="group N claims per store transaction (batch runs; default 1)")
    adj.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL",
                     help="FULL: every commit fsynced (default); NORMAL: faster, the last "
                     "commits may be lost on power loss")
    adj.set_defaults(func=cmd_adjudicate)

    cmp_ = sub.add_parser("compare", help="the impact of a plan change: the same claims "
                          "through two books")
    cmp_.add_argument("claims", nargs="*", help="claim files (default: the bundled sample "
                      "claims)")
    cmp_.add_argument("--before", default=str(sample_book_path()), help="current book")
    cmp_.add_argument("--after", default=str(sample_proposed_book_path()),
                      help="proposed book (default: the sample's proposed PPO design)")
    cmp_.add_argument("--as-of", help="processing date for the post-dated and timely-filing edits")
    cmp_.add_argument("--show", type=int, default=15, help="changed claims to list (largest "
                      "member-cost changes first)")
    cmp_.add_argument("--out", help="write every changed claim, before and after (JSON lines)")
    cmp_.set_defaults(func=cmd_compare)

    val = sub.add_parser("validate", help="load and check a book and every file it lists")
    val.add_argument("book", nargs="?", default=str(sample_book_path()))
    val.add_argument("--report", metavar="DIR", help="also write the findings as a report "
                     "(report.md, report.html, findings.csv)")
    val.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    val.set_defaults(func=cmd_validate)


