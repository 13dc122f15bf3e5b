"""``pbm partd ...``: adjudicate Part D claims, show a member's year, bill an M3P schedule.

:func:`register` adds the ``partd`` command to the main ``pbm`` parser.

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

from pbm_engine.accumulators import MemberState, Totals
from pbm_engine.book import Book
from pbm_engine.cli.textio import print_table, read_requests
from pbm_engine.engine import Engine
from pbm_engine.errors import UsageError
from pbm_engine.medicare.plans import PartDPlan
from pbm_engine.money import fmt
from pbm_engine.result import ClaimResult

__all__ = ["register", "sample_partd_book_path", "sample_partd_claims_path"]


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
        rows.append(result_row(len(rows) + 1, result))

    summary = run_claims(processor.submit_many, paths, results, errors, each, trace=args.trace)
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
    plan = processor.engine.book.part_d_plans.get(args.plan)
    title = getattr(plan, "name", args.plan)
    print(f"{member.first_name} {member.last_name} ({member.member_id}), {title}; LIS "
          f"{member.lis_level or 'none'}; {len(mine)} claims")
    rows = [result_row(n, processor.submit(c)) for n, c in enumerate(mine, start=1)]
    print_table(_HEADER, rows, sys.stdout)
    return 0


def resolve_plan(book: Book, plan_id: str, base: Path) -> PartDPlan:
    """A Part D plan of the book, or one built on the fly: ``DS-YYYY`` is the Defined Standard
    benefit of any year 2006-2026; ``CMS-CCCCC-PPP-SSS`` is any plan of the bundled SPUF."""
    from pbm_engine.sources.part_d import load_part_d_plans

    plan = book.part_d_plans.get(plan_id)
    if plan is not None:
        return plan
    formulary = next(iter(book.formularies))
    network = next(iter(book.networks))
    if plan_id.startswith("DS-") and plan_id[3:].isdigit():
        spec: dict[str, Any] = {"plan_id": plan_id, "defined_standard": int(plan_id[3:]),
                                "formulary": formulary, "network": network}
    elif plan_id.startswith("CMS-") and plan_id.count("-") == 3:
        contract, plan_no, segment = plan_id[4:].split("-")
        spec = {"plan_id": plan_id, "spuf": "pkg:cms_spuf_2026q2", "contract": contract,
                "plan": plan_no, "segment": segment, "network": network,
                "drug_master": formulary}
    else:
        raise UsageError(f"unknown Part D plan {plan_id!r}: use a plan of the book, DS-YYYY or "
                         "CMS-CONTRACT-PLAN-SEGMENT (--plan)")
    plans = load_part_d_plans([spec], base, book)
    book.part_d_plans.update(plans)
    return plans[plan_id]


class _Given:
    """Accumulators given on the command line (a what-if, nothing stored)."""

    def __init__(self, troop: int, gross: int) -> None:
        self.value = MemberState(Totals(troop=troop, gross_drug_cost=gross))

    def state(self, *args: object) -> MemberState:
        return self.value


def cmd_claim(args: argparse.Namespace) -> int:
    """Price one fill for a what-if beneficiary against any Part D plan."""
    import datetime as dt

    from pbm_engine.cli.openers import load_book_arg
    from pbm_engine.cli.paths import input_file, parse_date, parse_money
    from pbm_engine.eligibility.members import CoveragePeriod, Member

    book_path = input_file(args.book, "--book")
    book = load_book_arg(book_path)
    plan = resolve_plan(book, args.plan, book_path.parent)
    day = parse_date(args.date, "--date") or dt.date(plan.year, 6, 1)
    book.registry.add(Member("WHATIF", "001", "WHATIF", plan.plan_id, dt.date(1955, 1, 1), 0,
                             (CoveragePeriod(dt.date(plan.year, 1, 1),
                                             dt.date(plan.year, 12, 31)),),
                             lis_level=args.lis))
    request = {"cardholder_id": "WHATIF", "date_of_service": day.isoformat(),
               "rx_number": "1", "ndc": args.ndc, "quantity": args.quantity,
               "days_supply": args.days, "pharmacy_id": "WHATIF", "channel": args.channel}
    if args.cost is not None:  # a submitted price (the bundled price tables cover 2025-2026)
        request |= {"ingredient_cost": args.cost, "dispensing_fee": args.fee}
    view = _Given(parse_money(args.troop, "--troop"), parse_money(args.gross, "--gross"))
    result = Engine(book, trace=True).adjudicate(request, accumulators=view)
    print(f"{plan.name} ({plan.plan_id}); TrOOP {fmt(view.value.member.troop)}, gross "
          f"{fmt(view.value.member.gross_drug_cost)} before; LIS {args.lis or 'none'}")
    print_table(_HEADER, [result_row(1, result)], sys.stdout)
    for line in result.trace:
        print(f"  {line}")
    if result.part_d is not None:
        print("PDE: " + ", ".join(f"{k}={v}" for k, v in result.part_d.to_dict().items()))
    return 0 if result.paid else 1


def cmd_m3p(args: argparse.Namespace) -> int:
    from pbm_engine.medicare.m3p import m3p_schedule
    from pbm_engine.medicare.parameters import parameters_for

    if args.year < 2025:
        print("pbm: the Prescription Payment Plan starts in 2025", file=sys.stderr)
        return 2
    from pbm_engine.cli.paths import parse_money

    if not 1 <= args.election_month <= 12:
        print("pbm: the election month is 1-12 (--election-month)", file=sys.stderr)
        return 2
    costs = [parse_money(c.strip(), "--costs") for c in args.costs.split(",") if c.strip()]
    if len(costs) > 12:
        print("pbm: give at most 12 monthly costs (January first)", file=sys.stderr)
        return 2
    costs += [0] * (12 - len(costs))
    threshold = parameters_for(args.year).oop_threshold
    troop_before = parse_money(args.troop_before, "--troop-before")
    schedule = m3p_schedule(args.election_month, troop_before, threshold, costs)
    print(f"{args.year} M3P: election month {args.election_month}, TrOOP before "
          f"{fmt(troop_before)}, OOP threshold {fmt(threshold)}")
    rows = [(str(m.month), fmt(m.oop_incurred), fmt(m.cap), fmt(m.bill), fmt(m.balance_after))
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
    adj.set_defaults(func=cmd_adjudicate)

    year = sub.add_parser("year", help="a member's plan year, phase by phase")
    year.add_argument("--plan", required=True, help="Part D plan id")
    year.add_argument("--member", required=True, help="cardholder id (302-C2)")
    year.add_argument("--person", default="001", help="person code (default 001)")
    year.add_argument("--book", default=book, help="book file")
    year.add_argument("--claims", default=str(sample_partd_claims_path()), help="claim file")
    year.set_defaults(func=cmd_year)

    claim = sub.add_parser("claim", help="price one fill against any plan: DS-YYYY "
                           "(2006-2026), CMS-CONTRACT-PLAN-SEGMENT, or a plan of the book")
    claim.add_argument("--plan", required=True, help="e.g. DS-2013, CMS-H1671-001-000")
    claim.add_argument("--ndc", required=True, help="the drug")
    claim.add_argument("--quantity", required=True, help="quantity dispensed")
    claim.add_argument("--days", type=int, default=30, help="days supply (default 30)")
    claim.add_argument("--channel", default="retail", help="retail, mail or specialty")
    claim.add_argument("--date", help="date of service (default: June 1 of the plan year)")
    claim.add_argument("--cost", help="ingredient cost submitted ($); needed for years the "
                       "price tables do not cover")
    claim.add_argument("--fee", default="0.00", help="dispensing fee submitted with --cost ($)")
    claim.add_argument("--troop", default="0", help="TrOOP before the claim ($)")
    claim.add_argument("--gross", default="0", help="gross covered drug cost before ($)")
    claim.add_argument("--lis", help="LIS level: institutional, fbde, full, partial")
    claim.add_argument("--book", default=book, help="book file (drugs, network, prices)")
    claim.set_defaults(func=cmd_claim)

    m3p = sub.add_parser("m3p", help="Medicare Prescription Payment Plan monthly bills")
    m3p.add_argument("--election-month", type=int, required=True, help="1-12")
    m3p.add_argument("--troop-before", required=True, help="TrOOP before the election ($)")
    m3p.add_argument("--costs", required=True, help="cost sharing per month, January first, "
                     "comma separated ($)")
    m3p.add_argument("--year", type=int, default=2026, help="plan year (2025+)")
    m3p.set_defaults(func=cmd_m3p)
