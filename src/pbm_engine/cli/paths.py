"""Safe files for the command line: readable inputs, and outputs no path can turn into data loss.

Every command that reads or writes a user's file goes through these helpers::

    from pbm_engine.cli.paths import SafeOutput, input_file, store_files

    claims = [input_file(p, "CLAIMS") for p in args.claims]
    book = input_file(args.book, "--book")
    out = SafeOutput(args.out, "--out", protect=[*claims, book, *store_files(args.db)])
    ...                                  # every other check, before anything is opened
    with out.open() as handle:           # a temporary file beside the target, mode 0600
        handle.write(b"...")
    # only now, and only if the block did not raise, the target is replaced

The rules:

* **Inputs** must be existing regular files the process can read.  A directory, FIFO, socket or
  device is refused without opening it (reading a FIFO could block forever).
* **Outputs** are refused when they are the same file as any protected path (the inputs, the
  store and its ``-wal``/``-shm`` side files; compared by device and inode when the file exists,
  by resolved path otherwise), when they are a directory, FIFO or device, or when their folder
  is a file.  The folder is created only when the output is opened.
* An output is written to a temporary file in the target's folder, created owner-only (0600:
  results hold member data), flushed and fsynced, then renamed over the target.  A failed,
  interrupted or disk-full run leaves the previous file as it was and no temporary file behind.
* Every problem raises :class:`~pbm_engine.errors.UsageError` worded
  ``"<path>: <what> (<argument>)"``; ``pbm`` prints it as one line, ``pbm: ...``, exit status 2.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from pbm_engine.errors import UsageError

__all__ = ["SafeOutput", "input_file", "parse_date", "store_files"]


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def input_file(value: str | os.PathLike[str], arg: str) -> Path:
    """``value`` as a readable regular file, or :class:`UsageError` naming ``arg``."""
    path = Path(value)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file ({arg})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror} ({arg})") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{path}: is {_kind(info.st_mode)}, not a file ({arg})")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{path}: cannot read: permission denied ({arg})")
    return path


def store_files(db: str | os.PathLike[str] | None) -> list[Path]:
    """A SQLite store and its WAL side files (nothing for no store)."""
    if db is None or str(db) == ":memory:":
        return []
    return [Path(db), Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")]


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


class SafeOutput:
    """An output file checked up front and written atomically (see the module docstring)."""

    def __init__(self, value: str | os.PathLike[str], arg: str,
                 protect: Iterable[str | os.PathLike[str]] = ()) -> None:
        self.path = Path(value)
        self.arg = arg
        path = self.path
        if not path.name or path.name in (".", ".."):
            raise UsageError(f"{path}: is a directory, not a file ({arg})")
        for other in protect:
            if _same(path, Path(other)):
                raise UsageError(f"{path}: refusing to overwrite {other}, an input or the "
                                 f"store ({arg})")
        try:
            info = path.stat()
        except FileNotFoundError:
            info = None
        except NotADirectoryError:
            info = None  # a folder on the way is a file: named below
        except OSError as exc:
            raise UsageError(f"{path}: cannot use: {exc.strerror} ({arg})") from None
        if info is not None and not stat.S_ISREG(info.st_mode):
            raise UsageError(f"{path}: is {_kind(info.st_mode)}, not a file ({arg})")
        folder = path.parent
        for parent in (folder, *folder.parents):
            if os.path.lexists(parent):
                if not parent.is_dir():
                    raise UsageError(f"{path}: {parent} is not a directory ({arg})")
                if not os.access(parent, os.W_OK | os.X_OK) and parent == folder:
                    raise UsageError(f"{path}: cannot write in {folder}: permission denied "
                                     f"({arg})")
                break

    def protects(self, other: SafeOutput) -> None:
        """Refuse two outputs that are one file."""
        if _same(self.path, other.path):
            raise UsageError(f"{other.path}: is the same file as {self.path} ({other.arg})")

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """A binary handle on a 0600 temporary file, renamed over the target on success."""
        path, arg = self.path, self.arg
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise UsageError(f"{path}: cannot create: {exc.strerror} ({arg})") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            _unlink(tmp)
            raise UsageError(f"{path}: cannot write: {exc.strerror or exc} ({arg})") from None
        except BaseException:
            _unlink(tmp)
            raise


def _unlink(name: str) -> None:
    with suppress(OSError):
        os.unlink(name)


def parse_date(value: str | None, arg: str) -> dt.date | None:
    """An ISO date argument (``YYYY-MM-DD``), None when not given; UsageError otherwise."""
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10 and text.isascii():
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    shown = text if len(text) <= 20 and text.isprintable() else text[:20].encode(
        "ascii", "backslashreplace").decode()
    raise UsageError(f"{shown!r} is not a date YYYY-MM-DD ({arg})")


def parse_money(value: str, arg: str) -> int:
    """A dollar amount argument as cents; UsageError naming ``arg`` otherwise."""
    from pbm_engine.money import to_cents

    try:
        return to_cents(value)
    except ValueError as exc:
        raise UsageError(f"{exc} ({arg})") from None
