"""``pbm formulary``: a formulary as a spreadsheet, and what changed between two.

    pbm formulary export FORMULARY --csv FILE [--id ID]    FORMULARY: formulary YAML or a book
    pbm formulary import FILE.csv --out formulary.yaml
    pbm formulary diff OLD NEW [--id ID] [--csv FILE]      OLD/NEW: YAML, book or CSV
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from pbm_engine.cli.textio import print_table

__all__ = ["register"]


def cmd_export(args: argparse.Namespace) -> int:
    from pbm_engine.admin.formulary_sheet import export_csv, read_formulary_model

    model = read_formulary_model(args.formulary, args.id)
    out = Path(args.csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(export_csv(model), encoding="utf-8")
    print(f"{len(model.drugs)} drugs of {model.formulary_id} written to {out}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from pbm_engine.admin.formulary_sheet import import_csv

    formulary = import_csv(args.file, args.out)
    print(f"{len(formulary.drugs)} drugs of {formulary.formulary_id} written to {args.out} "
          "(checked by the formulary loader)")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from pbm_engine.admin.formulary_sheet import diff_formularies, read_formulary

    old, new = read_formulary(args.old, args.id), read_formulary(args.new, args.id)
    changes = diff_formularies(old, new)
    counts = Counter(c.kind for c in changes)
    print(f"{old.formulary_id} ({len(old.drugs)} drugs) -> {new.formulary_id} "
          f"({len(new.drugs)} drugs): {len(changes)} changes"
          + (" (" + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")" if changes else ""))
    if changes:
        print()
        print_table(("ndc", "drug", "change", "before", "after"),
                    [(c.ndc, c.name[:32], c.kind.replace("_", " "), c.before, c.after)
                     for c in changes], sys.stdout)
    if args.csv:
        import csv

        with open(args.csv, "w", encoding="utf-8", newline="") as handle:
            w = csv.writer(handle)
            w.writerow(("ndc", "drug", "change", "before", "after", "more_restrictive"))
            w.writerows((c.ndc, c.name, c.kind, c.before, c.after,
                         "yes" if c.more_restrictive else "") for c in changes)
    return 0


def register(sub: Any) -> None:
    """Add ``formulary export|import|diff`` to the ``pbm`` parser."""
    group = sub.add_parser("formulary", help="formulary as a spreadsheet (export, import) and "
                           "what changed between two (diff)")
    cmds = group.add_subparsers(dest="formulary_command", required=True)
    exp = cmds.add_parser("export", help="write a formulary as CSV")
    exp.add_argument("formulary", help="a formulary YAML file or a book")
    exp.add_argument("--csv", required=True, help="CSV file to write")
    exp.add_argument("--id", help="which formulary of the book")
    exp.set_defaults(func=cmd_export)
    imp = cmds.add_parser("import", help="read a CSV sheet, write a checked formulary YAML")
    imp.add_argument("file", help="CSV sheet (as written by export)")
    imp.add_argument("--out", required=True, help="formulary YAML file to write")
    imp.set_defaults(func=cmd_import)
    dif = cmds.add_parser("diff", help="drugs added and removed, tier moves, PA, step and "
                          "quantity-limit changes")
    dif.add_argument("old", help="formulary YAML, book or CSV sheet")
    dif.add_argument("new", help="formulary YAML, book or CSV sheet")
    dif.add_argument("--id", help="which formulary of a book")
    dif.add_argument("--csv", help="also write the changes as CSV")
    dif.set_defaults(func=cmd_diff)
