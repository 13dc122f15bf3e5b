"""``pbm impact``: what a plan or formulary change does to a history of claims, as a report.

    pbm impact HISTORY.jsonl ... --before BOOK --after BOOK --out DIR [--top N]
               [--engine single|pool|dask] [--workers N] [--members FILE] [--keep-runs]

The history runs through each book on the batch runner (partitioned by family, streamed, so a
year of claims needs flat memory); the two answer streams are compared claim by claim.  Writes
``report.md``, ``report.html`` (charts, opens offline) and one CSV per table into DIR; the files
hold member-level data, so they are owner-only (0600).  The runner's own outputs go to
``DIR/runs/`` and are removed afterwards unless ``--keep-runs``.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
from collections.abc import Iterator, Sequence
from itertools import zip_longest
from pathlib import Path
from typing import Any

import orjson

from pbm_engine.errors import PbmError, UsageError
from pbm_engine.result import ClaimResult
from pbm_engine.store.codec import result_from_dict

__all__ = ["batch_pairs", "register"]


def batch_pairs(history: Sequence[str | Path], before: str | Path, after: str | Path,
                work_dir: str | Path, *, engine: str = "single", workers: int | None = None,
                summaries: list[Any] | None = None, members: Sequence[str | Path] = ()
                ) -> Iterator[tuple[ClaimResult, ClaimResult]]:
    """The answer pairs of :func:`pbm_engine.admin.impact.pairs`, from two batch runs.

    Each book's run streams the history once, partitioned by family, into ``work_dir``
    (``before/`` and ``after/``; owner-only, they hold member data); the two result files list
    the claims in the same canonical order, so they are read side by side, one line at a time:
    memory stays flat however long the history.  ``engine``/``workers`` choose the runner's
    engine (``single``, ``pool``, ``dask``); ``members``: member files (JSON lines) added to both
    books' members, as the runner takes them; the runs' summaries are appended to ``summaries``.
    Lines that are not JSON go to the runs' error files, not into the pairs.
    """
    from pbm_engine.batch import run

    work = Path(work_dir)
    runs = [run(list(history), book, work / name, engine=engine, workers=workers,
                members=members)
            for name, book in (("before", before), ("after", after))]
    if summaries is not None:
        summaries.extend(runs)
    files = [r.files.get("results") or r.out_dir / "results.jsonl" for r in runs]
    with files[0].open("rb") as first, files[1].open("rb") as second:
        for line_a, line_b in zip_longest(first, second):
            if line_a is None or line_b is None:
                raise PbmError("the two batch runs answered a different number of claims")
            a, b = orjson.loads(line_a), orjson.loads(line_b)
            if (a.pop("input"), a.pop("line")) != (b.pop("input"), b.pop("line")):
                raise PbmError("the two batch runs list the claims in different orders")
            yield _from_row(a), _from_row(b)


def _from_row(row: dict[str, Any]) -> ClaimResult:
    result = result_from_dict(row)
    if not result.member_id and result.cardholder_id and result.plan_id:
        result = dataclasses.replace(
            result, member_id=f"{result.cardholder_id}-{result.person_code}")
    return result


def cmd_impact(args: argparse.Namespace) -> int:
    from pbm_engine.admin.impact import build_report, tally_pairs
    from pbm_engine.admin.report import write_report
    from pbm_engine.sources.loader import load_book

    before, after = load_book(args.before), load_book(args.after)
    files = [Path(p) for p in args.history]
    for path in files:
        if not path.is_file():
            raise UsageError(f"{path}: no such claims file")
    out = Path(args.out)
    runs = out / "runs"
    if runs.exists():
        raise UsageError(f"{runs} exists (a previous run kept with --keep-runs): remove it")
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    summaries: list[Any] = []
    try:
        answers = batch_pairs(files, args.before, args.after, runs, engine=args.engine,
                              workers=args.workers, summaries=summaries,
                              members=args.members)
        tally = tally_pairs(before, after, answers, keep_members=args.top)
    finally:
        if not args.keep_runs:
            shutil.rmtree(runs, ignore_errors=True)
    unreadable = summaries[0].unreadable if summaries else 0
    report = build_report(tally, Path(args.before).name, Path(args.after).name, top=args.top,
                          unreadable=unreadable)
    written = write_report(report, out)
    t = tally.total
    print(f"{t.claims} claims" + (f" ({unreadable} unreadable lines)" if unreadable else "")
          + f", {t.changed} answered differently, "
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
    p.add_argument("--engine", choices=("single", "pool", "dask"), default="single",
                   help="batch runner engine (default: this process)")
    p.add_argument("--workers", type=int, help="processes for the pool or dask engine")
    p.add_argument("--members", action="append", default=[], metavar="FILE",
                   help="member file (JSON lines, as pbm generate writes) added to both books")
    p.add_argument("--keep-runs", action="store_true",
                   help="keep the two batch runs (results, changes) under DIR/runs/")
    p.set_defaults(func=cmd_impact)
