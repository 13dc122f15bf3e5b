"""Build the bundled sample formulary, synthetic price table and trimmed Orange Book.

Deterministic: the same inputs always give byte-identical outputs.  Inputs are the public files
in the shared data folder (``--data``) plus the package's own NADAC extract; outputs go under
``--out`` (default: the package data folder)::

    <out>/sample/formulary.yaml
    <out>/sample/prices.csv
    <out>/orange_book/products.txt

Tiers, edits and AWP/WAC/MAC values are illustrative fixtures, not real plan data; the rules
that produce them are in this file and in ``src/pbm_engine/data/README.md``.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import yaml  # noqa: E402

from pbm_engine.formulary.orange_book import HEADER, OrangeBook, parse_products  # noqa: E402
from pbm_engine.money import PRICE_SCALE, div_round, fmt_scaled, to_price  # noqa: E402
from pbm_engine.pricing.nadac import BUNDLED_NADAC, NadacRow, load_nadac  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data")
DEFAULT_OUT = ROOT / "src" / "pbm_engine" / "data"
SPECIALTY_30_DAY_CENTS = 100_000  # $1,000 per 30 days
# Units assumed per 30 days when estimating a monthly cost for the specialty tier.
ORAL_SOLID = re.compile(r"\b(TABLET|TAB|CAPSULE|CAP|ODT|CAPLET|GELCAP|DAILY DOSE)\b")


# --- drugs that NADAC's partial extract lacks, taken from the Part D SPUF by NDC ---------------
SPUF_EXTRAS = (
    # ndc, name, pricing unit, synthetic WAC per unit, flags
    ("00088222033", "LANTUS 100 UNIT/ML VIAL", "ML", "25.00000", {"insulin": True}),
    ("00002751001", "HUMALOG 100 UNIT/ML VIAL", "ML", "23.00000", {"insulin": True}),
    ("00169750111", "NOVOLOG 100 UNIT/ML VIAL", "ML", "24.00000", {"insulin": True}),
    ("58160082311", "SHINGRIX VACCINE KIT", "EA", "200.00000", {"vaccine": True}),
)

# Therapeutic class as a formulary states it: USP Medicare Model Guidelines v7.0 "category: class"
# names (the classification CMS uses for Part D formulary review), assigned by ingredient.
USP_CLASSES: tuple[tuple[str, str], ...] = (
    (r"^ABACAVIR", "Antivirals: Anti-HIV Agents, Nucleoside and Nucleotide Reverse "
     "Transcriptase Inhibitors (NRTI)"),
    (r"^ABIGALE\b", "Hormonal Agents, Stimulant/Replacement/Modifying (Estrogens)"),
    (r"^(ABILIFY|ARIPIPRAZOLE|ASIMTUFII|ZYPREXA|OLANZAPINE)\b",
     "Antipsychotics: 2nd Generation/Atypical"),
    (r"^(ABIRATERONE|ABIRTEGA)\b", "Antineoplastics: Antiandrogens"),
    (r"^ABSORICA\b", "Dermatological Agents: Acne and Rosacea Agents"),
    (r"^ACAMPROSATE\b", "Anti-Addiction/Substance Abuse Treatment Agents: "
     "Alcohol Deterrents/Anti-craving"),
    (r"^(ACARBOSE|ZITUVIO|ZITUVIMET)\b", "Blood Glucose Regulators: Antidiabetic Agents"),
    (r"^(LANTUS|HUMALOG|NOVOLOG)\b", "Blood Glucose Regulators: Insulins"),
    (r"^(ACEBUTOLOL|LABETALOL)\b", "Cardiovascular Agents: Beta-adrenergic Blocking Agents"),
    (r"^KISQALI\b", "Antineoplastics: Molecular Target Inhibitors"),
    (r"^KLAYESTA\b", "Antifungals"),
    (r"^KLONOPIN\b", "Anxiolytics: Benzodiazepines"),
    (r"^KLOR-CON", "Electrolytes/Minerals/Metals/Vitamins: Electrolyte/Mineral Replacement"),
    (r"^KLOXXADO\b", "Anti-Addiction/Substance Abuse Treatment Agents: Opioid Reversal Agents"),
    (r"^ZUBSOLV\b", "Anti-Addiction/Substance Abuse Treatment Agents: "
     "Opioid Dependence Treatments"),
    (r"^KONVOMEP\b", "Gastrointestinal Agents: Proton Pump Inhibitors"),
    (r"^KRISTALOSE\b", "Gastrointestinal Agents: Gastrointestinal Agents, Other"),
    (r"^(KURVELO|ZOVIA|ZUMANDIMINE)", "Contraceptives"),
    (r"^LACOSAMIDE\b", "Anticonvulsants: Sodium Channel Agents"),
    (r"^(ZONISAMIDE|ZONISADE)\b", "Anticonvulsants: Anticonvulsants, Other"),
    (r"^ZITHROMAX\b", "Antibacterials: Macrolides"),
    (r"^(ZOCOR|ZYPITAMAG|SIMVASTATIN)\b", "Cardiovascular Agents: Dyslipidemics"),
    (r"^ZOLEDRONIC\b", "Metabolic Bone Disease Agents"),
    (r"^(ZOLMITRIPTAN|ZOMIG)\b", "Antimigraine Agents: Serotonin (5-HT) 1b/1d Receptor Agonists"),
    (r"^(ZOLOFT|SERTRALINE)\b", "Antidepressants: SSRIs/SNRIs"),
    (r"^ZOLPIDEM\b", "Sleep Disorder Agents: GABA Receptor Modulators"),
    (r"^ZOMACTON\b", "Hormonal Agents, Stimulant/Replacement/Modifying (Pituitary)"),
    (r"^ZORYVE\b", "Dermatological Agents: Dermatological Agents, Other"),
    (r"^ZTLIDO\b", "Anesthetics: Local Anesthetics"),
    (r"^ZYLET\b", "Ophthalmic Agents: Ophthalmic Anti-inflammatories"),
    (r"^SHINGRIX\b", "Immunological Agents: Vaccines"),
)

GROUPS: tuple[tuple[str, str, str], ...] = (
    # id, name, description regex (matched against NDC description; "" = no members here)
    ("CLASS:SSRI", "SSRI antidepressants", r"^(ZOLOFT|SERTRALINE)\b"),
    ("CLASS:SSRI-GENERIC", "Generic SSRI antidepressants", r"^SERTRALINE\b"),
    ("CLASS:STATIN", "HMG-CoA reductase inhibitors (statins)", r"^(ZOCOR|ZYPITAMAG|SIMVASTATIN)"),
    ("CLASS:STATIN-GENERIC", "Generic statins", r"^SIMVASTATIN\b"),
    ("CLASS:ANTIPSYCHOTIC", "Atypical antipsychotics", r"^(ABILIFY|ZYPREXA|ARIPIPRAZOLE)"),
    ("CLASS:ARIPIPRAZOLE-GENERIC", "Generic aripiprazole", r"^ARIPIPRAZOLE\b"),
    ("CLASS:TRIPTAN", "Triptans (migraine)", r"^(ZOLMITRIPTAN|ZOMIG)\b"),
    ("CLASS:TRIPTAN-GENERIC", "Generic triptans", r"^ZOLMITRIPTAN\b"),
    ("CLASS:ANTIDIABETIC", "Antidiabetic agents", r"^(ACARBOSE|ZITUVIO|ZITUVIMET)\b"),
    ("CLASS:ANTIDIABETIC-GENERIC", "Generic oral antidiabetic agents", r"^ACARBOSE\b"),
    ("CLASS:INSULIN", "Insulins", r"^(LANTUS|HUMALOG|NOVOLOG)\b"),
    ("CLASS:BENZODIAZEPINE", "Benzodiazepines", r"^KLONOPIN\b"),
    ("CLASS:SEDATIVE-HYPNOTIC", "Sedative-hypnotics", r"^ZOLPIDEM\b"),
    ("CLASS:ANTIEPILEPTIC", "Antiepileptics", r"^(LACOSAMIDE|ZONISAMIDE|ZONISADE|KLONOPIN)\b"),
    ("CLASS:CONTRACEPTIVE", "Oral contraceptives", r"^(ZOVIA|KURVELO|ZUMANDIMINE)\b"),
    ("CLASS:ONCOLOGY-ORAL", "Oral oncology agents", r"^(KISQALI|ABIRATERONE|ABIRTEGA)\b"),
    ("CLASS:ANTIRETROVIRAL", "HIV antiretrovirals", r"^ABACAVIR\b"),
    ("CLASS:OPIOID-USE-DISORDER", "Opioid use disorder / overdose", r"^(ZUBSOLV|KLOXXADO)\b"),
    ("CLASS:VACCINE", "Vaccines", r"^SHINGRIX\b"),
)


def _edits(name: str) -> dict[str, object]:
    """Illustrative utilization-management edits keyed on the NDC description."""
    e: dict[str, object] = {}

    def has(pattern: str) -> bool:
        return re.search(pattern, name) is not None

    if has(r"^(ABSORICA|KISQALI|ABIRATERONE|ABIRTEGA|ZOMACTON|ABILIFY (MAINTENA|ASIMTUFII))"):
        e["pa_required"] = True
    if has(r"^ZOLOFT\b"):
        e["step_therapy"] = {"prerequisites": ["CLASS:SSRI-GENERIC"], "lookback_days": 180}
    elif has(r"^(ZOCOR|ZYPITAMAG)\b"):
        e["step_therapy"] = {"prerequisites": ["CLASS:STATIN-GENERIC"], "lookback_days": 180}
    elif has(r"^ABILIFY \d"):
        e["step_therapy"] = {"prerequisites": ["CLASS:ARIPIPRAZOLE-GENERIC"], "lookback_days": 365}
    elif has(r"^ZOMIG\b"):
        e["step_therapy"] = {"prerequisites": ["CLASS:TRIPTAN-GENERIC"], "lookback_days": 180}
    elif has(r"^(ZITUVIO|ZITUVIMET)\b"):
        e["step_therapy"] = {"prerequisites": ["CLASS:ANTIDIABETIC-GENERIC"], "lookback_days": 120}
    if has(r"^ZOLPIDEM\b"):
        e["quantity_limit"] = {"quantity": "30", "days": 30}
        e["min_age"] = 18
    elif has(r"^(ZOLMITRIPTAN|ZOMIG) .*NASAL SPRAY"):
        e["quantity_limit"] = {"quantity": "6", "days": 30}
    elif has(r"^ZOLMITRIPTAN\b"):
        e["quantity_limit"] = {"quantity": "9", "days": 30}
    elif has(r"^ZUBSOLV\b"):
        e["quantity_limit"] = {"quantity": "90", "days": 30}
        e["max_days_supply"] = 30
    if has(r"^ABSORICA\b"):
        e["min_age"] = 12
    if has(r"^KLONOPIN\b"):
        e["max_age"] = 64
    if has(r"^(ABIRATERONE|ABIRTEGA)\b"):
        e["gender"] = "M"
    if has(r"^(ZOVIA|KURVELO|ZUMANDIMINE|ABIGALE|3-DAY VAGINAL)\b"):
        e["gender"] = "F"
    if has(r"^(ZOVIA|KURVELO|ZUMANDIMINE)\b"):
        e["preventive"] = True
    if has(r"^(ZITHROMAX|ACCRUFER)\b"):
        e["status"] = "non_formulary"
    return e


class _Dumper(yaml.SafeDumper):
    """Safe dumper that double-quotes digit strings (NDCs, RXCUIs) for every YAML reader."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if value.isdigit() else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _scale(value: int, num: int, den: int) -> int:
    return div_round(value * num, den)


