"""SQLite store: durable accumulators and claim ledger in one file (the default store).

Same semantics as :class:`~pbm_engine.store.memory.MemoryStore`, so the processor runs unchanged
on either.  Properties:

* **Atomic, isolated writes.**  ``transaction()`` is ``BEGIN IMMEDIATE`` ... ``COMMIT``
  (``ROLLBACK`` on an exception): the write lock is taken *before* the claim reads its
  accumulators, so two processes adjudicating for one family serialize and never lose an
  update.  Nested ``transaction()`` blocks become savepoints, so a batch of claims may share
  one commit (group commit) while each claim stays all-or-nothing.  A single ``apply``,
  ``record`` or ``mark_reversed`` outside a transaction runs in its own.
* **Durable commits.**  WAL journal with ``synchronous=FULL``: a commit returns only after the WAL
  is fsynced, so a paid claim survives a process kill *and* a power loss.  ``synchronous=
  "NORMAL"`` skips that fsync (the WAL is synced at checkpoints): still atomic and safe against
  a process crash, but the last commits may be lost on a power failure or OS crash.
* **Versioned schema.**  Migrations in :mod:`pbm_engine.store.schema` are applied in order when
  a file is opened; a file written by a newer version is refused.
* **Read-only access for queries.**  ``readonly=True`` opens an existing store without write
  access: no migration, no WAL switch, no integrity scan; a store on a read-only mount (or in a
  directory the user cannot write) is opened immutable.  A store that needs a migration says so.
* **Owner-only files.**  A new store file is created with mode 0600 (it holds member data); the
  WAL side files take the same mode.
* **Members on file.**  Members, coverage and prior authorizations imported from eligibility
  files (:mod:`pbm_engine.store.eligibility`) are read by key through indexes: the store is an
  :class:`~pbm_engine.eligibility.members.Eligibility`.
* **History read through an index, decoded once.**  A claim's history window is one query on a
  partial index that yields entry ids; each ledger row's fill is decoded once per open store
  and kept (ledger rows never change; the cache is dropped when a transaction rolls back).
* **Damage is reported, never repaired.**  A file that is not SQLite, not a pbm-engine store, or
  fails the integrity check raises :class:`~pbm_engine.errors.StoreError` before anything is
  written to it.

Amounts are INTEGER cents, dates ISO text, the full response JSON (see :mod:`.codec`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sqlite3
import stat
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import orjson

from pbm_engine.accumulators import ZERO, Fill, MemberState, Totals
from pbm_engine.claim import ClaimKey
from pbm_engine.eligibility.members import Member, PriorAuth
from pbm_engine.errors import StoreError
from pbm_engine.formulary.model import Drug
from pbm_engine.store import codec
from pbm_engine.store.base import LedgerEntry
from pbm_engine.store.schema import LATEST, MIGRATIONS

__all__ = ["SQLITE_MAGIC", "SqliteStore", "Synchronous", "check_file", "remove_store"]

SQLITE_MAGIC = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file."""
Synchronous = Literal["FULL", "NORMAL"]
"""SQLite ``synchronous`` settings a store may use."""

_UPSERT = """
INSERT INTO accumulators (plan_id, year_start, kind, owner_id,
                          deductible, oop, plan_paid, troop, gross_drug_cost)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (plan_id, year_start, kind, owner_id) DO UPDATE SET
    deductible = deductible + excluded.deductible,
    oop = oop + excluded.oop,
    plan_paid = plan_paid + excluded.plan_paid,
    troop = troop + excluded.troop,
    gross_drug_cost = gross_drug_cost + excluded.gross_drug_cost"""

_ENTRY_COLUMNS = """entry_id, pharmacy_id, rx_number, fill_number, date_of_service, plan_id,
    year_start, member_id, family_id, d_deductible, d_oop, d_plan_paid, d_troop,
    d_gross_drug_cost, fill_member_id, fill_date, fill_ndc, fill_therapy_key, fill_groups,
    fill_quantity, fill_days_supply, fill_rx_number, fill_fill_number, fill_pharmacy_id,
    status, reversed_on, result"""
