"""Formulary entries and the indexed, immutable formulary built once from a file."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

__all__ = ["Coverage", "Drug", "Formulary", "QuantityLimit", "StepTherapy"]


class Coverage(StrEnum):
    """Whether the plan covers a drug."""

    COVERED = "covered"
    EXCLUDED = "excluded"  # plan/benefit exclusion: reject 70
    NON_FORMULARY = "non_formulary"  # not on formulary: reject MR (a PA can grant an exception)


@dataclass(frozen=True, slots=True)
class StepTherapy:
    """Pay only if a drug of a prerequisite group was filled within ``lookback_days``."""

    prerequisites: frozenset[str]
    lookback_days: int = 180


@dataclass(frozen=True, slots=True)
class QuantityLimit:
    """At most ``quantity`` (thousandths of a unit) per ``days`` days."""

    quantity: int
    days: int


@dataclass(frozen=True, slots=True)
class Drug:
    """One formulary entry, keyed by 11-digit NDC.

    ``therapy_key`` groups interchangeable products for refill-too-soon and duplicate checks:
    the therapeutic-equivalence group when there is one, else the RxCUI, else the NDC.
    ``therapeutic_class`` is the class as the formulary states it (for example a USP Medicare
    Model Guidelines "category / class"); drugs of one class are therapeutic alternatives.
    """

    ndc: str
    name: str
    tier: int
    coverage: Coverage = Coverage.COVERED
    rxcui: str | None = None
    brand: bool = False
    multi_source: bool = False
    te_group: str | None = None
    groups: frozenset[str] = frozenset()
    pa_required: bool = False
    step_therapy: StepTherapy | None = None
    quantity_limit: QuantityLimit | None = None
    min_age: int | None = None
    max_age: int | None = None
    gender: int | None = None  # 1 male only, 2 female only
    preventive: bool = False
    specialty: bool = False
    insulin: bool = False
    vaccine: bool = False
    otc: bool = False
    max_days_supply: int | None = None
    therapy_key: str = ""
    therapeutic_class: str | None = None

    @property
    def multi_source_brand(self) -> bool:
        return self.brand and self.multi_source


@dataclass(frozen=True, slots=True)
class Formulary:
    """An indexed formulary: drugs by NDC, members by group and by equivalence group."""

    formulary_id: str
    name: str
    drugs: dict[str, Drug]
    group_names: dict[str, str] = field(default_factory=dict)
    source: str = ""
    by_group: dict[str, tuple[str, ...]] = field(default_factory=dict)
    by_te_group: dict[str, tuple[str, ...]] = field(default_factory=dict)
    by_class: dict[str, tuple[str, ...]] = field(default_factory=dict)
    open_by_group: dict[str, tuple[Drug, ...]] = field(init=False, repr=False, compare=False)
    """Per group, its covered drugs without PA or step edits, in ``by_group`` order (derived:
    :meth:`step_alternatives` must not scan a group of thousands of restricted drugs per claim)."""

    def __post_init__(self) -> None:
        open_by_group: dict[str, tuple[Drug, ...]] = {}
        for group, ndcs in self.by_group.items():
            found = (self.drugs[n] for n in ndcs)
            open_by_group[group] = tuple(
                d for d in found
                if d.coverage is Coverage.COVERED and not d.pa_required and not d.step_therapy)
        object.__setattr__(self, "open_by_group", open_by_group)

    @classmethod
    def build(
        cls, formulary_id: str, name: str, drugs: list[Drug], group_names: dict[str, str],
        source: str = "",
    ) -> Formulary:
        by_group: dict[str, list[str]] = {}
        by_te: dict[str, list[str]] = {}
        by_class: dict[str, list[str]] = {}
        for drug in drugs:
            if drug.therapeutic_class:
                by_class.setdefault(drug.therapeutic_class, []).append(drug.ndc)
            for g in drug.groups:
                by_group.setdefault(g, []).append(drug.ndc)
            if drug.te_group:
                by_te.setdefault(drug.te_group, []).append(drug.ndc)
        return cls(
            formulary_id=formulary_id,
            name=name,
            drugs={d.ndc: d for d in drugs},
            group_names=dict(group_names),
            source=source,
            by_group={k: tuple(v) for k, v in by_group.items()},
            by_te_group={k: tuple(v) for k, v in by_te.items()},
            by_class={k: tuple(v) for k, v in by_class.items()},
        )

    def get(self, ndc: str) -> Drug | None:
        return self.drugs.get(ndc)

    def generic_equivalents(self, drug: Drug) -> tuple[Drug, ...]:
        """Covered generic drugs in the same therapeutic-equivalence group."""
        return tuple(self._generic_equivalents(drug))

    def _generic_equivalents(self, drug: Drug) -> Iterator[Drug]:
        if not drug.te_group:
            return
        found = (self.drugs[n] for n in self.by_te_group.get(drug.te_group, ()))
        yield from (
            d for d in found if not d.brand and d.coverage is Coverage.COVERED and d.ndc != drug.ndc
        )

    def class_alternatives(self, drug: Drug) -> tuple[Drug, ...]:
        """Preferred drugs of the same therapeutic class in a lower tier: covered, without PA
        or step therapy, by the same route and of the same kind (specialty or not).  Nothing
        when the drug states no class."""
        return tuple(self._class_alternatives(drug))

    def _class_alternatives(self, drug: Drug) -> Iterator[Drug]:
        if not drug.therapeutic_class:
            return
        route = route_of(drug.name)
        found = (self.drugs[n] for n in self.by_class.get(drug.therapeutic_class, ()))
        yield from (
            d for d in found
            if d.tier < drug.tier and d.coverage is Coverage.COVERED and not d.pa_required
            and not d.step_therapy and d.ndc != drug.ndc and d.specialty == drug.specialty
            and route_of(d.name) == route
        )

    def step_alternatives(self, drug: Drug) -> tuple[Drug, ...]:
        """Covered drugs of the drug's step-therapy prerequisite groups (empty groups give
        nothing)."""
        return tuple(self._step_alternatives(drug))

    def _step_alternatives(self, drug: Drug) -> Iterator[Drug]:
        if drug.step_therapy is None:
            return
        for g in sorted(drug.step_therapy.prerequisites):
            yield from (d for d in self.open_by_group.get(g, ()) if d.ndc != drug.ndc)

    def alternatives(self, drug: Drug, limit: int = 3) -> tuple[Drug, ...]:
        """Related products to offer instead of ``drug``, one per product name: generic
        equivalents (same TE group), the step-therapy prerequisites, then preferred drugs of
        the same therapeutic class in a lower tier.  Never a drug of an unrelated group."""
        out: dict[str, Drug] = {}
        # lazily: a class or group of thousands of drugs is read only until ``limit`` are found
        for d in itertools.chain(self._generic_equivalents(drug), self._step_alternatives(drug),
                                 self._class_alternatives(drug)):
            if d.name != drug.name and d.name not in out:
                out[d.name] = d
                if len(out) >= limit:
                    break
        return tuple(out.values())


_ROUTES = (
    ("injection", ("INJ", "VIAL", "VL", "SYR", "PEN", "CART", "KIT", "AUTO-INJ", "AUTOINJ")),
    ("nasal", ("NASAL",)),
    ("topical", ("CREAM", "OINTMENT", "GEL", "LOTION", "PATCH", "FOAM")),
    ("ophthalmic", ("EYE", "OPHTH", "DROPS")),
    ("vaginal", ("VAGINAL",)),
)


@cache
def route_of(name: str) -> str:
    """The route a product name implies (oral unless it names another); used so a
    therapeutic alternative is never offered across routes (an injection for a tablet)."""
    words = name.upper().replace("/", " ").split()
    for route, marks in _ROUTES:
        if any(w.startswith(m) for w in words for m in marks):
            return route
    return "oral"
