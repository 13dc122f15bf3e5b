"""Load plan, formulary, network, price and member files into a :class:`Book`.

Pydantic v2 models validate what comes from files (and only here: the hot path never sees
pydantic).  A bad file raises :class:`ConfigError` naming the file and the field, e.g.
``plans/ppo.yaml: cost_share.0.bands.1.copay: money 'ten' is not a number``.

A *book file* lists the other files, paths relative to itself; ``pkg:`` paths name files
bundled in ``pbm_engine/data``::

    plans: [plans/ppo.yaml, plans/hdhp.yaml]
    formularies: [formulary.yaml]
    networks: [network.yaml]
    prices: [prices.csv]
    nadac: ["pkg:nadac/nadac_2026-04-29_sample_rows.csv"]
    members: [members.yaml]
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import re
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pbm_engine.benefit.plan import (
    AssistancePolicy,
    Band,
    CopayAssistance,
    CostShareRule,
    Daw0Policy,
    DawPolicy,
    Limit,
    Plan,
    Schedule,
)
from pbm_engine.book import Book
from pbm_engine.codes import Channel
from pbm_engine.eligibility.members import CoveragePeriod, Member, PriorAuth
from pbm_engine.errors import ConfigError
from pbm_engine.formulary.model import Coverage, Drug, Formulary, QuantityLimit, StepTherapy
from pbm_engine.money import to_cents, to_price, to_qty, to_rate
from pbm_engine.policy import DurPolicy, Interaction
from pbm_engine.pricing.contract import ContractTerms, Network
from pbm_engine.pricing.prices import NadacPoint, PricePoint
from pbm_engine.sources.paths import resolve, sample_book_path
from pbm_engine.sources.rules import (
    Problem,
    did_you_mean,
    errors,
    formulary_rules,
    members_rules,
    network_rules,
    plan_rules,
    price_row_rules,
    price_warnings,
    reference_rules,
    warnings,
)

__all__ = [
    "load_book",
    "load_formulary",
    "load_members",
    "load_model",
    "load_nadac_file",
    "load_plan",
    "load_prices",
    "load_sample_book",
    "read_yaml",
    "resolve",
    "sample_book_path",
]

Money = str | int
M = TypeVar("M", bound=BaseModel)
_DAYS = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _money(value: Money | None) -> int | None:
    return None if value is None else to_cents(value)


class _Money(_Model):
    @field_validator("*", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("write money and rates as strings (\"12.34\"), not floats")
        return value


# -- plan files --------------------------------------------------------------------------------

class BandModel(_Money):
    days: str = Field(description="inclusive days-supply band, e.g. '1-34'")
    copay: Money | None = None
    coinsurance: Money | None = Field(None, description="percent, e.g. '20' for 20%")
    min: Money | None = None
    max: Money | None = None

    @field_validator("days")
    @classmethod
    def _days(cls, value: str) -> str:
        m = _DAYS.match(value)
        if not m or int(m[1]) < 1 or int(m[1]) > int(m[2]):
            raise ValueError(f"days must look like '1-34', got {value!r}")
        return value

    def to_band(self) -> Band:
        if (self.copay is None) == (self.coinsurance is None):
            raise ValueError("give exactly one of copay or coinsurance")
        m = _DAYS.match(self.days)
        assert m
        rule = CostShareRule(
            copay=_money(self.copay),
            rate=None if self.coinsurance is None else to_rate(self.coinsurance),
            minimum=_money(self.min),
            maximum=_money(self.max),
        )
        return Band(int(m[1]), int(m[2]), rule)


class CellModel(_Model):
    tier: int | list[int]
    channel: Channel | list[Channel]
    bands: list[BandModel]


class LimitModel(_Money):
    individual: Money
    family: Money | None = None
    embedded: bool = True
    per_person_cap: Money | None = None

    def to_limit(self) -> Limit:
        return Limit(to_cents(self.individual), _money(self.family), self.embedded,
                     _money(self.per_person_cap))


class DawModel(_Model):
    penalty_codes: list[int] = [2]
    daw0_multisource_brand: Daw0Policy = Daw0Policy.PENALTY
    generic_price_codes: list[int] = [3, 5]
    generic_cost_share_codes: list[int] = [5, 9]
    penalty_base: Literal["generic", "brand"] = "generic"
    penalty_counts_toward_deductible: bool = False
    penalty_counts_toward_oop: bool = False


class InteractionModel(_Model):
    a: list[str]
    b: list[str]
    severity: Literal["1", "2", "3"] = "1"
    message: str = ""


class DurModel(_Model):
    duplication_groups: list[str] = []
    interactions: list[InteractionModel] = []
    override_results: list[str] | None = None

    def to_policy(self) -> DurPolicy:
        base = DurPolicy()
        return DurPolicy(
            frozenset(self.duplication_groups),
            tuple(Interaction(frozenset(i.a), frozenset(i.b), i.severity, i.message)
                  for i in self.interactions),
            base.override_results if self.override_results is None
            else frozenset(self.override_results),
        )


class AssistanceModel(_Model):
    policy: AssistancePolicy = AssistancePolicy.STANDARD
    tiers: list[int] | None = None


class PlanModel(_Money):
    plan_id: str
    name: str
    description: str = ""
    formulary: str
    network: str
    plan_year_start: str = "01-01"
    deductible: LimitModel | None = None
    deductible_exempt_tiers: list[int] = []
    oop_max: LimitModel | None = None
    cost_share: list[CellModel]
    max_days_supply: dict[Channel, int] = {Channel.RETAIL: 34, Channel.MAIL: 90,
                                           Channel.SPECIALTY: 30}
    refill_threshold_percent: Money = "80"
    refill_override_codes: list[int] = [3, 4, 5, 7, 13, 14]
    daw: DawModel = DawModel()
    copay_assistance: AssistanceModel = AssistanceModel()
    generic_tier: int = 1
    preventive_zero: bool = True
    insulin_cap_30_days: Money | None = None
    insulin_deductible_exempt: bool = False
    timely_filing_days: int | None = 90
    max_claim_cost: Money | None = None
    annual_benefit_max: Money | None = None
    specialty_channel_required: bool = True
    hdhp: bool = False
    year: int | None = Field(None, ge=2000, le=2100,
                             description="plan year of the design, for federal-limit checks")
    dur: DurModel = DurModel()

    def to_plan(self) -> Plan:
        month, day = (int(x) for x in self.plan_year_start.split("-"))
        dt.date(2000, month, day)  # validates
        cells: dict[tuple[int, Channel], tuple[Band, ...]] = {}
        for i, cell in enumerate(self.cost_share):
            tiers = cell.tier if isinstance(cell.tier, list) else [cell.tier]
            channels = cell.channel if isinstance(cell.channel, list) else [cell.channel]
            try:
                bands = tuple(sorted((b.to_band() for b in cell.bands),
                                     key=lambda b: b.min_days))
            except ValueError as exc:
                raise ValueError(f"cost_share.{i}: {exc}") from None
            for a, b in itertools.pairwise(bands):
                if b.min_days <= a.max_days:
                    raise ValueError(f"cost_share.{i}: bands {a.min_days}-{a.max_days} and "
                                     f"{b.min_days}-{b.max_days} overlap")
            for tier in tiers:
                for channel in channels:
                    if (tier, channel) in cells:
                        raise ValueError(f"cost_share.{i}: tier {tier} {channel.value} is "
                                         "given twice")
                    cells[(tier, channel)] = bands
        return Plan(
            plan_id=self.plan_id,
            name=self.name,
            description=self.description,
            formulary_id=self.formulary,
            network_id=self.network,
            schedule=Schedule(cells),
            deductible=self.deductible.to_limit() if self.deductible else None,
            oop_max=self.oop_max.to_limit() if self.oop_max else None,
            deductible_exempt_tiers=frozenset(self.deductible_exempt_tiers),
            year_start=(month, day),
            max_days_supply=dict(self.max_days_supply),
            refill_threshold=to_rate(self.refill_threshold_percent),
            refill_override_codes=frozenset(self.refill_override_codes),
            daw=DawPolicy(
                penalty_codes=frozenset(self.daw.penalty_codes),
                daw0_multisource_brand=self.daw.daw0_multisource_brand,
                generic_price_codes=frozenset(self.daw.generic_price_codes),
                generic_cost_share_codes=frozenset(self.daw.generic_cost_share_codes),
                penalty_base=self.daw.penalty_base,
                penalty_counts_toward_deductible=self.daw.penalty_counts_toward_deductible,
                penalty_counts_toward_oop=self.daw.penalty_counts_toward_oop,
            ),
            copay_assistance=CopayAssistance(
                self.copay_assistance.policy,
                None if self.copay_assistance.tiers is None
                else frozenset(self.copay_assistance.tiers),
            ),
            generic_tier=self.generic_tier,
            preventive_zero=self.preventive_zero,
            insulin_cap_30=_money(self.insulin_cap_30_days),
            insulin_deductible_exempt=self.insulin_deductible_exempt,
            timely_filing_days=self.timely_filing_days,
            max_claim_cost=_money(self.max_claim_cost),
            annual_benefit_max=_money(self.annual_benefit_max),
            specialty_channel_required=self.specialty_channel_required,
            hdhp=self.hdhp,
            year=self.year,
            dur=self.dur.to_policy(),
        )


# -- formulary files ---------------------------------------------------------------------------

class StepModel(_Model):
    prerequisites: list[str]
    lookback_days: int = Field(180, ge=1, le=3650)


class QuantityLimitModel(_Money):
    quantity: Money
    days: int = Field(ge=1, le=3650)


class GroupModel(_Model):
    id: str
    name: str = ""


class DrugModel(_Model):
    ndc: str = Field(pattern=r"^\d{11}$")
    name: str
    rxcui: str | None = None
    brand: bool = False
    multi_source: bool = False
    te_group: str | None = None
    therapeutic_class: str | None = None
    groups: list[str] = []
    tier: int = Field(ge=0, le=9)
    status: Coverage = Coverage.COVERED
    pa_required: bool = False
    step_therapy: StepModel | None = None
    quantity_limit: QuantityLimitModel | None = None
    min_age: int | None = Field(None, ge=0, le=150)
    max_age: int | None = Field(None, ge=0, le=150)
    gender: Literal["M", "F"] | None = None
    preventive: bool = False
    specialty: bool = False
    insulin: bool = False
    vaccine: bool = False
    otc: bool = False
    max_days_supply: int | None = Field(None, ge=1, le=999)

    def to_drug(self) -> Drug:
        return Drug(
            ndc=self.ndc,
            name=self.name,
            tier=self.tier,
            coverage=self.status,
            rxcui=self.rxcui,
            brand=self.brand,
            multi_source=self.multi_source,
            te_group=self.te_group,
            groups=frozenset(self.groups),
            pa_required=self.pa_required,
            step_therapy=StepTherapy(frozenset(self.step_therapy.prerequisites),
                                     self.step_therapy.lookback_days)
            if self.step_therapy else None,
            quantity_limit=QuantityLimit(to_qty(self.quantity_limit.quantity),
                                         self.quantity_limit.days)
            if self.quantity_limit else None,
            min_age=self.min_age,
            max_age=self.max_age,
            gender={"M": 1, "F": 2}[self.gender] if self.gender else None,
            preventive=self.preventive,
            specialty=self.specialty,
            insulin=self.insulin,
            vaccine=self.vaccine,
            otc=self.otc,
            max_days_supply=self.max_days_supply,
            therapy_key=self.te_group or (f"RXCUI:{self.rxcui}" if self.rxcui else self.ndc),
            therapeutic_class=self.therapeutic_class,
        )


class TeGroupModel(BaseModel):
    """A therapeutic-equivalence group as recorded by the data build (informational)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    id: str
    brand_ndcs: list[str] = []
    generic_ndcs: list[str] = []


