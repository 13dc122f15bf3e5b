"""``pbm reprocess`` and ``pbm generate``: batch re-adjudication and synthetic histories.

    pbm reprocess INPUT... --book BOOK --out DIR [--engine single|pool|dask] [--workers N]
                  [--scheduler ADDRESS] [--resume] [--format jsonl|csv|parquet]
                  [--partitions N] [--members FILE ...]
                  [--starting-accumulators FILE | --db DB] [--quiet]
    pbm generate --members N --claims M --seed S --out FILE [--format jsonl|csv|parquet]
                 [--book BOOK] [--members-out FILE] [--with-original]

``reprocess`` exits 0 when every input line was read, 1 when some went to the errors file, 2 on
a usage error (one line on stderr).  See docs/batch-reprocessing.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``reprocess`` and ``generate`` to the ``pbm`` parser."""
    p = sub.add_parser("reprocess", help="re-adjudicate claim files at scale and report changes",
                       description="Re-adjudicate claim files against a book, partitioned by "
                       "family, on one process, a local pool or a Dask cluster.")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                   help="claim files: .jsonl, .csv or .parquet")
    p.add_argument("--book", required=True, type=Path, help="book YAML")
    p.add_argument("--out", required=True, type=Path, help="output directory (new or empty)")
    p.add_argument("--engine", choices=("single", "pool", "dask"), default="single")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--scheduler", default=None,
                   help="address of a running Dask scheduler (tcp://host:8786)")
    p.add_argument("--resume", action="store_true", help="finish an interrupted run in --out")
    p.add_argument("--format", choices=("jsonl", "csv", "parquet"), default="jsonl",
                   dest="fmt", help="format of the output files")
    p.add_argument("--partitions", type=int, default=None,
                   help="number of partitions (default: about 25,000 claims each)")
    p.add_argument("--members", action="append", type=Path, default=[],
                   help="member file (JSON lines, e.g. from pbm generate); repeatable")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--starting-accumulators", type=Path, default=None,
                       help="accumulator snapshot to start from (.jsonl, .csv or .parquet)")
    start.add_argument("--db", type=Path, default=None,
                       help="SQLite store whose accumulators are the starting state")
    p.add_argument("--quiet", action="store_true", help="no progress, no summary")
    p.set_defaults(func=cmd_reprocess)

    g = sub.add_parser("generate", help="write a synthetic, seeded claim history",
                       description="Write realistic synthetic claims (and their member file), "
                       "fully determined by the seed.")
    g.add_argument("--members", required=True, type=int, help="number of members")
    g.add_argument("--claims", required=True, type=int, help="number of claims")
    g.add_argument("--seed", required=True, type=int)
    g.add_argument("--out", required=True, type=Path, help="claims file to write")
    g.add_argument("--format", choices=("jsonl", "csv", "parquet"), default="jsonl", dest="fmt")
    g.add_argument("--book", type=Path, default=None,
                   help="book whose plans, drugs and prices to draw from (default: the sample)")
    g.add_argument("--members-out", type=Path, default=None,
                   help="member file (default: next to --out, NAME.members.jsonl)")
    g.add_argument("--with-original", action="store_true",
                   help="attach each claim's answer under the book as 'original'")
    g.set_defaults(func=cmd_generate)


def cmd_reprocess(args: argparse.Namespace) -> int:
    from pbm_engine.batch import make_progress, run

    progress = make_progress(args.quiet)
    summary = run(args.inputs, args.book, args.out, engine=args.engine, workers=args.workers,
                  scheduler=args.scheduler, resume=args.resume, fmt=args.fmt,
                  partitions=args.partitions, starting_accumulators=args.starting_accumulators,
                  db=args.db, members=args.members, progress=progress)
    if not args.quiet:
        c = summary.document["claims"]
        rate = c["processed"] / summary.seconds if summary.seconds > 0 else 0.0
        resumed = (f", {summary.resumed_partitions} resumed"
                   if summary.resumed_partitions else "")
        print(f"pbm reprocess: {c['processed']:,} claims in {summary.seconds:.1f} s "
              f"({rate:,.0f}/s) over {summary.partitions} partition(s){resumed}; "
              f"{c['changed']:,} changed, {c['unreadable']:,} unreadable line(s); "
              f"summary in {summary.files['summary.md']}", file=sys.stderr)
    return summary.exit_status


def cmd_generate(args: argparse.Namespace) -> int:
    from pbm_engine.batch import generate
    from pbm_engine.sources.compiled import load_book, sample_book_path

    book = load_book(args.book or sample_book_path())
    stats = generate(args.members, args.claims, args.seed, args.out, book=book, fmt=args.fmt,
                     members_out=args.members_out, with_original=args.with_original)
    print(f"pbm generate: {stats.claims:,} claims ({stats.reversals:,} reversals, "
          f"{stats.rebills:,} rebills) for {stats.members:,} members in {stats.families:,} "
          f"families -> {stats.claims_path}, members -> {stats.members_path}", file=sys.stderr)
    return 0
