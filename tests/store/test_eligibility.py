"""Eligibility in the store: imports (CSV and JSON lines; add, change, terminate, replace; bad
rows never half-applied), the engine and the portal reading members from the store, and the
``pbm members`` / ``pbm pa`` commands.  Every store test runs on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import os
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest

from pbm_engine.book import Book
from pbm_engine.cli import main
from pbm_engine.cli.claims import sample_claims_path
from pbm_engine.cli.textio import read_requests
from pbm_engine.codes import Reject, Status
from pbm_engine.eligibility.members import Registry
from pbm_engine.engine import Engine
from pbm_engine.portal.views import Portal
from pbm_engine.processor import Processor
from pbm_engine.store import open_store
from pbm_engine.store.base import Store
from pbm_engine.store.eligibility import (
    MEMBER_COLUMNS,
    EligibilityFileError,
    import_members,
    import_prior_auths,
)
from pbm_engine.store.memory import MemoryStore
from pbm_engine.store.sqlite import SqliteStore

from .claims import claim

D = dt.date
HEADER = ",".join((*MEMBER_COLUMNS, "action", "relationship", "lis_level"))
PPO = "SAMPLE-PPO-2026"
HDHP = "SAMPLE-HDHP-2026"


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def row(cardholder: str = "C1", person: str = "001", *, plan: str = PPO,
        born: str = "1980-01-01", gender: str = "F", start: str = "2026-01-01", end: str = "",
        action: str = "", family: str = "", member_id: str = "", relationship: str = "1",
        lis: str = "") -> str:
    return ",".join((cardholder, person, member_id, family, plan, born, gender, start, end,
                     action, relationship, lis))


def export_registry(registry: Registry, members: Path, pas: Path) -> None:
    """Write a book's members and PAs as eligibility and PA files (one row per period)."""
    with members.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow((*MEMBER_COLUMNS, "action", "first_name", "last_name", "lis_level"))
        for m in registry.members.values():
            for p in m.coverage:
                out.writerow((m.cardholder_id, m.person_code, m.member_id, m.family_id,
                              m.plan_id, m.date_of_birth or "", "UMF"[m.gender], p.start,
                              p.end or "", "add", m.first_name, m.last_name, m.lis_level or ""))
                if p.terminated:
                    out.writerow((m.cardholder_id, m.person_code, "", "", "", "", "", "", p.end,
                                  "terminate", "", "", ""))
    with pas.open("wb") as handle:
        for found in registry.prior_auths.values():
            for pa in found:
                cardholder, person = pa.member_id.rsplit("-", 1)
                handle.write(orjson.dumps({
                    "cardholder_id": cardholder, "person_code": person, "number": pa.number,
                    "start": pa.start.isoformat(), "end": pa.end.isoformat(), "ndc": pa.ndc,
                    "te_group": pa.te_group, "group": pa.group, "rxcui": pa.rxcui,
                    "bypasses": sorted(pa.bypasses)}) + b"\n")


def test_store_members_answer_like_the_book(sample_engine: Engine, sample_book: Book,
                                            store: Store, tmp_path: Path) -> None:
    """The sample book's members and PAs imported into a store (with an empty book registry)
    give the same answers on every sample claim as the book itself."""
    export_registry(sample_book.registry, tmp_path / "m.csv", tmp_path / "pa.jsonl")
    report = import_members(store, tmp_path / "m.csv")
    assert report.members == len(sample_book.registry.members)
    import_prior_auths(store, tmp_path / "pa.jsonl")
    bare = Book(sample_book.plans, sample_book.formularies, sample_book.networks,
                sample_book.prices, Registry(), sample_book.part_d_plans,
                sample_book.known_ndcs)
    from_store = Processor(Engine(bare), store)
    assert from_store.engine.members is store
    from_book = Processor(sample_engine, MemoryStore())
    requests = list(read_requests([sample_claims_path()]))
    for request in requests:
        a, b = from_book.submit(request), from_store.submit(request)
        assert a.to_dict() == b.to_dict()
    # the portal finds members and families by index in the store
    portal = Portal(bare, store)
    assert [m.person_code for m in portal.family(portal.member("PPO1001-003"))] == [
        "001", "002", "003", "004"]
    assert portal.accumulators(portal.member(cardholder_id="PPO1001"), as_of=D(2026, 12, 31))


