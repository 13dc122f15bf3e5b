"""``pbm members`` and ``pbm pa``: eligibility and prior authorizations in a claim store.

    pbm members import FILE --db DB [--replace]     CSV or JSON lines (docs/eligibility-files.md)
    pbm members show CARDHOLDER --db DB [--person 001]
    pbm pa import FILE --db DB

``DB`` is a SQLite file (created owner-only when missing) or a ``postgresql://`` URL.  A file
with any bad row changes nothing: every problem is listed with its line number (exit 1).
Once a store holds members, ``pbm adjudicate --db DB`` reads members from it, not the book.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pbm_engine.cli.openers import open_store
from pbm_engine.cli.paths import input_file
from pbm_engine.cli.textio import print_table
from pbm_engine.errors import UsageError
from pbm_engine.store.eligibility import MAX_REPORTED, EligibilityFileError

__all__ = [
    "register",
]

__all__ = ["register"]

_GENDER = {0: "U", 1: "M", 2: "F"}
_RELATIONSHIP = {"1": "cardholder", "2": "spouse", "3": "child", "4": "other"}


def _bad_rows(exc: EligibilityFileError, path: Path) -> int:
    """Report a file's bad rows on stderr (``error: line N: what``, then one ``pbm:`` line);
    nothing was imported; exit status 1."""
    for problem in exc.problems[:MAX_REPORTED]:
        print(f"error: {problem}", file=sys.stderr)
    more = f" ({exc.count - MAX_REPORTED} more not listed)" if exc.count > MAX_REPORTED else ""
    print(f"pbm: {path}: {exc.count} bad row(s){more}; nothing was imported (FILE)",
          file=sys.stderr)
    return 1


def cmd_import(args: argparse.Namespace) -> int:
    from pbm_engine.store.eligibility import import_members

    path = input_file(args.file, "FILE")
    store = open_store(args.db, "--db")
    try:
        report = import_members(store, path, replace_all=args.replace)
    except EligibilityFileError as exc:
        return _bad_rows(exc, path)
    finally:
        store.close()
    removed = f", {report.removed} removed" if args.replace else ""
    print(f"{args.file}: {report.rows} rows; {report.added} added, {report.changed} changed, "
          f"{report.terminated} terminated{removed}; {report.members} members on file")
    return 0


def cmd_pa_import(args: argparse.Namespace) -> int:
    from pbm_engine.store.eligibility import import_prior_auths

    path = input_file(args.file, "FILE")
    store = open_store(args.db, "--db")
    try:
        report = import_prior_auths(store, path)
    except EligibilityFileError as exc:
        return _bad_rows(exc, path)
    finally:
        store.close()
    print(f"{args.file}: {report.rows} rows; {report.added} added or replaced, "
          f"{report.removed} deleted")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = open_store(args.db, "--db", create=False, readonly=True)
    try:
        if args.person:
            member = store.get(args.cardholder, args.person.zfill(3))
            members = [member] if member else []
        else:
            mine = store.members_of_cardholder(args.cardholder)
            family = store.family(mine[0].family_id) if mine else []
            members = family + [m for m in mine if m not in family]
        if not members:
            who = f"{args.cardholder} person {args.person}" if args.person else args.cardholder
            raise UsageError(f"member {who} is not on file in the store")
        pas = {m.member_id: store.prior_auths_of(m.member_id) for m in members}
    finally:
        store.close()
    header = ("member", "person", "family", "plan", "born", "sex", "relationship", "LIS",
              "coverage")
    rows = []
    for m in members:
        periods = "; ".join(
            f"{p.start}..{p.end or ''}{' terminated' if p.terminated else ''}"
            f"{' ' + p.plan_id if p.plan_id and p.plan_id != m.plan_id else ''}"
            for p in m.coverage) or "none"
        rows.append((m.member_id, m.person_code, m.family_id, m.plan_id,
                     m.date_of_birth.isoformat() if m.date_of_birth else "",
                     _GENDER.get(m.gender, "U"), _RELATIONSHIP.get(m.relationship, ""),
                     m.lis_level or "", periods))
    print_table(header, rows, sys.stdout)
    found = [(m, pa) for m in members for pa in pas[m.member_id]]
    if found:
        print()
        print_table(("member", "PA", "from", "to", "drug", "bypasses"), [
            (m.member_id, pa.number, pa.start.isoformat(), pa.end.isoformat(),
             pa.ndc or pa.te_group or pa.group or pa.rxcui or "", ",".join(sorted(pa.bypasses)))
            for m, pa in found], sys.stdout)
    return 0


def register(sub: Any) -> None:
    """Add ``members`` (import, show) and ``pa`` (import) to the ``pbm`` parser."""
    members = sub.add_parser("members", help="eligibility in a claim store (import, show)")
    msub = members.add_subparsers(dest="members_command", required=True)
    imp = msub.add_parser("import", help="import an eligibility file (CSV or JSON lines)")
    imp.add_argument("file", help="eligibility file (docs/eligibility-files.md)")
    imp.add_argument("--db", required=True, help="SQLite file or postgresql:// URL")
    imp.add_argument("--replace", action="store_true",
                     help="the file is the whole eligibility: members not in it are removed")
    imp.set_defaults(func=cmd_import)
    show = msub.add_parser("show", help="a cardholder's family (or one member) on file")
    show.add_argument("cardholder", help="cardholder id (302-C2)")
    show.add_argument("--person", help="person code (default: the whole family)")
    show.add_argument("--db", required=True, help="SQLite file or postgresql:// URL")
    show.set_defaults(func=cmd_show)

    pa = sub.add_parser("pa", help="prior authorizations in a claim store (import)")
    psub = pa.add_subparsers(dest="pa_command", required=True)
    pimp = psub.add_parser("import", help="import a prior-authorization file")
    pimp.add_argument("file", help="PA file, CSV or JSON lines (docs/eligibility-files.md)")
    pimp.add_argument("--db", required=True, help="SQLite file or postgresql:// URL")
    pimp.set_defaults(func=cmd_pa_import)
