"""``pbm partd ...``: adjudicate Part D claims, show a member's year, bill an M3P schedule.

:func:`register` adds the ``partd`` command to the main ``pbm`` parser.

* ``pbm partd adjudicate [CLAIMS.jsonl ...] [--book B] [--out F]`` -- default: the bundled Part
  D sample book and claims; prints phases, TrOOP, patient pay, plan pay, discount and LICS and
  writes one JSON result per line (with the PDE record under ``part_d``).
* ``pbm partd year --plan PLAN --member CARDHOLDER [--person 001]`` -- the member's claims from
  the claim file, in date order, through a processor and an in-memory store.
* ``pbm partd claim --plan PLAN --ndc NDC [--quantity Q] [--cost $]`` -- price one what-if
  fill (:func:`pbm_engine.portal.whatif.price_fill`): which price won, the deductible applied,
  the phase split and the PDE record.
* ``pbm partd m3p --election-month N --troop-before X --costs a,b,...`` -- Medicare
  Prescription Payment Plan bills (costs per month, January first, or from the election month
  with ``--from-election``; missing months are $0).

Every subcommand takes ``--json``: the same answer as JSON on standard output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from pbm_engine.book import Book
from pbm_engine.cli.textio import print_table, read_requests
from pbm_engine.errors import UsageError
from pbm_engine.medicare.plans import PartDPlan
from pbm_engine.money import fmt
from pbm_engine.portal import whatif
from pbm_engine.result import ClaimResult

__all__ = ["register", "sample_partd_book_path", "sample_partd_claims_path"]


def sample_partd_book_path() -> Path:
    """The bundled Part D sample book."""
    return whatif.sample_partd_book_path()


def _print_json(value: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n")


def sample_partd_claims_path() -> Path:
    """The bundled Part D sample claims (JSON lines)."""
    return whatif.sample_partd_book_path().parent / "claims.jsonl"


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


def _processor(book_path: str | Path) -> Any:
    from pbm_engine.cli.openers import load_book_arg
    from pbm_engine.engine import Engine
    from pbm_engine.processor import Processor
    from pbm_engine.store.memory import MemoryStore

    return Processor(Engine(load_book_arg(book_path)), MemoryStore())


def cmd_adjudicate(args: argparse.Namespace) -> int:
    from pbm_engine.cli.paths import SafeOutput, input_file
    from pbm_engine.cli.runner import errors_path, run_claims

    paths = [input_file(p, "CLAIMS") for p in args.claims] or [sample_partd_claims_path()]
    book_path = input_file(args.book, "--book")
    results = SafeOutput(args.out, "--out", [*paths, book_path])
    errors = SafeOutput(errors_path(results.path), "--out", [*paths, book_path])
    results.protects(errors)
    processor = _processor(book_path)
    rows: list[tuple[str, ...]] = []

    def each(result: ClaimResult) -> None:
        if args.json:
            sys.stdout.buffer.write(orjson.dumps(result.to_dict()) + b"\n")
        else:
            rows.append(result_row(len(rows) + 1, result))

    summary = run_claims(processor.submit_many, paths, results, errors, each, trace=args.trace)
    if args.json:
        return summary.report(errors.path)
    if not args.quiet:
        print_table(_HEADER, rows, sys.stdout)
    counts = ", ".join(f"{k}={v}" for k, v in sorted(summary.counts.items()))
    print(f"\n{summary.total} transactions ({counts}); results written to {results.path}")
    return summary.report(errors.path)


def cmd_year(args: argparse.Namespace) -> int:
    from pbm_engine.cli.paths import input_file

    claims = input_file(args.claims, "--claims")
    processor = _processor(input_file(args.book, "--book"))
    person = args.person.zfill(3)
    mine = [c for c in read_requests([claims]) if isinstance(c, dict)
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
    mine.sort(key=lambda c: str(c.get("date_of_service")))  # ISO dates sort as text
    if args.json:
        _print_json([processor.submit(c).to_dict() for c in mine])
        return 0
    plan = processor.engine.book.part_d_plans.get(args.plan)
    title = getattr(plan, "name", args.plan)
    print(f"{member.first_name} {member.last_name} ({member.member_id}), {title}; LIS "
          f"{member.lis_level or 'none'}; {len(mine)} claims")
    rows = [result_row(n, processor.submit(c)) for n, c in enumerate(mine, start=1)]
    print_table(_HEADER, rows, sys.stdout)
    return 0


def resolve_plan(book: Book, plan_id: str, base: Path) -> PartDPlan:
    """A Part D plan of the book, DS-YYYY or CMS-CCCCC-PPP-SSS (see :func:`whatif.resolve_plan`)."""
    return whatif.resolve_plan(book, plan_id, base)


def cmd_claim(args: argparse.Namespace) -> int:
    """Price one fill for a what-if beneficiary against any Part D plan."""
    if args.quantity is None and args.cost is None:
        print("pbm: give --quantity (priced at the network contract rate) or --cost",
              file=sys.stderr)
        return 2
    from pbm_engine.cli.openers import load_book_arg
    from pbm_engine.cli.paths import input_file, parse_date, parse_money

    book_path = input_file(args.book, "--book")
    day = parse_date(args.date, "--date")
    troop, gross = parse_money(args.troop, "--troop"), parse_money(args.gross, "--gross")
    fee = parse_money(args.fee, "--fee")
    cost = None if args.cost is None else parse_money(args.cost, "--cost")
    book = load_book_arg(book_path)
    try:
        plan = resolve_plan(book, args.plan, book_path.parent)
    except UsageError as exc:
        print(f"pbm: {exc} (--plan)", file=sys.stderr)
        return 2
    try:
        fill = whatif.price_fill(
            plan, ndc=args.ndc, quantity=args.quantity, cost=cost, fee=fee,
            days_supply=args.days, channel=args.channel, troop=troop, gross=gross,
            lis=args.lis, date=day, book=book, in_cents=True)
    except (UsageError, ValueError) as exc:
        print(f"pbm: {exc}", file=sys.stderr)
        return 2
    if args.json:
        _print_json(fill.to_dict())
        return 0
    s = fill.split
    print(f"{fill.plan_name} ({fill.plan_id}); TrOOP {fmt(s.troop_before)}, gross "
          f"{fmt(s.gross_before)} before; LIS {fill.lis.value if fill.lis else 'none'}")
    won = {"contract": "the network contract price", "submitted": "the submitted cost"}
    others = [f"contract {fmt(fill.contract_price)}" if fill.contract_price is not None
              else "no contract price",
              f"submitted {fmt(fill.submitted_price)}" if fill.submitted_price is not None
              else "no submitted cost"]
    print(f"{fill.drug_name} ({fill.ndc}), {fill.days_supply} days: priced at "
          f"{won[fill.price_won]} {fmt(s.gross_drug_cost)} ({', '.join(others)})")
    rows: list[tuple[str, ...]] = [
        (p.phase.value, fmt(p.gross), fmt(p.cost_share), fmt(p.discount)) for p in s.portions]
    print_table(("phase", "gross", "cost share", "discount"), rows, sys.stdout)
    print(f"patient pays {fmt(fill.patient_pay)} (deductible applied "
          f"{fmt(fill.deductible_applied)}), LICS {fmt(s.lics)}, discount "
          f"{fmt(s.manufacturer_discount)}, plan pays {fmt(s.covered_plan_paid)}")
    print(f"TrOOP {fmt(s.troop_before)} -> {fmt(s.troop_after)}; gross {fmt(s.gross_before)} "
          f"-> {fmt(s.gross_after)}"
          + (f"; {fmt(s.cost_share_above)} of cost sharing above the threshold (not TrOOP)"
             if s.cost_share_above else ""))
    print("PDE: " + ", ".join(f"{k}={v}" for k, v in fill.pde.to_dict().items()))
    return 0


def cmd_m3p(args: argparse.Namespace) -> int:
    from pbm_engine.cli.paths import parse_money
    from pbm_engine.medicare.m3p import m3p_schedule
    from pbm_engine.medicare.parameters import parameters_for

    if args.year < 2025:
        print("pbm: the Prescription Payment Plan starts in 2025", file=sys.stderr)
        return 2
    if not 1 <= args.election_month <= 12:
        print("pbm: the election month is 1-12 (--election-month)", file=sys.stderr)
        return 2
    costs = [parse_money(c.strip(), "--costs") for c in args.costs.split(",") if c.strip()]
    months = 13 - args.election_month if args.from_election else 12
    if len(costs) > months:
        first = "the election month" if args.from_election else "January"
        print(f"pbm: give at most {months} monthly costs ({first} first)", file=sys.stderr)
        return 2
    costs += [0] * (months - len(costs))
    threshold = parameters_for(args.year).oop_threshold
    troop_before = parse_money(args.troop_before, "--troop-before")
    try:
        schedule = m3p_schedule(args.election_month, troop_before, threshold, costs)
    except ValueError as exc:
        print(f"pbm: {exc}", file=sys.stderr)
        return 2
    if args.json:
        _print_json({"year": args.year, "election_month": args.election_month,
                     "troop_before": fmt(troop_before),
                     "oop_threshold": fmt(threshold),
                     "months": [{"month": m.month, "oop_incurred": fmt(m.oop_incurred),
                                 "cap": fmt(m.cap), "bill": fmt(m.bill),
                                 "balance_after": fmt(m.balance_after)}
                                for m in schedule.months],
                     "total_oop": fmt(schedule.total_oop),
                     "total_billed": fmt(schedule.total_billed)})
        return 0
    print(f"{args.year} M3P: election month {args.election_month}, TrOOP before "
          f"{fmt(troop_before)}, OOP threshold {fmt(threshold)}")
    rows: list[tuple[str, ...]] = [
        (str(m.month), fmt(m.oop_incurred), fmt(m.cap), fmt(m.bill), fmt(m.balance_after))
        for m in schedule.months]
    rows.append(("total", fmt(schedule.total_oop), "", fmt(schedule.total_billed), ""))
    print_table(("month", "OOP incurred", "cap", "bill", "balance"), rows, sys.stdout)
    return 0


def register(subparsers: Any) -> None:
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
    adj.add_argument("--json", action="store_true", help="print the results as JSON lines")
    adj.set_defaults(func=cmd_adjudicate)

    year = sub.add_parser("year", help="a member's plan year, phase by phase")
    year.add_argument("--plan", required=True, help="Part D plan id")
    year.add_argument("--member", required=True, help="cardholder id (302-C2)")
    year.add_argument("--person", default="001", help="person code (default 001)")
    year.add_argument("--book", default=book, help="book file")
    year.add_argument("--claims", default=str(sample_partd_claims_path()), help="claim file")
    year.add_argument("--json", action="store_true", help="print the results as JSON")
    year.set_defaults(func=cmd_year)

    claim = sub.add_parser("claim", help="price one fill against any plan: DS-YYYY "
                           "(2006-2026), CMS-CONTRACT-PLAN-SEGMENT, or a plan of the book")
    claim.add_argument("--plan", required=True, help="e.g. DS-2013, CMS-H1671-001-000")
    claim.add_argument("--ndc", required=True, help="the drug")
    claim.add_argument("--quantity", help="quantity dispensed (priced at the network contract "
                       "rate)")
    claim.add_argument("--days", type=int, default=30, help="days supply (default 30)")
    claim.add_argument("--channel", default="retail", help="retail, mail or specialty")
    claim.add_argument("--date", help="date of service (default: June 1 of the plan year)")
    claim.add_argument("--cost", help="ingredient cost submitted ($); with --quantity the "
                       "lesser of the two prices wins, and the output says which")
    claim.add_argument("--fee", default="0.00", help="dispensing fee submitted with --cost ($)")
    claim.add_argument("--troop", default="0", help="TrOOP before the claim ($)")
    claim.add_argument("--gross", default="0", help="gross covered drug cost before ($)")
    claim.add_argument("--lis", help="LIS level: institutional, fbde, full, partial")
    claim.add_argument("--book", default=book, help="book file (drugs, network, prices)")
    claim.add_argument("--json", action="store_true", help="print the answer as JSON")
    claim.set_defaults(func=cmd_claim)

    m3p = sub.add_parser("m3p", help="Medicare Prescription Payment Plan monthly bills")
    m3p.add_argument("--election-month", type=int, required=True, help="1-12")
    m3p.add_argument("--troop-before", required=True, help="TrOOP before the election ($)")
    m3p.add_argument("--costs", required=True, help="cost sharing per month, January first, "
                     "comma separated ($)")
    m3p.add_argument("--from-election", action="store_true", help="--costs start at the "
                     "election month instead of January")
    m3p.add_argument("--json", action="store_true", help="print the schedule as JSON")
    m3p.add_argument("--year", type=int, default=2026, help="plan year (2025+)")
    m3p.set_defaults(func=cmd_m3p)