def test_bad_rows_are_reported_with_lines_and_nothing_is_applied(store: Store,
                                                                 tmp_path: Path) -> None:
    import_members(store, write(tmp_path / "ok.csv", HEADER, row("KEEP")))
    bad = write(tmp_path / "bad.csv", HEADER,
                row("C1"),                                   # fine
                row("C2", born="1980-02-30"),                # line 3: no such date
                row("C3", gender="X"),                       # line 4
                row("C4", start="2026-05-01", end="2026-04-01"),  # line 5: end before start
                row("C5", person="12345"),                   # line 6
                row("C6", plan=""),                          # line 7
                row("C7", action="terminate", end="2026-03-01"),  # line 8: not on file
                row("C8", action="change"),                  # line 9: not on file
                row("C9", lis="sometimes"),                  # line 10
                row("C1", member_id="OTHER"))                # line 11: member id changes
    with pytest.raises(EligibilityFileError) as caught:
        import_members(store, bad)
    lines = sorted(int(p.split(":")[0].split()[1]) for p in caught.value.problems)
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert caught.value.count == 9
    # nothing of the file was applied, not even its good first row
    assert store.member_count() == 1 and store.get("C1", "001") is None
    assert store.get("KEEP", "001") is not None


def test_a_ragged_or_foreign_file(store: Store, tmp_path: Path) -> None:
    with pytest.raises(EligibilityFileError, match="line 2: 3 fields"):
        import_members(store, write(tmp_path / "r.csv", HEADER, "a,b,c"))
    with pytest.raises(Exception, match="missing column"):
        import_members(store, write(tmp_path / "f.csv", "name,dob", "x,y"))
    with pytest.raises(EligibilityFileError, match="line 2: not JSON"):
        import_members(store, write(tmp_path / "j.jsonl", '{"cardholder_id": "A"', "{oops"))
    assert store.member_count() == 0


def test_terminations_and_claims(sample_book: Book, store: Store, tmp_path: Path) -> None:
    import_members(store, write(tmp_path / "a.csv", HEADER, row("PPO1001", born="1978-04-12")))
    import_members(store, write(tmp_path / "t.csv", HEADER,
                                row("PPO1001", action="terminate", end="2026-03-31")))
    [period] = store.get("PPO1001", "001").coverage  # type: ignore[union-attr]
    assert (period.end, period.terminated) == (D(2026, 3, 31), True)
    processor = Processor(Engine(sample_book), store)
    assert processor.submit(claim(day="2026-03-31")).status is Status.PAID
    late = processor.submit(claim(day="2026-04-01", rx="9000002"))
    assert late.reject_codes == (Reject.AFTER_COVERAGE_TERMINATED,)
    # a person code the store does not have: 53; a cardholder it does not have: 52
    assert processor.submit(claim(person="002")).reject_codes == (
        Reject.NON_MATCHED_PERSON_CODE,)
    assert processor.submit(claim("PPO1002")).reject_codes == (Reject.NON_MATCHED_CARDHOLDER,)
    # terminating on a day without coverage is an error
    with pytest.raises(EligibilityFileError, match="no coverage on 2026-06-01"):
        import_members(store, write(tmp_path / "t2.csv", HEADER,
                                    row("PPO1001", action="terminate", end="2026-06-01")))


def test_plan_change_and_overlapping_coverage(sample_book: Book, store: Store,
                                              tmp_path: Path) -> None:
    """A period starting inside an open one is a change effective that day (claims before it
    use the old plan); one that would overlap a later period is refused."""
    import_members(store, write(tmp_path / "a.csv", HEADER, row("PPO1001", plan=HDHP),
                                row("PPO1001", plan=PPO, start="2026-07-01")))
    member = store.get("PPO1001", "001")
    assert member is not None and member.plan_id == PPO
    assert [(p.start, p.end, p.plan_id) for p in member.coverage] == [
        (D(2026, 1, 1), D(2026, 6, 30), HDHP), (D(2026, 7, 1), None, PPO)]
    processor = Processor(Engine(sample_book), store)
    assert processor.submit(claim(day="2026-02-02")).plan_id == HDHP
    assert processor.submit(claim(day="2026-08-03", rx="9000002")).plan_id == PPO
    with pytest.raises(EligibilityFileError, match="overlaps coverage on file from 2026-01-01"):
        import_members(store, write(tmp_path / "o.csv", HEADER,
                                    row("PPO1001", start="2025-06-01", end="2026-08-01")))
    assert store.get("PPO1001", "001") == member


