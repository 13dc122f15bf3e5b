"""FDA Orange Book ``products.txt``: parsing, therapeutic-equivalence groups, NDC linking.

File format (FDA "EOB" data files): tilde-delimited, no quoting, CRLF line endings, no newline
after the last row, 14 columns; ``DF;Route`` is one column holding ``dosage form;route``.

**TE groups.**  Marketed (``RX``/``OTC``) products whose TE code starts with ``A`` and that share
ingredient, dosage form, route, strength and the *full* TE code form one group (AB1 and AB2 are
different groups).  The id is ``TE:<ingredient>|<form>;<route>|<strength>|<code>`` using the
Orange Book's own spelling, so it is stable across editions while the product stays listed.

**NDC linking.**  The Orange Book has no NDCs.  :meth:`OrangeBook.match_description` links a
NADAC-style description (``"ZOLOFT 50 MG TABLET"``, ``"SERTRALINE HCL 50 MG TABLET"``) to a group
only when every step is unambiguous, and returns ``None`` otherwise:

1. The description must contain exactly one ``<number> <unit>`` strength (MG, MCG, GM, MEQ);
   combination strengths (``600-300 MG``) and unlisted units are never matched.
2. The words after the strength must be a known form (:data:`FORM_WORDS`): TABLET/TAB,
   CAPSULE/CAP, ODT, TABLET SL, NASAL SPRAY, optionally with ER/XR/SR/DR.  Anything else
   (``Z-PAK``, ``SYR``, ``VL``, ``SUSP`` …) is not matched.
3. The words before the strength, with salt abbreviations expanded (:data:`ABBREVIATIONS`, e.g.
   HCL → HYDROCHLORIDE, TART → TARTRATE), must equal an Orange Book trade name or ingredient.
   A bare base name (``ABACAVIR``) matches a salt ingredient (``ABACAVIR SULFATE``) only when
   that product's strength is stated as ``EQ …BASE`` and only one such salt exists.
4. Strengths compare after dropping ``EQ``/``BASE`` and spaces (``EQ 50MG BASE`` = ``50 MG``).
5. All candidate products must fall in exactly one A-rated TE group.

The match says whether the description names the NDA brand (a trade name used only on NDAs)
or a generic (an ingredient name, or a trade name used on ANDAs), and why.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

__all__ = [
    "ABBREVIATIONS",
    "BUNDLED_ORANGE_BOOK",
    "FORM_WORDS",
    "HEADER",
    "PRE_1982",
    "PRODUCT_TYPES",
    "RELEASE_WORDS",
    "ObProduct",
    "OrangeBook",
    "ParsedDescription",
    "TeGroup",
    "TeMatch",
    "build_te_groups",
    "load_products",
    "normalize_strength",
    "parse_description",
    "parse_products",
]

BUNDLED_ORANGE_BOOK = (
    Path(__file__).resolve().parent.parent / "data" / "orange_book" / "products.txt"
)
"""Trimmed Orange Book copy shipped with the package (see ``data/README.md``)."""

HEADER = (
    "Ingredient",
    "DF;Route",
    "Trade_Name",
    "Applicant",
    "Strength",
    "Appl_Type",
    "Appl_No",
    "Product_No",
    "TE_Code",
    "Approval_Date",
    "RLD",
    "RS",
    "Type",
    "Applicant_Full_Name",
)
"""The columns of the Orange Book ``products.txt`` file, in order."""
PRE_1982 = "Approved Prior to Jan 1, 1982"
"""The approval-date text of products approved before 1982."""
PRODUCT_TYPES = frozenset({"RX", "OTC", "DISCN"})
"""Orange Book product types: prescription, over the counter, discontinued."""


@dataclass(frozen=True, slots=True)
class ObProduct:
    """One Orange Book product (application number + product number)."""

    ingredient: str
    dosage_form: str
    route: str
    trade_name: str
    applicant: str
    strength: str
    appl_type: str
    """``N`` (NDA) or ``A`` (ANDA)."""
    appl_no: str
    product_no: str
    te_code: str
    approval_date: date | None
    """``None`` for products approved before 1982."""
    rld: bool
    rs: bool
    type: str
    """``RX``, ``OTC`` or ``DISCN``."""
    applicant_full_name: str = ""

    @property
    def df_route(self) -> str:
        """The original ``DF;Route`` column."""
        return f"{self.dosage_form};{self.route}"

    @property
    def is_a_rated(self) -> bool:
        """Therapeutically equivalent (TE code AB, AA, AP, AB1 …) and still marketed."""
        return self.te_code.startswith("A") and self.type != "DISCN"

    @property
    def te_group_id(self) -> str | None:
        """The product's TE group id, or ``None`` when it is not A-rated."""
        if not self.is_a_rated:
            return None
        return f"TE:{self.ingredient}|{self.df_route}|{self.strength}|{self.te_code}"