_INSERT = f"INSERT INTO ledger ({_ENTRY_COLUMNS}) VALUES ({', '.join('?' * 27)})"
_KEY_WHERE = "pharmacy_id = ? AND rx_number = ? AND fill_number = ? AND date_of_service = ?"
_FILL_COLUMNS = """fill_member_id, fill_date, fill_ndc, fill_therapy_key, fill_groups,
    fill_quantity, fill_days_supply, fill_rx_number, fill_fill_number, fill_pharmacy_id"""
_WINDOW = """SELECT entry_id FROM ledger WHERE member_id = ? AND fill_date BETWEEN ? AND ?
    AND status = 'active' AND fill_ndc != ''"""  # in index order; sorted to ledger order here
_MEMBER_COLUMNS = """cardholder_id, person_code, member_id, family_id, plan_id, date_of_birth,
    gender, relationship, lis_level, first_name, last_name, coverage"""
_PUT_MEMBER = f"""INSERT INTO members ({_MEMBER_COLUMNS})
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (cardholder_id, person_code) DO UPDATE SET member_id = excluded.member_id,
    family_id = excluded.family_id, plan_id = excluded.plan_id,
    date_of_birth = excluded.date_of_birth, gender = excluded.gender,
    relationship = excluded.relationship, lis_level = excluded.lis_level,
    first_name = excluded.first_name, last_name = excluded.last_name,
    coverage = excluded.coverage"""
_PA_COLUMNS = "member_id, number, start_date, end_date, ndc, te_group, drug_group, rxcui, bypasses"
_PUT_PA = f"""INSERT INTO prior_auths ({_PA_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (member_id, number) DO UPDATE SET start_date = excluded.start_date,
    end_date = excluded.end_date, ndc = excluded.ndc, te_group = excluded.te_group,
    drug_group = excluded.drug_group, rxcui = excluded.rxcui, bypasses = excluded.bypasses"""
FILL_CACHE_LIMIT = 1_000_000
"""Decoded fills kept per open store (about 0.3 KB each) before the cache starts over."""
CHUNK = 400
MMAP_BYTES = 1 << 30
"""Up to this much of the store file is read through a memory map."""


