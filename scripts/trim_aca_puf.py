#!/usr/bin/env python3
"""Trim CMS Exchange (QHP) PUF files to what `pbm plans from-aca` reads.

    python3 scripts/trim_aca_puf.py PUF_DIR OUT_DIR

Keeps every plan-attributes row with the columns the converter reads, and only the four drug
benefit rows of each plan from the benefits and cost sharing file.  Values are copied unchanged.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

ATTR_COLUMNS = [
    "BusinessYear", "StateCode", "IssuerId", "StandardComponentId", "PlanId",
    "PlanMarketingName", "PlanVariantMarketingName", "MarketCoverage", "DentalOnlyPlan",
    "PlanType", "MetalLevel", "CSRVariationType", "FormularyId", "IsHSAEligible",
    "MultipleInNetworkTiers", "MedicalDrugDeductiblesIntegrated",
    "MedicalDrugMaximumOutofPocketIntegrated", "SpecialtyDrugMaximumCoinsurance",
]
ATTR_PATTERN = re.compile(r"^(TEHB|DEHB)(Ded)?(InnTier1|InnTier2|OutOfNet|CombInnOon)")
BENEFIT_COLUMNS = [
    "BusinessYear", "StateCode", "IssuerId", "StandardComponentId", "PlanId", "BenefitName",
    "CopayInnTier1", "CopayInnTier2", "CopayOutofNet", "CoinsInnTier1", "CoinsInnTier2",
    "CoinsOutofNet", "IsCovered", "QuantLimitOnSvc", "LimitQty", "LimitUnit", "Explanation",
    "IsExclFromInnMOOP", "IsExclFromOonMOOP",
]
DRUGS = {"Generic Drugs", "Preferred Brand Drugs", "Non-Preferred Brand Drugs", "Specialty Drugs"}


def trim(source: Path, target: Path, columns: list[str], keep: object = None) -> int:
    with source.open(encoding="utf-8-sig", newline="") as inp, \
            target.open("w", encoding="utf-8", newline="") as out:
        reader = csv.DictReader(inp)
        assert reader.fieldnames
        cols = columns + [c for c in reader.fieldnames if c not in columns
                          and ATTR_PATTERN.match(c)] if keep is None else columns
        writer = csv.DictWriter(out, cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        n = 0
        for row in reader:
            if keep is None or row["BenefitName"] in DRUGS:
                writer.writerow(row)
                n += 1
        return n


def main() -> None:
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    dst.mkdir(parents=True, exist_ok=True)
    attrs = next(src.glob("plan_attributes*.csv"))
    benefits = next(src.glob("benefits_cost_sharing*.csv"))
    print(attrs.name, trim(attrs, dst / attrs.name, ATTR_COLUMNS))
    print(benefits.name, trim(benefits, dst / benefits.name, BENEFIT_COLUMNS, keep=DRUGS))


if __name__ == "__main__":
    main()
