"""The ``pbm`` command.

    pbm adjudicate [CLAIMS.jsonl ...] [--book BOOK] [--out RESULTS.jsonl] [--trace]
                   [--db PATH [--fresh] [--synchronous FULL|NORMAL]]
    pbm reverse --db PATH --pharmacy ID --rx RX --fill N --date YYYY-MM-DD
    pbm accumulators --db PATH CARDHOLDER [--person 001] [--date YYYY-MM-DD]
    pbm history --db PATH CARDHOLDER [--person 001]
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
from typing import TYPE_CHECKING

import orjson

from .errors import PbmError
from .loader import load_book, sample_book_path
from .money import fmt
from .result import ClaimResult
from .textio import print_table, read_requests

if TYPE_CHECKING:
    from .eligibility import Member
    from .portal import Portal
    from .processor import Processor
    from .store.sqlite import SqliteStore

DEMO_DB = "pbm-demo.db"


def sample_claims_path() -> Path:
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
    from .engine import Engine
    from .processor import Processor
    from .store.base import Store
    from .store.memory import MemoryStore
    from .store.sqlite import SqliteStore, remove_store

    demo = not args.claims
    db = args.db or (DEMO_DB if demo else None)
    book = load_book(args.book)
    engine = Engine(book, trace=args.trace)
    store: Store
    if db is None:
        store = MemoryStore()
    else:
        if args.fresh or (demo and args.db is None):
            remove_store(db)
        store = SqliteStore(db, synchronous=args.synchronous)
    try:
        return _adjudicate(args, Processor(engine, store), db)
    finally:
        store.close()


def _adjudicate(args: argparse.Namespace, processor: Processor, db: str | None) -> int:
    files = [Path(p) for p in args.claims] or [sample_claims_path()]
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    rows = []
    counts: dict[str, int] = {}
    requests = read_requests(files)
    with out_path.open("wb") as out:
        for n, result in enumerate(processor.submit_many(requests, as_of=as_of,
                                                         commit_every=args.commit_every), 1):
            counts[result.status.value] = counts.get(result.status.value, 0) + 1
            if not args.quiet:
                rows.append(format_row(n, result))
            out.write(orjson.dumps(result.to_dict()) + b"\n")
    if not args.quiet:
        print_table(_COLUMNS, rows, sys.stdout)
    summary = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
    where = f"store {db}" if db else "in-memory store"
    total = sum(counts.values())
    print(f"\n{total} transactions ({summary}); results written to {out_path}; {where}")
    return 0


def _open_db(args: argparse.Namespace) -> SqliteStore:
    from .store.sqlite import SqliteStore

    return SqliteStore(args.db, create=False)


def cmd_reverse(args: argparse.Namespace) -> int:
    from .engine import Engine
    from .processor import Processor

    engine = Engine(load_book(args.book))
    request = {"transaction_code": "B2", "pharmacy_id": args.pharmacy, "rx_number": args.rx,
               "fill_number": args.fill, "date_of_service": args.date,
               "cardholder_id": args.cardholder or "-"}
    store = _open_db(args)
    try:
        result = Processor(engine, store).submit(request)
    finally:
        store.close()
    detail = "; ".join([*(f"{r.code} {r.message}" for r in result.rejects), *result.messages])
    print(f"{result.status.value}  {args.pharmacy} Rx {args.rx}/{args.fill} {args.date}"
          f"{'  ' + detail if detail else ''}")
    return 0 if result.status.value in ("A", "S") else 1


def _members(portal: Portal, args: argparse.Namespace) -> list[Member]:
    """The member named by --person, or the whole family of the cardholder."""
    member = portal.member(cardholder_id=args.cardholder, person_code=args.person or "001")
    return [member] if args.person else portal.family(member)


def cmd_accumulators(args: argparse.Namespace) -> int:
    from .portal import Portal

    book = load_book(args.book)
    store = _open_db(args)
    try:
        portal = Portal(book, store)
        members = _members(portal, args)
        day = dt.date.fromisoformat(args.date) if args.date else dt.date.today()
        summaries = [portal.accumulators(m, as_of=day) for m in members]
    finally:
        store.close()
    first = summaries[0]
    print(f"plan {first.plan_id}, plan year from {first.plan_year}, as of {day}"
          f"{', family coverage' if first.family_coverage else ''}")
    header = ("member", "limit", "individual", "member met", "member left", "family",
              "family met", "family left", "embedded")
    rows = []
    for s in summaries:
        for name, status in (("deductible", s.deductible), ("oop", s.oop)):
            if status is None:
                rows.append((s.member_id, name, "none", "", "", "", "", "", ""))
                continue
            rows.append((s.member_id, name, fmt(status.individual_limit), fmt(status.member_met),
                         fmt(status.member_remaining), _opt(status.family_limit),
                         fmt(status.family_met), _opt(status.family_remaining),
                         "yes" if status.embedded else "no"))
    print_table(header, rows, sys.stdout)
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from .portal import Portal

    book = load_book(args.book)
    store = _open_db(args)
    try:
        portal = Portal(book, store)
        members = _members(portal, args)
        items = [item for m in members for item in portal.history(m)]
    finally:
        store.close()
    items.sort(key=lambda i: i.entry_id)
    header = ("entry", "member", "date", "kind", "pharmacy", "rx/fill", "drug", "status",
              "patient", "plan", "ded", "oop")
    rows = [(str(i.entry_id), i.member_id, i.date_of_service.isoformat(), i.kind,
             i.pharmacy_id if i.kind == "claim" else "", f"{i.rx_number}/{i.fill_number}",
             (i.drug_name or i.ndc)[:26],
             f"reversed {i.reversed_on}" if i.reversed_on else i.status,
             fmt(i.patient_pay), fmt(i.plan_pay), fmt(i.delta.deductible), fmt(i.delta.oop))
            for i in items]
    print_table(header, rows, sys.stdout)
    print(f"\n{len(rows)} ledger entries")
    return 0


def _opt(cents: int | None) -> str:
    return "" if cents is None else fmt(cents)


def sample_proposed_book_path() -> Path:
    return Path(str(resources.files("pbm_engine") / "data" / "sample" / "book_proposed.yaml"))


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare

    before, after = load_book(args.before), load_book(args.after)
    files = [Path(p) for p in args.claims] or [sample_claims_path()]
    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    impact = compare(before, after, read_requests(files), as_of=as_of)
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
            a, b = c.before, c.after
            table.append((
                str(c.index), f"{a.cardholder_id}-{a.person_code}",
                f"{a.rx_number}/{a.fill_number}", (a.drug_name or b.drug_name or a.ndc)[:24],
                f"{a.status.value}->{b.status.value}" + (
                    f" {','.join(b.reject_codes)}" if b.rejects and not b.paid else ""),
                f"{fmt(a.patient_pay) if a.paid else '-'} -> "
                f"{fmt(b.patient_pay) if b.paid else '-'}",
                f"{fmt(a.plan_pay) if a.paid else '-'} -> {fmt(b.plan_pay) if b.paid else '-'}",
                ",".join(c.changed)))
        print_table(header, table, sys.stdout)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as handle:
            for c in impact.changes:
                handle.write(orjson.dumps({"index": c.index, "changed": list(c.changed),
                                           "before": c.before.to_dict(),
                                           "after": c.after.to_dict()}) + b"\n")
        print(f"\nchanged claims written to {out}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    book = load_book(args.book)
    print(f"ok: {len(book.plans)} plans, {len(book.part_d_plans)} Part D plans, "
          f"{len(book.formularies)} formularies, "
          f"{sum(len(f.drugs) for f in book.formularies.values())} drugs, "
          f"{len(book.registry.members)} members")
    for warning in book.warnings():
        print(f"warning: {warning}")
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
    adj.add_argument("--db", help="SQLite store (default: memory; the bundled demo uses a fresh "
                     f"{DEMO_DB} in the working directory)")
    adj.add_argument("--fresh", action="store_true", help="delete the --db store first")
    adj.add_argument("--commit-every", type=int, default=1, metavar="N",
                     help="group N claims per store transaction (batch runs; default 1)")
    adj.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL",
                     help="FULL: every commit fsynced (default); NORMAL: faster, the last "
                     "commits may be lost on power loss")
    adj.set_defaults(func=cmd_adjudicate)

    rev = sub.add_parser("reverse", help="reverse (B2) a paid claim in a store")
    rev.add_argument("--db", required=True, help="SQLite store")
    rev.add_argument("--pharmacy", required=True, help="pharmacy id (201-B1)")
    rev.add_argument("--rx", required=True, help="Rx number (402-D2)")
    rev.add_argument("--fill", type=int, default=0, help="fill number (403-D3)")
    rev.add_argument("--date", required=True, help="date of service (YYYY-MM-DD)")
    rev.add_argument("--cardholder", help="cardholder id (302-C2), optional")
    rev.add_argument("--book", default=str(sample_book_path()), help="book file")
    rev.set_defaults(func=cmd_reverse)

    for name, func, text in (
            ("accumulators", cmd_accumulators, "deductible and OOP met and left"),
            ("history", cmd_history, "the claim history in a store")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("cardholder", help="cardholder id (302-C2)")
        cmd.add_argument("--person", help="person code (default: the whole family)")
        cmd.add_argument("--db", required=True, help="SQLite store")
        cmd.add_argument("--book", default=str(sample_book_path()), help="book file")
        if name == "accumulators":
            cmd.add_argument("--date", help="as of this date (default: today)")
        cmd.set_defaults(func=func)

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
    val.set_defaults(func=cmd_validate)
    from .medicare.cli import add_commands

    add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PbmError as exc:
        print(f"pbm: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # a bad --date
        print(f"pbm: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