@dataclass(frozen=True, slots=True)
class TeGroup:
    """A-rated products that may be substituted for one another."""

    id: str
    ingredient: str
    dosage_form: str
    route: str
    strength: str
    te_code: str
    products: tuple[ObProduct, ...]

    @property
    def reference(self) -> tuple[ObProduct, ...]:
        """Reference listed drug(s) of the group (usually the NDA brand)."""
        return tuple(p for p in self.products if p.rld)


@dataclass(frozen=True, slots=True)
class TeMatch:
    """A description (or NDC) linked to a TE group."""

    group_id: str
    role: str
    """``brand`` (trade name used only on NDAs) or ``generic``."""
    rld: bool
    """True when the matched products include the reference listed drug."""
    reason: str


def _parse_date(text: str, where: str) -> date | None:
    if text == PRE_1982:
        return None
    try:
        return datetime.strptime(text, "%b %d, %Y").date()
    except ValueError:
        raise ValueError(f"{where}: bad Approval_Date {text!r}") from None


def _yes_no(text: str, column: str, where: str) -> bool:
    if text not in ("Yes", "No"):
        raise ValueError(f"{where}: {column} must be Yes or No, got {text!r}")
    return text == "Yes"


def parse_products(text: str, name: str = "products.txt") -> list[ObProduct]:
    """Parse the text of an Orange Book ``products.txt`` (CRLF or LF, final newline optional)."""
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or tuple(lines[0].lstrip("\ufeff").split("~")) != HEADER:
        raise ValueError(f"{name}: line 1: not an Orange Book products.txt header")
    products: list[ObProduct] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        where = f"{name}: line {number}"
        f = line.split("~")
        if len(f) != len(HEADER):
            raise ValueError(f"{where}: expected {len(HEADER)} fields, got {len(f)}")
        form, sep, route = f[1].partition(";")
        if not sep:
            raise ValueError(f"{where}: DF;Route {f[1]!r} has no ';'")
        if f[5] not in ("N", "A"):
            raise ValueError(f"{where}: Appl_Type must be N or A, got {f[5]!r}")
        if f[12] not in PRODUCT_TYPES:
            raise ValueError(f"{where}: Type must be RX, OTC or DISCN, got {f[12]!r}")
        products.append(
            ObProduct(
                ingredient=f[0],
                dosage_form=form,
                route=route,
                trade_name=f[2],
                applicant=f[3],
                strength=f[4],
                appl_type=f[5],
                appl_no=f[6],
                product_no=f[7],
                te_code=f[8],
                approval_date=_parse_date(f[9], where),
                rld=_yes_no(f[10], "RLD", where),
                rs=_yes_no(f[11], "RS", where),
                type=f[12],
                applicant_full_name=f[13],
            )
        )
    return products


def load_products(path: str | Path = BUNDLED_ORANGE_BOOK) -> list[ObProduct]:
    """Read and parse a ``products.txt`` file; defaults to the bundled trimmed copy."""
    p = Path(path)
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    return parse_products(text, str(p))


def build_te_groups(products: Iterable[ObProduct]) -> dict[str, TeGroup]:
    """Group A-rated marketed products by ingredient, form, route, strength and full TE code."""
    members: dict[str, list[ObProduct]] = defaultdict(list)
    for p in products:
        gid = p.te_group_id
        if gid is not None:
            members[gid].append(p)
    groups: dict[str, TeGroup] = {}
    for gid in sorted(members):
        ps = tuple(
            sorted(members[gid], key=lambda x: (x.appl_type != "N", x.appl_no, x.product_no))
        )
        first = ps[0]
        groups[gid] = TeGroup(
            gid,
            first.ingredient,
            first.dosage_form,
            first.route,
            first.strength,
            first.te_code,
            ps,
        )
    return groups


# --- description matcher -------------------------------------------------------------------

ABBREVIATIONS: dict[str, str] = {
    "HCL": "HYDROCHLORIDE",
    "HBR": "HYDROBROMIDE",
    "TART": "TARTRATE",
    "CALC": "CALCIUM",
    "SOD": "SODIUM",
    "NA": "SODIUM",
    "POT": "POTASSIUM",
    "SUCC": "SUCCINATE",
    "MALEAT": "MALEATE",
    "FUM": "FUMARATE",
    "CIT": "CITRATE",
    "SULF": "SULFATE",
    "PHOS": "PHOSPHATE",
    "BESYL": "BESYLATE",
    "MESYL": "MESYLATE",
    "ACET": "ACETATE",
}
"""Salt abbreviations used in NADAC descriptions, expanded to Orange Book spelling."""

