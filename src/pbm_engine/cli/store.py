"""``pbm reverse``, ``pbm accumulators`` and ``pbm history``: a claim store's lifecycle and views.

    pbm reverse --db PATH --pharmacy ID --rx RX --fill N --date YYYY-MM-DD
    pbm accumulators --db PATH CARDHOLDER [--person 001] [--date YYYY-MM-DD]
    pbm history --db PATH CARDHOLDER [--person 001]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING, Any

from pbm_engine.cli.openers import load_book_arg, open_store
from pbm_engine.cli.paths import input_file, parse_date
from pbm_engine.cli.textio import print_table
from pbm_engine.errors import UsageError
from pbm_engine.money import fmt
from pbm_engine.sources.paths import sample_book_path

if TYPE_CHECKING:
    from pbm_engine.eligibility.members import Member
    from pbm_engine.portal.views import Portal
    from pbm_engine.store.base import Store

__all__ = ["register"]


def _open_db(args: argparse.Namespace, *, readonly: bool = False) -> Store:
    """The --db store (a SQLite file or a ``postgresql://`` URL): it must exist; queries open
    a SQLite file read-only (no write access needed)."""
    return open_store(args.db, "--db", create=False, readonly=readonly)


def cmd_reverse(args: argparse.Namespace) -> int:
    from pbm_engine.engine import Engine
    from pbm_engine.processor import Processor

    day = parse_date(args.date, "--date")
    book_path = input_file(args.book, "--book")
    request = {"transaction_code": "B2", "pharmacy_id": args.pharmacy, "rx_number": args.rx,
               "fill_number": args.fill, "date_of_service": str(day),
               "cardholder_id": args.cardholder or "-"}
    engine = Engine(load_book_arg(book_path))
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
    try:
        member = portal.member(cardholder_id=args.cardholder,
                               person_code=(args.person or "001").zfill(3))
    except UsageError as exc:
        raise UsageError(f"{exc} (CARDHOLDER{', --person' if args.person else ''})") from None
    return [member] if args.person else portal.family(member)


def cmd_accumulators(args: argparse.Namespace) -> int:
    from pbm_engine.portal.views import Portal

    day = parse_date(args.date, "--date") or dt.date.today()
    book = load_book_arg(input_file(args.book, "--book"))
    store = _open_db(args, readonly=True)
    try:
        portal = Portal(book, store)
        members = _members(portal, args)
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
    from pbm_engine.portal.views import Portal

    book = load_book_arg(input_file(args.book, "--book"))
    store = _open_db(args, readonly=True)
    try:
        portal = Portal(book, store)
        members = _members(portal, args)
        items = [item for m in members for item in portal.history(m)]
    finally:
        store.close()
    items.sort(key=lambda i: (i.date_of_service, i.entry_id))  # oldest first, as documented
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



def register(sub: Any) -> None:
    """Add ``reverse``, ``accumulators`` and ``history`` to the ``pbm`` parser."""
    rev = sub.add_parser("reverse", help="reverse (B2) a paid claim in a store")
    rev.add_argument("--db", required=True, help="SQLite file or postgresql:// URL")
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
        cmd.add_argument("--db", required=True, help="SQLite file or postgresql:// URL")
        cmd.add_argument("--book", default=str(sample_book_path()), help="book file")
        if name == "accumulators":
            cmd.add_argument("--date", help="as of this date (default: today)")
        cmd.set_defaults(func=func)