class FormularyModel(_Model):
    formulary_id: str
    name: str
    source: str = ""
    groups: list[GroupModel] = []
    te_groups: list[TeGroupModel] = []
    drugs: list[DrugModel]

    def to_formulary(self) -> Formulary:
        names = {g.id: g.name for g in self.groups}
        drugs = [d.to_drug() for d in self.drugs]
        seen: set[str] = set()
        for i, drug in enumerate(drugs):
            if drug.ndc in seen:
                raise ValueError(f"drugs.{i}.ndc: {drug.ndc} is listed twice")
            seen.add(drug.ndc)
            missing = set(drug.groups) - names.keys()
            if drug.step_therapy:
                missing |= set(drug.step_therapy.prerequisites) - names.keys()
            if missing:
                raise ValueError(f"drugs.{i}.groups: unknown group(s) {sorted(missing)}")
        return Formulary.build(self.formulary_id, self.name, drugs, names, self.source)


# -- networks, members -------------------------------------------------------------------------

class ContractModel(_Money):
    channel: Channel
    drug_type: Literal["brand", "generic"]
    start: dt.date = dt.date(2000, 1, 1)
    end: dt.date | None = None
    dispensing_fee: Money = "0"
    awp_discount: Money | None = Field(None, description="percent off AWP")
    wac_markup: Money | None = None
    nadac_markup: Money | None = None
    mac: bool = False

    def to_terms(self) -> ContractTerms:
        def pct(v):
            return (None if v is None else to_rate(v))
        return ContractTerms(self.start, self.end, to_cents(self.dispensing_fee),
                             pct(self.awp_discount), pct(self.wac_markup),
                             pct(self.nadac_markup), self.mac)