def test_reimport_changes_nothing_and_replace_removes(store: Store, tmp_path: Path) -> None:
    first = write(tmp_path / "a.csv", HEADER, row("A"), row("A", "002", relationship="spouse"),
                  row("B", family="A"))
    import_members(store, first)
    before = {k: store.get(*k) for k in (("A", "001"), ("A", "002"), ("B", "001"))}
    again = import_members(store, first)
    assert (again.added, again.changed) == (0, 3)
    assert {k: store.get(*k) for k in before} == before
    assert [m.member_id for m in store.family("A")] == ["A-001", "B-001", "A-002"] or \
        sorted(m.member_id for m in store.family("A")) == ["A-001", "A-002", "B-001"]
    assert store.family_coverage(before[("A", "001")])  # type: ignore[arg-type]
    # a change of demographics only
    import_members(store, write(tmp_path / "c.csv", HEADER,
                                row("A", born="1981-01-01", start="", action="change")))
    changed = store.get("A", "001")
    assert changed is not None and changed.date_of_birth == D(1981, 1, 1)
    assert changed.coverage == before[("A", "001")].coverage  # type: ignore[union-attr]
    # replace: the file is the whole eligibility; PAs stay
    import_prior_auths(store, write(tmp_path / "pa.csv", "cardholder_id,person_code,number,"
                                    "start,end,ndc", "B,001,PA1,2026-01-01,2026-12-31,"
                                    "00378410591"))
    report = import_members(store, write(tmp_path / "r.csv", HEADER, row("B", family="A")),
                            replace_all=True)
    assert (report.members, report.removed) == (1, 2)
    assert store.get("A", "001") is None and store.get("B", "001") is not None
    assert not store.has_cardholder("A")
    assert [pa.number for pa in store.prior_auths_of("B-001")] == ["PA1"]


def test_member_ids_are_unique_and_stable(store: Store, tmp_path: Path) -> None:
    import_members(store, write(tmp_path / "a.csv", HEADER, row("A", member_id="M1")))
    with pytest.raises(EligibilityFileError, match="already cardholder A person 001"):
        import_members(store, write(tmp_path / "b.csv", HEADER, row("B", member_id="M1")))
    with pytest.raises(EligibilityFileError, match="line 3: member_id M2 is already"):
        import_members(store, write(tmp_path / "c.csv", HEADER, row("C", member_id="M2"),
                                    row("D", member_id="M2")))
    assert store.member_by_id("M1") == store.get("A", "001")
    assert store.member_count() == 1


def test_json_lines_and_prior_auths(sample_book: Book, store: Store, tmp_path: Path) -> None:
    lines = [orjson.dumps({"cardholder_id": "PPO1004", "person_code": "1", "plan_id": PPO,
                           "date_of_birth": "1985-03-08", "gender": "F",
                           "coverage_start": "2026-01-01"}).decode()]
    import_members(store, write(tmp_path / "m.jsonl", *lines))
    processor = Processor(Engine(sample_book), store)
    specialty = {"ndc": "59148004580", "quantity": "1", "days_supply": 28,
                 "channel": "specialty", "clarification_codes": []}
    needs_pa = processor.submit(claim("PPO1004", rx="7000001", **specialty))
    assert Reject.PRIOR_AUTH_REQUIRED in needs_pa.reject_codes
    pa = tmp_path / "pa.jsonl"
    write(pa, orjson.dumps({"cardholder_id": "PPO1004", "person_code": "001",
                            "number": "PA9", "start": "2026-01-01", "end": "2026-12-31",
                            "ndc": "59148004580", "bypasses": []}).decode())
    assert import_prior_auths(store, pa).added == 1
    assert Reject.PRIOR_AUTH_REQUIRED not in processor.submit(
        claim("PPO1004", rx="7000002", **specialty)).reject_codes
    write(pa, orjson.dumps({"cardholder_id": "PPO1004", "person_code": "001", "number": "PA9",
                            "start": "2026-01-01", "end": "2026-12-31",
                            "action": "delete"}).decode())
    assert import_prior_auths(store, pa).removed == 1
    assert store.prior_auths_of("PPO1004-001") == []
    with pytest.raises(EligibilityFileError, match="line 2: member NOBODY"):
        import_prior_auths(store, write(tmp_path / "x.csv", "cardholder_id,person_code,number,"
                                        "start,end,group", "NOBODY,1,P,2026-01-01,2026-02-01,G"))
    with pytest.raises(EligibilityFileError, match="bypasses: unknown edit"):
        import_prior_auths(store, write(tmp_path / "y.csv", "cardholder_id,person_code,number,"
                                        "start,end,group,bypasses",
                                        "PPO1004,1,P,2026-01-01,2026-02-01,G,everything"))


