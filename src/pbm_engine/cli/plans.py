"""``pbm plans from-aca``: commercial plan designs from the CMS Exchange (ACA) PUF.

    pbm plans from-aca [PUF_DIR] --plan-id ID --out plan.yaml [--network in|in2|out]
    pbm plans from-aca [PUF_DIR] --all [--out DIR]

PUF_DIR holds the plan attributes and benefits and cost sharing files (default: the bundled
Alaska 2026 slice).  ``--all`` converts every plan it can (one plan file each when ``--out`` is
given) and prints a report: each plan converted, or the reason it was not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pbm_engine.cli.textio import print_table
from pbm_engine.errors import UsageError

__all__ = ["register"]


def _write(design: dict[str, Any], out: Path) -> None:
    import yaml

    out.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(design, sort_keys=False, allow_unicode=True, width=100)
    out.write_text(f"# Converted by `pbm plans from-aca` from the CMS Exchange PUF.\n{text}",
                   encoding="utf-8")


def cmd_from_aca(args: argparse.Namespace) -> int:
    from pbm_engine.sources.aca import (
        NotConvertible,
        bundled_puf_dir,
        convert,
        design_warnings,
        read_puf,
    )

    puf = read_puf(args.puf_dir or bundled_puf_dir())
    options = {"network": args.network, "formulary": args.formulary,
               "pharmacy_network": args.pharmacy_network}
    if not args.all:
        if not args.plan_id or not args.out:
            raise UsageError("from-aca: give --plan-id ID --out plan.yaml, or --all")
        plan = puf.plans.get(args.plan_id)
        if plan is None:
            import difflib

            close = difflib.get_close_matches(args.plan_id, list(puf.plans), n=3)
            raise UsageError(f"from-aca: no plan {args.plan_id} in {puf.folder}"
                             + (f" (close: {', '.join(close)})" if close else ""))
        try:
            design = convert(plan, **options)
        except NotConvertible as exc:
            print(f"pbm: {args.plan_id} cannot be converted: {exc}", file=sys.stderr)
            return 1
        _write(design, Path(args.out))
        print(f"{args.plan_id} ({plan.name}) written to {args.out}")
        for warning in design_warnings(design):
            print(f"warning: {warning}")
        return 0
    rows: list[tuple[str, ...]] = []
    converted = 0
    for plan_id, plan in sorted(puf.plans.items()):
        try:
            design = convert(plan, **options)
        except NotConvertible as exc:
            rows.append((plan_id, plan.name[:44], "not converted", str(exc)))
            continue
        converted += 1
        warnings = design_warnings(design)
        where = ""
        if args.out:
            target = Path(args.out) / f"{plan_id}.yaml"
            _write(design, target)
            where = str(target)
        rows.append((plan_id, plan.name[:44], "converted", where))
        rows.extend(("", "", "warning", w.split(": ", 1)[-1]) for w in warnings)
    print_table(("plan", "name", "result", "file or reason"), rows, sys.stdout)
    print(f"\n{len(puf.plans)} plans: {converted} converted, {len(puf.plans) - converted} "
          "not converted")
    return 0


def register(sub: Any) -> None:
    """Add ``plans from-aca`` to the ``pbm`` parser."""
    group = sub.add_parser("plans", help="plan designs from public files")
    cmds = group.add_subparsers(dest="plans_command", required=True)
    aca = cmds.add_parser("from-aca", help="commercial plans from the CMS Exchange (ACA) PUF")
    aca.add_argument("puf_dir", nargs="?", help="folder with the plan attributes and benefits "
                     "and cost sharing CSV files (default: the bundled Alaska 2026 slice)")
    aca.add_argument("--plan-id", help="PUF PlanId, e.g. 38344AK1060001-01")
    aca.add_argument("--out", help="plan file to write (with --all: a folder)")
    aca.add_argument("--all", action="store_true", help="convert every plan and report")
    aca.add_argument("--network", choices=("in", "in2", "out"), default="in",
                     help="cost sharing of which network tier (default: in network)")
    aca.add_argument("--formulary", default="SAMPLE-COMMERCIAL-2026",
                     help="formulary id the plan uses (default: the bundled sample's)")
    aca.add_argument("--pharmacy-network", default="SAMPLE-NETWORK-2026",
                     help="pharmacy network id (default: the bundled sample's)")
    aca.set_defaults(func=cmd_from_aca)
