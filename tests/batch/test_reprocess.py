"""pbm reprocess end to end: engines, partitions, formats, bad lines, accumulators, diff."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pytest

from pbm_engine.batch import Tally, run
from pbm_engine.batch.snapshot import read_snapshot
from pbm_engine.book import Book
from pbm_engine.cli import main
from pbm_engine.money import to_cents
from pbm_engine.store.sqlite import SqliteStore

from .conftest import BOOK, HISTORY, PROPOSED, outputs


def _run(history: tuple[Path, Path], out: Path, **kw: object):
    claims, members = history
    return run([claims], kw.pop("book", BOOK), out, members=[members], **kw)  # type: ignore[arg-type]


def test_same_book_changes_nothing(history: tuple[Path, Path], tmp_path: Path) -> None:
    summary = _run(history, tmp_path / "o")
    c = summary.document["claims"]
    assert c["processed"] == c["with_original"] == c["unchanged"] == HISTORY[1]
    assert c["changed"] == 0 and summary.exit_status == 0
    assert (tmp_path / "o" / "changes.jsonl").read_bytes() == b""
    # the generator makes reversals and rebills, and they are answered in place
    statuses = {orjson.loads(line)["status"]
                for line in (tmp_path / "o" / "results.jsonl").read_bytes().splitlines()}
    assert {"P", "R", "A"} <= statuses


def test_bytes_do_not_depend_on_engine_or_partitions(history: tuple[Path, Path],
                                                     tmp_path: Path) -> None:
    base = outputs(_run(history, tmp_path / "a", partitions=1).out_dir)
    assert outputs(_run(history, tmp_path / "b", partitions=7).out_dir) == base
    assert outputs(_run(history, tmp_path / "c", engine="pool", workers=2,
                        partitions=5).out_dir) == base


def test_proposed_book_diff(history: tuple[Path, Path], tmp_path: Path) -> None:
    summary = _run(history, tmp_path / "o", book=PROPOSED)
    doc = summary.document
    changes = [orjson.loads(x) for x in (tmp_path / "o" / "changes.jsonl").read_bytes()
               .splitlines()]
    assert doc["claims"]["changed"] == len(changes) > 0
    assert doc["members_affected"] == len({c["member_id"] for c in changes})
    newly = [c for c in changes if c["change"] == "newly_rejected"]
    assert doc["newly_rejected"]["claims"] == len(newly)
    assert sum(doc["newly_rejected"]["by_reject_code"].values()) >= len(newly)
    # dollars in the summary are the sums of the change file, to the cent
    plan = sum(to_cents(c["plan_pay_change"]) for c in changes)
    patient = sum(to_cents(c["patient_pay_change"]) for c in changes)
    assert to_cents(doc["dollars"]["plan_pay_change"]) == plan
    assert to_cents(doc["dollars"]["patient_pay_change"]) == patient
    by_plan = sum(to_cents(b["plan_pay_change"]) for b in doc["by_plan"].values())
    assert by_plan == plan
    shifted = [c for c in changes if c["status_before"] == c["status_after"] == "P"]
    assert to_cents(doc["dollars"]["shifted"]["to_members"]) == sum(
        to_cents(c["patient_pay_change"]) for c in shifted)
    # the summary data model round-trips through its checkpoint form
    assert Tally.from_state(orjson.loads(orjson.dumps(summary.tally.to_state()))).to_json() \
        == doc


def test_malformed_lines_go_to_the_errors_file(history: tuple[Path, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    claims, members = history
    lines = claims.read_bytes().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\n".join([lines[0], b"{not json", lines[1], b"[1, 2]", b"", lines[2]])
                    + b"\n")
    status = main(["reprocess", str(bad), "--book", str(BOOK), "--members", str(members),
                   "--out", str(tmp_path / "o"), "--quiet"])
    assert status == 1
    errors = [orjson.loads(x) for x in (tmp_path / "o" / "errors.jsonl").read_bytes()
              .splitlines()]
    assert [(e["input"], e["line"]) for e in errors] == [(0, 2), (0, 4)]
    assert "not valid JSON" in errors[0]["error"] and "not a JSON object" in errors[1]["error"]
    results = (tmp_path / "o" / "results.jsonl").read_bytes().splitlines()
    assert sorted(orjson.loads(r)["line"] for r in results) == [1, 3, 6]
    summary = orjson.loads((tmp_path / "o" / "summary.json").read_bytes())
    assert summary["claims"]["read"] == 5 and summary["claims"]["unreadable"] == 2


def test_refuses_a_non_empty_directory(history: tuple[Path, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    claims, _members = history
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    status = main(["reprocess", str(claims), "--book", str(BOOK), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert status == 2 and "not empty" in err and err.count("\n") == 1
    assert (out / "keep.txt").read_text() == "mine"
    status = main(["reprocess", str(claims), "--book", str(BOOK), "--out", str(out), "--quiet",
                   "--resume"])
    assert status == 2 and "no pbm reprocess run" in capsys.readouterr().err


def test_csv_and_parquet_round_trips(history: tuple[Path, Path], tmp_path: Path,
                                     sample_book: Book) -> None:
    from pbm_engine.batch import generate

    _claims, members = history
    base = outputs(_run(history, tmp_path / "j").out_dir)
    for fmt in ("csv", "parquet"):
        path = tmp_path / f"claims.{fmt}"
        generate(*HISTORY, path, book=sample_book, fmt=fmt, with_original=True,
                 members_out=tmp_path / "m.jsonl")
        assert (tmp_path / "m.jsonl").read_bytes() == members.read_bytes()
        got = outputs(run([path], BOOK, tmp_path / fmt, members=[members]).out_dir)
        assert got["summary.json"] == base["summary.json"]
        assert got["accumulators.jsonl"] == base["accumulators.jsonl"]

        def strip(data: bytes) -> list[dict[str, object]]:
            rows = [orjson.loads(x) for x in data.splitlines()]
            for r in rows:
                r.pop("line")
            return rows
        assert strip(got["results.jsonl"]) == strip(base["results.jsonl"])
        if fmt == "parquet":  # Parquet rows are numbered like JSON lines
            assert got["results.jsonl"] == base["results.jsonl"]


def test_output_formats_are_the_same_table(history: tuple[Path, Path], tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    j = _run(history, tmp_path / "j", book=PROPOSED)
    c = _run(history, tmp_path / "c", book=PROPOSED, fmt="csv", partitions=3)
    p1 = _run(history, tmp_path / "p1", book=PROPOSED, fmt="parquet", partitions=1)
    p2 = _run(history, tmp_path / "p2", book=PROPOSED, fmt="parquet", partitions=6,
              engine="pool", workers=2)
    assert outputs(p1.out_dir, "parquet") == outputs(p2.out_dir, "parquet")
    jrows = [orjson.loads(x) for x in (j.out_dir / "changes.jsonl").read_bytes().splitlines()]
    with (c.out_dir / "changes.csv").open(newline="") as handle:
        crows = list(csv.DictReader(handle))
    prows = pq.read_table(p1.out_dir / "changes.parquet").to_pylist()
    assert len(jrows) == len(crows) == len(prows) > 0
    for jr, cr, pr in zip(jrows, crows, prows, strict=True):
        assert str(jr["line"]) == cr["line"] and jr["line"] == pr["line"]
        assert jr["plan_pay_change"] == cr["plan_pay_change"] == pr["plan_pay_change"]
    results = pq.read_table(p1.out_dir / "results.parquet")
    assert results.num_rows == HISTORY[1]


def _acc_from_results(out: Path) -> dict[tuple[str, str], int]:
    """OOP met per member from the results: paid claims' deltas, less reversed or rebilled."""
    active: dict[tuple[str, str, int, str], tuple[tuple[str, str], int]] = {}
    for line in (out / "results.jsonl").read_bytes().splitlines():
        r = orjson.loads(line)
        key = (r["pharmacy_id"], r["rx_number"], r["fill_number"], r["date_of_service"])
        if r["status"] == "A":
            del active[key]
        elif r["status"] == "P":
            member = (r["plan_id"], f"{r['cardholder_id']}-{r['person_code']}")
            active[key] = (member, to_cents(r["accumulator_delta"]["oop"]))
    sums: dict[tuple[str, str], int] = {}
    for member, oop in active.values():
        sums[member] = sums.get(member, 0) + oop
    return {k: v for k, v in sums.items() if v}


