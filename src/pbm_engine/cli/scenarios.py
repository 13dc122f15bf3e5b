"""``pbm test``: run scenario files against a book.

    pbm test [BOOK] SCENARIO_OR_FOLDER ...

A folder means every ``*.scenario.yaml`` below it.  BOOK (a book file, given first) replaces the
book each scenario names, so the same scenarios can prove a proposed design.  Prints a table per
scenario and each failing check as expected vs got; exit status 1 when any check fails, 2 for a
usage problem (no scenarios, a file that is not valid).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pbm_engine.cli.textio import print_table
from pbm_engine.errors import UsageError

__all__ = ["register"]

_COLUMNS = ("#", "member", "rx/fill", "drug", "st", "rejects", "patient", "plan", "check")


def _split_book(paths: list[str], book: str | None) -> tuple[str | None, list[str]]:
    """The first argument is the book when it is a YAML file that is not a scenario."""
    from pbm_engine.admin.scenarios import is_scenario_file

    if book is None and len(paths) > 1:
        first = Path(paths[0])
        if first.is_file() and not is_scenario_file(first) and first.suffix in (".yaml", ".yml"):
            return str(first), paths[1:]
    return book, paths


def cmd_test(args: argparse.Namespace) -> int:
    from pbm_engine.admin.scenarios import run_paths

    book, paths = _split_book(list(args.paths), args.book)
    outcomes = run_paths(paths, book)
    if not outcomes:
        raise UsageError(f"no scenario files (*.scenario.yaml) in {' '.join(paths)}")
    out = sys.stdout
    failed = invalid = 0
    for o in outcomes:
        mark = "ok" if o.passed else ("ERROR" if o.error else "FAIL")
        out.write(f"\n{mark}  {o.path}: {o.name}\n")
        if o.error is not None:
            invalid += 1
            out.write("".join(f"  {line}\n" for line in o.error.splitlines()))
            continue
        rows: list[tuple[str, ...]] = []
        for s in o.steps:
            r, c = s.result, s.step.claim
            paid = r.get("status") in ("P", "D")
            rows.append((
                str(s.step.number), f"{r.get('cardholder_id') or c.get('cardholder_id', '?')}-"
                f"{r.get('person_code') or c.get('person_code', '001')}",
                f"{r.get('rx_number', '')}/{r.get('fill_number', '')}",
                str(r.get("drug_name") or r.get("ndc") or "")[:24], str(r.get("status")),
                ",".join(str(x["code"]) for x in r.get("rejects", ())),
                str(r.get("patient_pay", "")) if paid else "",
                str(r.get("plan_pay", "")) if paid else "",
                "-" if not s.step.expect else ("ok" if s.passed else
                                               f"FAIL {len(s.mismatches)}")))
        print_table(_COLUMNS, rows, out)
        for s in o.failures:
            out.write(f"  {s.label}:\n")
            out.write("".join(f"    {m.describe()}\n" for m in s.mismatches))
        if not o.passed:
            failed += 1
    passed = len(outcomes) - failed - invalid
    out.write(f"\n{len(outcomes)} scenarios: {passed} passed, {failed} failed"
              + (f", {invalid} not valid" if invalid else "") + "\n")
    if invalid:
        return 2
    return 1 if failed else 0


def register(sub: Any) -> None:
    """Add ``test`` to the ``pbm`` parser."""
    p = sub.add_parser("test", help="run scenario files (claims and expected answers) against "
                       "a book")
    p.add_argument("paths", nargs="+", metavar="[BOOK] SCENARIO",
                   help="an optional book file, then scenario files or folders "
                   "(*.scenario.yaml)")
    p.add_argument("--book", help="book to run every scenario against (instead of its own)")
    p.set_defaults(func=cmd_test)