class SqliteStore:
    """Accumulators and ledger in a SQLite file (see the module docstring).

    ``synchronous``: ``"FULL"`` (default, durable commits) or ``"NORMAL"`` (faster; may lose the
    last commits on power loss).  ``create``: make a new store when ``path`` does not exist
    (otherwise raise :class:`StoreError`).  ``verify``: run ``PRAGMA quick_check`` on open
    (reads the whole file once).  ``timeout``: seconds to wait for another writer's lock.
    ``readonly``: open an existing store for queries only (see the module docstring); writes
    then raise :class:`StoreError`.
    One instance may be shared by threads (calls are serialized); open one per process.
    """

    def __init__(self, path: str | os.PathLike[str], *, synchronous: Synchronous = "FULL",
                 create: bool = True, verify: bool = True, timeout: float = 30.0,
                 readonly: bool = False) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise StoreError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        self.path = Path(path)
        self.synchronous = synchronous
        self.readonly = readonly
        self._lock = threading.RLock()
        self._depth = 0
        self.reset_caches()
        check_file(self.path, create=create and not readonly)
        if readonly:
            self._db = _connect_readonly(self.path, timeout)
        else:
            create_private(self.path)
            try:
                self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                           check_same_thread=False)
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: cannot open the store: {exc}") from None
        try:
            if readonly:
                self._open_readonly()
            else:
                self._open(verify)
        except BaseException:
            self._db.close()
            raise

    def reset_caches(self) -> None:
        """Start the decoded-fill cache and the family-size memo empty (on open; a subclass
        that opens its own connection calls it)."""
        self._fills: dict[int, Fill] = {}
        self._groups: dict[str, frozenset[str]] = {}
        self._family_size: tuple[str, int] = ("", 0)

    # -- opening and migrations --------------------------------------------------------------

    def _open(self, verify: bool) -> None:
        db = self._db
        try:
            if verify:
                problems = [row[0] for row in db.execute("PRAGMA quick_check")]
                if problems != ["ok"]:
                    raise StoreError(f"{self.path}: the database is damaged "
                                     f"({'; '.join(map(str, problems[:3]))}); left unchanged")
            self._check_version(db)
            _retry_busy(lambda: db.execute("PRAGMA journal_mode = WAL").fetchone())
            db.execute(f"PRAGMA synchronous = {self.synchronous}")
            # a store of millions of members: keep the hot index pages in memory (64 MiB page
            # cache) and read the file through a memory map (reads without a copy per page)
            db.execute("PRAGMA cache_size = -65536")
            db.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(_open_problem(self.path, exc)) from None

    def _open_readonly(self) -> None:
        try:
            version = self._check_version(self._db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(_open_problem(self.path, exc)) from None
        if version == 0:
            raise StoreError(f"{self.path}: an empty database, not a pbm-engine store")
        if version < LATEST:
            raise StoreError(f"{self.path}: schema version {version} needs upgrading to "
                             f"{LATEST}; open it once with write access (e.g. pbm adjudicate "
                             "--db) to migrate it")

    def _check_version(self, db: sqlite3.Connection) -> int:
        """The schema version on file (0 for an empty database); refuse foreign or newer files."""
        tables = {row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return 0
        if "schema_version" not in tables:
            raise StoreError(f"{self.path}: a SQLite database but not a pbm-engine store "
                             "(no schema_version table); left unchanged")
        version = db.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0
        if version > LATEST:
            raise StoreError(f"{self.path}: written by a newer pbm-engine (schema version "
                             f"{version}, this version reads up to {LATEST}); left unchanged")
        return int(version)

    def _migrate(self, target: int = LATEST) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            version = self._check_version(db)  # again, under the write lock
            for migration in MIGRATIONS:
                if version < migration.version <= target:
                    for statement in migration.statements:
                        db.execute(statement)
                    db.execute("INSERT INTO schema_version (version, description) VALUES (?, ?)",
                               (migration.version, migration.description))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        """The schema version of the open file."""
        with self._guard():
            return self._check_version(self._db)

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; nested blocks are savepoints."""
        with self._lock:
            db = self._db
            depth = self._depth
            name = f"sp{depth}"
            with self._guard():
                db.execute(f"SAVEPOINT {name}" if depth else "BEGIN IMMEDIATE")
            self._depth = depth + 1
            try:
                yield
            except BaseException:
                self._depth = depth
                self._fills.clear()  # rowids of rolled-back rows may be used again
                with self._guard():
                    if depth:
                        db.execute(f"ROLLBACK TO {name}")
                        db.execute(f"RELEASE {name}")
                    elif db.in_transaction:
                        db.execute("ROLLBACK")
                raise
            self._depth = depth
            try:
                db.execute(f"RELEASE {name}" if depth else "COMMIT")
            except sqlite3.Error as exc:
                if not depth and db.in_transaction:
                    self._fills.clear()
                    db.execute("ROLLBACK")
                raise StoreError(f"{self.path}: commit failed: {exc}") from None

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read-only transaction: every read inside sees one consistent state and blocks no
        writer (WAL).  Inside a transaction it is a no-op."""
        with self._lock:
            if self._depth:
                yield
                return
            with self._guard():
                self._db.execute("BEGIN")
            self._depth = 1
            try:
                yield
            finally:
                self._depth = 0
                with self._guard():
                    self._db.execute("COMMIT")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from None

    @contextmanager
    def _write(self) -> Iterator[None]:
        """Run a write inside the current transaction, or in its own one."""
        with self._lock:
            if self._depth:
                with self._guard():
                    yield
            else:
                with self.transaction(), self._guard():
                    yield

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- accumulators ------------------------------------------------------------------------

    def state(self, plan_id: str, year_start: dt.date, member_id: str, family_id: str
              ) -> MemberState:
        with self._lock, self._guard():
            rows = self._db.execute(
                "SELECT kind, deductible, oop, plan_paid, troop, gross_drug_cost "
                "FROM accumulators WHERE plan_id = ? AND year_start = ? AND "
                "((kind = 'M' AND owner_id = ?) OR (kind = 'F' AND owner_id = ?))",
                (plan_id, year_start.isoformat(), member_id, family_id)).fetchall()
        member = family = ZERO
        for kind, *amounts in rows:
            if kind == "M":
                member = Totals(*amounts)
            else:
                family = Totals(*amounts)
        return MemberState(member, family)

    def apply(self, plan_id: str, year_start: dt.date, member_id: str, family_id: str,
              delta: Totals) -> None:
        year = year_start.isoformat()
        amounts = (delta.deductible, delta.oop, delta.plan_paid, delta.troop,
                   delta.gross_drug_cost)
        with self._write():
            self._db.executemany(_UPSERT, ((plan_id, year, "M", member_id, *amounts),
                                           (plan_id, year, "F", family_id, *amounts)))

    def totals(self) -> dict[tuple[str, dt.date, str, str], Totals]:
        """Every accumulator row (for tests and reports), keyed like ``MemoryStore.totals``."""
        with self._lock, self._guard():
            rows = self._db.execute(
                "SELECT plan_id, year_start, kind, owner_id, deductible, oop, plan_paid, troop, "
                "gross_drug_cost FROM accumulators").fetchall()
        return {(p, dt.date.fromisoformat(y), k, o): Totals(*amounts)
                for p, y, k, o, *amounts in rows}

    # -- ledger ------------------------------------------------------------------------------

    def fills(self, member_id: str, start: dt.date, end: dt.date) -> Iterable[Fill]:
        """Active fills in the window, in ledger order: ids from the window index, each row
        decoded once per open store."""
        cache = self._fills
        with self._lock, self._guard():
            db = self._db
            ids = sorted([row[0] for row in db.execute(
                _WINDOW, (member_id, start.isoformat(), end.isoformat()))])
            missing = [i for i in ids if i not in cache]
            if missing:
                if len(cache) + len(missing) > FILL_CACHE_LIMIT:
                    cache.clear()
                groups = self._groups
                for lo in range(0, len(missing), CHUNK):
                    part = missing[lo:lo + CHUNK]
                    for entry_id, *row in db.execute(
                            f"SELECT entry_id, {_FILL_COLUMNS} FROM ledger WHERE entry_id IN "
                            f"({', '.join('?' * len(part))})", part):
                        cache[entry_id] = _fill(row, groups)
            return [cache[i] for i in ids]

    def family_activity_after(self, plan_id: str, year_start: dt.date, family_id: str,
                              after: dt.date) -> dict[str, Totals]:
        with self._lock, self._guard():
            rows = self._db.execute(
                "SELECT member_id, sum(d_deductible), sum(d_oop), sum(d_plan_paid), "
                "sum(d_troop), sum(d_gross_drug_cost) FROM ledger WHERE family_id = ? AND "
                "plan_id = ? AND year_start = ? AND date_of_service > ? AND status = 'active' "
                "GROUP BY member_id",
                (family_id, plan_id, year_start.isoformat(), after.isoformat())).fetchall()
        return {member: Totals(*amounts) for member, *amounts in rows}

    def active(self, key: ClaimKey) -> LedgerEntry | None:
        return self._one(f"{_KEY_WHERE} AND status = 'active'", key)

    def latest(self, key: ClaimKey) -> LedgerEntry | None:
        return self._one(_KEY_WHERE, key)

    def _one(self, where: str, key: ClaimKey) -> LedgerEntry | None:
        with self._lock, self._guard():
            row = self._db.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM ledger WHERE {where} "
                "ORDER BY entry_id DESC LIMIT 1",
                (key.pharmacy_id, key.rx_number, key.fill_number,
                 key.date_of_service.isoformat())).fetchone()
        return None if row is None else _entry(row)

    def record(self, entry: LedgerEntry) -> LedgerEntry:
        k, d, f = entry.key, entry.delta, entry.fill
        row: tuple[Any, ...] = (
            None, k.pharmacy_id, k.rx_number, k.fill_number, k.date_of_service.isoformat(),
            entry.plan_id, entry.year_start.isoformat(), entry.member_id, entry.family_id,
            d.deductible, d.oop, d.plan_paid, d.troop, d.gross_drug_cost,
            f.member_id, f.date_of_service.isoformat(), f.ndc, f.therapy_key,
            orjson.dumps(sorted(f.groups)).decode(), f.quantity, f.days_supply, f.rx_number,
            f.fill_number, f.pharmacy_id,
            "active" if entry.reversed_on is None else "reversed",
            entry.reversed_on.isoformat() if entry.reversed_on else None,
            codec.dumps(entry.result).decode(),
        )
        with self._write():
            cursor = self._db.execute(_INSERT, row)
        return dataclasses.replace(entry, entry_id=int(cursor.lastrowid or 0))

    def mark_reversed(self, entry_id: int, on: dt.date) -> None:
        with self._write():
            cursor = self._db.execute(
                "UPDATE ledger SET status = 'reversed', reversed_on = ? WHERE entry_id = ?",
                (on.isoformat(), entry_id))
            if cursor.rowcount != 1:
                raise StoreError(f"{self.path}: no ledger entry {entry_id}")

    def entries(self, member_id: str | None = None) -> Iterator[LedgerEntry]:
        sql = f"SELECT {_ENTRY_COLUMNS} FROM ledger"
        args: tuple[str, ...] = ()
        if member_id is not None:
            sql += " WHERE member_id = ?"
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
                "WHERE cardholder_id = ? AND person_code = ?",
                (cardholder_id, person_code)).fetchone()
        if row is None:
            return None
        member = _member(row)
        self._family_size = (member.member_id, row[-1])
        return member

    def has_cardholder(self, cardholder_id: str) -> bool:
        with self._lock, self._guard():
            return self._db.execute("SELECT 1 FROM members WHERE cardholder_id = ? LIMIT 1",
                                    (cardholder_id,)).fetchone() is not None

    def member_by_id(self, member_id: str) -> Member | None:
        with self._lock, self._guard():
            row = self._db.execute(f"SELECT {_MEMBER_COLUMNS} FROM members WHERE member_id = ?",
                                   (member_id,)).fetchone()
        return None if row is None else _member(row)

    def family(self, family_id: str) -> list[Member]:
        with self._lock, self._guard():
            rows = self._db.execute(f"SELECT {_MEMBER_COLUMNS} FROM members WHERE family_id = ? "
                                    "ORDER BY person_code", (family_id,)).fetchall()
        return [_member(row) for row in rows]

    def members_of_cardholder(self, cardholder_id: str) -> list[Member]:
        with self._lock, self._guard():
            rows = self._db.execute(f"SELECT {_MEMBER_COLUMNS} FROM members WHERE "
                                    "cardholder_id = ? ORDER BY person_code",
                                    (cardholder_id,)).fetchall()
        return [_member(row) for row in rows]

    def family_coverage(self, member: Member) -> bool:
        memo_id, size = self._family_size
        if memo_id != member.member_id:
            with self._lock, self._guard():
                size = self._db.execute("SELECT count(*) FROM members WHERE family_id = ?",
                                        (member.family_id,)).fetchone()[0]
        return size > 1

    def find_prior_auth(self, member: Member, drug: Drug, day: dt.date,
                        number: str | None = None) -> PriorAuth | None:
        iso = day.isoformat()
        with self._lock, self._guard():
            rows = self._db.execute(
                f"SELECT {_PA_COLUMNS} FROM prior_auths WHERE member_id = ? AND start_date <= ? "
                "AND end_date >= ? ORDER BY rowid", (member.member_id, iso, iso)).fetchall()
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
            return int(self._db.execute("SELECT count(*) FROM members").fetchone()[0])

    def members_by_key(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Member]:
        wanted = set(keys)
        cardholders = list({key[0] for key in keys})
        out: dict[tuple[str, str], Member] = {}
        with self._lock, self._guard():
            for lo in range(0, len(cardholders), CHUNK):
                part = cardholders[lo:lo + CHUNK]
                for row in self._db.execute(  # the primary key's first column: an index probe
                        f"SELECT {_MEMBER_COLUMNS} FROM members WHERE cardholder_id IN "
                        f"({', '.join('?' * len(part))})", part):
                    if (row[0], row[1]) in wanted:
                        out[(row[0], row[1])] = _member(row)
        return out

    def member_id_owners(self, member_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        with self._lock, self._guard():
            for lo in range(0, len(member_ids), CHUNK):
                part = list(member_ids[lo:lo + CHUNK])
                for member_id, cardholder, person in self._db.execute(
                        "SELECT member_id, cardholder_id, person_code FROM members WHERE "
                        f"member_id IN ({', '.join('?' * len(part))})", part):
                    out[member_id] = (cardholder, person)
        return out

    def put_members(self, members: Iterable[Member]) -> None:
        with self._write():
            self._db.executemany(_PUT_MEMBER, (_member_row(m) for m in members))

    def clear_members(self) -> None:
        with self._write():
            self._db.execute("DELETE FROM members")

    def put_prior_auths(self, pas: Iterable[PriorAuth]) -> None:
        with self._write():
            self._db.executemany(_PUT_PA, (_pa_row(pa) for pa in pas))

    def delete_prior_auths(self, keys: Iterable[tuple[str, str]]) -> int:
        with self._write():
            cursor = self._db.executemany(
                "DELETE FROM prior_auths WHERE member_id = ? AND number = ?", list(keys))
            return max(0, cursor.rowcount)

    def prior_auths_of(self, member_id: str) -> list[PriorAuth]:
        with self._lock, self._guard():
            rows = self._db.execute(f"SELECT {_PA_COLUMNS} FROM prior_auths WHERE member_id = ? "
                                    "ORDER BY rowid", (member_id,)).fetchall()
        return [_prior_auth(row) for row in rows]


def create_private(path: Path) -> None:
    """Create a missing store file empty with mode 0600 (owner only)."""
    if str(path) == ":memory:" or path.exists():
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the store: {exc.strerror}") from None


def check_file(path: Path, *, create: bool = True) -> None:
    """Refuse, without touching it, a path that is not a SQLite database (or is missing when
    ``create`` is false).  A FIFO, socket or device is refused without being opened."""
    if str(path) == ":memory:":
        return
    try:
        info = path.stat()
    except FileNotFoundError:
        if not create:
            raise StoreError(f"{path}: no such store") from None
        return
    except OSError as exc:
        raise StoreError(f"{path}: cannot use the store: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise StoreError(f"{path}: is a directory, not a store")
    if not stat.S_ISREG(info.st_mode):
        raise StoreError(f"{path}: is not a regular file (a FIFO or device?), not a store")
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the store: {exc.strerror}") from None
    if header and header != SQLITE_MAGIC:
        raise StoreError(f"{path}: not a SQLite database (bad file header); left unchanged")


def _connect_readonly(path: Path, timeout: float) -> sqlite3.Connection:
    """A read-only connection; immutable when nobody can be writing (read-only directory or
    mount, no WAL side files), which is the one way SQLite reads a WAL store there."""
    uri = "file:" + urllib.parse.quote(str(path.absolute()))
    side = [Path(f"{path}-wal"), Path(f"{path}-shm")]
    writable = os.access(path.parent if str(path.parent) else ".", os.W_OK) \
        and os.access(path, os.W_OK)
    options = "?mode=ro" if writable or any(p.exists() for p in side) else "?immutable=1"
    try:
        db = sqlite3.connect(uri + options, uri=True, timeout=timeout, isolation_level=None,
                             check_same_thread=False)
        db.execute("PRAGMA query_only = ON")
    except sqlite3.Error as exc:
        raise StoreError(_open_problem(path, exc)) from None
    return db


def _open_problem(path: Path, exc: sqlite3.Error) -> str:
    """Say what is actually wrong when SQLite refuses a file."""
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return (f"{path}: the store is read-only here (file, directory or mount not "
                f"writable): {text}; left unchanged")
    if "unable to open" in text:
        return f"{path}: cannot open the store ({text}): check the path and permissions"
    if "locked" in text or "busy" in text:
        return f"{path}: the store is locked by another process ({text})"
    if "not a database" in text or "malformed" in text:
        return f"{path}: not a usable pbm-engine store ({text}); left unchanged"
    return f"{path}: cannot use the store ({text}); left unchanged"


def remove_store(path: str | os.PathLike[str]) -> None:
    """Delete a store file and its WAL side files; refuse a file that is not SQLite."""
    p = Path(path)
    if p.exists():
        check_file(p)
    for name in (p, Path(f"{p}-wal"), Path(f"{p}-shm")):
        name.unlink(missing_ok=True)


def _retry_busy(action: Any, attempts: int = 50) -> Any:
    """Retry an action that SQLite may refuse with 'database is locked' without waiting."""
    for attempt in range(attempts):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)
    return None


def _fill(row: Sequence[Any], groups_seen: dict[str, frozenset[str]] | None = None) -> Fill:
    member, day, ndc, therapy, groups, qty, days, rx, fill, pharmacy = row
    decoded = groups_seen.get(groups) if groups_seen is not None else None
    if decoded is None:
        decoded = frozenset(orjson.loads(groups))
        if groups_seen is not None and len(groups_seen) < 10_000:
            groups_seen[groups] = decoded
    return Fill(member, dt.date.fromisoformat(day), ndc, therapy, decoded, qty, days, rx, fill,
                pharmacy)


def _member(row: Sequence[Any]) -> Member:
    (cardholder, person, member_id, family, plan, born, gender, relationship, lis, first, last,
     coverage) = row[:12]
    return Member(cardholder, person, family, plan,
                  dt.date.fromisoformat(born) if born else None, gender,
                  codec.coverage_loads(coverage), first, last, lis, relationship, member_id)


def _member_row(m: Member) -> tuple[Any, ...]:
    return (m.cardholder_id, m.person_code, m.member_id, m.family_id, m.plan_id,
            m.date_of_birth.isoformat() if m.date_of_birth else None, m.gender, m.relationship,
            m.lis_level, m.first_name, m.last_name, codec.coverage_dumps(m.coverage))


def _prior_auth(row: Sequence[Any]) -> PriorAuth:
    member_id, number, start, end, ndc, te_group, group, rxcui, bypasses = row
    return PriorAuth(member_id, number, dt.date.fromisoformat(start), dt.date.fromisoformat(end),
                     ndc, te_group, group, rxcui, frozenset(filter(None, bypasses.split(","))))


def _pa_row(pa: PriorAuth) -> tuple[Any, ...]:
    return (pa.member_id, pa.number, pa.start.isoformat(), pa.end.isoformat(), pa.ndc,
            pa.te_group, pa.group, pa.rxcui, ",".join(sorted(pa.bypasses)))


def _entry(row: tuple[Any, ...]) -> LedgerEntry:
    (entry_id, pharmacy, rx, fill, dos, plan, year, member, family, *rest) = row
    delta = Totals(*rest[:5])
    reversed_on = rest[16]
    return LedgerEntry(
        entry_id=entry_id,
        key=ClaimKey(pharmacy, rx, fill, dt.date.fromisoformat(dos)),
        plan_id=plan,
        year_start=dt.date.fromisoformat(year),
        member_id=member,
        family_id=family,
        delta=delta,
        fill=_fill(tuple(rest[5:15])),
        result=codec.loads(rest[17]),
        reversed_on=dt.date.fromisoformat(reversed_on) if reversed_on else None,
    )
