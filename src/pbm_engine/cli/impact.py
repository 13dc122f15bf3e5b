"""``pbm impact``: what a plan or formulary change does to a history of claims, as a report.

    pbm impact HISTORY.jsonl ... --before BOOK --after BOOK --out DIR [--top N] [--as-of DATE]

Writes ``report.md``, ``report.html`` (charts, opens offline) and one CSV per table into DIR;
the files hold member-level data, so they are owner-only (0600).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from pbm_engine.cli.textio import read_requests


def cmd_impact(args: argparse.Namespace) -> int:
    from pbm_engine.admin.impact import build_report, run_impact
    from pbm_engine.admin.report import write_report
    from pbm_engine.sources.loader import load_book

    before, after = load_book(args.before), load_book(args.after)
    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    files = [Path(p) for p in args.history]
    for path in files:
        if not path.is_file():
            raise ValueError(f"{path}: no such claims file")
    tally = run_impact(before, after, read_requests(files), as_of=as_of, keep_members=args.top)
    report = build_report(tally, Path(args.before).name, Path(args.after).name, top=args.top)
    written = write_report(report, args.out)
    t = tally.total
    print(f"{t.claims} claims, {t.changed} answered differently, "
          f"{tally.members_affected()} members affected; report in {args.out} "
          f"({len(written)} files: report.md, report.html, CSV tables)")
    return 0


def register(sub: Any) -> None:
    """Add ``impact`` to the ``pbm`` parser."""
    p = sub.add_parser("impact", help="the impact of a plan change on a claims history, as a "
                       "report (Markdown, CSV, HTML)")
    p.add_argument("history", nargs="+", help="claim files, one JSON claim per line, in order")
    p.add_argument("--before", required=True, help="current book")
    p.add_argument("--after", required=True, help="proposed book")
    p.add_argument("--out", required=True, help="report folder (created owner-only)")
    p.add_argument("--top", type=int, default=25, help="members and drugs to chart (25)")
    p.add_argument("--as-of", help="processing date for the post-dated and timely-filing edits")
    p.set_defaults(func=cmd_impact)
