"""Any sequence of bills, duplicates, reversals, rebills and carry-ins keeps the accumulators
equal to a recomputation from the surviving ledger entries, and gives the same answers on the
memory, the SQLite and the PostgreSQL store; reversing everything brings every accumulator back
to zero."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from pbm_engine.accumulators import Totals
from pbm_engine.codes import Status
from pbm_engine.engine import Engine
from pbm_engine.processor import Processor, recompute_totals
from pbm_engine.sources.loader import load_sample_book
from pbm_engine.store.base import Store
from pbm_engine.store.memory import MemoryStore
from pbm_engine.store.postgres import PostgresStore
from pbm_engine.store.sqlite import SqliteStore
from tests.pg import PostgresServer

from .claims import DRUGS, MEMBERS, claim, nonzero

ENGINE = Engine(load_sample_book())
DAYS = ("2026-01-10", "2026-01-11", "2026-06-01", "2026-12-30", "2027-01-02")
RXS = ("1", "2", "3")
keys = st.tuples(st.sampled_from(RXS), st.integers(0, 1), st.sampled_from(DAYS))
bills = st.tuples(st.sampled_from(MEMBERS), st.integers(0, len(DRUGS) - 1), keys)


class Lifecycle(RuleBasedStateMachine):
    postgres_url: Callable[[], str] | None = None
    """Set by the test: a fresh PostgreSQL store URL per run."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.sqlite = SqliteStore(Path(self.dir.name) / "s.db", synchronous="NORMAL",
                                  verify=False)
        self.memory = MemoryStore()
        self.stores: list[Store] = [self.memory, self.sqlite]
        if self.postgres_url is not None:
            self.stores.append(PostgresStore(type(self).postgres_url()))  # type: ignore[misc]
        self.processors = [Processor(ENGINE, store) for store in self.stores]
        self.billed: list[dict[str, Any]] = []
        self.carried = 0

    def submit(self, request: dict[str, Any]) -> Status:
        a, *others = (p.submit(request) for p in self.processors)
        for b in others:
            assert orjson.dumps(a.to_dict()) == orjson.dumps(b.to_dict())
        return a.status

    @rule(bill=bills)
    def bill(self, bill: tuple[Any, int, tuple[str, int, str]]) -> None:
        (cardholder, person), drug, (rx, fill, day) = bill
        request = claim(cardholder, person, rx=rx, fill=fill, day=day, drug=drug)
        if self.submit(request) is Status.PAID:
            self.billed.append(request)

    @precondition(lambda self: self.billed)
    @rule(data=st.data())
    def duplicate(self, data: st.DataObject) -> None:
        request = data.draw(st.sampled_from(self.billed))
        before = nonzero(self.sqlite.totals())
        assert self.submit(request) in (Status.DUPLICATE_OF_PAID, Status.PAID, Status.REJECTED)
        if before == nonzero(self.sqlite.totals()):
            return
        self.billed.append(request)  # it had been reversed: billing it again paid

    @rule(key=keys)
    def reverse(self, key: tuple[str, int, str]) -> None:
        rx, fill, day = key
        status = self.submit(claim(rx=rx, fill=fill, day=day, tx="B2"))
        assert status in (Status.APPROVED, Status.DUPLICATE_OF_APPROVED, Status.REJECTED)

    @precondition(lambda self: self.billed)
    @rule(data=st.data(), drug=st.integers(0, len(DRUGS) - 1))
    def rebill(self, data: st.DataObject, drug: int) -> None:
        old = data.draw(st.sampled_from(self.billed))
        request = {**claim(old["cardholder_id"], old["person_code"], rx=old["rx_number"],
                           fill=old["fill_number"], day=old["date_of_service"], drug=drug),
                   "transaction_code": "B3"}
        self.submit(request)

    @rule(member=st.sampled_from(MEMBERS[:2]), amount=st.integers(0, 30_000))
    def carry_in(self, member: tuple[str, str], amount: int) -> None:
        self.carried += 1
        for p in self.processors:
            r = p.carry_in(f"{member[0]}-{member[1]}", member[0], "SAMPLE-PPO-2026",
                           dt.date(2026, 1, 1), Totals(amount, amount), f"C{self.carried}")
            assert r.status is Status.APPROVED

    @rule()
    def reverse_everything(self) -> None:
        for p, store in zip(self.processors, self.stores, strict=True):
            for e in list(store.entries()):
                if e.active:
                    if e.key.pharmacy_id.startswith("~"):
                        r = p.reverse_carry_in(e.key.rx_number, e.key.date_of_service)
                    else:
                        r = p.submit(claim(rx=e.key.rx_number, fill=e.key.fill_number,
                                           day=e.key.date_of_service, tx="B2"))
                    assert r.status is Status.APPROVED
            assert nonzero(store.totals()) == {}
            assert list(store.fills("PPO1001-001", dt.date(2000, 1, 1), dt.date(2100, 1, 1))
                        ) == []

    @invariant()
    def accumulators_match_the_ledger(self) -> None:
        for store in self.stores:
            assert nonzero(store.totals()) == recompute_totals(store.entries())  # type: ignore[attr-defined]
            assert nonzero(self.memory.totals()) == nonzero(store.totals())  # type: ignore[attr-defined]

    def teardown(self) -> None:
        for store in self.stores:
            store.close()
        self.dir.cleanup()


def test_lifecycle_on_every_backend(postgres_server: PostgresServer) -> None:
    Lifecycle.postgres_url = postgres_server.fresh_url
    try:
        run_state_machine_as_test(Lifecycle, settings=settings(
            max_examples=30, stateful_step_count=25, deadline=None))
    finally:
        Lifecycle.postgres_url = None
