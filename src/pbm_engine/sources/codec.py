"""A type-driven codec between the book's frozen dataclasses and JSON-ready lists.

The encoder and decoder of a class are derived from its type hints, once per type: a
dataclass is the list of its ``__init__`` fields, a ``NamedTuple`` the list of its fields, a
mapping two parallel lists (keys, values), a set or tuple a list, a date its ordinal, an enum
its value.  Decoding calls only the constructors those hints name (dataclasses, named tuples,
enums, ``dt.date``, containers): data can never name a class or a function to call, so a
hostile file can at worst fail to decode.  Unions other than ``X | None`` and ``Any`` are
refused when a codec is built (a new field of such a type must get a codec here first).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime as dt
import enum
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

__all__ = ["Codec", "CodecError", "codec_for"]

Encode = Callable[[Any], Any]
Decode = Callable[[Any], Any]


class CodecError(TypeError):
    """A type this codec cannot carry (raised when a codec is built, never for data)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Codec:
    """Encoder and decoder of one type; ``plain`` when both are the identity (JSON scalars)."""

    encode: Encode
    decode: Decode
    plain: bool = False
    columns: tuple[Encode, Decode] | None = None
    """For records: encode many values as one list per field, decode such columns."""


def _identity(value: Any) -> Any:
    return value


_PLAIN = Codec(_identity, _identity, plain=True)


def _optional(inner: Codec) -> Codec:
    if inner.plain:
        return _PLAIN
    enc, dec = inner.encode, inner.decode
    return Codec(lambda v: None if v is None else enc(v), lambda v: None if v is None else dec(v))


def _sequence(inner: Codec, build: Callable[[Any], Any]) -> Codec:
    """A list, tuple or set as a list; many of them (a mapping's values) as one flat list
    and the count of each, decoded in bulk."""
    enc, dec = inner.encode, inner.decode

    def encode_many(values: list[Any]) -> list[Any]:
        flat = [x for value in values for x in value]
        if inner.columns is not None:
            encoded = inner.columns[0](flat)
        else:
            encoded = flat if inner.plain else [enc(x) for x in flat]
        return [[len(value) for value in values], encoded]

    def decode_many(data: list[Any]) -> list[Any]:
        counts, encoded = data
        if inner.columns is not None:
            flat = inner.columns[1](encoded)
        else:
            flat = encoded if inner.plain else list(map(dec, encoded))
        if sum(counts) != len(flat):
            raise ValueError("sequence counts do not add up")
        out = []
        start = 0
        for count in counts:
            out.append(build(flat[start:start + count]))
            start += count
        return out

    columns = (encode_many, decode_many)
    if inner.plain:
        return Codec(list, build, columns=columns)
    return Codec(lambda v: [enc(x) for x in v], lambda v: build(map(dec, v)), columns=columns)


def _fixed_tuple(items: tuple[Codec, ...]) -> Codec:
    def encode(value: Any) -> list[Any]:
        if len(value) != len(items):
            raise ValueError("tuple of the wrong length")
        return [c.encode(x) for c, x in zip(items, value, strict=True)]

    def decode(value: Any) -> tuple[Any, ...]:
        return tuple(c.decode(x) for c, x in zip(items, value, strict=True))

    return Codec(encode, decode)


def _mapping(key: Codec, val: Codec, build: Callable[[dict[Any, Any]], Any]) -> Codec:
    """A mapping as ``[keys, values]``; record values are stored column by column."""
    kenc, kdec, venc, vdec = key.encode, key.decode, val.encode, val.decode
    if val.columns is not None:
        venc, vdec = val.columns

    def encode(value: Any) -> list[Any]:
        keys = list(value)
        values = [value[k] for k in keys]
        if val.columns is not None:
            return [keys if key.plain else [kenc(k) for k in keys], venc(values)]
        return [keys if key.plain else [kenc(k) for k in keys],
                values if val.plain else [venc(v) for v in values]]

    def decode(value: Any) -> Any:
        keys, values = value
        if not key.plain:
            keys = map(kdec, keys)
        if val.columns is not None:
            values = vdec(values)
        elif not val.plain:
            values = map(vdec, values)
        return build(dict(zip(keys, values, strict=True)))

    return Codec(encode, decode)