class NetworkModel(_Model):
    network_id: str
    name: str = ""
    contracts: list[ContractModel]

    def to_network(self) -> Network:
        terms: dict[tuple[Channel, bool], list[ContractTerms]] = {}
        for c in self.contracts:
            terms.setdefault((c.channel, c.drug_type == "brand"), []).append(c.to_terms())
        return Network(self.network_id, self.name,
                       {k: tuple(sorted(v, key=lambda t: t.start)) for k, v in terms.items()})


class CoverageModel(_Model):
    start: dt.date
    end: dt.date | None = None
    terminated: bool = False


class MemberModel(_Model):
    cardholder_id: str
    person_code: str = "001"
    family_id: str | None = None
    plan_id: str
    date_of_birth: dt.date | None = None
    gender: Literal["M", "F", "U"] = "U"
    first_name: str = ""
    last_name: str = ""
    coverage: list[CoverageModel]
    lis_level: str | None = None

    def to_member(self) -> Member:
        return Member(
            cardholder_id=self.cardholder_id,
            person_code=self.person_code.zfill(3),
            family_id=self.family_id or self.cardholder_id,
            plan_id=self.plan_id,
            date_of_birth=self.date_of_birth,
            gender={"M": 1, "F": 2, "U": 0}[self.gender],
            coverage=tuple(CoveragePeriod(c.start, c.end, c.terminated) for c in self.coverage),
            first_name=self.first_name,
            last_name=self.last_name,
            lis_level=self.lis_level,
        )


