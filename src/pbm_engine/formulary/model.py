"""Formulary entries and the indexed, immutable formulary built once from a file."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

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
    open_by_group: dict[str, tuple[Drug, ...]] = field(init=False, repr=False, compare=False)
    """Per group, its covered drugs without PA or step edits, in ``by_group`` order (derived:
    :meth:`alternatives` must not scan a group of thousands of restricted drugs per claim)."""

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
        for drug in drugs:
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
        )

    def get(self, ndc: str) -> Drug | None:
        return self.drugs.get(ndc)

    def generic_equivalents(self, drug: Drug) -> tuple[Drug, ...]:
        """Covered generic drugs in the same therapeutic-equivalence group."""
        if not drug.te_group:
            return ()
        found = (self.drugs[n] for n in self.by_te_group.get(drug.te_group, ()))
        return tuple(
            d for d in found if not d.brand and d.coverage is Coverage.COVERED and d.ndc != drug.ndc
        )

    def alternatives(self, groups: frozenset[str], limit: int = 3) -> tuple[Drug, ...]:
        """Covered drugs of the given groups without PA or step edits (for reject messages)."""
        out: list[Drug] = []
        for g in sorted(groups):
            out.extend(self.open_by_group.get(g, ())[:limit - len(out)])
            if len(out) >= limit:
                break
        return tuple(out)
