"""The exception hierarchy.  Bad claims never raise: they become rejected results.

Exceptions are only for misuse of the library and for bad configuration::

    PbmError                      base of everything the library raises on purpose
    ├── ConfigError               a plan, formulary, price, member or parameter file is invalid;
    │                             the message names the file and the field
    ├── StoreError                a claim store cannot be opened or is damaged
    └── UsageError                the API was called wrongly (unknown plan id, bad argument)
"""

from __future__ import annotations

__all__ = ["ConfigError", "PbmError", "StoreError", "UsageError"]


class PbmError(Exception):
    """Base class of the library's exceptions."""


class ConfigError(PbmError):
    """A configuration or reference file is invalid; the message names file and field."""


class StoreError(PbmError):
    """A claim or accumulator store cannot be used (missing, corrupt, wrong schema version)."""


class UsageError(PbmError):
    """The library was called in a way it does not support."""