def test_ending_accumulators_are_the_sum_of_the_deltas(history: tuple[Path, Path],
                                                       tmp_path: Path) -> None:
    out = _run(history, tmp_path / "o").out_dir
    ending = {(k[0], k[3]): t.oop for k, _, t in read_snapshot(out / "accumulators.jsonl")
              if k[2] == "M" and t.oop}
    assert ending == _acc_from_results(out)


def test_starting_accumulators_snapshot_and_store(history: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    claims, members = history
    first = orjson.loads(claims.read_bytes().splitlines()[0])
    member_id = f"{first['cardholder_id']}-{first['person_code']}"
    plan = orjson.loads(next(x for x in members.read_bytes().splitlines()
                             if orjson.loads(x)["cardholder_id"] == first["cardholder_id"]))
    row = {"plan_id": plan["plan_id"], "year_start": "2026-01-01", "level": "member",
           "id": member_id, "family_id": first["cardholder_id"], "deductible": "40.00",
           "oop": "1000.00", "plan_paid": "0.00", "troop": "0.00", "gross_drug_cost": "0.00"}
    family_row = {**row, "level": "family", "id": first["cardholder_id"]}
    snap = tmp_path / "start.jsonl"
    snap.write_bytes(orjson.dumps(row) + b"\n" + orjson.dumps(family_row) + b"\n")
    plain = _run(history, tmp_path / "plain").out_dir
    seeded = _run(history, tmp_path / "seeded", starting_accumulators=snap).out_dir
    end_plain = {k: t for k, _, t in read_snapshot(plain / "accumulators.jsonl")}
    end_seeded = {k: t for k, _, t in read_snapshot(seeded / "accumulators.jsonl")}
    key = next(k for k in end_seeded if k[2] == "M" and k[3] == member_id)
    assert end_seeded[key].oop >= 100_000  # the carried-in $1,000 is in the ending row
    assert end_seeded[key] != end_plain.get(key)
    assert (seeded / "results.jsonl").read_bytes() != (plain / "results.jsonl").read_bytes()
    # the ending file is a valid starting file, in every format
    for fmt in ("csv", "parquet"):
        again = _run(history, tmp_path / f"e-{fmt}", fmt=fmt, starting_accumulators=snap).out_dir
        assert {k: t for k, _, t in read_snapshot(again / f"accumulators.{fmt}")} == end_seeded
    # the same start from a SQLite store
    db = tmp_path / "acc.db"
    store = SqliteStore(db)
    from pbm_engine.batch.snapshot import totals_of

    k, fam, totals = totals_of(row)
    store.apply(k[0], k[1], k[3], fam, totals)
    store.close()
    from_db = _run(history, tmp_path / "db", db=db).out_dir
    # the same start from a SQLite store (one apply posts the member's and the family's rows)
    assert outputs(from_db) == outputs(seeded)


def test_families_never_see_each_other(history: tuple[Path, Path], tmp_path: Path) -> None:
    """Two families billing the same claim key: the same answers however they are partitioned
    (each family runs on a store of its own, so the second is not a duplicate of the first)."""
    claims, members = history
    rows = [orjson.loads(x) for x in claims.read_bytes().splitlines()]
    first = next(r for r in rows if r["transaction_code"] == "B1"
                 and r["original"]["status"] == "P")
    other = next(r for r in rows if r["transaction_code"] == "B1"
                 and r["cardholder_id"] != first["cardholder_id"])
    twin = {**other, **{k: first[k] for k in ("pharmacy_id", "rx_number", "fill_number",
                                              "date_of_service")}}
    path = tmp_path / "twins.jsonl"
    path.write_bytes(orjson.dumps(first) + b"\n" + orjson.dumps(twin) + b"\n")
    one = run([path], BOOK, tmp_path / "one", members=[members], partitions=1)
    many = run([path], BOOK, tmp_path / "many", members=[members], partitions=64)
    assert outputs(one.out_dir) == outputs(many.out_dir)
    assert one.document["status_after"].get("D", 0) == 0
