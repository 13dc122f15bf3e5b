"""A formulary as a spreadsheet: export to CSV, import back to YAML, diff two formularies.

The CSV has one row per drug under a header row; the formulary's own fields come first as rows
whose first cell starts with ``#`` (``#formulary_id``, ``#name``, ``#source``, one ``#group`` row
per drug group, one ``#te_group`` row per recorded equivalence group), so the file opens in any
spreadsheet and survives a save.  Booleans are ``yes`` or empty; lists (groups, step-therapy
prerequisites) are separated by ``;``.  Export then import gives the same formulary, and the
imported file is checked by the same loader as any formulary file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pbm_engine.errors import ConfigError, UsageError
from pbm_engine.formulary.model import Coverage, Drug, Formulary
from pbm_engine.money import QTY_SCALE, fmt_scaled
from pbm_engine.sources.loader import (
    BookModel,
    FormularyModel,
    load_formulary,
    load_model,
    read_yaml,
    resolve,
)

__all__ = [
    "COLUMNS",
    "FormularyChange",
    "diff_formularies",
    "export_csv",
    "import_csv",
    "read_formulary",
    "read_formulary_model",
]

COLUMNS = (
    "ndc", "name", "tier", "status", "rxcui", "brand", "multi_source", "te_group",
    "therapeutic_class", "groups",
    "pa_required", "step_prerequisites", "step_lookback_days", "ql_quantity", "ql_days",
    "min_age", "max_age", "gender", "max_days_supply", "preventive", "specialty", "insulin",
    "vaccine", "otc",
)
"""The drug columns, in order."""

_BOOLS = ("brand", "multi_source", "pa_required", "preventive", "specialty", "insulin", "vaccine",
          "otc")
_INTS = ("tier", "step_lookback_days", "ql_days", "min_age", "max_age", "max_days_supply")
_TRUE = {"yes", "y", "true", "1", "x"}
_FALSE = {"", "no", "n", "false", "0"}


# -- reading formularies from books, YAML and CSV ----------------------------------------------

def read_formulary_model(path: str | Path, formulary_id: str | None = None) -> FormularyModel:
    """The validated file model of a formulary YAML, a book's formulary, or a CSV sheet."""
    p = Path(path)
    if p.suffix.lower() == ".csv":
        return _model_from_csv(p)
    data = read_yaml(p)
    if isinstance(data, dict) and "drugs" in data:
        return load_model(FormularyModel, p)
    book = load_model(BookModel, p)
    models = [load_model(FormularyModel, resolve(ref, p.parent)) for ref in book.formularies]
    if formulary_id is not None:
        models = [m for m in models if m.formulary_id == formulary_id]
    if len(models) != 1:
        ids = ", ".join(m.formulary_id for m in models) or "none"
        raise UsageError(f"{p}: name one formulary with --id (the book has: {ids})" if models
                         else f"{p}: no formulary {formulary_id!r} in the book")
    return models[0]


def read_formulary(path: str | Path, formulary_id: str | None = None) -> Formulary:
    """A formulary (as the engine uses it) from a formulary YAML, a book or a CSV sheet."""
    model = read_formulary_model(path, formulary_id)
    try:
        return model.to_formulary()
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None


# -- export ------------------------------------------------------------------------------------

