"""Loading files (errors name file and field) and the pbm command end to end."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from pbm_engine.cli import main
from pbm_engine.errors import ConfigError
from pbm_engine.sources.loader import load_book, load_plan, load_sample_book

SMALL = Path(__file__).parent / "fixtures" / "small"


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_plan_names_file_and_field(tmp_path: Path) -> None:
    text = (SMALL / "plan_ppo.yaml").read_text().replace('copay: "10.00"', "copay: 10.5")
    path = write(tmp_path, "plan.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_plan(path)
    assert "plan.yaml" in str(err.value) and "cost_share" in str(err.value)


def test_unknown_keys_and_bad_yaml_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="deductibel"):
        load_plan(write(tmp_path, "p.yaml", "plan_id: X\nname: X\nformulary: F\nnetwork: N\n"
                        "cost_share: []\ndeductibel: {individual: '1'}\n"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_plan(write(tmp_path, "q.yaml", "plan_id: [unclosed\n"))
    with pytest.raises(ConfigError, match="file not found"):
        load_plan(tmp_path / "missing.yaml")


def test_overlapping_bands_and_cross_references(tmp_path: Path) -> None:
    text = (SMALL / "plan_ppo.yaml").read_text().replace('"35-90"', '"30-90"')
    with pytest.raises(ConfigError, match="overlap"):
        load_plan(write(tmp_path, "plan.yaml", text))
    book = (SMALL / "book.yaml").read_text()
    for name in ("formulary.yaml", "network.yaml", "prices.csv", "plan_agg.yaml"):
        write(tmp_path, name, (SMALL / name).read_text())
    write(tmp_path, "plan_ppo.yaml", (SMALL / "plan_ppo.yaml").read_text().replace(
        "network: TEST-NET", "network: NOPE"))
    write(tmp_path, "members.yaml", (SMALL / "members.yaml").read_text())
    with pytest.raises(ConfigError, match="unknown network"):
        load_book(write(tmp_path, "book.yaml", book))


def test_bad_price_row_names_the_line(tmp_path: Path) -> None:
    for name in ("formulary.yaml", "network.yaml", "plan_ppo.yaml", "plan_agg.yaml",
                 "members.yaml", "book.yaml"):
        write(tmp_path, name, (SMALL / name).read_text())
    write(tmp_path, "prices.csv", "ndc,effective_date,end_date,awp,wac,mac\n"
          "00000000001,2026-01-01,,abc,,\n")
    with pytest.raises(ConfigError, match="line 2"):
        load_book(tmp_path / "book.yaml")


def test_sample_book_loads() -> None:
    book = load_sample_book()
    assert {"SAMPLE-PPO-2026", "SAMPLE-HDHP-2026"} <= set(book.plans)
    assert len(book.formularies["SAMPLE-COMMERCIAL-2026"].drugs) >= 300


def test_pbm_adjudicate_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results.jsonl"
    assert main(["adjudicate", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "transactions" in printed and "KLONOPIN" in printed
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(rows) >= 35
    statuses = {r["status"] for r in rows}
    assert {"P", "R", "D", "A", "S"} <= statuses
    codes = {c["code"] for r in rows for c in r["rejects"]}
    for code in ("79", "608", "60", "61", "70", "MR", "54", "76", "7X", "52", "53", "69", "67",
                 "88", "75", "4W", "84", "R8", "UU", "E7", "19", "22"):
        assert code in codes, code
    for r in rows:
        if r["status"] == "P":
            total = int(r["total_price"].replace(".", ""))
            parts = sum(int(r[k].replace(".", "")) for k in ("member_paid", "other_payer_paid",
                                                              "plan_pay"))
            assert parts == total


def test_pbm_validate_and_config_error_exit_code(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    assert "ok:" in capsys.readouterr().out
    bad = write(tmp_path, "book.yaml", "plans: [nope.yaml]\n")
    assert main(["validate", str(bad)]) == 1
    assert "file not found" in capsys.readouterr().err


def test_validate_warns_about_unmeetable_rules(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("network.yaml", "prices.csv", "plan_agg.yaml", "members.yaml", "book.yaml"):
        write(tmp_path, name, (SMALL / name).read_text())
    formulary = (SMALL / "formulary.yaml").read_text().replace(
        "  - {id: CLASS:A-GENERIC, name: Generic class A}",
        "  - {id: CLASS:A-GENERIC, name: Generic class A}\n  - {id: CLASS:EMPTY}").replace(
        "prerequisites: [CLASS:A-GENERIC]", "prerequisites: [CLASS:EMPTY]")
    write(tmp_path, "formulary.yaml", formulary)
    write(tmp_path, "plan_ppo.yaml", (SMALL / "plan_ppo.yaml").read_text().replace(
        '  - {tier: 4, channel: specialty, bands: [{days: "1-30", coinsurance: "20", '
        'min: "50.00", max: "200.00"}]}\n', ""))
    assert main(["validate", str(tmp_path / "book.yaml")]) == 0
    out = capsys.readouterr().out
    assert "groups with no drugs: CLASS:EMPTY" in out
    assert "step therapy on 1 drug(s) (e.g. 00000000005) needs CLASS:EMPTY" in out
    assert "plan TEST-PPO: no cost share for tier(s) [4]" in out
