"""What the endpoints share: settings, the per-process context, the problem exception."""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass, field

from fastapi import Request

from pbm_engine.book import Book
from pbm_engine.eligibility.members import Eligibility
from pbm_engine.engine import Engine
from pbm_engine.portal.estimate import Estimator
from pbm_engine.processor import Processor
from pbm_engine.service.auth import Authenticator, Grant
from pbm_engine.service.stores import ReadPool, open_writer
from pbm_engine.store.base import Store

SETTINGS_ENV = "PBM_SERVICE_SETTINGS"
"""Environment variable naming the service settings file."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What a worker needs: the book and store paths, the token grants and the bind host."""

    book: str
    db: str
    grants: tuple[Grant, ...] = ()
    host: str = "127.0.0.1"

    def to_json(self) -> str:
        return json.dumps({"book": self.book, "db": self.db, "host": self.host,
                           "grants": [g.to_dict() for g in self.grants]})

    @classmethod
    def from_json(cls, text: str) -> Settings:
        data = json.loads(text)
        return cls(data["book"], data["db"], tuple(Grant.from_dict(g) for g in data["grants"]),
                   data.get("host", "127.0.0.1"))


class ApiProblem(Exception):
    """Raised by endpoints: becomes a problem-details response."""

    def __init__(self, status: int, title: str, detail: str, reject_code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.reject_code = reject_code
        self.headers = headers


@dataclass
class Context:
    """Per-process state shared by the endpoints."""

    settings: Settings
    book: Book
    engine: Engine
    reads: ReadPool
    auth: Authenticator
    _writer: Store | None = None
    _write_lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    def store(self) -> Store:
        """This thread's read-only store."""
        return self.reads.get()

    def members(self) -> Eligibility:
        """Where members are looked up: the store when it holds any (an imported eligibility
        file), else the book (the rule of Processor and Portal)."""
        store = self.store()
        return store if store.has_members() else self.book.registry

    def estimator(self) -> Estimator:
        """This thread's estimator over its read-only connection."""
        found: Estimator | None = getattr(self._local, "estimator", None)
        if found is None:
            found = Estimator(self.book, self.store(), engine=self.engine)
            self._local.estimator = found
        return found

    def processor(self) -> Processor:
        with self._write_lock:
            if self._writer is None:
                self._writer = open_writer(self.settings.db)
        return Processor(self.engine, self._writer)

    def close(self) -> None:
        self.reads.close()
        if self._writer is not None:
            self._writer.close()


def context(request: Request) -> Context:
    """The service context of the application handling a request."""
    ctx: Context = request.app.state.ctx
    return ctx


def today() -> dt.date:
    """The service's processing date (the one place it reads the clock)."""
    return dt.date.today()


__all__ = ["SETTINGS_ENV", "ApiProblem", "Context", "Settings", "context", "today"]