RELEASE_WORDS: dict[str, tuple[str, ...]] = {
    "ER": ("EXTENDED RELEASE",),
    "XR": ("EXTENDED RELEASE",),
    "SR": ("EXTENDED RELEASE",),
    "XL": ("EXTENDED RELEASE",),
    "CR": ("EXTENDED RELEASE",),
    "DR": ("DELAYED RELEASE", "DELAYED REL PELLETS"),
}
"""Release modifiers and the Orange Book dosage-form suffixes each may stand for."""

FORM_WORDS: dict[str, tuple[str, str, str]] = {
    "TABLET": ("TABLET", "ORAL", ""),
    "TAB": ("TABLET", "ORAL", ""),
    "CAPSULE": ("CAPSULE", "ORAL", ""),
    "CAP": ("CAPSULE", "ORAL", ""),
    "ODT": ("TABLET, ORALLY DISINTEGRATING", "ORAL", ""),
    "TABLET SL": ("TABLET", "SUBLINGUAL", ""),
    "TAB SL": ("TABLET", "SUBLINGUAL", ""),
    "NASAL SPRAY": ("SPRAY", "NASAL", "/SPRAY"),
}
"""Description form words -> (Orange Book dosage form, route, strength suffix)."""

_UNITS = {"MG": "MG", "MCG": "MCG", "GM": "GM", "G": "GM", "MEQ": "MEQ"}
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_GLUED = re.compile(r"(?<=\d)(MG|MCG|GM|MEQ)\b")
_OB_STRENGTH = re.compile(r"^(\d+(?:\.\d+)?)(MG|MCG|GM|G|MEQ)(/SPRAY)?$")


def _number(text: str) -> str:
    return format(Decimal(text).normalize(), "f")


def normalize_strength(ob_strength: str) -> str | None:
    """``"EQ 50MG BASE"`` -> ``"50MG"``; ``None`` for strengths the matcher does not handle."""
    s = ob_strength.upper().strip()
    if s.startswith("EQ "):
        s = s[3:]
    if s.endswith(" BASE"):
        s = s[:-5]
    m = _OB_STRENGTH.match(s.replace(" ", ""))
    if not m:
        return None
    return f"{_number(m[1])}{_UNITS[m[2]]}{m[3] or ''}"


@dataclass(frozen=True, slots=True)
class ParsedDescription:
    """A description read as candidate names, one strength, and acceptable forms per name."""

    readings: tuple[tuple[str, frozenset[tuple[str, str]]], ...]
    """(expanded name, acceptable (dosage form, route) pairs), most literal reading first."""
    strength: str


def _expand(words: Sequence[str]) -> str:
    return " ".join(ABBREVIATIONS.get(w, w) for w in words)


def parse_description(description: str) -> ParsedDescription | None:
    """Split a NADAC-style description into name, strength and Orange Book forms, or ``None``."""
    tokens = _GLUED.sub(r" \1", description.upper()).split()
    spots = [
        i
        for i in range(len(tokens) - 1)
        if _NUMBER.match(tokens[i]) and tokens[i + 1] in _UNITS and tokens[i + 1] != "G"
    ]
    if len(spots) != 1 or spots[0] == 0:
        return None
    at = spots[0]
    before, after = tokens[:at], tokens[at + 2 :]
    release_after = ""
    for i, word in enumerate(after):
        if word in RELEASE_WORDS:
            release_after = word
            after = after[:i] + after[i + 1 :]
            break
    form = FORM_WORDS.get(" ".join(after))
    if form is None:
        return None
    base_form, route, suffix = form
    names: list[tuple[str, str]] = []
    if release_after:
        names.append((_expand(before), release_after))
    else:
        names.append((_expand(before), ""))
        if len(before) > 1 and before[-1] in RELEASE_WORDS:
            names.append((_expand(before[:-1]), before[-1]))
    readings = []
    solid = base_form in ("TABLET", "CAPSULE")
    for name, release in names:
        if release and not solid:
            continue
        if release:
            forms = frozenset((f"{base_form}, {r}", route) for r in RELEASE_WORDS[release])
        elif solid and before[-1] in RELEASE_WORDS:
            # A trade name that ends in a release word ("AMBIEN CR") names the release form.
            forms = frozenset(
                [(base_form, route)]
                + [(f"{base_form}, {r}", route) for r in RELEASE_WORDS[before[-1]]]
            )
        else:
            forms = frozenset({(base_form, route)})
        readings.append((name, forms))
    strength = f"{_number(tokens[at])}{_UNITS[tokens[at + 1]]}{suffix}"
    return ParsedDescription(tuple(readings), strength) if readings else None


