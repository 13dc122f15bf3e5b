"""Partition keys and processing order: a stable hash of the family, range partitions.

A family's 64-bit key is the first 8 bytes of BLAKE2b over its id (never Python's ``hash()``,
which changes between processes).  Partition ``p`` of ``n`` holds the keys in
``[p * 2**64 / n, (p + 1) * 2**64 / n)``, so concatenating partitions in order lists families in
key order whatever ``n`` is: the canonical output order does not depend on the partition count.

Within a partition, claims are processed by :func:`sort_key`: family key, family id, date of
service, time of service, Rx number, fill number, then input position (so a reversal or rebill
of the same claim stays after the billing it follows, as it was submitted).
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Any

__all__ = ["family_key", "partition_of", "seq_of", "sort_key", "split_seq"]

_SEQ_BITS = 40  # line numbers up to ~1.1e12 per input file


def family_key(family_id: str) -> int:
    """The family's stable 64-bit partition key."""
    return int.from_bytes(blake2b(family_id.encode(), digest_size=8).digest(), "big")


def partition_of(key: int, partitions: int) -> int:
    """The range partition of ``partitions`` that holds ``key``."""
    return (key * partitions) >> 64


def seq_of(input_index: int, line: int) -> int:
    """One integer for (input file, line number): the input position of a record."""
    return (input_index << _SEQ_BITS) | line


def split_seq(seq: int) -> tuple[int, int]:
    """(input index, line number) of :func:`seq_of`."""
    return seq >> _SEQ_BITS, seq & ((1 << _SEQ_BITS) - 1)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _date_text(value: Any) -> str:
    text = _text(value).strip()
    if len(text) == 8 and text.isdigit():  # D.0 CCYYMMDD sorts with ISO dates
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def sort_key(fkey: int, family_id: str, record: dict[str, Any], seq: int
             ) -> tuple[int, str, str, str, str, int, str, int]:
    """The processing order of one claim inside its partition (a total order on any input)."""
    fill = record.get("fill_number", record.get("403-D3"))
    if isinstance(fill, int) and not isinstance(fill, bool):
        fill_n, fill_s = fill, ""
    else:
        text = _text(fill).strip()
        fill_n, fill_s = (int(text), "") if text.isdigit() else (-1, text)
    return (fkey, family_id,
            _date_text(record.get("date_of_service", record.get("401-D1"))),
            _text(record.get("time_of_service")),
            _text(record.get("rx_number", record.get("402-D2"))),
            fill_n, fill_s, seq)
