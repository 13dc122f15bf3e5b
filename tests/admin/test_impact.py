"""`pbm impact`: the report on generated histories, and the HTML in a real headless browser."""

from __future__ import annotations

import csv
import io
import os
import random
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest

from pbm_engine.admin.compare import compare
from pbm_engine.admin.formulary_sheet import export_csv, import_csv, read_formulary_model
from pbm_engine.admin.impact import (
    build_report,
    differs,
    pairs,
    run_impact,
    tally_pairs,
)
from pbm_engine.admin.report import write_report
from pbm_engine.cli import main
from pbm_engine.cli.impact import batch_pairs
from pbm_engine.sources.loader import load_book, sample_book_path
from tests.admin.browser import CHROMIUM, colour_counts, console_errors, open_page

SAMPLE = sample_book_path().parent
GENERIC, ZITUVIO, KLONOPIN, LANTUS = "00378410591", "70710124203", "61269060510", "00088222033"
DRUGS = [(GENERIC, "30"), (ZITUVIO, "30"), (KLONOPIN, "60"), (LANTUS, "10"),
         ("16571080316", "9"), ("49884089811", "30")]
MEMBERS = [("PPO1001", "001"), ("PPO1001", "002"), ("PPO1001", "003"), ("PPO1001", "004"),
           ("PPO1004", "001"), ("HSA2001", "001"), ("HSA2001", "002"), ("HSA2002", "001"),
           ("NOBODY", "001")]


