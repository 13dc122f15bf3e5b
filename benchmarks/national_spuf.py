"""Write a synthetic CMS Part D SPUF folder of national size, and a book that uses it.

    python benchmarks/national_spuf.py OUT_DIR [COPIES] [PLANS]

The bundled 2026Q2 sample (four contracts, 12,869 basic-formulary rows) is copied COPIES times
(default 117: about 1.5 million basic-formulary rows, the size of CMS's national file) with new
contract and formulary ids, in the same CSV layout.  ``OUT_DIR/book.yaml`` lists the sample's
commercial formulary, network and prices and PLANS CMS plans (default 25) from the synthetic
folder, each on its own formulary.  Deterministic.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from pbm_engine.medicare.spuf import BUNDLED_SPUF_DIR
from pbm_engine.sources.compiled import sample_book_path

_CONTRACT_TABLES = ("beneficiary_cost", "insulin_beneficiary_cost", "excluded_drugs_formulary",
                    "indication_based_coverage")


def _contract(original: str, copy: int, index: dict[str, int]) -> str:
    return f"{original[0]}{1000 + copy * len(index) + index[original]:04d}"


def _formulary(original: str, copy: int) -> str:
    return f"{int(original) + copy * 100_000:08d}"


def make_national_spuf(out: Path, copies: int = 117, plans: int = 25) -> Path:
    """Write the synthetic SPUF folder ``out/spuf`` and ``out/book.yaml``; return the book."""
    spuf = out / "spuf"
    spuf.mkdir(parents=True, exist_ok=True)
    sources = {p.stem.rsplit("_", 1)[0]: p for p in BUNDLED_SPUF_DIR.glob("*.csv")}
    with sources["plan_information"].open(encoding="utf-8", newline="") as handle:
        info = list(csv.reader(handle))
    index = {c: i for i, c in enumerate(sorted({row[0] for row in info[1:]}))}
    for table, path in sources.items():
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        header, body = rows[0], rows[1:]
        with (spuf / path.name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            for copy in range(copies):
                for row in body:
                    row = list(row)
                    if table == "basic_drugs_formulary":
                        row[0] = _formulary(row[0], copy)
                    elif table == "plan_information":
                        row[0] = _contract(row[0], copy, index)
                        row[5] = _formulary(row[5], copy)
                    elif table in _CONTRACT_TABLES:
                        row[0] = _contract(row[0], copy, index)
                    writer.writerow(row)
    seen_formularies: set[str] = set()
    chosen: list[tuple[str, str, str]] = []
    for copy in range(copies):
        for row in info[1:]:
            formulary = _formulary(row[5], copy)
            if formulary not in seen_formularies and len(chosen) < plans:
                seen_formularies.add(formulary)
                chosen.append((_contract(row[0], copy, index), row[1], row[2]))
    sample = sample_book_path().parent
    lines = [
        "# A book on a synthetic national-size SPUF, written by benchmarks/national_spuf.py",
        f"formularies: [{sample / 'formulary.yaml'}]",
        f"networks: [{sample / 'network.yaml'}]",
        f"prices: [{sample / 'prices.csv'}]",
        'nadac: ["pkg:nadac/nadac_2026-04-29_sample_rows.csv"]',
        "part_d_plans:",
    ]
    for contract, plan, segment in chosen:
        lines.append(f'  - {{plan_id: CMS-{contract}-{plan}-{segment}, spuf: spuf, '
                     f'contract: {contract}, plan: "{plan}", segment: "{segment}", '
                     "network: SAMPLE-NETWORK-2026, drug_master: SAMPLE-COMMERCIAL-2026}")
    book = out / "book.yaml"
    book.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return book


def main() -> None:
    out = Path(sys.argv[1])
    copies = int(sys.argv[2]) if len(sys.argv) > 2 else 117
    plans = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    book = make_national_spuf(out, copies, plans)
    rows = sum(1 for _ in (out / "spuf").glob("basic_drugs_formulary*"))
    print(book, f"({rows} formulary file, {copies} copies of the bundled sample)")


if __name__ == "__main__":
    main()