class PriorAuthModel(_Model):
    cardholder_id: str
    person_code: str = "001"
    number: str
    start: dt.date
    end: dt.date
    ndc: str | None = None
    te_group: str | None = None
    group: str | None = None
    rxcui: str | None = None
    bypasses: list[Literal["formulary", "step_therapy", "quantity_limit", "refill_too_soon",
                           "age", "gender", "days_supply"]] = []

    def to_pa(self) -> PriorAuth:
        if not (self.ndc or self.te_group or self.group or self.rxcui):
            raise ValueError("a prior authorization needs ndc, te_group, group or rxcui")
        return PriorAuth(f"{self.cardholder_id}-{self.person_code.zfill(3)}", self.number,
                         self.start, self.end, self.ndc, self.te_group, self.group, self.rxcui,
                         frozenset(self.bypasses))


class MembersModel(_Model):
    members: list[MemberModel]
    prior_authorizations: list[PriorAuthModel] = []


class BookModel(_Model):
    plans: list[str] = []
    formularies: list[str] = []
    networks: list[str] = []
    prices: list[str] = []
    nadac: list[str] = []
    members: list[str] = []
    part_d_plans: list[dict[str, Any]] = Field(
        [], description="Medicare Part D plans (see pbm_engine.medicare.plans)")


# -- reading -----------------------------------------------------------------------------------

_ENTRY_KEYS = ("ndc", "cardholder_id", "number", "plan_id", "network_id", "formulary_id", "id",
               "days")


