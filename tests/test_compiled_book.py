"""Compiled books: cached loads equal validated loads, any source change rebuilds, any damage
to a cache file is ignored (rebuilt), and ``import pbm_engine`` stays free of pydantic/YAML."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbm_engine.book import Book
from pbm_engine.cli.partd import sample_partd_book_path, sample_partd_claims_path
from pbm_engine.cli.textio import read_requests
from pbm_engine.engine import Engine
from pbm_engine.formulary.model import Coverage, Drug, QuantityLimit, StepTherapy
from pbm_engine.sources import loader
from pbm_engine.sources.codec import codec_for
from pbm_engine.sources.compiled import cache_file_for, load_book, load_compiled

SAMPLE = loader.sample_book_path().parent
SAMPLE_CLAIMS = SAMPLE / "claims.jsonl"


def answers(book: Book, claims: Path) -> bytes:
    """Every result of the claim file, as JSON bytes (one engine, no store)."""
    engine = Engine(book, trace=True)
    return b"\n".join(orjson.dumps(engine.adjudicate(c).to_dict())
                      for c in read_requests([claims]))


def copy_sample(tmp: Path) -> Path:
    """A private copy of the commercial sample book (the NADAC file stays ``pkg:``)."""
    folder = tmp / "book"
    shutil.copytree(SAMPLE, folder)
    return folder / "book.yaml"


@pytest.mark.parametrize("book_path, claims", [
    (loader.sample_book_path(), SAMPLE_CLAIMS),
    (sample_partd_book_path(), sample_partd_claims_path()),
], ids=["commercial", "part_d"])
def test_cached_book_answers_byte_for_byte(tmp_path: Path, book_path: Path, claims: Path) -> None:
    validated = loader.load_book(book_path)
    _, how_first = load_compiled(book_path, cache=tmp_path)
    cached, how_cached = load_compiled(book_path, cache=tmp_path)
    assert (how_first, how_cached) == ("compiled", "cached")
    assert cached == validated
    assert answers(cached, claims) == answers(validated, claims)


def test_cache_file_and_folder_are_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    book_path = loader.sample_book_path()
    load_compiled(book_path, cache=folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


@pytest.mark.parametrize("name", ["book.yaml", "plan_ppo.yaml", "plan_hdhp.yaml",
                                  "formulary.yaml", "network.yaml", "prices.csv",
                                  "members.yaml"])
def test_any_source_change_recompiles(tmp_path: Path, name: str) -> None:
    book_path = copy_sample(tmp_path)
    cache = tmp_path / "cache"
    assert load_compiled(book_path, cache=cache)[1] == "compiled"
    assert load_compiled(book_path, cache=cache)[1] == "cached"
    with (book_path.parent / name).open("a", encoding="utf-8") as handle:
        handle.write("\n" if name.endswith(".csv") else "\n# edited\n")
    book, how = load_compiled(book_path, cache=cache)
    assert how.startswith("recompiled") and name in how
    assert load_compiled(book_path, cache=cache)[1] == "cached"
    assert book == loader.load_book(book_path)


def test_a_changed_contract_changes_the_cached_answer(tmp_path: Path) -> None:
    book_path = copy_sample(tmp_path)
    cache = tmp_path / "cache"
    before = answers(load_compiled(book_path, cache=cache)[0], SAMPLE_CLAIMS)
    network = book_path.parent / "network.yaml"
    text = network.read_text(encoding="utf-8")
    network.write_text(text.replace('"1.15"', '"3.15"').replace('"1.25"', '"3.25"'),
                       encoding="utf-8")
    after, how = load_compiled(book_path, cache=cache)
    assert how.startswith("recompiled")
    assert answers(after, SAMPLE_CLAIMS) == answers(loader.load_book(book_path), SAMPLE_CLAIMS)
    assert answers(after, SAMPLE_CLAIMS) != before


def test_spuf_folder_change_recompiles(tmp_path: Path) -> None:
    folder = tmp_path / "partd"
    folder.mkdir()
    spuf = folder / "spuf"
    shutil.copytree(SAMPLE.parent / "cms_spuf_2026q2", spuf)
    shutil.copyfile(sample_partd_book_path().parent / "members.yaml", folder / "members.yaml")
    text = sample_partd_book_path().read_text(encoding="utf-8")
    text = text.replace("../sample/", f"{SAMPLE}/").replace('"pkg:cms_spuf_2026q2"', "spuf")
    book_path = folder / "book.yaml"
    book_path.write_text(text, encoding="utf-8")
    cache = tmp_path / "cache"
    assert load_compiled(book_path, cache=cache)[1] == "compiled"
    assert load_compiled(book_path, cache=cache)[1] == "cached"
    table = spuf / "beneficiary_cost_2026Q2.csv"
    table.write_bytes(table.read_bytes() + b"\n")
    book, how = load_compiled(book_path, cache=cache)
    assert how.startswith("recompiled") and "spuf" in how
    assert book == loader.load_book(book_path)


def _tamper_cases() -> dict[str, object]:
    def flip(raw: bytes, at: int) -> bytes:
        return raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1:]

    def edit_json(raw: bytes) -> bytes:
        head, mac, body = raw.split(b"\n", 2)
        doc = orjson.loads(body)
        plans = doc["payload"]["plans"]
        plans[1][0][1] = "Edited plan name"  # values of the plans mapping, first plan's name
        return head + b"\n" + mac + b"\n" + orjson.dumps(doc)

    return {
        "flipped byte in the body": lambda raw: flip(raw, len(raw) // 2),
        "flipped byte in the MAC": lambda raw: flip(raw, raw.index(b"\n") + 3),
        "truncated": lambda raw: raw[: len(raw) // 3],
        "empty": lambda raw: b"",
        "foreign file": lambda raw: b'{"plans": []}',
        "valid JSON, edited, old MAC": edit_json,
    }


@pytest.mark.parametrize("case", sorted(_tamper_cases()))
def test_tampered_cache_is_ignored_and_rebuilt(tmp_path: Path, case: str) -> None:
    book_path = loader.sample_book_path()
    cache = tmp_path / "cache"
    good, _ = load_compiled(book_path, cache=cache)
    target = cache_file_for(book_path, cache)
    target.write_bytes(_tamper_cases()[case](target.read_bytes()))  # type: ignore[operator]
    book, how = load_compiled(book_path, cache=cache)
    assert how.startswith("recompiled"), how
    assert book == good
    assert load_compiled(book_path, cache=cache)[1] == "cached"


def test_cache_written_with_another_key_is_rejected(tmp_path: Path) -> None:
    """A cache file from another cache folder (another key) for the same book is not used."""
    book_path = loader.sample_book_path()
    mine, other = tmp_path / "mine", tmp_path / "other"
    load_compiled(book_path, cache=mine)
    load_compiled(book_path, cache=other)
    shutil.copyfile(cache_file_for(book_path, other), cache_file_for(book_path, mine))
    assert "MAC" in load_compiled(book_path, cache=mine)[1]


def test_damaged_key_or_unwritable_folder_still_loads(tmp_path: Path) -> None:
    book_path = loader.sample_book_path()
    cache = tmp_path / "cache"
    load_compiled(book_path, cache=cache)
    (cache / "key").write_bytes(b"short")
    book, how = load_compiled(book_path, cache=cache)
    assert how.startswith("uncached") and book == loader.load_book(book_path)
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    book, how = load_compiled(book_path, cache=blocker)
    assert how.startswith("uncached") and book.plans


def test_a_folder_others_can_write_is_not_used(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    book, how = load_compiled(loader.sample_book_path(), cache=shared)
    assert how.startswith("uncached") and book.plans
    assert not any(shared.iterdir())


def test_a_key_others_can_read_is_not_used(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_compiled(loader.sample_book_path(), cache=cache)
    (cache / "key").chmod(0o644)
    assert load_compiled(loader.sample_book_path(), cache=cache)[1].startswith("uncached")


def test_cache_dir_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book_path = copy_sample(tmp_path)
    monkeypatch.setenv("PBM_CACHE_DIR", "off")
    assert load_compiled(book_path)[1].startswith("uncached")
    monkeypatch.setenv("PBM_CACHE_DIR", str(tmp_path / "env-cache"))
    load_compiled(book_path)
    assert cache_file_for(book_path.resolve(), tmp_path / "env-cache").exists()
    monkeypatch.delenv("PBM_CACHE_DIR")
    load_compiled(book_path)
    assert (book_path.parent / ".pbm-cache").is_dir()


def test_bad_book_still_raises_config_error(tmp_path: Path) -> None:
    from pbm_engine.errors import ConfigError

    book_path = copy_sample(tmp_path)
    (book_path.parent / "network.yaml").write_text("network_id: [", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"network\.yaml"):
        load_book(book_path, cache=tmp_path / "cache")


_ndcs = st.text(alphabet="0123456789", min_size=11, max_size=11)
_drugs = st.builds(
    Drug, ndc=_ndcs, name=st.text(max_size=8), tier=st.integers(0, 9),
    coverage=st.sampled_from(Coverage), rxcui=st.none() | st.text(max_size=6),
    groups=st.frozensets(st.text(max_size=4), max_size=3),
    step_therapy=st.none() | st.builds(StepTherapy, st.frozensets(st.text(max_size=4)),
                                       st.integers(1, 3650)),
    quantity_limit=st.none() | st.builds(QuantityLimit, st.integers(0, 10**9),
                                         st.integers(1, 3650)),
    min_age=st.none() | st.integers(0, 150), gender=st.none() | st.sampled_from([1, 2]))


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_ndcs, _drugs, max_size=6), st.lists(st.lists(_drugs, max_size=3),
                                                             max_size=3))
def test_codec_round_trips_drugs(by_ndc: dict[str, Drug], lists: list[list[Drug]]) -> None:
    mapping = codec_for(dict[str, Drug])
    assert mapping.decode(orjson.loads(orjson.dumps(mapping.encode(by_ndc)))) == by_ndc
    nested = codec_for(dict[str, tuple[Drug, ...]])
    value = {str(i): tuple(x) for i, x in enumerate(lists)}
    assert nested.decode(orjson.loads(orjson.dumps(nested.encode(value)))) == value


def _run(code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={**os.environ, **(env or {})})
    return done.stdout.strip()


def test_import_loads_neither_pydantic_nor_yaml() -> None:
    code = ("import sys, pbm_engine\n"
            "print(sorted(m for m in ('pydantic', 'yaml') if m in sys.modules))")
    assert _run(code) == "[]"


def test_adjudicate_from_a_compiled_book_loads_neither_pydantic_nor_yaml(tmp_path: Path
                                                                         ) -> None:
    code = ("import sys\n"
            "from pbm_engine.cli import main\n"
            f"argv = [{str(SAMPLE_CLAIMS)!r}, '--quiet', '--out', {str(tmp_path / 'o.jsonl')!r}]\n"
            "main(['adjudicate', *argv])\n"
            "print(sorted(m for m in ('pydantic', 'yaml') if m in sys.modules))")
    env = {"PBM_CACHE_DIR": str(tmp_path / "cache")}
    _run(code, env)  # compiles the sample book
    assert _run(code, env).splitlines()[-1] == "[]"
