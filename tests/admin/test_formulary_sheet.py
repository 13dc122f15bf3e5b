"""Formulary export/import (CSV round trip through the loader) and formulary diff."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from pbm_engine.admin.formulary_sheet import (
    diff_formularies,
    export_csv,
    import_csv,
    read_formulary,
    read_formulary_model,
)
from pbm_engine.cli import main
from pbm_engine.errors import ConfigError
from pbm_engine.sources.loader import load_formulary, sample_book_path

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "fixtures" / "small" / "formulary.yaml"
SAMPLE = sample_book_path().parent / "formulary.yaml"


@pytest.mark.parametrize("source", [SMALL, SAMPLE], ids=["small", "sample"])
def test_round_trip_is_exact(source: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "f.csv"
    assert main(["formulary", "export", str(source), "--csv", str(sheet)]) == 0
    out = tmp_path / "f.yaml"
    assert main(["formulary", "import", str(sheet), "--out", str(out)]) == 0
    assert load_formulary(out) == load_formulary(source)
    assert export_csv(read_formulary_model(out)) == sheet.read_text(encoding="utf-8")
    original, back = read_formulary_model(source), read_formulary_model(out)
    assert back.te_groups == original.te_groups and back.groups == original.groups
    assert (back.formulary_id, back.name, back.source) == (
        original.formulary_id, original.name, original.source)


def test_every_formulary_file_field_has_a_column() -> None:
    from pbm_engine.admin.formulary_sheet import COLUMNS
    from pbm_engine.sources.loader import DrugModel

    composite = {"step_therapy": ("step_prerequisites", "step_lookback_days"),
                 "quantity_limit": ("ql_quantity", "ql_days")}
    expected = [c for f in DrugModel.model_fields for c in composite.get(f, (f,))]
    assert sorted(expected) == sorted(COLUMNS)


def test_export_from_a_book_needs_an_id_only_when_ambiguous(tmp_path: Path) -> None:
    sheet = tmp_path / "f.csv"
    assert main(["formulary", "export", str(SMALL.parent / "book.yaml"), "--csv",
                 str(sheet)]) == 0
    assert sheet.read_text().startswith("#formulary_id,TEST-FORM\n")
    assert main(["formulary", "export", str(SMALL.parent / "book.yaml"), "--csv", str(sheet),
                 "--id", "NOPE"]) == 2


def _edit(sheet: str, ndc: str, **cells: str) -> str:
    rows = list(csv.reader(io.StringIO(sheet)))
    header = next(r for r in rows if r[0] == "ndc")
    for r in rows:
        if r[0] == ndc:
            for k, v in cells.items():
                r[header.index(k)] = v
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def test_import_errors_name_the_line_and_column_and_write_nothing(tmp_path: Path) -> None:
    sheet = export_csv(read_formulary_model(SMALL))
    out = tmp_path / "out.yaml"
    line = next(i for i, t in enumerate(sheet.splitlines(), 1) if t.startswith("00000000003"))
    cases = {
        "tier": ("x", f"line {line}: tier: 'x' is not a whole number"),
        "brand": ("maybe", f"line {line}: brand: 'maybe' is not yes or no"),
        "groups": ("CLASS:NOPE", f"line {line}: groups: unknown group(s) ['CLASS:NOPE']"),
        "status": ("gone", f"line {line}: status: Input should be"),
        "ql_days": ("30", f"line {line}: a quantity limit needs both"),
    }
    for column, (value, message) in cases.items():
        bad = tmp_path / f"bad_{column}.csv"
        bad.write_text(_edit(sheet, "00000000003", **{column: value}))
        with pytest.raises(ConfigError) as err:
            import_csv(bad, out)
        assert message in str(err.value), column
        assert not out.exists()
        assert not list(tmp_path.glob(".formulary-*"))
    bad = tmp_path / "bad.csv"
    bad.write_text(sheet.replace("ndc,name,tier", "ndc,nmae,tier"))
    assert main(["formulary", "import", str(bad), "--out", str(out)]) == 2
    assert not out.exists()


def test_diff_names_every_kind_of_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    sheet = export_csv(read_formulary_model(SMALL))
    sheet = _edit(sheet, "00000000003", tier="3", pa_required="yes")
    sheet = _edit(sheet, "00000000001", ql_quantity="60", ql_days="30")
    sheet = _edit(sheet, "00000000002", step_prerequisites="CLASS:A-GENERIC",
                  step_lookback_days="120", status="non_formulary")
    sheet = _edit(sheet, "00000000006", ql_quantity="", ql_days="")
    lines = [t for t in sheet.splitlines() if not t.startswith("00000000013")]
    lines.append(lines[-1].replace("00000000014", "00000000099", 1))
    new = tmp_path / "new.csv"
    new.write_text("\n".join(lines) + "\n")
    changes = diff_formularies(read_formulary(SMALL), read_formulary(new))
    got = [(c.ndc, c.kind, c.before, c.after, c.more_restrictive) for c in changes]
    assert got == [
        ("00000000099", "added", "-", "tier 1, covered", False),
        ("00000000013", "removed", "tier 1, covered", "-", True),
        ("00000000002", "status", "covered", "non_formulary", True),
        ("00000000003", "tier", "2", "3", True),
        ("00000000003", "prior_auth", "-", "required", True),
        ("00000000002", "step_therapy", "-", "CLASS:A-GENERIC within 120 days", True),
        ("00000000001", "quantity_limit", "-", "60 per 30 days", True),
        ("00000000006", "quantity_limit", "30 per 30 days", "-", False),
    ]
    assert main(["formulary", "diff", str(SMALL), str(new), "--csv",
                 str(tmp_path / "d.csv")]) == 0
    out = capsys.readouterr().out
    assert "8 changes" in out and "prior auth" in out
    assert len((tmp_path / "d.csv").read_text().splitlines()) == 9
