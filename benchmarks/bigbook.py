"""Write a large book: the bundled sample book with its formulary grown to N drugs.

    python benchmarks/bigbook.py OUT_DIR [N] [yaml|json]     (default N = 50,000, yaml)

The sample formulary's drugs are kept as they are (so the sample claim mix runs unchanged on the
big book); synthetic drugs are added with NDCs 9xxxxxxxxxx, cycling through the sample's tiers,
groups and edits, each with a price row.  Deterministic: the same N writes the same files.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import orjson
import yaml

from pbm_engine.sources.loader import sample_book_path

_SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def make_big_book(out: Path, drugs: int = 50_000, fmt: str = "yaml") -> Path:
    """Write the sample book with ``drugs`` formulary entries into ``out``; return the book path."""
    sample = sample_book_path().parent
    out.mkdir(parents=True, exist_ok=True)
    for name in ("plan_ppo.yaml", "plan_hdhp.yaml", "network.yaml", "members.yaml"):
        shutil.copyfile(sample / name, out / name)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with (sample / "formulary.yaml").open(encoding="utf-8") as handle:
        formulary = yaml.load(handle, Loader=loader)  # the C *safe* loader
    base = list(formulary["drugs"])
    grown = list(base)
    price_rows: list[list[str]] = []
    i = 0
    while len(grown) < drugs:
        template = dict(base[i % len(base)])
        ndc = f"9{i:010d}"
        template["ndc"] = ndc
        template["name"] = f"{template['name']} (synthetic {i})"
        template.pop("te_group", None)  # synthetic products join no equivalence group
        template["multi_source"] = False
        grown.append(template)
        awp = f"{1 + (i % 400) * 0.37:.5f}"
        price_rows.append([ndc, "2026-01-01", "", awp, f"{float(awp) * 0.8:.5f}", ""])
        i += 1
    formulary["drugs"] = grown
    formulary["te_groups"] = []
    formulary["name"] = f"{formulary['name']} grown to {drugs:,} drugs"
    if fmt == "json":
        (out / "formulary.json").write_bytes(orjson.dumps(formulary))
    else:
        with (out / "formulary.yaml").open("w", encoding="utf-8") as handle:
            yaml.dump(formulary, handle, Dumper=_SAFE_DUMPER, sort_keys=False, width=100)
    with (sample / "prices.csv").open(encoding="utf-8", newline="") as src, \
            (out / "prices.csv").open("w", encoding="utf-8", newline="") as dst:
        dst.write(src.read())
        csv.writer(dst, lineterminator="\n").writerows(price_rows)
    book = out / "book.yaml"
    book.write_text(
        "# A big book written by benchmarks/bigbook.py\n"
        "plans: [plan_ppo.yaml, plan_hdhp.yaml]\n"
        f"formularies: [formulary.{fmt}]\n"
        "networks: [network.yaml]\n"
        "prices: [prices.csv]\n"
        'nadac: ["pkg:nadac/nadac_2026-04-29_sample_rows.csv"]\n'
        "members: [members.yaml]\n", encoding="utf-8")
    return book


def main() -> None:
    out = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
    print(make_big_book(out, n, sys.argv[3] if len(sys.argv) > 3 else "yaml"))


if __name__ == "__main__":
    main()
