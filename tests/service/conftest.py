"""A real uvicorn server on 127.0.0.1 (ephemeral port, in a thread) over a test book and a
SQLite store with some history; an httpx client for it."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

import pbm_engine
from pbm_engine.engine import Engine
from pbm_engine.processor import Processor
from pbm_engine.service.app import Settings, create_app
from pbm_engine.service.auth import parse_token
from pbm_engine.sources.loader import load_book
from pbm_engine.store.sqlite import SqliteStore
from tests.portal.conftest import fill

SAMPLE = Path(pbm_engine.__file__).parent / "data" / "sample"
PARTD = Path(pbm_engine.__file__).parent / "data" / "sample_partd"
PROZAC = "00777310402"  # the CARIN RTPBC example's product (Prozac 10 mg capsule)

TOKENS = {
    "admin": "admin-secret-0001",       # read + claims, every member
    "reader": "reader-secret-0001",     # read only, every member
    "family": "family-secret-0001",     # read, family PPO1001 only
    "member": "member-secret-0001",     # read, PPO1001-002 only
    "jane": "carin-jane-secret-01",     # read, the CARIN example member
}
SPECS = [f"{TOKENS['admin']}:read,claims", TOKENS["reader"], f"{TOKENS['family']}:read@PPO1001",
         f"{TOKENS['member']}:read@PPO1001-002", f"{TOKENS['jane']}@MEMBER000001"]


def make_book(folder: Path) -> Path:
    """The sample commercial book plus the CARIN example's member and drug."""
    for f in SAMPLE.iterdir():
        if f.is_file():
            shutil.copy(f, folder / f.name)
    members = folder / "members.yaml"
    members.write_text(members.read_text().replace("prior_authorizations:", (
        "  # The CARIN RTPBC IG example patient (Jane Doe), added for the RTPBC test.\n"
        "  - {cardholder_id: MEMBER000001, plan_id: SAMPLE-PPO-2026, first_name: Jane, "
        "last_name: Doe, date_of_birth: 1975-12-05, gender: F, "
        "coverage: [{start: 2026-01-01}]}\nprior_authorizations:"), 1))
    with (folder / "formulary.yaml").open("a") as out:
        out.write(f"""- ndc: "{PROZAC}"
  name: PROZAC 10 MG CAPSULE
  brand: true
  therapeutic_class: "Antidepressants: SSRIs/SNRIs"
  tier: 2
""")
    with (folder / "prices.csv").open("a") as out:
        out.write(f"{PROZAC},2026-01-01,,12.50000,10.40000,\n")
    return folder / "book.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    url: str
    db: Path
    book: Path

    def client(self, who: str | None = "admin", *, api_key: bool = False) -> httpx.Client:
        headers = {}
        if who is not None:
            secret = TOKENS.get(who, who)
            headers = {"X-API-Key": secret} if api_key else {"Authorization": f"Bearer {secret}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def serve(settings: Settings) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("service")
    book_path = make_book(folder)
    db = folder / "claims.db"
    book = load_book(book_path)
    with SqliteStore(db) as store:
        processor = Processor(Engine(book), store)
        for request in (fill("PPO1001", "16571080316", "2026-02-01", quantity="9"),
                        fill("PPO1001", "00054014025", "2026-02-05", rx="7100003"),
                        fill("PPO1001", "00054014025", "2026-02-06", rx="7100004",
                             person="002")):
            assert processor.submit(request).paid
    settings = Settings(str(book_path), str(db), tuple(parse_token(s) for s in SPECS))
    for url in serve(settings):
        yield Running(url, db, book_path)
