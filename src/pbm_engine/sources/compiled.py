"""Books that load once: validate, compile, cache; later processes read the compiled form.

:func:`load_book` validates a book with :mod:`pbm_engine.sources.loader` (pydantic and YAML)
the first time, then writes the built :class:`~pbm_engine.book.Book` as data into a cache
file.  Later loads of the same book read that file instead: no YAML, no pydantic, no
validation, a fraction of the time.

Where the cache lives: ``$PBM_CACHE_DIR`` when set (``off`` disables caching), else a
``.pbm-cache`` folder beside the book file, else (a read-only book folder, e.g. the bundled
sample) ``$XDG_CACHE_HOME/pbm-engine`` or ``~/.cache/pbm-engine``.  One file per book path.

When a cache file is used: its MAC checks (HMAC-SHA256 with a random 32-byte key kept in the
cache folder, created owner-only), it was written by the same pbm-engine code (a fingerprint
of the installed package's files, so a code or bundled-data change rebuilds) and Python
version, for the same book path, and every source file is unchanged (SHA-256 of the bytes of
the book file, every file it lists, ``pkg:`` files and every file of a listed folder such as a
SPUF folder).  Anything else -- a flipped byte, a truncated or foreign file, a valid JSON
file with edited content, a stale source -- makes the file ignored and rebuilt: never an
exception, never an answer from content we did not write.  The file is JSON decoded by a
type-driven codec (:mod:`pbm_engine.sources.codec`): it is data, never code (no pickle).

Members: a book's YAML members (the small-book case; large member bases live in a claim
store) are compiled with the rest, so cache files and their folder are created owner-only
(0600 / 0700).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import secrets
import sys
import typing
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from pbm_engine.book import Book
from pbm_engine.sources.codec import Codec, CodecError, codec_for
from pbm_engine.sources.longlived import paused_gc, settle
from pbm_engine.sources.paths import resolve, sample_book_path

if TYPE_CHECKING:
    from pbm_engine.benefit.plan import Plan

__all__ = ["FORMAT", "cache_dir_for", "cache_file_for", "load_book", "load_compiled",
           "sample_book_path"]

FORMAT = 1
"""Version of the cache file layout; part of what a cache file must match."""

_MAGIC = b"pbm-engine compiled book\n"
_KEY_FILE = "key"
_PACKAGE = Path(__file__).resolve().parent.parent


def load_book(path: str | Path, extra_plans: Iterable[Plan] = (), *,
              cache: bool | str | Path | None = None, freeze: bool = True) -> Book:
    """Load a book, from its compiled cache when that is current (see the module docstring).

    ``cache``: None (default: ``$PBM_CACHE_DIR`` or beside the book), False (no cache), or a
    folder.  ``freeze``: put the loaded book out of the garbage collector's way
    (:func:`pbm_engine.sources.longlived.settle`).  Books with ``extra_plans`` are not cached.
    """
    with paused_gc():  # frozen before the collector runs again: it never walks the book
        book, _ = load_compiled(path, extra_plans, cache=cache)
        if freeze:
            settle()
    return book


def load_compiled(path: str | Path, extra_plans: Iterable[Plan] = (), *,
                  cache: bool | str | Path | None = None) -> tuple[Book, str]:
    """Like :func:`load_book` without the freeze; also says how the book was obtained:
    ``"cached"``, ``"compiled"``, ``"recompiled: <why the cache was not used>"`` or
    ``"uncached: <why>"``."""
    extra = tuple(extra_plans)
    book_path = Path(path).resolve()
    folder = None if extra or cache is False else cache_dir_for(book_path, cache)
    if folder is None:
        return _validate(book_path, extra), "uncached: " + ("extra plans" if extra
                                                          else "caching is off")
    try:
        key = _key(folder)
    except OSError as exc:
        return _validate(book_path, ()), f"uncached: cache folder not usable ({exc.strerror})"
    target = cache_file_for(book_path, folder)
    why = "no cache file"
    if target.exists():
        try:
            return _read(target, key, book_path), "cached"
        except Exception as exc:  # any defect of a cache file means: rebuild
            why = str(exc) or type(exc).__name__
    sources = _sources(book_path)  # hashed before reading, so a file edited meanwhile is stale
    book = _validate(book_path, ())
    try:
        _write(target, key, book_path, sources, book)
    except (OSError, CodecError, ValueError, TypeError) as exc:
        return book, f"uncached: cannot write the cache ({exc})"
    return book, "compiled" if why == "no cache file" else f"recompiled: {why}"


def cache_dir_for(book_path: Path, cache: bool | str | Path | None = None) -> Path | None:
    """The cache folder for a book (None: caching off or no writable folder)."""
    if cache not in (None, True):
        return _usable(Path(str(cache)))
    env = os.environ.get("PBM_CACHE_DIR")
    if env is not None and env.strip():
        return None if env.strip().lower() == "off" else _usable(Path(env))
    beside = _usable(book_path.parent / ".pbm-cache")
    if beside is not None:
        return beside
    home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return _usable(Path(home) / "pbm-engine")


def cache_file_for(book_path: Path, folder: Path) -> Path:
    """The cache file of a book in a cache folder (named by a hash of the book's path)."""
    digest = hashlib.sha256(str(book_path.resolve()).encode()).hexdigest()[:32]
    return folder / f"{digest}.book"


# -- the cache folder and its key ------------------------------------------------------------

def _usable(folder: Path) -> Path | None:
    """The folder, made if missing, when it is ours and no one else can write in it."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError:
        return None
    if not os.access(folder, os.W_OK | os.X_OK) or not _private(st):
        return None
    return folder


def _private(st: os.stat_result) -> bool:
    """Owned by this user (where the system has user ids) and not writable by group or others."""
    getuid = getattr(os, "getuid", None)
    return (getuid is None or st.st_uid == getuid()) and not st.st_mode & 0o022


def _key(folder: Path) -> bytes:
    path = folder / _KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) != 32 or not _private(path.stat()) or path.stat().st_mode & 0o044:
            raise OSError(0, "the cache key file is damaged or not private") from None
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


# -- what a cache file must match ------------------------------------------------------------

def _engine_fingerprint() -> str:
    """A hash of the installed package's files (name, size, modification time)."""
    digest = hashlib.sha256(f"{FORMAT} {sys.version_info[:2]}".encode())
    for root, dirs, files in os.walk(_PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            full = os.path.join(root, name)
            st = os.stat(full)
            digest.update(f"{os.path.relpath(full, _PACKAGE)}\0{st.st_size}\0"
                          f"{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _digest(kind: str, path: Path) -> str:
    if kind == "file":
        return _file_digest(path)
    digest = hashlib.sha256()
    for entry in sorted(path.iterdir()):
        if entry.is_file():
            digest.update(f"{entry.name}\0{_file_digest(entry)}\n".encode())
    return digest.hexdigest()


def _sources(book_path: Path) -> list[list[str]]:
    """``[kind, path, sha256]`` of the book file and every file or folder it names."""
    from pbm_engine.sources.loader import read_yaml

    out = [["file", str(book_path), _file_digest(book_path)]]
    try:
        spec = read_yaml(book_path)
    except Exception:  # the validating loader reports it properly
        return out
    seen = {str(book_path)}
    for ref in _strings(spec):
        try:
            target = resolve(ref, book_path.parent)
            kind = "dir" if target.is_dir() else "file" if target.is_file() else None
        except (OSError, ValueError):
            continue
        if kind and str(target) not in seen:
            seen.add(str(target))
            out.append([kind, str(target), _digest(kind, target)])
    return out


def _strings(value: Any) -> Iterator[str]:
    """Every string in a parsed book file (any of them may name a file)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# -- the book as data ----------------------------------------------------------------------

def _book_fields() -> list[tuple[str, Codec]]:
    """Codecs of the book's fields but its Part D plans (whose modules load only when a book
    has Part D plans) and ``known_ndcs`` (recomputed by ``Book.check``)."""
    hints = typing.get_type_hints(Book)
    return [(f.name, codec_for(hints[f.name])) for f in dataclasses.fields(Book)
            if f.init and f.name not in ("part_d_plans", "known_ndcs")]


def _part_d_codec() -> Codec:
    from pbm_engine.medicare.plans import PartDPlan

    return codec_for(dict[str, PartDPlan])


def _encode_book(book: Book) -> dict[str, Any]:
    """The book as JSON-ready data; a Part D plan whose formulary is one of the book's
    formularies refers to it by id rather than carrying a copy."""
    data = {name: codec.encode(getattr(book, name)) for name, codec in _book_fields()}
    shared: list[list[str]] = []
    plans = dict(book.part_d_plans)
    if plans:
        from pbm_engine.formulary.model import Formulary

        empty = Formulary("", "", {})
        for pid, plan in book.part_d_plans.items():
            fid = plan.formulary.formulary_id
            if book.formularies.get(fid) is plan.formulary:
                shared.append([pid, fid])
                plans[pid] = dataclasses.replace(plan, formulary=empty)
        data["part_d_plans"] = _part_d_codec().encode(plans)
    data["shared_formularies"] = shared
    return data


def _decode_book(data: dict[str, Any]) -> Book:
    values = {name: codec.decode(data[name]) for name, codec in _book_fields()}
    if "part_d_plans" in data:
        plans = _part_d_codec().decode(data["part_d_plans"])
        for pid, fid in data["shared_formularies"]:
            plans[pid] = dataclasses.replace(plans[pid], formulary=values["formularies"][fid])
        values["part_d_plans"] = plans
    return Book(**values).check()


# -- reading and writing ---------------------------------------------------------------------

def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).hexdigest().encode()


def _read(target: Path, key: bytes, book_path: Path) -> Book:
    raw = target.read_bytes()
    if not raw.startswith(_MAGIC):
        raise ValueError("not a compiled book file")
    mac, sep, body = raw[len(_MAGIC):].partition(b"\n")
    if not sep or not hmac.compare_digest(mac, _mac(key, body)):
        raise ValueError("the cache file's MAC does not match (damaged or not written here)")
    with paused_gc():
        doc = orjson.loads(body)
        if doc["format"] != FORMAT or doc["engine"] != _engine_fingerprint():
            raise ValueError("written by another version of pbm-engine")
        if doc["book_path"] != str(book_path):
            raise ValueError("compiled from another book")
        for kind, name, digest in doc["sources"]:
            if _digest(kind, Path(name)) != digest:
                raise ValueError(f"{name} changed")
        return _decode_book(doc["payload"])


def _write(target: Path, key: bytes, book_path: Path, sources: list[list[str]],
           book: Book) -> None:
    doc = {"format": FORMAT, "engine": _engine_fingerprint(), "book_path": str(book_path),
           "sources": sources, "payload": _encode_book(book)}
    body = orjson.dumps(doc)
    temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(_MAGIC + _mac(key, body) + b"\n" + body)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _validate(book_path: Path, extra: tuple[Plan, ...]) -> Book:
    from pbm_engine.sources.loader import load_book as validate_book

    with paused_gc():
        return validate_book(book_path, extra)