class OrangeBook:
    """Orange Book products with TE groups and a conservative description matcher."""

    def __init__(self, products: Iterable[ObProduct]) -> None:
        self.products: tuple[ObProduct, ...] = tuple(products)
        self.groups: dict[str, TeGroup] = build_te_groups(self.products)
        self._by_trade: dict[str, list[ObProduct]] = defaultdict(list)
        self._by_ingredient: dict[str, list[ObProduct]] = defaultdict(list)
        self._salts: dict[str, set[str]] = defaultdict(set)
        for p in self.products:
            if p.type == "DISCN":
                continue
            self._by_trade[p.trade_name].append(p)
            self._by_ingredient[p.ingredient].append(p)
            salt = " " in p.ingredient and ";" not in p.ingredient
            if salt and p.strength.upper().startswith("EQ "):
                self._salts[p.ingredient.rsplit(" ", 1)[0]].add(p.ingredient)

    @classmethod
    def load(cls, path: str | Path = BUNDLED_ORANGE_BOOK) -> OrangeBook:
        """Load a ``products.txt`` file (default: the bundled trimmed copy)."""
        return cls(load_products(path))

    def _lookup(self, name: str) -> tuple[str, list[ObProduct]] | None:
        """Products a description name refers to, and how: trade name, ingredient or base."""
        if name in self._by_ingredient:
            return "ingredient", self._by_ingredient[name]
        if name in self._by_trade:
            return "trade", self._by_trade[name]
        salts = self._salts.get(name, set())
        if len(salts) == 1:
            (salt,) = salts
            eq = [p for p in self._by_ingredient[salt] if p.strength.upper().startswith("EQ ")]
            return "base", eq
        return None

    def related_ingredients(self, description: str) -> frozenset[str]:
        """Every ingredient the matcher looks at for ``description`` (used to trim the data)."""
        parsed = parse_description(description)
        if parsed is None:
            return frozenset()
        found: set[str] = set()
        for name, _forms in parsed.readings:
            hit = self._lookup(name)
            if hit is not None:
                found.update(p.ingredient for p in hit[1])
        return frozenset(found)

    def match_description(self, description: str) -> TeMatch | None:
        """Link a description to exactly one TE group, or return ``None`` (never guesses)."""
        parsed = parse_description(description)
        if parsed is None:
            return None
        for name, forms in parsed.readings:
            hit = self._lookup(name)
            if hit is None:
                continue
            how, pool = hit
            cands = [
                p
                for p in pool
                if p.is_a_rated
                and (p.dosage_form, p.route) in forms
                and normalize_strength(p.strength) == parsed.strength
            ]
            gids = {p.te_group_id for p in cands}
            if not gids:
                continue
            if len(gids) != 1:
                return None
            (gid,) = gids
            assert gid is not None
            brand = how == "trade" and all(p.appl_type == "N" for p in cands)
            rld = brand and any(p.rld for p in cands)
            if brand:
                apps = ", ".join(
                    sorted(f"NDA {p.appl_no}/{p.product_no}{' (RLD)' * p.rld}" for p in cands)
                )
            else:
                n_anda = sum(p.appl_type == "A" for p in cands)
                apps = f"{n_anda} ANDA product(s) in the group"
            first = cands[0]
            if how == "trade":
                what = f"trade name {name}"
            elif how == "ingredient":
                what = f"ingredient {name}"
            else:
                what = f"base name {name} of {first.ingredient} (strength {first.strength})"
            reason = (
                f"{what}; {first.df_route}; {parsed.strength}; TE {first.te_code}; "
                f"{'brand' if brand else 'generic'} via {apps}"
            )
            return TeMatch(gid, "brand" if brand else "generic", rld, reason)
        return None

    def match_ndcs(self, rows: Iterable[tuple[str, str]]) -> dict[str, TeMatch]:
        """Match ``(ndc, description)`` pairs; unmatched NDCs are absent from the result."""
        out: dict[str, TeMatch] = {}
        for ndc, description in rows:
            m = self.match_description(description)
            if m is not None:
                out[ndc] = m
        return out
