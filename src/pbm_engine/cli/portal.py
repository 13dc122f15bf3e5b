"""``pbm estimate``, ``pbm drugs`` and ``pbm statement``: the member portal from the command line.

    pbm estimate MEMBER (--ndc NDC | --drug "NAME STRENGTH FORM") [--db DB] [--date D]
                 [--quantity Q --days N] [--channel retail|mail|specialty] [--ivr [--words]]
                 [--json]
    pbm drugs MEMBER QUERY
    pbm statement MEMBER (--month YYYY-MM | --from D --to D) [--db DB] [--html]

MEMBER is a member id (``PPO1001-002``).  Without ``--db`` the member has no history (a
what-if for a fresh member).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

import orjson

from pbm_engine.cli.textio import print_table
from pbm_engine.money import fmt
from pbm_engine.sources.compiled import load_book, sample_book_path


def _day(text: str | None) -> dt.date:
    return dt.date.fromisoformat(text) if text else dt.date.today()


def cmd_estimate(args: argparse.Namespace) -> int:
    from pbm_engine.accumulators import EMPTY
    from pbm_engine.portal.estimate import Estimator
    from pbm_engine.portal.speech import ivr_sentences
    from pbm_engine.store.sqlite import SqliteStore

    book = load_book(args.book)
    store = SqliteStore(args.db, create=False) if args.db else None
    try:
        estimator = Estimator(book, store if store is not None else EMPTY)
        answer = estimator.estimate(
            as_of=_day(args.date), member_id=args.member, ndc=args.ndc, drug=args.drug,
            quantity=args.quantity, days_supply=args.days, channel=args.channel)
    finally:
        if store is not None:
            store.close()
    if args.json:
        sys.stdout.write(orjson.dumps(answer.to_dict(), option=orjson.OPT_INDENT_2).decode()
                         + "\n")
        return 0
    if args.ivr:
        print("\n".join(ivr_sentences(answer, words=args.words)))
        return 0
    print(f"{answer.drug_name} (NDC {answer.ndc}, tier {answer.tier}) for {answer.member_id} "
          f"on {answer.as_of}")
    rows: list[tuple[str, ...]] = []
    for ch in answer.channels:
        rows.append((ch.channel.value, str(ch.days_supply), "yes" if ch.covered else "no",
                     fmt(ch.member_pays) if ch.covered else "",
                     fmt(ch.plan_pays) if ch.covered else "",
                     "" if ch.deductible_left is None else fmt(ch.deductible_left),
                     "" if ch.oop_left is None else fmt(ch.oop_left),
                     "; ".join(c.text for c in ch.conditions)))
    print_table(("channel", "days", "covered", "you pay", "plan pays", "deductible left",
                 "OOP left", "conditions"), rows, sys.stdout)
    if answer.alternatives:
        print("\ncheaper options")
        print_table(("kind", "drug", "channel", "days", "you pay", "saving/fill",
                     "saving/year"),
                    [(a.kind, a.estimate.drug_name, a.estimate.channel.value,
                      str(a.estimate.days_supply), fmt(a.estimate.member_pays),
                      "" if a.saving_per_fill is None else fmt(a.saving_per_fill),
                      "" if a.saving_per_year is None else fmt(a.saving_per_year))
                     for a in answer.alternatives], sys.stdout)
    return 0


def cmd_drugs(args: argparse.Namespace) -> int:
    from pbm_engine.portal.estimate import Estimator

    estimator = Estimator(load_book(args.book))
    found = estimator.search(estimator.member(args.member), args.query, args.limit)
    print_table(("name", "tier", "status", "restrictions", "NDCs"),
                [(c.name, str(c.tier), c.status,
                  ",".join(k for k, on in (("PA", c.prior_authorization),
                                           ("step", c.step_therapy),
                                           ("QL", c.quantity_limit),
                                           ("specialty", c.specialty)) if on),
                  str(len(c.ndcs))) for c in found], sys.stdout)
    return 0


def cmd_statement(args: argparse.Namespace) -> int:
    from pbm_engine.portal.estimate import Estimator
    from pbm_engine.portal.statements import claim_statement, part_d_eob
    from pbm_engine.store.sqlite import SqliteStore

    book = load_book(args.book)
    member = Estimator(book).member(args.member)
    with SqliteStore(args.db, create=False) as store:
        if args.month:
            year, month = (int(x) for x in args.month.split("-"))
            statement = part_d_eob(book, store, member, year, month)
        else:
            statement = claim_statement(book, store, member, _day(args.start), _day(args.end))
    if args.html:
        sys.stdout.write(statement.to_html())
    else:
        sys.stdout.write(orjson.dumps(statement.to_dict(), option=orjson.OPT_INDENT_2).decode()
                         + "\n")
    return 0


def register(sub: Any) -> None:
    """Add ``estimate``, ``drugs`` and ``statement`` to the ``pbm`` parser."""
    book = str(sample_book_path())
    est = sub.add_parser("estimate", help="what a member would pay for a drug, and cheaper "
                                          "options")
    est.add_argument("member", help="member id, e.g. PPO1001-002")
    what = est.add_mutually_exclusive_group(required=True)
    what.add_argument("--ndc", help="11-digit NDC")
    what.add_argument("--drug", help='name, strength and form, e.g. "zolmitriptan 2.5 mg tab"')
    est.add_argument("--quantity", help="units (with --days)")
    est.add_argument("--days", type=int, help="days supply")
    est.add_argument("--channel", choices=("retail", "mail", "specialty"))
    est.add_argument("--date", help="as of this date (default: today)")
    est.add_argument("--db", help="SQLite store with the member's history (optional)")
    est.add_argument("--book", default=book, help="book file")
    est.add_argument("--json", action="store_true", help="the whole answer as JSON")
    est.add_argument("--ivr", action="store_true", help="sentences to read aloud")
    est.add_argument("--words", action="store_true", help="amounts in words (with --ivr)")
    est.set_defaults(func=cmd_estimate)

    drugs = sub.add_parser("drugs", help="drug search with formulary status")
    drugs.add_argument("member", help="member id (picks the formulary)")
    drugs.add_argument("query", help="name prefix, strength, form")
    drugs.add_argument("--limit", type=int, default=20)
    drugs.add_argument("--book", default=book, help="book file")
    drugs.set_defaults(func=cmd_drugs)

    st = sub.add_parser("statement", help="a Part D EOB or a claim statement (JSON or HTML)")
    st.add_argument("member", help="member id")
    st.add_argument("--db", required=True, help="SQLite store")
    st.add_argument("--month", help="YYYY-MM: the monthly Part D EOB")
    st.add_argument("--from", dest="start", help="claim statement from (YYYY-MM-DD)")
    st.add_argument("--to", dest="end", help="claim statement to (YYYY-MM-DD)")
    st.add_argument("--html", action="store_true", help="printable HTML")
    st.add_argument("--book", default=book, help="book file")
    st.set_defaults(func=cmd_statement)


__all__ = ["register"]
