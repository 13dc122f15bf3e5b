"""PostgreSQL store (psycopg 3, the ``postgres`` extra): the same protocols and semantics as
:class:`~pbm_engine.store.sqlite.SqliteStore`, for deployments past one machine.

Selected by ``--db postgresql://user@host/db`` (:func:`pbm_engine.store.open_store`).

* **One transaction per claim, no lost update.**  ``transaction()`` is a PostgreSQL transaction
  (nested blocks are savepoints).  Inside it, before a claim reads what it will write, the store
  takes transaction-scoped advisory locks: on the claim key (``active``/``latest``: duplicates
  and reversals serialize), then on the member (``fills``: history edits see every committed
  fill), then on the member and the family (``state``/``apply``: accumulators).  Every claim
  takes them in that order, so single-claim transactions never deadlock; two processes
  adjudicating for one family serialize on the family and never lose an update.  (A group
  commit holding many claims can deadlock against another group; PostgreSQL then aborts one
  group whole, which surfaces as :class:`~pbm_engine.errors.StoreError`.)
* **Versioned schema.**  :mod:`pbm_engine.store.schema.postgres`, applied in order on open under
  an advisory lock; a database written by a newer version is refused.  Tables live in the first
  schema of the connection's ``search_path``.
* **History read through an index, decoded once** (as SQLite; entry ids are never reused).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import orjson

from pbm_engine.accumulators import ZERO, Fill, MemberState, Totals
from pbm_engine.claim import ClaimKey
from pbm_engine.eligibility.members import Member, PriorAuth
from pbm_engine.errors import StoreError
from pbm_engine.formulary.model import Drug
from pbm_engine.store import codec
from pbm_engine.store.base import LedgerEntry
from pbm_engine.store.schema.postgres import LATEST, MIGRATIONS

try:
    import psycopg
except ImportError:  # pragma: no cover - the postgres extra is missing
    psycopg = None  # type: ignore[assignment]

_UPSERT = """
INSERT INTO accumulators AS a (plan_id, year_start, kind, owner_id,
                               deductible, oop, plan_paid, troop, gross_drug_cost)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (plan_id, year_start, kind, owner_id) DO UPDATE SET
    deductible = a.deductible + excluded.deductible,
    oop = a.oop + excluded.oop,
    plan_paid = a.plan_paid + excluded.plan_paid,
    troop = a.troop + excluded.troop,
    gross_drug_cost = a.gross_drug_cost + excluded.gross_drug_cost"""
_ENTRY_COLUMNS = """entry_id, pharmacy_id, rx_number, fill_number, date_of_service, plan_id,
    year_start, member_id, family_id, d_deductible, d_oop, d_plan_paid, d_troop,
    d_gross_drug_cost, fill_member_id, fill_date, fill_ndc, fill_therapy_key, fill_groups,
    fill_quantity, fill_days_supply, fill_rx_number, fill_fill_number, fill_pharmacy_id,
    status, reversed_on, result"""
_INSERT = (f"INSERT INTO ledger ({_ENTRY_COLUMNS.split(', ', 1)[1]}) "
           f"VALUES ({', '.join(['%s'] * 26)}) RETURNING entry_id")
_KEY_WHERE = ("pharmacy_id = %s AND rx_number = %s AND fill_number = %s AND "
              "date_of_service = %s")
_FILL_COLUMNS = """fill_member_id, fill_date, fill_ndc, fill_therapy_key, fill_groups,
    fill_quantity, fill_days_supply, fill_rx_number, fill_fill_number, fill_pharmacy_id"""
_WINDOW = """SELECT entry_id FROM ledger WHERE member_id = %s AND fill_date BETWEEN %s AND %s
    AND status = 'active' AND fill_ndc <> '' ORDER BY entry_id"""
_MEMBER_COLUMNS = """cardholder_id, person_code, member_id, family_id, plan_id, date_of_birth,
    gender, relationship, lis_level, first_name, last_name, coverage"""
_PUT_MEMBER = f"""INSERT INTO members ({_MEMBER_COLUMNS})
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (cardholder_id, person_code) DO UPDATE SET member_id = excluded.member_id,
    family_id = excluded.family_id, plan_id = excluded.plan_id,
    date_of_birth = excluded.date_of_birth, gender = excluded.gender,
    relationship = excluded.relationship, lis_level = excluded.lis_level,
    first_name = excluded.first_name, last_name = excluded.last_name,
    coverage = excluded.coverage"""
_PA_COLUMNS = "member_id, number, start_date, end_date, ndc, te_group, drug_group, rxcui, bypasses"
_PUT_PA = f"""INSERT INTO prior_auths ({_PA_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (member_id, number) DO UPDATE SET start_date = excluded.start_date,
    end_date = excluded.end_date, ndc = excluded.ndc, te_group = excluded.te_group,
    drug_group = excluded.drug_group, rxcui = excluded.rxcui, bypasses = excluded.bypasses"""
_MIGRATION_LOCK = 0x70626D5F736368  # any constant: migrations of one database serialize
FILL_CACHE_LIMIT = 1_000_000


def lock_key(kind: str, name: str) -> int:
    """The 64-bit advisory lock id of a claim key (``K``), member (``M``) or family (``F``)."""
    digest = hashlib.blake2b(f"{kind}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresStore:
    """Accumulators, ledger and members in a PostgreSQL database (see the module docstring).

    ``url``: a libpq connection string or ``postgresql://`` URL.  One instance may be shared by
    threads (calls are serialized on its one connection); open one per process.
    """

    def __init__(self, url: str, *, connect_timeout: int = 10, readonly: bool = False) -> None:
        """Connect to ``url`` and bring its schema up to date; with ``readonly`` the session's
        transactions are read-only (the server refuses any write) and nothing is migrated."""
        if psycopg is None:
            raise StoreError("a postgresql:// store needs psycopg: pip install "
                             "'pbm-engine[postgres]'")
        self.url = url
        self._lock = threading.RLock()
        self._depth = 0
        self._fills: dict[int, Fill] = {}
        self._groups: dict[str, frozenset[str]] = {}
        self._family_size: tuple[str, int] = ("", 0)
        self._locks: set[int] = set()
        try:
            self._db = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout)
        except psycopg.Error as exc:
            raise StoreError(f"{_safe(url)}: cannot open the store: "
                             f"{str(exc).strip().splitlines()[0]}") from None
        try:
            if readonly:
                self._db.execute("SET default_transaction_read_only = on")
                if self._version() < LATEST:
                    raise StoreError(f"{_safe(url)}: the store needs upgrading (schema "
                                     f"{self._version()}, this version writes {LATEST}); open "
                                     "it once for writing first")
            else:
                self._migrate()
        except BaseException:
            self._db.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresStore({_safe(self.url)!r})"

    # -- migrations --------------------------------------------------------------------------

    def _version(self) -> int:
        row = self._db.execute("SELECT to_regclass('schema_version')").fetchone()
        if row is None or row[0] is None:
            found = self._db.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                "current_schema() AND table_name IN ('ledger', 'accumulators')").fetchone()
            if found and found[0]:
                raise StoreError(f"{_safe(self.url)}: tables exist but no schema_version: not "
                                 "a pbm-engine store; left unchanged")
            return 0
        got = self._db.execute("SELECT max(version) FROM schema_version").fetchone()
        version = (got[0] if got else 0) or 0
        if version > LATEST:
            raise StoreError(f"{_safe(self.url)}: written by a newer pbm-engine (schema version "
                             f"{version}, this version reads up to {LATEST}); left unchanged")
        return int(version)

    def _migrate(self) -> None:
        with self._guard(), self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            version = self._version()
            for migration in MIGRATIONS:
                if version < migration.version:
                    for statement in migration.statements:
                        self._db.execute(statement)
                    self._db.execute(
                        "INSERT INTO schema_version (version, description) VALUES (%s, %s)",
                        (migration.version, migration.description))

    def schema_version(self) -> int:
        with self._lock, self._guard():
            return self._version()

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A transaction; nested blocks are savepoints."""
        with self._lock:
            depth = self._depth
            try:
                with self._guard(), self._db.transaction():
                    self._depth = depth + 1
                    try:
                        yield
                    finally:
                        self._depth = depth
                        if not depth:
                            self._locks.clear()
            except _Failure as failure:
                raise StoreError(f"{_safe(self.url)}: {failure}") from None

    snapshot = transaction
    """A consistent read (used by the portal)."""

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            if self._depth:
                raise _Failure(str(exc).strip().splitlines()[0]) from None
            raise StoreError(f"{_safe(self.url)}: {str(exc).strip().splitlines()[0]}") from None

    def _write(self) -> AbstractContextManager[None]:
        """Run a write inside the current transaction, or in its own one."""
        return self._guard() if self._depth else self.transaction()

    def _lock_ids(self, *keys: int) -> None:
        """Take transaction-scoped advisory locks (once per transaction each)."""
        if not self._depth:
            return
        wanted = [k for k in keys if k not in self._locks]
        if wanted:
            self._db.execute(
                "SELECT " + ", ".join(["pg_advisory_xact_lock(%s)"] * len(wanted)), wanted)
            self._locks.update(wanted)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- accumulators ------------------------------------------------------------------------

    def state(self, plan_id: str, year_start: dt.date, member_id: str, family_id: str
              ) -> MemberState:
        with self._lock, self._guard():
            self._lock_ids(lock_key("M", member_id), lock_key("F", family_id))
            rows = self._db.execute(
                "SELECT kind, deductible, oop, plan_paid, troop, gross_drug_cost "
                "FROM accumulators WHERE plan_id = %s AND year_start = %s AND "
                "((kind = 'M' AND owner_id = %s) OR (kind = 'F' AND owner_id = %s))",
                (plan_id, year_start, member_id, family_id)).fetchall()
        member = family = ZERO
        for kind, *amounts in rows:
            if kind == "M":
                member = Totals(*amounts)
            else:
                family = Totals(*amounts)
        return MemberState(member, family)

    def apply(self, plan_id: str, year_start: dt.date, member_id: str, family_id: str,
              delta: Totals) -> None:
        amounts = (delta.deductible, delta.oop, delta.plan_paid, delta.troop,
                   delta.gross_drug_cost)
        with self._lock, self._write():
            self._lock_ids(lock_key("M", member_id), lock_key("F", family_id))
            with self._db.cursor() as cur:
                cur.executemany(_UPSERT, [(plan_id, year_start, "M", member_id, *amounts),
                                          (plan_id, year_start, "F", family_id, *amounts)])

    def totals(self) -> dict[tuple[str, dt.date, str, str], Totals]:
        with self._lock, self._guard():
            rows = self._db.execute(
                "SELECT plan_id, year_start, kind, owner_id, deductible, oop, plan_paid, troop, "
                "gross_drug_cost FROM accumulators").fetchall()
        return {(p, y, k, o): Totals(*amounts) for p, y, k, o, *amounts in rows}

    # -- ledger ------------------------------------------------------------------------------

    def fills(self, member_id: str, start: dt.date, end: dt.date) -> Iterable[Fill]:
        cache = self._fills
        with self._lock, self._guard():
            self._lock_ids(lock_key("M", member_id))
            ids = [row[0] for row in self._db.execute(_WINDOW, (member_id, start, end))]
            missing = [i for i in ids if i not in cache]
            if missing:
                if len(cache) + len(missing) > FILL_CACHE_LIMIT:
                    cache.clear()
                for entry_id, *row in self._db.execute(
                        f"SELECT entry_id, {_FILL_COLUMNS} FROM ledger WHERE entry_id = ANY(%s)",
                        (missing,)):
                    cache[entry_id] = _fill(row, self._groups)
            return [cache[i] for i in ids]

    def family_activity_after(self, plan_id: str, year_start: dt.date, family_id: str,
                              after: dt.date) -> dict[str, Totals]:
        with self._lock, self._guard():
            rows = self._db.execute(
                "SELECT member_id, sum(d_deductible), sum(d_oop), sum(d_plan_paid), "
                "sum(d_troop), sum(d_gross_drug_cost) FROM ledger WHERE family_id = %s AND "
                "plan_id = %s AND year_start = %s AND date_of_service > %s AND "
                "status = 'active' GROUP BY member_id",
                (family_id, plan_id, year_start, after)).fetchall()
        return {member: Totals(*(int(a) for a in amounts)) for member, *amounts in rows}

    def active(self, key: ClaimKey) -> LedgerEntry | None:
        return self._one(f"{_KEY_WHERE} AND status = 'active'", key)

    def latest(self, key: ClaimKey) -> LedgerEntry | None:
        return self._one(_KEY_WHERE, key)

    def _one(self, where: str, key: ClaimKey) -> LedgerEntry | None:
        with self._lock, self._guard():
            self._lock_ids(lock_key("K", f"{key.pharmacy_id}|{key.rx_number}|"
                                    f"{key.fill_number}|{key.date_of_service}"))
            row = self._db.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM ledger WHERE {where} "
                "ORDER BY entry_id DESC LIMIT 1",
                (key.pharmacy_id, key.rx_number, key.fill_number, key.date_of_service)
            ).fetchone()
        return None if row is None else _entry(row)

    def record(self, entry: LedgerEntry) -> LedgerEntry:
        k, d, f = entry.key, entry.delta, entry.fill
        row: tuple[Any, ...] = (
            k.pharmacy_id, k.rx_number, k.fill_number, k.date_of_service,
            entry.plan_id, entry.year_start, entry.member_id, entry.family_id,
            d.deductible, d.oop, d.plan_paid, d.troop, d.gross_drug_cost,
            f.member_id, f.date_of_service, f.ndc, f.therapy_key,
            orjson.dumps(sorted(f.groups)).decode(), f.quantity, f.days_supply, f.rx_number,
            f.fill_number, f.pharmacy_id,
            "active" if entry.reversed_on is None else "reversed",
            entry.reversed_on, codec.dumps(entry.result).decode(),
        )
        with self._lock, self._write():
            got = self._db.execute(_INSERT, row).fetchone()
        assert got is not None
        return dataclasses.replace(entry, entry_id=int(got[0]))

    def mark_reversed(self, entry_id: int, on: dt.date) -> None:
        with self._lock, self._write():
            cursor = self._db.execute(
                "UPDATE ledger SET status = 'reversed', reversed_on = %s WHERE entry_id = %s",
                (on, entry_id))
            if cursor.rowcount != 1:
                raise StoreError(f"{_safe(self.url)}: no ledger entry {entry_id}")

    def entries(self, member_id: str | None = None) -> Iterator[LedgerEntry]:
        sql = f"SELECT {_ENTRY_COLUMNS} FROM ledger"
        args: tuple[str, ...] = ()
        if member_id is not None:
            sql += " WHERE member_id = %s"
            args = (member_id,)
        with self._lock, self._guard():
            rows = self._db.execute(sql + " ORDER BY entry_id", args).fetchall()
        for row in rows:
            yield _entry(row)

    # -- members (the store's eligibility) ---------------------------------------------------

    def get(self, cardholder_id: str, person_code: str) -> Member | None:
        with self._lock, self._guard():
            row = self._db.execute(
                f"SELECT {_MEMBER_COLUMNS}, (SELECT count(*) FROM members f "
                "WHERE f.family_id = m.family_id) FROM members m "
                "WHERE cardholder_id = %s AND person_code = %s",
                (cardholder_id, person_code)).fetchone()
        if row is None:
            return None
        member = _member(row)
        self._family_size = (member.member_id, int(row[-1]))
        return member

    def has_cardholder(self, cardholder_id: str) -> bool:
        with self._lock, self._guard():
            return self._db.execute("SELECT 1 FROM members WHERE cardholder_id = %s LIMIT 1",
                                    (cardholder_id,)).fetchone() is not None

    def member_by_id(self, member_id: str) -> Member | None:
        with self._lock, self._guard():
            row = self._db.execute(
                f"SELECT {_MEMBER_COLUMNS} FROM members WHERE member_id = %s",
                (member_id,)).fetchone()
        return None if row is None else _member(row)

    def family(self, family_id: str) -> list[Member]:
        with self._lock, self._guard():
            rows = self._db.execute(
                f"SELECT {_MEMBER_COLUMNS} FROM members WHERE family_id = %s "
                "ORDER BY person_code", (family_id,)).fetchall()
        return [_member(row) for row in rows]

    def members_of_cardholder(self, cardholder_id: str) -> list[Member]:
        with self._lock, self._guard():
            rows = self._db.execute(
                f"SELECT {_MEMBER_COLUMNS} FROM members WHERE cardholder_id = %s "
                "ORDER BY person_code", (cardholder_id,)).fetchall()
        return [_member(row) for row in rows]

    def family_coverage(self, member: Member) -> bool:
        memo_id, size = self._family_size
        if memo_id != member.member_id:
            with self._lock, self._guard():
                got = self._db.execute("SELECT count(*) FROM members WHERE family_id = %s",
                                       (member.family_id,)).fetchone()
            size = int(got[0]) if got else 0
        return size > 1

    def find_prior_auth(self, member: Member, drug: Drug, day: dt.date,
                        number: str | None = None) -> PriorAuth | None:
        with self._lock, self._guard():
            rows = self._db.execute(
                f"SELECT {_PA_COLUMNS} FROM prior_auths WHERE member_id = %s AND "
                "start_date <= %s AND end_date >= %s ORDER BY seq",
                (member.member_id, day, day)).fetchall()
        for row in rows:
            pa = _prior_auth(row)
            if pa.covers(drug, day) and (number is None or pa.number == number):
                return pa
        return None

    def has_members(self) -> bool:
        with self._lock, self._guard():
            return self._db.execute("SELECT 1 FROM members LIMIT 1").fetchone() is not None

    def member_count(self) -> int:
        with self._lock, self._guard():
            got = self._db.execute("SELECT count(*) FROM members").fetchone()
        return int(got[0]) if got else 0

    def members_by_key(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Member]:
        if not keys:
            return {}
        with self._lock, self._guard():
            rows = self._db.execute(
                f"SELECT {_MEMBER_COLUMNS} FROM members WHERE (cardholder_id, person_code) IN "
                "(SELECT * FROM unnest(%s::text[], %s::text[]))",
                ([k[0] for k in keys], [k[1] for k in keys])).fetchall()
        return {(row[0], row[1]): _member(row) for row in rows}

    def member_id_owners(self, member_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        if not member_ids:
            return {}
        with self._lock, self._guard():
            rows = self._db.execute(
                "SELECT member_id, cardholder_id, person_code FROM members "
                "WHERE member_id = ANY(%s)", (list(member_ids),)).fetchall()
        return {m: (c, p) for m, c, p in rows}

    def put_members(self, members: Iterable[Member]) -> None:
        rows = [_member_row(m) for m in members]
        if rows:
            with self._lock, self._write(), self._db.cursor() as cur:
                cur.executemany(_PUT_MEMBER, rows)

    def clear_members(self) -> None:
        with self._lock, self._write():
            self._db.execute("DELETE FROM members")

    def put_prior_auths(self, pas: Iterable[PriorAuth]) -> None:
        rows = [_pa_row(pa) for pa in pas]
        if rows:
            with self._lock, self._write(), self._db.cursor() as cur:
                cur.executemany(_PUT_PA, rows)

    def delete_prior_auths(self, keys: Iterable[tuple[str, str]]) -> int:
        removed = 0
        with self._lock, self._write():
            for member_id, number in keys:
                removed += self._db.execute(
                    "DELETE FROM prior_auths WHERE member_id = %s AND number = %s",
                    (member_id, number)).rowcount
        return removed

    def prior_auths_of(self, member_id: str) -> list[PriorAuth]:
        with self._lock, self._guard():
            rows = self._db.execute(
                f"SELECT {_PA_COLUMNS} FROM prior_auths WHERE member_id = %s ORDER BY seq",
                (member_id,)).fetchall()
        return [_prior_auth(row) for row in rows]


class _Failure(Exception):
    """A database error inside a transaction (re-raised as StoreError once rolled back)."""


def _safe(url: str) -> str:
    """A connection string without its password (never print credentials)."""
    from pbm_engine.store import redact

    return redact(url)


def _fill(row: Sequence[Any], groups_seen: dict[str, frozenset[str]]) -> Fill:
    member, day, ndc, therapy, groups, qty, days, rx, fill, pharmacy = row
    decoded = groups_seen.get(groups)
    if decoded is None:
        decoded = frozenset(orjson.loads(groups))
        if len(groups_seen) < 10_000:
            groups_seen[groups] = decoded
    return Fill(member, day, ndc, therapy, decoded, qty, days, rx, fill, pharmacy)


def _entry(row: Sequence[Any]) -> LedgerEntry:
    (entry_id, pharmacy, rx, fill, dos, plan, year, member, family, *rest) = row
    return LedgerEntry(
        entry_id=entry_id,
        key=ClaimKey(pharmacy, rx, fill, dos),
        plan_id=plan,
        year_start=year,
        member_id=member,
        family_id=family,
        delta=Totals(*rest[:5]),
        fill=_fill(rest[5:15], {}),
        result=codec.loads(rest[17]),
        reversed_on=rest[16],
    )


def _member(row: Sequence[Any]) -> Member:
    (cardholder, person, member_id, family, plan, born, gender, relationship, lis, first, last,
     coverage) = row[:12]
    return Member(cardholder, person, family, plan, born, gender,
                  codec.coverage_loads(coverage), first, last, lis, relationship, member_id)


def _member_row(m: Member) -> tuple[Any, ...]:
    return (m.cardholder_id, m.person_code, m.member_id, m.family_id, m.plan_id,
            m.date_of_birth, m.gender, m.relationship, m.lis_level, m.first_name, m.last_name,
            codec.coverage_dumps(m.coverage))


def _prior_auth(row: Sequence[Any]) -> PriorAuth:
    member_id, number, start, end, ndc, te_group, group, rxcui, bypasses = row
    return PriorAuth(member_id, number, start, end, ndc, te_group, group, rxcui,
                     frozenset(filter(None, bypasses.split(","))))


def _pa_row(pa: PriorAuth) -> tuple[Any, ...]:
    return (pa.member_id, pa.number, pa.start, pa.end, pa.ndc, pa.te_group, pa.group,
            pa.rxcui, ",".join(sorted(pa.bypasses)))


__all__ = ["PostgresStore", "lock_key"]
