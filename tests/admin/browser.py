"""A real headless Chromium for report tests: screenshot, DOM and console messages."""

from __future__ import annotations

import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


@dataclass
class Page:
    png: bytes
    dom: str
    log: str


def _run(url: str, extra: list[str], workdir: Path) -> subprocess.CompletedProcess[str]:
    args = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tempfile.mkdtemp(dir=workdir)}",
            "--enable-logging=stderr", "--v=0",
            # nothing may come from the network: every host name fails to resolve
            "--host-resolver-rules=MAP * ~NOTFOUND", *extra, url]
    return subprocess.run(args, capture_output=True, text=True, timeout=180, check=False)


def open_page(path: Path, workdir: Path) -> Page:
    """Load a local file: a 1200x2000 screenshot, the DOM after load, and Chromium's log."""
    shot = workdir / "shot.png"
    url = path.resolve().as_uri()
    first = _run(url, ["--screenshot=" + str(shot), "--window-size=1200,2000"], workdir)
    second = _run(url, ["--dump-dom"], workdir)
    return Page(shot.read_bytes(), second.stdout, first.stderr + second.stderr)


def console_errors(log: str) -> list[str]:
    """Console errors, uncaught exceptions and failed loads in Chromium's stderr log."""
    keys = ("Uncaught", "ERROR:CONSOLE", "Failed to load resource", "net::ERR_")
    return [line for line in log.splitlines()
            if any(k in line for k in keys) or ("CONSOLE" in line and "ERROR" in line)]


def decode_png(data: bytes) -> tuple[int, int, int, bytes]:
    """(width, height, bytes per pixel, unfiltered pixel rows) of an 8-bit RGB/RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * channels
    out = bytearray()
    prev = bytearray(stride)
    i = 0
    for _ in range(height):
        kind = raw[i]
        row = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if kind == 1:
            for x in range(channels, stride):
                row[x] = (row[x] + row[x - channels]) & 255
        elif kind == 2:
            row = bytearray((a + b) & 255 for a, b in zip(row, prev, strict=True))
        elif kind == 3:
            for x in range(stride):
                left = row[x - channels] if x >= channels else 0
                row[x] = (row[x] + ((left + prev[x]) >> 1)) & 255
        elif kind == 4:
            for x in range(stride):
                a = row[x - channels] if x >= channels else 0
                b, c = prev[x], prev[x - channels] if x >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                row[x] = (row[x] + pred) & 255
        out += row
        prev = row
    return width, height, channels, bytes(out)


def colour_counts(data: bytes, colours: list[tuple[int, int, int]]) -> dict[tuple[int, int, int],
                                                                            int]:
    """How many pixels have each of ``colours`` exactly; plus the count of distinct colours
    under the key (-1, -1, -1)."""
    _, _, channels, pixels = decode_png(data)
    counts = dict.fromkeys(colours, 0)
    seen = set()
    for off in range(0, len(pixels), channels):
        rgb = (pixels[off], pixels[off + 1], pixels[off + 2])
        if rgb in counts:
            counts[rgb] += 1
        if len(seen) < 4096:
            seen.add(rgb)
    counts[(-1, -1, -1)] = len(seen)
    return counts