def _where(loc: tuple[Any, ...], data: Any) -> str:
    """A pydantic error location with list entries named by their key (``drugs[ndc 0...]``)."""
    out = ""
    for part in loc:
        if isinstance(part, int) and isinstance(data, list) and 0 <= part < len(data):
            data = data[part]
            key = next((k for k in _ENTRY_KEYS if isinstance(data, dict)
                        and isinstance(data.get(k), str | int)), None)
            if key == "cardholder_id":  # members are named like everywhere else: F1-001
                out += f"[{data[key]}-{str(data.get('person_code', '001')).zfill(3)}]"
            else:
                out += f"[{key} {data[key]}]" if key else f"[{part}]"
            continue
        out += f".{part}" if out else str(part)
        data = data.get(part) if isinstance(data, dict) else None
    return out or "(top)"


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class reached by following ``loc`` from ``model`` (None when lost)."""
    current = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        found = _model_in(field.annotation)
        if found is None:
            return None
        current = found
    return current


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _describe(exc: ValidationError, path: str, model: type[BaseModel] | None = None,
              data: Any = None) -> str:
    parts = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        message = err["msg"]
        if err["type"] == "extra_forbidden" and model is not None and loc:
            known = _model_at(model, loc[:-1])
            hint = did_you_mean(str(loc[-1]), known.model_fields) if known else ""
            message = f"unknown key{hint}"
        parts.append(f"{path}: {_where(loc, data)}: {message}")
    return "\n".join(parts)


@contextmanager
def _reading(path: Path | str) -> Iterator[None]:
    """Whatever goes wrong while reading one file becomes a ConfigError naming that file."""
    try:
        yield
    except ConfigError:
        raise
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply") from None
    except (ValueError, TypeError, ArithmeticError, KeyError, IndexError, AttributeError,
            OSError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path}: {text}") from None


def _check(path: Path, problems: list[Problem], notes: list[str] | None) -> None:
    """Raise the errors of a file's rule check as one ConfigError; keep its warnings."""
    found = errors(problems)
    if found:
        raise ConfigError("\n".join(p.line(str(path)) for p in found))
    if notes is not None:
        notes.extend(p.line(str(path)) for p in warnings(problems))


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when it is there


def read_yaml(path: Path) -> Any:
    """Parse a YAML file (the C safe loader when available); ``.json`` files with orjson.
    Any problem is a ConfigError naming the file."""
    try:
        if path.suffix.lower() == ".json":
            try:
                return orjson.loads(path.read_bytes())
            except orjson.JSONDecodeError as exc:
                raise ConfigError(f"{path}: not valid JSON: {exc}") from None
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_YAML_LOADER)  # a safe loader
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply") from None
    except ValueError as exc:  # a value YAML recognizes but cannot build, e.g. 1978-13-45
        raise ConfigError(f"{path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def load_model(model: type[M], path: Path) -> M:
    """Read a YAML file and validate it as ``model``; ConfigError names the file and field."""
    data = read_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, str(path), model, data)) from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply") from None


def _convert(path: Path, fn: Any) -> Any:
    try:
        return fn()
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_plan(path: str | Path, notes: list[str] | None = None) -> Plan:
    """Load one commercial plan file (its rule warnings are appended to ``notes``)."""
    p = Path(path)
    with _reading(p):
        model = load_model(PlanModel, p)
        _check(p, plan_rules(model), notes)
        return _convert(p, model.to_plan)


def load_formulary(path: str | Path, notes: list[str] | None = None) -> Formulary:
    """Load one formulary file (YAML or JSON)."""
    p = Path(path)
    with _reading(p):
        model = load_model(FormularyModel, p)
        _check(p, formulary_rules(model), notes)
        return _convert(p, model.to_formulary)


def load_network(path: Path, notes: list[str] | None = None) -> Network:
    """Load one network file."""
    with _reading(path):
        model = load_model(NetworkModel, path)
        _check(path, network_rules(model), notes)
        return _convert(path, model.to_network)


