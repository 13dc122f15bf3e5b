"""``pbm partd ...``: adjudicate Part D claims, show a member's year, bill an M3P schedule.

:func:`add_commands` registers the ``partd`` command on the main ``pbm`` parser; run this
module directly (``python -m pbm_engine.medicare.cli partd ...``) for the same commands.

* ``pbm partd adjudicate [CLAIMS.jsonl ...] [--book B] [--out F]`` -- default: the bundled Part
  D sample book and claims; prints phases, TrOOP, patient pay, plan pay, discount and LICS and
  writes one JSON result per line (with the PDE record under ``part_d``).
* ``pbm partd year --plan PLAN --member CARDHOLDER [--person 001]`` -- the member's claims from
  the claim file, in date order, through a processor and an in-memory store.
* ``pbm partd m3p --election-month N --troop-before X --costs a,b,...`` -- Medicare
  Prescription Payment Plan bills (costs per month, January first; missing months are $0).
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from pbm_engine.errors import PbmError
from pbm_engine.money import fmt, to_cents
from pbm_engine.result import ClaimResult
from pbm_engine.textio import print_table, read_requests

__all__ = ["add_commands", "main", "sample_partd_book_path", "sample_partd_claims_path"]


def sample_partd_book_path() -> Path:
    """The bundled Part D sample book."""
    return Path(str(resources.files("pbm_engine") / "data" / "sample_partd" / "book.yaml"))


def sample_partd_claims_path() -> Path:
    """The bundled Part D sample claims (JSON lines)."""
    return Path(str(resources.files("pbm_engine") / "data" / "sample_partd" / "claims.jsonl"))


_HEADER = ("#", "member", "plan", "date", "drug", "st", "rejects", "phase", "TrOOP before",
           "TrOOP after", "gross", "patient", "plan pay", "discount", "LICS")


def result_row(n: int, r: ClaimResult) -> tuple[str, ...]:
    """One table row of a Part D (or any) result."""
    x = r.extra or {}
    paid = r.status.value in ("P", "D") and "benefit_phase_before" in x
    phase = f"{x['benefit_phase_before']}->{x['benefit_phase_after']}" if paid else ""
    return (
        str(n), f"{r.cardholder_id}-{r.person_code}" if r.cardholder_id else "?", r.plan_id,
        r.date_of_service.isoformat() if r.date_of_service else "", (r.drug_name or r.ndc)[:24],
        r.status.value, ",".join(r.reject_codes), phase,
        x["troop_before"] if paid else "", x["troop_after"] if paid else "",
        fmt(r.total_price) if paid else "", fmt(r.patient_pay) if paid else "",
        fmt(r.plan_pay) if paid else "", x["manufacturer_discount"] if paid else "",
        x["lics"] if paid else "",
    )


def _processor(book_path: str) -> Any:
    from pbm_engine.engine import Engine
    from pbm_engine.loader import load_book
    from pbm_engine.processor import Processor
    from pbm_engine.store.memory import MemoryStore

    return Processor(Engine(load_book(book_path)), MemoryStore())


def cmd_adjudicate(args: argparse.Namespace) -> int:
    processor = _processor(args.book)
    paths = [Path(p) for p in args.claims] or [sample_partd_claims_path()]
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, ...]] = []
    counts: dict[str, int] = {}
    with out_path.open("wb") as out:
        for n, request in enumerate(read_requests(paths), start=1):
            result = processor.submit(request, trace=args.trace)
            counts[result.status.value] = counts.get(result.status.value, 0) + 1
            rows.append(result_row(n, result))
            out.write(orjson.dumps(result.to_dict()) + b"\n")
    if not args.quiet:
        print_table(_HEADER, rows, sys.stdout)
    summary = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
    print(f"\n{len(rows)} transactions ({summary}); results written to {out_path}")
    return 0


def cmd_year(args: argparse.Namespace) -> int:
    processor = _processor(args.book)
    person = args.person.zfill(3)
    mine = [c for c in read_requests([Path(args.claims)]) if isinstance(c, dict)
            and c.get("cardholder_id") == args.member
            and str(c.get("person_code") or "001").zfill(3) == person]
    member = processor.engine.book.registry.get(args.member, person)
    if member is None:
        print(f"pbm: member {args.member}-{person} is not in {args.book}", file=sys.stderr)
        return 2
    if member.plan_id != args.plan:
        print(f"pbm: member {args.member}-{person} is on plan {member.plan_id}, not "
              f"{args.plan}", file=sys.stderr)
        return 2
    mine.sort(key=lambda c: str(c.get("date_of_service")))
    plan = processor.engine.book.part_d_plans.get(args.plan)
    title = getattr(plan, "name", args.plan)
    print(f"{member.first_name} {member.last_name} ({member.member_id}), {title}; LIS "
          f"{member.lis_level or 'none'}; {len(mine)} claims")
    rows = [result_row(n, processor.submit(c)) for n, c in enumerate(mine, start=1)]
    print_table(_HEADER, rows, sys.stdout)
    return 0


def cmd_m3p(args: argparse.Namespace) -> int:
    from pbm_engine.medicare.m3p import m3p_schedule
    from pbm_engine.medicare.parameters import parameters_for

    if args.year < 2025:
        print("pbm: the Prescription Payment Plan starts in 2025", file=sys.stderr)
        return 2
    costs = [to_cents(c.strip()) for c in args.costs.split(",") if c.strip()]
    if len(costs) > 12:
        print("pbm: give at most 12 monthly costs (January first)", file=sys.stderr)
        return 2
    costs += [0] * (12 - len(costs))
    threshold = parameters_for(args.year).oop_threshold
    schedule = m3p_schedule(args.election_month, to_cents(args.troop_before), threshold, costs)
    print(f"{args.year} M3P: election month {args.election_month}, TrOOP before "
          f"{fmt(to_cents(args.troop_before))}, OOP threshold {fmt(threshold)}")
    rows = [(str(m.month), fmt(m.oop_incurred), fmt(m.cap), fmt(m.bill), fmt(m.balance_after))
            for m in schedule.months]
    rows.append(("total", fmt(schedule.total_oop), "", fmt(schedule.total_billed), ""))
    print_table(("month", "OOP incurred", "cap", "bill", "balance"), rows, sys.stdout)
    return 0


def add_commands(subparsers: Any) -> None:
    """Register ``partd`` and its subcommands on the main parser's subparsers."""
    partd = subparsers.add_parser("partd", help="Medicare Part D: adjudicate, a member's year, "
                                  "M3P bills")
    sub = partd.add_subparsers(dest="partd_command", required=True)
    book = str(sample_partd_book_path())

    adj = sub.add_parser("adjudicate", help="adjudicate Part D claims (JSON lines)")
    adj.add_argument("claims", nargs="*", help="claim files (default: the bundled Part D "
                     "sample claims)")
    adj.add_argument("--book", default=book, help="book file (default: the Part D sample)")
    adj.add_argument("--out", default="out/partd_results.jsonl", help="results (JSON lines)")
    adj.add_argument("--trace", action="store_true", help="record an explanation per claim")
    adj.add_argument("--quiet", action="store_true", help="print only the summary")
    adj.set_defaults(func=cmd_adjudicate)

    year = sub.add_parser("year", help="a member's plan year, phase by phase")
    year.add_argument("--plan", required=True, help="Part D plan id")
    year.add_argument("--member", required=True, help="cardholder id (302-C2)")
    year.add_argument("--person", default="001", help="person code (default 001)")
    year.add_argument("--book", default=book, help="book file")
    year.add_argument("--claims", default=str(sample_partd_claims_path()), help="claim file")
    year.set_defaults(func=cmd_year)

    m3p = sub.add_parser("m3p", help="Medicare Prescription Payment Plan monthly bills")
    m3p.add_argument("--election-month", type=int, required=True, help="1-12")
    m3p.add_argument("--troop-before", required=True, help="TrOOP before the election ($)")
    m3p.add_argument("--costs", required=True, help="cost sharing per month, January first, "
                     "comma separated ($)")
    m3p.add_argument("--year", type=int, default=2026, help="plan year (2025+)")
    m3p.set_defaults(func=cmd_m3p)


def main(argv: list[str] | None = None) -> int:
    """``python -m pbm_engine.medicare.cli partd ...``."""
    parser = argparse.ArgumentParser(prog="pbm", description="Medicare Part D commands.")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (PbmError, ValueError) as exc:
        print(f"pbm: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