def _cell(value: Any) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "yes"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def export_csv(model: FormularyModel) -> str:
    """The formulary as CSV text (see the module docstring for the layout)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["#formulary_id", model.formulary_id])
    w.writerow(["#name", model.name])
    if model.source:
        w.writerow(["#source", model.source])
    for g in model.groups:
        w.writerow(["#group", g.id, g.name])
    for te in model.te_groups:
        rest = te.model_dump(exclude={"id"})
        w.writerow(["#te_group", te.id, json.dumps(rest, separators=(",", ":"))])
    w.writerow(COLUMNS)
    for d in model.drugs:
        row = {
            "ndc": d.ndc, "name": d.name, "tier": d.tier, "status": d.status.value,
            "rxcui": d.rxcui, "te_group": d.te_group, "groups": d.groups,
            "therapeutic_class": d.therapeutic_class,
            "step_prerequisites": d.step_therapy.prerequisites if d.step_therapy else None,
            "step_lookback_days": d.step_therapy.lookback_days if d.step_therapy else None,
            "ql_quantity": d.quantity_limit.quantity if d.quantity_limit else None,
            "ql_days": d.quantity_limit.days if d.quantity_limit else None,
            "min_age": d.min_age, "max_age": d.max_age, "gender": d.gender,
            "max_days_supply": d.max_days_supply,
            **{b: getattr(d, b) for b in _BOOLS},
        }
        w.writerow([_cell(row[c]) for c in COLUMNS])
    return out.getvalue()


# -- import ------------------------------------------------------------------------------------

class _SheetError(Exception):
    pass


def _bool(text: str) -> bool:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise _SheetError(f"{text!r} is not yes or no")


def _drug(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"ndc": row["ndc"].strip(), "name": row["name"].strip()}
    for col in _INTS:
        text = row[col].strip()
        if text:
            try:
                out[col] = int(text)
            except ValueError:
                raise _SheetError(f"{col}: {text!r} is not a whole number") from None
    for col in _BOOLS:
        try:
            if _bool(row[col]):
                out[col] = True
        except _SheetError as exc:
            raise _SheetError(f"{col}: {exc}") from None
    for col in ("rxcui", "te_group", "therapeutic_class", "gender"):
        if row[col].strip():
            out[col] = row[col].strip()
    out["status"] = row["status"].strip() or Coverage.COVERED.value
    groups = [g.strip() for g in row["groups"].split(";") if g.strip()]
    if groups:
        out["groups"] = groups
    prereq = [g.strip() for g in row["step_prerequisites"].split(";") if g.strip()]
    lookback = out.pop("step_lookback_days", None)
    if prereq:
        out["step_therapy"] = {"prerequisites": prereq} | (
            {"lookback_days": lookback} if lookback is not None else {})
    elif lookback is not None:
        raise _SheetError("step_lookback_days without step_prerequisites")
    qty, days = row["ql_quantity"].strip(), out.pop("ql_days", None)
    if qty or days is not None:
        if not qty or days is None:
            raise _SheetError("a quantity limit needs both ql_quantity and ql_days")
        out["quantity_limit"] = {"quantity": qty, "days": days}
    return out


def _parse_sheet(text: str, where: str) -> dict[str, Any]:
    """The formulary file data of a CSV sheet; errors name the line and the column."""
    meta: dict[str, Any] = {"groups": [], "te_groups": []}
    drugs: list[dict[str, Any]] = []
    lines: list[int] = []
    header: list[str] | None = None
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if header is None:
            key = row[0].strip()
            if key == "ndc":
                header = [c.strip() for c in row]
                missing = [c for c in COLUMNS if c not in header]
                unknown = [c for c in header if c not in COLUMNS]
                if missing or unknown:
                    raise ConfigError(f"{where}: line {line}: header " + "; ".join(
                        ([f"missing columns {missing}"] if missing else [])
                        + ([f"unknown columns {unknown}"] if unknown else [])))
            elif key in ("#formulary_id", "#name", "#source") and len(row) >= 2:
                meta[key[1:]] = row[1]
            elif key == "#group" and len(row) >= 2:
                meta["groups"].append({"id": row[1], "name": row[2] if len(row) > 2 else ""})
            elif key == "#te_group" and len(row) >= 3:
                try:
                    rest = json.loads(row[2])
                except ValueError:
                    raise ConfigError(f"{where}: line {line}: #te_group: not JSON") from None
                meta["te_groups"].append({"id": row[1], **rest})
            else:
                raise ConfigError(f"{where}: line {line}: expected #formulary_id, #name, "
                                  "#source, #group or #te_group rows, then the header row "
                                  f"starting with 'ndc'; got {row[0]!r}")
            continue
        if len(row) != len(header):
            raise ConfigError(f"{where}: line {line}: {len(row)} cells, the header has "
                              f"{len(header)}")
        try:
            drugs.append(_drug(dict(zip(header, row, strict=True))))
        except _SheetError as exc:
            raise ConfigError(f"{where}: line {line}: {exc}") from None
        lines.append(line)
    if header is None:
        raise ConfigError(f"{where}: no header row (a row starting with 'ndc')")
    meta["drugs"] = drugs
    meta["_lines"] = lines
    return meta


def _model_from_csv(path: Path) -> FormularyModel:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    data = _parse_sheet(text, str(path))
    lines = data.pop("_lines")
    try:
        model = FormularyModel.model_validate(data)
        model.to_formulary()
    except ValidationError as exc:
        raise ConfigError("\n".join(_where(err["loc"], lines, str(path), err["msg"])
                                    for err in exc.errors())) from None
    except ValueError as exc:
        raise ConfigError(f"{path}: {_line_of(str(exc), lines)}") from None
    return model


def _where(loc: tuple[Any, ...], lines: list[int], path: str, msg: str) -> str:
    if len(loc) >= 2 and loc[0] == "drugs" and isinstance(loc[1], int):
        column = ".".join(str(x) for x in loc[2:]) or "(row)"
        return f"{path}: line {lines[loc[1]]}: {column}: {msg}"
    return f"{path}: {'.'.join(str(x) for x in loc)}: {msg}"


def _line_of(message: str, lines: list[int]) -> str:
    """``drugs.3.groups: ...`` from the formulary builder, as ``line N: groups: ...``."""
    head, _, rest = message.partition(": ")
    parts = head.split(".")
    if len(parts) >= 2 and parts[0] == "drugs" and parts[1].isdigit():
        return f"line {lines[int(parts[1])]}: {'.'.join(parts[2:])}: {rest}"
    return message


def _yaml_text(model: FormularyModel, source_name: str) -> str:
    data = model.model_dump(mode="json", exclude_defaults=True)
    head = {k: data[k] for k in ("formulary_id", "name", "source") if k in data}
    parts = [f"# Imported from {source_name} by `pbm formulary import`.\n",
             yaml.safe_dump(head, sort_keys=False, allow_unicode=True, width=100)]
    for key in ("groups", "te_groups", "drugs"):
        items = data.get(key)
        if key == "drugs" or items:
            parts.append(f"{key}:\n")
            parts.extend("  - " + yaml.safe_dump(item, default_flow_style=True, sort_keys=False,
                                                 allow_unicode=True, width=10**9).strip() + "\n"
                         for item in items or ())
    return "".join(parts)


def import_csv(path: str | Path, out: str | Path) -> Formulary:
    """Read a formulary sheet, write it as a formulary YAML file, load it back; return it.

    Nothing is written unless the sheet is valid; the file is replaced atomically.
    """
    source = Path(path)
    model = _model_from_csv(source)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".formulary-", suffix=".yaml", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(_yaml_text(model, source.name))
        formulary = load_formulary(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return formulary


# -- diff --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FormularyChange:
    """One difference for one drug: ``kind`` names the rule, ``before``/``after`` are readable."""

    ndc: str
    name: str
    kind: str
    before: str
    after: str

    @property
    def more_restrictive(self) -> bool:
        """True for changes that can make a paid claim reject or cost the member more."""
        if self.kind in ("removed",):
            return True
        if self.kind == "tier":
            return int(self.after) > int(self.before)
        if self.kind in ("prior_auth", "step_therapy", "quantity_limit", "age", "gender",
                         "max_days_supply"):
            return self.after != "-"
        if self.kind == "status":
            return self.after != Coverage.COVERED.value
        return False


KINDS = ("added", "removed", "status", "tier", "prior_auth", "step_therapy", "quantity_limit",
         "age", "gender", "max_days_supply", "groups", "therapeutic_class")
"""The kinds of change, in report order."""


def _describe(drug: Drug) -> dict[str, str]:
    step = drug.step_therapy
    ql = drug.quantity_limit
    ages = "-" if drug.min_age is None and drug.max_age is None else \
        f"{'' if drug.min_age is None else drug.min_age}-" \
        f"{'' if drug.max_age is None else drug.max_age}"
    return {
        "status": drug.coverage.value,
        "tier": str(drug.tier),
        "prior_auth": "required" if drug.pa_required else "-",
        "step_therapy": f"{', '.join(sorted(step.prerequisites))} within "
                        f"{step.lookback_days} days" if step else "-",
        "quantity_limit": f"{fmt_scaled(ql.quantity, QTY_SCALE).rstrip('0').rstrip('.')} per "
                          f"{ql.days} days" if ql else "-",
        "age": ages,
        "gender": {1: "M", 2: "F"}.get(drug.gender or 0, "-"),
        "max_days_supply": str(drug.max_days_supply) if drug.max_days_supply else "-",
        "groups": ", ".join(sorted(drug.groups)) or "-",
        "therapeutic_class": drug.therapeutic_class or "-",
    }


def diff_formularies(old: Formulary, new: Formulary) -> list[FormularyChange]:
    """Every drug added or removed and every rule changed, in :data:`KINDS` order, then NDC."""
    out = []
    for ndc in sorted(new.drugs.keys() - old.drugs.keys()):
        d = new.drugs[ndc]
        out.append(FormularyChange(ndc, d.name, "added", "-", f"tier {d.tier}, "
                                   f"{d.coverage.value}"))
    for ndc in sorted(old.drugs.keys() - new.drugs.keys()):
        d = old.drugs[ndc]
        out.append(FormularyChange(ndc, d.name, "removed", f"tier {d.tier}, "
                                   f"{d.coverage.value}", "-"))
    for ndc in sorted(old.drugs.keys() & new.drugs.keys()):
        a, b = _describe(old.drugs[ndc]), _describe(new.drugs[ndc])
        for kind in KINDS[2:]:
            if a[kind] != b[kind]:
                out.append(FormularyChange(ndc, new.drugs[ndc].name, kind, a[kind], b[kind]))
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(out, key=lambda c: (order[c.kind], c.ndc))


def changes_by_ndc(changes: Iterable[FormularyChange]) -> dict[str, list[FormularyChange]]:
    """The changes grouped by NDC (for finding the claims each change touched)."""
    out: dict[str, list[FormularyChange]] = {}
    for c in changes:
        out.setdefault(c.ndc, []).append(c)
    return out