def history(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` claims through 2026 for the sample members, with a few reversals."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        cardholder, person = rng.choice(MEMBERS)
        ndc, qty = rng.choice(DRUGS)
        day = f"2026-{1 + i * 12 // n:02d}-{1 + rng.randrange(28):02d}"
        claim = {"cardholder_id": cardholder, "person_code": person, "rx_number": str(9000 + i),
                 "fill_number": 0, "ndc": ndc, "quantity": qty, "days_supply": 30,
                 "date_of_service": day, "pharmacy_id": "1234567893", "daw": 0}
        out.append(claim)
        if rng.random() < 0.05:
            out.append({**claim, "transaction_code": "B2"})
    return out


def proposed_book(tmp_path: Path) -> Path:
    """The sample's proposed PPO, plus formulary changes made through the CSV sheet."""
    rows = export_csv(read_formulary_model(SAMPLE / "formulary.yaml")).splitlines()
    header = next(r for r in rows if r.startswith("ndc,")).split(",")
    col = {name: header.index(name) for name in header}
    edited = []
    for line in rows:
        cells = next(csv.reader([line]))
        if cells[0] == GENERIC:
            cells[col["tier"]] = "2"
        elif cells[0] == ZITUVIO:
            cells[col["pa_required"]] = "yes"
        elif cells[0] == KLONOPIN:
            cells[col["ql_quantity"]], cells[col["ql_days"]] = "30", "30"
        elif cells[0] == "16571080316":
            continue  # removed
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(cells)
        edited.append(buf.getvalue())
    sheet = tmp_path / "proposed.csv"
    sheet.write_text("\n".join(edited) + "\n")
    import_csv(sheet, tmp_path / "formulary_proposed.yaml")
    book = tmp_path / "proposed.yaml"
    book.write_text("plans: ['pkg:sample/plan_ppo_proposed.yaml', 'pkg:sample/plan_hdhp.yaml']\n"
                    "formularies: [formulary_proposed.yaml]\n"
                    "networks: ['pkg:sample/network.yaml']\n"
                    "prices: ['pkg:sample/prices.csv']\n"
                    "nadac: ['pkg:nadac/nadac_2026-04-29_sample_rows.csv']\n"
                    "members: ['pkg:sample/members.yaml']\n")
    return book


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, list[dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("impact")
    return load_book(sample_book_path()), load_book(proposed_book(tmp)), history(250)


def test_totals_agree_with_compare_and_breakdowns_add_up(setting: Any) -> None:
    before, after, claims = setting
    tally = run_impact(before, after, claims)
    reference = compare(before, after, claims)
    t = tally.total
    assert t.claims == reference.claims == len(claims)
    # compare() looks at status, rejects and money; the report also counts tier moves
    tier_only = sum(1 for a, b in pairs(before, after, claims) if differs(a, b) == ("tier",))
    assert t.changed == len(reference.changes) + tier_only and len(reference.changes) > 0
    assert (t.paid_before, t.paid_after) == (reference.status_before["P"],
                                              reference.status_after["P"])
    assert (t.plan_before, t.plan_after) == (reference.totals_before["plan_pay"],
                                              reference.totals_after["plan_pay"])
    assert (t.member_before, t.member_after) == (reference.totals_before["patient_pay"],
                                                  reference.totals_after["patient_pay"])
    assert tally.rejected_claims == reference.newly_rejected > 0
    assert sum(tally.newly_paid.values()) == reference.newly_paid
    for groups in (tally.by_plan, tally.by_tier):
        for name in ("claims", "changed", "plan_before", "plan_after", "member_before",
                     "member_after"):
            assert sum(getattr(g, name) for g in groups.values()) == getattr(t, name)
    members = {c.after.member_id or c.before.member_id for c in reference.changes}
    assert tally.members_affected() == len(members - {""})


def test_formulary_changes_and_the_claims_they_touched(setting: Any) -> None:
    before, after, claims = setting
    tally = run_impact(before, after, claims)
    got = {(c.change.ndc, c.change.kind): c.claims for c in tally.touched.values()}
    assert set(got) == {(GENERIC, "tier"), (ZITUVIO, "prior_auth"),
                        (KLONOPIN, "quantity_limit"), ("16571080316", "removed")}
    on_plan = [c for c in claims
               if c["cardholder_id"] != "NOBODY" and "transaction_code" not in c]
    for ndc, kind in got:
        assert got[(ndc, kind)].claims == sum(1 for c in on_plan if c["ndc"] == ndc)
    # the removed drug rejects every claim; the new PA pays only for the member with a PA
    assert got[("16571080316", "removed")].paid_after == 0
    assert got[(ZITUVIO, "prior_auth")].changed > 0
    assert got[(GENERIC, "tier")].member_shift > 0
    codes = {code for code, _ in tally.newly_rejected}
    assert {"76", "MR"} <= codes  # plan limitations exceeded; not on the formulary


def test_report_files_private_pseudonymous_and_complete(setting: Any, tmp_path: Path) -> None:
    before, after, claims = setting
    tally = run_impact(before, after, claims, salt="fixed")
    out = tmp_path / "report"
    written = write_report(build_report(tally, "current", "proposed"), out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    names = {p.name for p in written}
    assert {"report.md", "report.html", "by_plan.csv", "by_tier.csv", "by_drug.csv",
            "newly_rejected.csv", "newly_paid.csv", "members.csv",
            "formulary_changes.csv"} <= names
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        text = path.read_text()
        for cardholder, person in MEMBERS[:-1]:
            assert f"{cardholder}-{person}" not in text and cardholder not in text
    members = list(csv.DictReader((out / "members.csv").open()))
    assert members and all(m["member key"].startswith("M-") for m in members)
    # the same salt gives the same keys; another salt other keys
    again = run_impact(before, after, claims, salt="fixed")
    assert again.top_members() == tally.top_members()
    other = run_impact(before, after, claims, salt="other")
    assert {m[0] for m in other.top_members()} != {m[0] for m in tally.top_members()}
    md = (out / "report.md").read_text()
    for title in ("By plan", "By tier", "By drug", "Newly rejected claims", "Newly paid claims",
                  "Members most affected", "Formulary changes"):
        assert f"## {title}" in md
    html = (out / "report.html").read_text()
    assert html.count("<svg") >= 5 and "<script" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html


def test_the_batch_runner_gives_the_same_report(setting: Any, tmp_path: Path) -> None:
    before, after, claims = setting
    ordered = sorted(claims, key=lambda c: c["date_of_service"])  # the runner's order per family
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in ordered) + b"not json\n")
    summaries: list[Any] = []
    answers = batch_pairs([history], sample_book_path(), proposed_book(tmp_path),
                          tmp_path / "runs", summaries=summaries)
    via_batch = tally_pairs(before, after, answers, salt="s")
    in_process = run_impact(before, after, ordered, salt="s")
    assert [s.unreadable for s in summaries] == [1, 1]
    assert via_batch.total == in_process.total
    assert via_batch.by_plan == in_process.by_plan and via_batch.by_drug == in_process.by_drug
    assert via_batch.newly_rejected == in_process.newly_rejected
    assert via_batch.top_members() == in_process.top_members()
    assert {k: t.claims for k, t in via_batch.touched.items()} == {
        k: t.claims for k, t in in_process.touched.items()}


def test_pbm_impact_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    claims = tmp_path / "history.jsonl"
    requests = history(60, seed=3)
    claims.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in requests))
    out = tmp_path / "out"
    assert main(["impact", str(claims), "--before", str(sample_book_path()), "--after",
                 str(proposed_book(tmp_path)), "--out", str(out)]) == 0
    assert f"{len(requests)} claims" in capsys.readouterr().out
    assert (out / "report.html").exists() and not (out / "runs").exists()
    assert main(["impact", str(tmp_path / "missing.jsonl"), "--before",
                 str(sample_book_path()), "--after", str(sample_book_path()), "--out",
                 str(out)]) == 2


@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                    reason="Chromium not installed (python3 dev.py test installs it)")
def test_html_report_in_a_real_headless_browser(setting: Any, tmp_path: Path) -> None:
    before, after, claims = setting
    out = tmp_path / "report"
    write_report(build_report(run_impact(before, after, claims), "current", "proposed"), out)
    page = open_page(out / "report.html", tmp_path)
    assert console_errors(page.log) == []
    assert page.dom.count("<svg") >= 5 and "Members most affected" in page.dom
    red, blue = (0xC0, 0x39, 0x2B), (0x2E, 0x86, 0xC1)
    counts = colour_counts(page.png, [red, blue, (255, 255, 255)])
    assert counts[(-1, -1, -1)] > 50            # not blank: many colours (text, rules, bars)
    assert counts[red] > 500 and counts[blue] > 500   # the bars of the charts were drawn
    assert counts[(255, 255, 255)] > 100_000    # mostly page background


@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                    reason="Chromium not installed (python3 dev.py test installs it)")
def test_the_browser_check_catches_a_broken_page(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><script>undefinedFunction();</script>"
                    '<img src="https://example.invalid/x.png"></body></html>')
    errors = console_errors(open_page(page, tmp_path).log)
    assert any("Uncaught" in e or "undefinedFunction" in e for e in errors), errors


def test_validate_findings_in_the_same_report_style(tmp_path: Path) -> None:
    out = tmp_path / "check"
    assert main(["validate", str(sample_book_path()), "--report", str(out)]) == 0
    md = (out / "report.md").read_text()
    assert "# Book check" in md and "| warnings | 5 |" in md
    rows = list(csv.DictReader((out / "findings.csv").open()))
    assert len(rows) == 5 and rows[0]["severity"] == "warning"
    assert rows[0]["where"] == "formulary SAMPLE-COMMERCIAL-2026"
    assert "<svg" in (out / "report.html").read_text()
    assert stat.S_IMODE((out / "findings.csv").stat().st_mode) == 0o600
    bad = tmp_path / "bad.yaml"
    bad.write_text("plans: [missing.yaml]\n")
    assert main(["validate", str(bad), "--report", str(tmp_path / "bad")]) == 1
    rows = list(csv.DictReader((tmp_path / "bad" / "findings.csv").open()))
    assert rows and rows[0]["severity"] == "error" and "file not found" in rows[0]["finding"]
