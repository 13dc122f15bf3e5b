"""Synthetic claim histories, fully determined by a seed: ``pbm generate``.

Members come in families (a subscriber, often a spouse, sometimes children) spread over the
book's commercial plans, most covered all year, some joining late or terminated early.  Each
member's claims are drawn from the plan's formulary: maintenance drugs refilled on schedule
(30- or 90-day supplies, mostly on time, some early -- refill-too-soon rejects -- and some
late), acute one-off fills, popular drugs weighted (a Zipf-like law over a seeded shuffle), a
few fills of drugs the plan restricts, and reversals (B2) and rebills (B3) of paid fills.
Pharmacies are a seeded set of retail stores, one mail and one specialty pharmacy.

Everything comes from one ``random.Random(seed)``: the same arguments give the same bytes.
Claims are written in blocks of families, each block in date order, so the file interleaves
members the way a claims extract does while memory stays bounded.

With ``with_original`` every claim carries the answer the book gives it (processed in the batch
order), as ``original``: reprocessing against the same book then changes nothing, and against
a changed book shows exactly what the change does.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from pbm_engine.batch.formats import parquet_schema
from pbm_engine.batch.keys import family_key, sort_key
from pbm_engine.batch.members import member_record
from pbm_engine.book import Book
from pbm_engine.codes import Channel
from pbm_engine.eligibility.members import CoveragePeriod, Member, Registry
from pbm_engine.errors import UsageError
from pbm_engine.formulary.model import Coverage, Drug

__all__ = ["CLAIM_COLUMNS", "GenerateStats", "generate", "members_path_for"]

CLAIM_COLUMNS = (
    "transaction_code", "cardholder_id", "person_code", "date_of_service", "rx_number",
    "fill_number", "ndc", "quantity", "days_supply", "daw", "pharmacy_id", "channel",
    "prescriber_id", "ingredient_cost", "dispensing_fee", "usual_and_customary",
    "original_status", "original_reject_codes", "original_total_price", "original_patient_pay",
    "original_plan_pay",
)
"""The columns of a generated claims file, in order."""
_BLOCK = 2_000  # members per block
_FAMILY_SIZES = (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5)


@dataclass(frozen=True, slots=True)
class GenerateStats:
    """What was written."""

    members: int
    families: int
    claims: int
    reversals: int
    rebills: int
    claims_path: Path
    members_path: Path


def members_path_for(out: Path) -> Path:
    """Where the member file goes by default: ``claims.jsonl`` -> ``claims.members.jsonl``."""
    return out.with_name(out.name.split(".")[0] + ".members.jsonl")


def _npi(rng: random.Random) -> str:
    """A 10-digit NPI with a valid Luhn check digit (prefix 80840)."""
    body = "1" + "".join(str(rng.randrange(10)) for _ in range(8))
    digits = [int(c) for c in "80840" + body]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return body + str((10 - total % 10) % 10)


class _Catalog:
    """Drugs of one formulary by role, with popularity weights and unit prices."""

    def __init__(self, book: Book, formulary_id: str, rng: random.Random) -> None:
        formulary = book.formularies[formulary_id]
        drugs = sorted(formulary.drugs.values(), key=lambda d: d.ndc)
        ok = [d for d in drugs if d.coverage is Coverage.COVERED and not d.pa_required
              and not d.specialty and d.min_age is None and d.max_age is None
              and d.gender is None and not d.vaccine and d.tier in (0, 1, 2, 3)]
        restricted = [d for d in drugs if d not in ok]
        rng.shuffle(ok)
        self.common = ok
        self.common_weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(ok))]
        self.restricted = restricted or ok
        self.unit_prices: dict[str, int] = {}  # cents per unit
        for d in drugs:
            self.unit_prices[d.ndc] = self._unit_price(book, d, rng)

    @staticmethod
    def _unit_price(book: Book, drug: Drug, rng: random.Random) -> int:
        point = book.prices.price(drug.ndc, dt.date(2026, 6, 1))
        if point is not None and point.awp:
            return max(1, point.awp // 1000)  # 1/100,000 $ -> cents
        if drug.specialty:
            return rng.randrange(5_000, 60_000)
        return rng.randrange(400, 6_000) if drug.brand else rng.randrange(5, 200)

    def pick(self, rng: random.Random) -> Drug:
        if rng.random() < 0.04:
            return rng.choice(self.restricted)
        return rng.choices(self.common, self.common_weights)[0]


def _members(rng: random.Random, count: int, plans: list[tuple[str, int]]
             ) -> Iterator[list[Member]]:
    """Families until ``count`` members, each a list of members."""
    made = 0
    family_no = 0
    while made < count:
        size = min(rng.choice(_FAMILY_SIZES), count - made)
        family_no += 1
        cardholder = f"G{family_no:09d}"
        plan_id, year = rng.choice(plans)
        start = dt.date(year, 1, 1)
        end_of_year = dt.date(year, 12, 31)
        r = rng.random()
        if r < 0.05:
            coverage = (CoveragePeriod(start + dt.timedelta(days=rng.randrange(30, 240))),)
        elif r < 0.08:
            coverage = (CoveragePeriod(start, start + dt.timedelta(days=rng.randrange(90, 300)),
                                       terminated=True),)
        else:
            coverage = (CoveragePeriod(start),)
        family = []
        for i in range(size):
            if i == 0 or (i == 1 and rng.random() < 0.7):
                age = rng.randrange(24, 65)
            else:
                age = rng.randrange(0, 26)
            dob = end_of_year - dt.timedelta(days=age * 365 + rng.randrange(365))
            family.append(Member(cardholder, f"{i + 1:03d}", cardholder, plan_id, dob,
                                 rng.choice((1, 2)), coverage))
        made += size
        yield family


def _allocate(rng: random.Random, members: int, claims: int) -> list[int]:
    """Claims per member: heavy and light users, summing to exactly ``claims``."""
    weights = [rng.lognormvariate(0.0, 1.0) for _ in range(members)]
    total = sum(weights)
    exact = [w * claims / total for w in weights]
    counts = [int(x) for x in exact]
    short = claims - sum(counts)
    order = sorted(range(members), key=lambda i: (counts[i] - exact[i], i))
    for i in order[:short]:
        counts[i] += 1
    return counts


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _claims_for(rng: random.Random, member: Member, budget: int, catalog: _Catalog,
                pharmacies: list[str], mail: str, specialty: str, year: int,
                rx_counter: list[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    first = member.coverage[0].start
    last = member.coverage[0].end or dt.date(year, 12, 31)
    span = max((last - first).days, 1)
    home = rng.choice(pharmacies)

    def claim(drug: Drug, day: dt.date, rx: str, fill: int, days: int, pharmacy: str,
              channel: Channel) -> dict[str, Any]:
        qty = days * (2 if drug.ndc[-1] in "02468" and days <= 30 else 1)
        unit = catalog.unit_prices[drug.ndc]
        cost = unit * qty
        return {"transaction_code": "B1", "cardholder_id": member.cardholder_id,
                "person_code": member.person_code, "date_of_service": day.isoformat(),
                "rx_number": rx, "fill_number": fill, "ndc": drug.ndc, "quantity": str(qty),
                "days_supply": days, "daw": 0, "pharmacy_id": pharmacy,
                "channel": channel.value, "prescriber_id": "1003000126",
                "ingredient_cost": _money(cost), "dispensing_fee": "2.00",
                "usual_and_customary": _money(cost * 6 // 5 + 500)}

    while len(out) < budget:
        rx_counter[0] += 1
        rx = f"{rx_counter[0]:09d}"
        drug = catalog.pick(rng)
        channel = Channel.SPECIALTY if drug.specialty else Channel.RETAIL
        pharmacy = specialty if drug.specialty else home
        if rng.random() < 0.65 and budget - len(out) >= 2:  # maintenance, refilled
            days = 30
            if not drug.specialty and rng.random() < 0.2:
                days, channel, pharmacy = 90, Channel.MAIL, mail
            day = first + dt.timedelta(days=rng.randrange(min(span, 120)))
            fill = 0
            while day <= last and len(out) < budget and fill <= 99:
                out.append(claim(drug, day, rx, fill, days, pharmacy, channel))
                fill += 1
                r = rng.random()
                if r < 0.06:  # early: refill too soon
                    step = days * rng.randrange(40, 70) // 100
                elif r < 0.14:  # late
                    step = days + rng.randrange(8, 40)
                else:
                    step = days + rng.randrange(-3, 6)
                day += dt.timedelta(days=step)
        else:  # acute
            days = rng.choice((3, 5, 7, 10, 14, 30))
            day = first + dt.timedelta(days=rng.randrange(span))
            out.append(claim(drug, day, rx, 0, days, pharmacy, channel))
    return out[:budget]


def _with_reversals(rng: random.Random, claims: list[dict[str, Any]], budget: int
                    ) -> tuple[list[dict[str, Any]], int, int]:
    """Turn some fills into reversal and rebill pairs, keeping the count at ``budget``."""
    out: list[dict[str, Any]] = []
    reversals = rebills = 0
    for c in claims:
        if len(out) >= budget:
            break
        out.append(c)
        r = rng.random()
        if r < 0.03 and len(out) < budget:
            out.append({**c, "transaction_code": "B2"})
            reversals += 1
        elif r < 0.045 and len(out) < budget:
            amended = dict(c)
            amended["transaction_code"] = "B3"
            amended["usual_and_customary"] = _money(int(c["usual_and_customary"].replace(
                ".", "")) * 9 // 10)
            out.append(amended)
            rebills += 1
    return out, reversals, rebills


class _Writer:
    def __init__(self, path: Path, fmt: str) -> None:
        import os

        self.fmt = fmt
        self.path = path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self.handle: Any = None
        self.pq: Any = None
        if fmt == "parquet":
            os.close(fd)
        elif fmt == "csv":
            self.handle = open(fd, "w", encoding="utf-8", newline="")  # noqa: SIM115
            self.csv = csv.writer(self.handle, lineterminator="\n")
            self.csv.writerow(CLAIM_COLUMNS)
        else:
            self.handle = open(fd, "wb", buffering=1 << 20)  # noqa: SIM115

    def write(self, rows: list[dict[str, Any]]) -> None:
        if self.fmt == "jsonl":
            self.handle.write(b"".join(orjson.dumps(r) + b"\n" for r in rows))
            return
        flat = [_flat(r) for r in rows]
        if self.fmt == "csv":
            for r in flat:
                self.csv.writerow(["" if r.get(c) is None else r.get(c) for c in CLAIM_COLUMNS])
            return
        from pbm_engine.batch.arrow import pyarrow

        pa = pyarrow()
        schema = parquet_schema(CLAIM_COLUMNS)
        table = pa.Table.from_pylist(
            [{c: (r.get(c) if c == "fill_number" or r.get(c) is None else str(r.get(c)))
              for c in CLAIM_COLUMNS} for r in flat], schema=schema)
        if self.pq is None:
            self.pq = pa.parquet.ParquetWriter(self.path, schema)
        self.pq.write_table(table)

    def close(self) -> None:
        if self.fmt == "parquet":
            if self.pq is None:
                from pbm_engine.batch.arrow import pyarrow

                pa = pyarrow()
                schema = parquet_schema(CLAIM_COLUMNS)
                self.pq = pa.parquet.ParquetWriter(self.path, schema)
                self.pq.write_table(schema.empty_table())
            self.pq.close()
        else:
            self.handle.close()


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    original = row.get("original")
    if original is None:
        return row
    out = {k: v for k, v in row.items() if k != "original"}
    out["original_status"] = original["status"]
    out["original_reject_codes"] = ";".join(original["reject_codes"])
    for name in ("total_price", "patient_pay", "plan_pay"):
        if name in original:
            out[f"original_{name}"] = original[name]
    return out


def _attach_originals(book: Book, family_members: list[Member], rows: list[dict[str, Any]],
                      first_seq: int) -> None:
    from pbm_engine.batch.worker import partition_book
    from pbm_engine.engine import Engine
    from pbm_engine.processor import Processor
    from pbm_engine.store.memory import MemoryStore

    registry = Registry()
    for m in family_members:
        registry.add(m)
    processor = Processor(Engine(partition_book(book, registry)), MemoryStore())
    keys: dict[str, int] = {}
    ordered = []
    for i, row in enumerate(rows):
        member = registry.get(row["cardholder_id"], row["person_code"])
        family = member.family_id if member else row["cardholder_id"]
        fk = keys.get(family)
        if fk is None:
            fk = keys[family] = family_key(family)
        ordered.append((sort_key(fk, family, row, first_seq + i), row))
    ordered.sort(key=lambda item: item[0])
    for _, row in ordered:
        result = processor.submit(row)
        original: dict[str, Any] = {"status": result.status.value,
                                    "reject_codes": list(result.reject_codes)}
        if result.paid:
            d = result.to_dict()
            original.update(total_price=d["total_price"], patient_pay=d["patient_pay"],
                            plan_pay=d["plan_pay"])
        row["original"] = original


def generate(members: int, claims: int, seed: int, out: str | Path, *, book: Book,
             fmt: str = "jsonl", members_out: str | Path | None = None,
             with_original: bool = False) -> GenerateStats:
    """Write ``claims`` claims for ``members`` members (and the member file); see the module."""
    if members < 1 or claims < 0:
        raise UsageError("generate needs at least one member and a non-negative claim count")
    if fmt not in ("jsonl", "csv", "parquet"):
        raise UsageError(f"format must be jsonl, csv or parquet, not {fmt!r}")
    plans = sorted((pid, p.year or 2026) for pid, p in book.plans.items())
    if not plans:
        raise UsageError("the book has no commercial plan to generate members for")
    out_path = Path(out)
    mem_path = Path(members_out) if members_out else members_path_for(out_path)
    rng = random.Random(seed)
    catalogs = {fid: _Catalog(book, fid, rng)
                for fid in sorted({book.plans[pid].formulary_id for pid, _ in plans})}
    pharmacies = sorted({_npi(rng) for _ in range(60)})
    mail, specialty = _npi(rng), _npi(rng)
    counts = _allocate(rng, members, claims)
    writer = _Writer(out_path, fmt)
    import os

    fd = os.open(mem_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    member_handle = open(fd, "wb", buffering=1 << 20)  # noqa: SIM115
    rx_counter = [0]
    written = reversals = rebills = families = member_no = 0
    block_members: list[Member] = []
    block_rows: list[tuple[tuple[str, int], dict[str, Any]]] = []
    order = 0

    def flush() -> None:
        nonlocal written, block_rows, block_members
        block_rows.sort(key=lambda item: item[0])
        rows = [r for _, r in block_rows]
        if with_original:
            _attach_originals(book, block_members, rows, written + 1)
        writer.write(rows)
        written += len(rows)
        block_rows, block_members = [], []

    try:
        for family in _members(rng, members, plans):
            families += 1
            for member in family:
                member_handle.write(orjson.dumps(member_record(member)) + b"\n")
                catalog = catalogs[book.plans[member.plan_id].formulary_id]
                year = member.coverage[0].start.year
                budget = counts[member_no]
                member_no += 1
                fills = _claims_for(rng, member, budget, catalog, pharmacies, mail, specialty,
                                    year, rx_counter)
                fills.sort(key=lambda c: c["date_of_service"])
                rows, rv, rb = _with_reversals(rng, fills, budget)
                reversals += rv
                rebills += rb
                for row in rows:
                    order += 1
                    block_rows.append(((row["date_of_service"], order), row))
            block_members.extend(family)
            if len(block_members) >= _BLOCK:
                flush()
        flush()
    finally:
        writer.close()
        member_handle.close()
    return GenerateStats(member_no, families, written, reversals, rebills, out_path, mem_path)