def _thirty_day_cents(row: NadacRow) -> int:
    if row.pricing_unit == "EA":
        units = 30 if ORAL_SOLID.search(row.description) else 4
    elif row.pricing_unit == "ML":
        units = 5
    else:
        units = 30
    return div_round(row.unit_price * units, PRICE_SCALE // 100)


def _spuf_rxcuis(data: Path) -> dict[str, str]:
    path = data / "cms-part-d-spuf-2026q2" / "basic_drugs_formulary_2026Q2.csv"
    found: dict[str, set[str]] = defaultdict(set)
    with path.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            found[rec["NDC"]].add(rec["RXCUI"].strip())
    # SPUF maps one proxy NDC per RXCUI; keep only unambiguous NDC -> RXCUI links.
    return {ndc: next(iter(r)) for ndc, r in found.items() if len(r) == 1}


def build(data: Path, out: Path) -> None:
    """Write the three output files under ``out``."""
    nadac = load_nadac(BUNDLED_NADAC)
    rxcuis = _spuf_rxcuis(data)
    ob_raw = (data / "fda-orange-book" / "products.txt").read_bytes().decode("ascii")
    ob = OrangeBook(parse_products(ob_raw, "products.txt"))

    matches = ob.match_ndcs((r.ndc, r.description) for r in nadac)

    # ---- trimmed Orange Book: marketed rows of every ingredient the matcher consulted ----------
    keep: set[str] = set()
    for r in nadac:
        keep |= ob.related_ingredients(r.description)
    lines = ob_raw.split("\r\n")
    kept = [lines[0]] + [
        ln for ln in lines[1:] if ln.split("~")[0] in keep and ln.split("~")[12] != "DISCN"
    ]
    trimmed = "\r\n".join(kept)
    ob_small = OrangeBook(parse_products(trimmed, "trimmed products.txt"))
    again = ob_small.match_ndcs((r.ndc, r.description) for r in nadac)
    if again != matches:
        raise SystemExit("trimmed Orange Book does not reproduce the full file's matches")
    assert lines[0] == "~".join(HEADER)

    # ---- formulary ----------------------------------------------------------------------
    members: dict[str, list[str]] = defaultdict(list)
    drugs: list[dict[str, object]] = []
    group_rx = [(gid, re.compile(rx)) for gid, _name, rx in GROUPS]
    labelers: dict[str, set[str]] = defaultdict(set)
    for r in nadac:
        labelers[r.description].add(r.ndc[:5])

    class_rx = [(re.compile(rx), cls) for rx, cls in USP_CLASSES]

    def add(entry: dict[str, object], name: str) -> None:
        if entry.get("status", "covered") != "excluded":
            cls = next((c for rx, c in class_rx if rx.search(name)), None)
            if cls:
                entry["therapeutic_class"] = cls
        groups = [gid for gid, rx in group_rx if rx.search(name)]
        if groups:
            entry["groups"] = groups
            for gid in groups:
                members[gid].append(str(entry["ndc"]))
        edits = _edits(name)
        for key in ("step_therapy", "quantity_limit", "min_age", "max_age", "gender"):
            if key in edits:
                entry[key] = edits[key]
        if entry["specialty"]:
            entry["max_days_supply"] = 30
        if "max_days_supply" in edits:
            entry["max_days_supply"] = edits["max_days_supply"]
        entry["pa_required"] = bool(edits.get("pa_required", False))
        if edits.get("preventive"):
            entry["preventive"] = True
            entry["tier"] = 0
        if "status" in edits and entry["status"] == "covered":
            entry["status"] = edits["status"]
        drugs.append(entry)

    for r in nadac:
        m = matches.get(r.ndc)
        group_size = len(ob.groups[m.group_id].products) if m else 0
        brand = r.classification in ("B", "B-BIO")
        if brand:
            multi = r.generic_unit_price is not None or (
                m is not None and any(p.appl_type == "A" for p in ob.groups[m.group_id].products)
            )
        elif r.classification == "G":
            multi = group_size >= 2 or len(labelers[r.description]) >= 2
        else:  # B-ANDA: branded generic
            multi = r.generic_unit_price is not None or group_size >= 2
        # Specialty: over $1,000 per 30 days and no generic NADAC (multi-source brands stay 3).
        specialty = _thirty_day_cents(r) > SPECIALTY_30_DAY_CENTS and r.generic_unit_price is None
        if specialty:
            tier = 4
        elif r.classification == "G":
            tier = 1
        elif r.generic_unit_price is not None:
            tier = 3
        else:
            tier = 2
        entry: dict[str, object] = {"ndc": r.ndc, "name": r.description}
        if r.ndc in rxcuis:
            entry["rxcui"] = rxcuis[r.ndc]
        entry.update(
            brand=brand,
            multi_source=multi,
            **({"te_group": m.group_id} if m else {}),
            tier=tier,
            status="excluded" if r.otc else "covered",
            pa_required=False,
            preventive=False,
            specialty=specialty,
            insulin=False,
            vaccine=False,
            otc=r.otc,
        )
        add(entry, r.description)

    for ndc, name, _unit, _wac, flags in SPUF_EXTRAS:
        if ndc not in rxcuis:
            raise SystemExit(f"{ndc} not found in the SPUF basic formulary file")
        entry = {
            "ndc": ndc,
            "name": name,
            "rxcui": rxcuis[ndc],
            "brand": True,
            "multi_source": False,
            "tier": 0 if flags.get("vaccine") else 2,
            "status": "covered",
            "pa_required": False,
            "preventive": bool(flags.get("vaccine")),
            "specialty": False,
            "insulin": bool(flags.get("insulin")),
            "vaccine": bool(flags.get("vaccine")),
            "otc": False,
        }
        add(entry, name)

    # Key order as documented, so the YAML reads the same way for every drug.
    order = [
        "ndc", "name", "rxcui", "brand", "multi_source", "te_group", "therapeutic_class", "groups",
        "tier", "status",
        "pa_required", "step_therapy", "quantity_limit", "min_age", "max_age", "gender",
        "preventive", "specialty", "insulin", "vaccine", "otc", "max_days_supply",
    ]  # fmt: skip
    drugs = [{k: d[k] for k in order if k in d} for d in drugs]

    # TE groups used by the formulary, with NADAC's own brand -> generic price link checked.
    te_members: dict[str, list[dict[str, object]]] = defaultdict(list)
    by_ndc = {r.ndc: r for r in nadac}
    for d in drugs:
        if "te_group" in d:
            te_members[str(d["te_group"])].append(d)
    te_groups = []
    for gid in sorted(te_members):
        g = ob.groups[gid]
        ds = te_members[gid]
        generic_prices = {by_ndc[str(d["ndc"])].unit_price for d in ds if not d["brand"]}
        nadac_link = any(
            by_ndc[str(d["ndc"])].generic_unit_price in generic_prices for d in ds if d["brand"]
        )
        te_groups.append(
            {
                "id": gid,
                "ingredient": g.ingredient,
                "dosage_form": g.dosage_form,
                "route": g.route,
                "strength": g.strength,
                "te_code": g.te_code,
                "brand_ndcs": [d["ndc"] for d in ds if d["brand"]],
                "generic_ndcs": [d["ndc"] for d in ds if not d["brand"]],
                "nadac_generic_link": nadac_link,
            }
        )

    doc = {
        "formulary_id": "SAMPLE-COMMERCIAL-2026",
        "name": "Sample commercial formulary (real NDCs; tiers and edits illustrative)",
        "source": (
            "CMS NADAC weekly file as of 2026-04-29 (partial extract bundled in data/nadac/); "
            "CMS Part D SPUF 2026Q2 basic_drugs_formulary (RXCUIs; NDCs for Lantus, Humalog, "
            "Novolog, Shingrix); FDA Orange Book products.txt, May 2024 (TE groups). "
            "Generated by scripts/build_sample_data.py."
        ),
        "groups": [{"id": gid, "name": name} for gid, name, _rx in GROUPS],
        "te_groups": te_groups,
        "drugs": drugs,
    }
    text = "# Generated by scripts/build_sample_data.py; do not edit by hand.\n" + yaml.dump(
        doc, Dumper=_Dumper, sort_keys=False, width=100, default_flow_style=False
    )

    # ---- prices --------------------------------------------------------------------------
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["ndc", "effective_date", "end_date", "awp", "wac", "mac"])

    def periods(ndc: str, awp: int, wac: int, mac: int | None) -> None:
        def money(v: int | None, f: Callable[[int], int]) -> str:
            return "" if v is None else fmt_scaled(f(v), PRICE_SCALE)

        def old(v: int) -> int:
            return _scale(v, 95, 100)

        def same(v: int) -> int:
            return v

        w.writerow([ndc, "2025-01-01", "2025-12-31", money(awp, old), money(wac, old),
                    money(mac, old)])  # fmt: skip
        w.writerow([ndc, "2026-01-01", "", money(awp, same), money(wac, same), money(mac, same)])

    rows: list[tuple[str, int, int, int | None]] = []
    for r in nadac:
        n = r.unit_price
        if r.classification in ("B", "B-BIO"):
            wac = _scale(n, 102, 100)
            rows.append((r.ndc, _scale(wac, 120, 100), wac, None))
        else:
            awp = n * 6
            rows.append((r.ndc, awp, n * 5, _scale(n, 110, 100)))
    for ndc, _name, _unit, wac_text, _flags in SPUF_EXTRAS:
        wac = to_price(wac_text)
        rows.append((ndc, _scale(wac, 120, 100), wac, None))
    for ndc, awp, wac, mac in sorted(rows):
        periods(ndc, awp, wac, mac)

    for rel, content in (
        ("sample/formulary.yaml", text),
        ("sample/prices.csv", buf.getvalue()),
        ("orange_book/products.txt", trimmed),  # CRLF, no final newline, like the FDA file
    ):
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode("ascii"))
    print(
        f"formulary: {len(drugs)} drugs, {len(te_groups)} TE groups; "
        f"prices: {2 * len(rows)} rows; orange book: {len(kept) - 1} of {len(lines) - 1} rows "
        f"({len(keep)} ingredients)",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared public data folder")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output data folder")
    args = ap.parse_args(argv)
    build(args.data, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