def _record(cls: type, names: tuple[str, ...], hints: dict[str, Any]) -> Codec:
    """A dataclass or named tuple as the list of its fields, in order."""
    codecs = [codec_for(hints[name]) for name in names]
    pairs = [(i, c.encode, c.decode) for i, c in enumerate(codecs) if not c.plain]
    getter = [(name, c) for name, c in zip(names, codecs, strict=True)]

    def encode(value: Any) -> list[Any]:
        if type(value) is not cls:
            raise CodecError(f"expected {cls.__name__}, got {type(value).__name__}")
        return [c.encode(getattr(value, name)) for name, c in getter]

    if not pairs:
        def decode(value: Any) -> Any:
            return cls(*value)
    else:
        def decode(value: Any) -> Any:
            args = list(value)
            for i, _, dec in pairs:
                args[i] = dec(args[i])
            return cls(*args)

    def encode_columns(values: list[Any]) -> list[list[Any]]:
        for value in values:
            if type(value) is not cls:
                raise CodecError(f"expected {cls.__name__}, got {type(value).__name__}")
        return [[getattr(v, name) for v in values] if c.plain
                else [c.encode(getattr(v, name)) for v in values] for name, c in getter]

    def decode_columns(columns: list[list[Any]]) -> list[Any]:
        if len(columns) != len(codecs):
            raise ValueError(f"{cls.__name__}: wrong number of columns")
        cols = [col if c.plain else list(map(c.decode, col))
                for c, col in zip(codecs, columns, strict=True)]
        if len({len(col) for col in cols}) > 1:
            raise ValueError(f"{cls.__name__}: columns of unequal length")
        return list(map(cls, *cols))

    return Codec(encode, decode, columns=(encode_columns, decode_columns))


def _hints(cls: type, localns: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls, localns=localns)
    except NameError as exc:
        raise CodecError(f"{cls.__name__}: cannot resolve a type hint ({exc})") from None


def dataclass_codec(cls: type, localns: dict[str, Any] | None = None) -> Codec:
    """The codec of a dataclass whose hints need names from ``localns`` (e.g. hidden by
    ``TYPE_CHECKING``)."""
    hints = _hints(cls, localns)
    names = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    return _record(cls, names, hints)


@cache
def codec_for(tp: Any) -> Codec:
    """The codec of a type hint (cached per type)."""
    if tp in (str, int, bool, type(None)):
        return _PLAIN
    if tp is float:
        raise CodecError("floats are not carried: money and rates are integers")
    if tp is dt.date:
        return Codec(dt.date.toordinal, dt.date.fromordinal)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Literal:
        return _PLAIN
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            return _optional(codec_for(rest[0]))
        raise CodecError(f"unions other than X | None are not carried: {tp}")
    if origin in (frozenset, collections.abc.Set):
        return _sequence(codec_for(args[0]), frozenset)
    if origin is set:
        return _sequence(codec_for(args[0]), set)
    if origin is list:
        return _sequence(codec_for(args[0]), list)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _sequence(codec_for(args[0]), tuple)
        return _fixed_tuple(tuple(codec_for(a) for a in args))
    if origin is dict:
        return _mapping(codec_for(args[0]), codec_for(args[1]), dict)
    if origin is collections.abc.Mapping:
        return _mapping(codec_for(args[0]), codec_for(args[1]), types.MappingProxyType)
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            members = {m.value: m for m in tp}
            return Codec(lambda v: v.value, members.__getitem__)
        if dataclasses.is_dataclass(tp):
            return dataclass_codec(tp)
        if issubclass(tp, tuple) and hasattr(tp, "_fields"):
            hints = _hints(tp)  # a NamedTuple's hints are its fields, in order
            return _record(tp, tuple(hints), hints)
    raise CodecError(f"no codec for {tp!r}")