def test_the_book_is_used_while_the_store_has_no_members(sample_engine: Engine,
                                                         store: Store) -> None:
    processor = Processor(sample_engine, store)
    assert processor.engine is sample_engine
    assert processor.submit(claim()).status is Status.PAID


def test_history_is_read_once_per_claim(sample_engine: Engine, store: Store) -> None:
    processor = Processor(sample_engine, store)
    for i in range(5):
        processor.submit(claim(rx=f"80000{i}", day=f"2026-0{i + 1}-03"))
    calls: list[tuple[str, dt.date, dt.date]] = []

    class Counting:
        def fills(self, member_id: str, start: dt.date, end: dt.date) -> Any:
            calls.append((member_id, start, end))
            return store.fills(member_id, start, end)

    result = sample_engine.adjudicate(claim(rx="800009", day="2026-06-20"), history=Counting())
    assert result.status is Status.PAID and len(calls) == 1
    assert calls[0][1] <= D(2026, 6, 20) - dt.timedelta(days=400)


def test_new_sqlite_store_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    SqliteStore(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_cli_members_and_pa(tmp_path: Path, db_target: str,
                            capsys: pytest.CaptureFixture[str]) -> None:
    members = write(tmp_path / "m.csv", HEADER, row("PPO1001", born="1978-04-12"),
                    row("PPO1001", "002", born="1975-09-30", gender="M",
                        relationship="spouse"))
    assert main(["members", "import", str(members), "--db", db_target]) == 0
    assert "2 added" in capsys.readouterr().out
    pa = write(tmp_path / "pa.csv", "cardholder_id,person_code,number,start,end,group,bypasses",
               "PPO1001,002,PA7,2026-03-01,2027-02-28,CLASS:ANTIDIABETIC,step_therapy")
    assert main(["pa", "import", str(pa), "--db", db_target]) == 0
    assert main(["members", "show", "PPO1001", "--db", db_target]) == 0
    out = capsys.readouterr().out
    assert "PPO1001-002" in out and "spouse" in out and "PA7" in out
    bad = write(tmp_path / "bad.csv", HEADER, row("Z", born="yesterday"))
    assert main(["members", "import", str(bad), "--db", db_target]) == 1
    err = capsys.readouterr().err
    assert "error: line 2: date_of_birth" in err and "nothing was imported (FILE)" in err
    # adjudicate reads members from the store: PPO1003 is in the book, not in the store
    claims = tmp_path / "c.jsonl"
    write(claims, orjson.dumps(claim()).decode(),
          orjson.dumps(claim("PPO1003", rx="9000009")).decode())
    assert main(["adjudicate", str(claims), "--db", db_target, "--quiet",
                 "--out", str(tmp_path / "out.jsonl")]) == 0
    results = [orjson.loads(x) for x in (tmp_path / "out.jsonl").read_bytes().splitlines()]
    assert [r["status"] for r in results] == ["P", "R"]
    assert results[1]["rejects"][0]["code"] == Reject.NON_MATCHED_CARDHOLDER
    assert main(["members", "show", "NOBODY", "--db", db_target]) == 2
    store = open_store(db_target)
    try:
        assert store.member_count() == 2
    finally:
        store.close()


def test_store_urls_are_printed_without_passwords() -> None:
    from pbm_engine.store import redact

    assert redact("postgresql://pbm:s3cret@db.example:5432/claims") == \
        "postgresql://pbm@db.example:5432/claims"
    assert redact("claims.db") == "claims.db"


def test_a_readonly_postgres_session_refuses_writes(request: pytest.FixtureRequest) -> None:
    """The service reads PostgreSQL through read-only sessions: the server refuses a write,
    and the store is left as it was."""
    import datetime as dt

    from pbm_engine.eligibility.members import CoveragePeriod, Member
    from pbm_engine.errors import StoreError
    from pbm_engine.store import open_store

    url = request.getfixturevalue("postgres_server").fresh_url()
    writer = open_store(url)  # creates the schema
    writer.close()
    reader = open_store(url, readonly=True)
    try:
        member = Member("RO1", "001", "RO1", "PPO", dt.date(1980, 1, 1), 1,
                        (CoveragePeriod(dt.date(2026, 1, 1), None),))
        with pytest.raises(StoreError, match="read-only"):
            reader.put_members([member])
        assert not reader.has_members()
    finally:
        reader.close()