def load_prices(path: Path, book: Book) -> None:
    """Load a price CSV: ``ndc,effective_date,end_date,awp,wac,mac`` (unit prices in $)."""
    try:
        handle = path.open(encoding="utf-8", newline="")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    with handle:
        reader = csv.DictReader(handle)
        need = {"ndc", "effective_date", "end_date", "awp", "wac", "mac"}
        if not reader.fieldnames or not need <= set(reader.fieldnames):
            raise ConfigError(f"{path}: header must have columns {sorted(need)}")
        for line, row in enumerate(reader, start=2):
            try:
                ndc = row["ndc"].strip()
                if not re.fullmatch(r"\d{11}", ndc):
                    raise ValueError(f"ndc {ndc!r} is not 11 digits")
                end = row["end_date"].strip()

                def price(col: str, row: dict[str, str] = row) -> int | None:
                    text = row[col].strip()
                    return to_price(text) if text else None

                point = PricePoint(
                    dt.date.fromisoformat(row["effective_date"].strip()),
                    dt.date.fromisoformat(end) if end else None,
                    price("awp"), price("wac"), price("mac"))
                price_row_rules(ndc, point)
                book.prices.add(ndc, point)
            except (ValueError, TypeError, AttributeError) as exc:
                raise ConfigError(f"{path}: line {line} (ndc {row.get('ndc')}): {exc}") from None


def load_nadac_file(path: Path, book: Book) -> None:
    """Load a CMS NADAC weekly file into the book's price index."""
    from pbm_engine.pricing.nadac import load_nadac

    try:
        rows = load_nadac(path)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    for row in rows:
        book.prices.add_nadac(row.ndc, NadacPoint(row.effective_date, row.unit_price),
                              row.classification, row.description)


def load_members(path: Path, book: Book, notes: list[str] | None = None) -> None:
    """Load a members file (members and prior authorizations) into the book's registry."""
    model = load_model(MembersModel, path)
    _check(path, members_rules(model), notes)

    def build() -> None:
        for m in model.members:
            book.registry.add(m.to_member())
        for i, pa in enumerate(model.prior_authorizations):
            try:
                book.registry.add_prior_auth(pa.to_pa())
            except ValueError as exc:
                raise ValueError(f"prior_authorizations.{i}: {exc}") from None

    _convert(path, build)


def load_book(path: str | Path, extra_plans: Iterable[Plan] = ()) -> Book:
    """Load a book file and everything it lists; check cross references.

    Raises only :class:`ConfigError` (naming the file, the field and the entry), whatever is
    in the files.  Warnings (see :mod:`pbm_engine.sources.rules`) are kept in ``book.notes``.
    """
    p = Path(path)
    with _reading(p):
        return _load_book(p, extra_plans)


def _load_book(p: Path, extra_plans: Iterable[Plan]) -> Book:
    spec = load_model(BookModel, p)
    base = p.parent
    book = Book()
    notes = book.notes
    plan_files: dict[str, str] = {}
    member_files: dict[str, str] = {}
    for ref in spec.formularies:
        f = load_formulary(resolve(ref, base), notes)
        book.formularies[f.formulary_id] = f
    for ref in spec.networks:
        n = load_network(resolve(ref, base), notes)
        book.networks[n.network_id] = n
    for ref in spec.plans:
        fp = resolve(ref, base)
        plan = load_plan(fp, notes)
        if plan.plan_id in book.plans:
            raise ConfigError(f"{fp}: plan_id: plan {plan.plan_id} is defined twice (also in "
                              f"{plan_files[plan.plan_id]})")
        book.plans[plan.plan_id] = plan
        plan_files[plan.plan_id] = str(fp)
    for plan in extra_plans:
        book.plans[plan.plan_id] = plan
    for ref in spec.prices:
        fp = resolve(ref, base)
        with _reading(fp):
            load_prices(fp, book)
    for ref in spec.nadac:
        load_nadac_file(resolve(ref, base), book)
    if spec.part_d_plans:
        from pbm_engine.sources.part_d import load_part_d_plans

        with _reading(f"{p}: part_d_plans"):
            book.part_d_plans.update(load_part_d_plans(spec.part_d_plans, base, book))
    for ref in spec.members:
        fp = resolve(ref, base)
        before = set(book.registry.members)
        with _reading(fp):
            load_members(fp, book, notes)
        for key in set(book.registry.members) - before:
            member_files[book.registry.members[key].member_id] = str(fp)
    problems = reference_rules(book, plan_files, member_files)
    if problems:
        raise ConfigError("\n".join(problems))
    book.check()
    notes.extend(price_warnings(book))
    return book


def load_sample_book() -> Book:
    """Load the bundled sample data."""
    return load_book(sample_book_path())
