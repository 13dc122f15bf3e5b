"""Who may call the service: bearer tokens or API keys given at start, each with scopes.

A token is configured as ``SECRET[:SCOPE,SCOPE][@WHO]``: scopes ``read`` (member data,
estimates; the default) and ``claims`` (claim submission and other writes); ``@WHO`` limits the
token to one family (a cardholder id, ``@PPO1001``) or one member (``@PPO1001-002``).  A tokens
file holds one such line per token (``#`` comments).  Only SHA-256 digests of the secrets are
kept in memory and handed to worker processes.  Requests carry ``Authorization: Bearer SECRET``
or ``X-API-Key: SECRET``.

With no token configured the service runs open, but only on a loopback address.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from pbm_engine.errors import ConfigError

__all__ = [
    "LOOPBACK",
    "OPEN",
    "SCOPES",
    "Authenticator",
    "Grant",
    "digest",
    "load_tokens_file",
    "parse_token",
]

SCOPES = frozenset({"read", "claims"})
"""The scopes a token may carry: ``read`` (views, estimates) and ``claims`` (billing)."""
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
"""Host names that count as this machine."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What one token may do: its scopes and the family or member it is limited to."""

    digest: str
    scopes: frozenset[str]
    family_id: str | None = None
    member_id: str | None = None

    def may_read(self, member_id: str, family_id: str) -> bool:
        if self.member_id is not None:
            return member_id == self.member_id
        return self.family_id is None or family_id == self.family_id

    def to_dict(self) -> dict[str, object]:
        return {"digest": self.digest, "scopes": sorted(self.scopes),
                "family_id": self.family_id, "member_id": self.member_id}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Grant:
        scopes = data.get("scopes") or []
        assert isinstance(scopes, list)
        fam, mem = data.get("family_id"), data.get("member_id")
        return cls(str(data["digest"]), frozenset(map(str, scopes)),
                   str(fam) if fam else None, str(mem) if mem else None)


OPEN = Grant("", SCOPES)
"""The grant of every request when no token is configured (loopback only)."""


def digest(secret: str) -> str:
    """The SHA-256 hex digest a tokens file stores for a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_token(spec: str) -> Grant:
    """``SECRET[:SCOPES][@WHO]`` -> a grant (raises ConfigError naming what is wrong)."""
    who = None
    if "@" in spec:
        spec, who = spec.rsplit("@", 1)
        if not who:
            raise ConfigError("token: empty family/member after '@'")
    secret, _, scope_text = spec.partition(":")
    if len(secret) < 8:
        raise ConfigError("token: a secret needs at least 8 characters")
    scopes = frozenset(s.strip() for s in scope_text.split(",") if s.strip()) or {"read"}
    unknown = scopes - SCOPES
    if unknown:
        raise ConfigError(f"token: unknown scope(s) {', '.join(sorted(unknown))} "
                          f"(known: {', '.join(sorted(SCOPES))})")
    member = who if who and "-" in who else None
    family = who if who and member is None else None
    return Grant(digest(secret), frozenset(scopes), family, member)


def load_tokens_file(path: str | Path) -> list[Grant]:
    """One token spec per line; blank lines and ``#`` comments skipped."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the tokens file ({exc.strerror})") from None
    grants = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            grants.append(parse_token(line))
        except ConfigError as exc:
            raise ConfigError(f"{p}: line {n}: {exc}") from None
    return grants


class Authenticator:
    """Finds the grant of a presented secret (constant-time digest comparison)."""

    def __init__(self, grants: list[Grant]) -> None:
        self.grants = list(grants)

    @property
    def open(self) -> bool:
        return not self.grants

    def find(self, secret: str | None) -> Grant | None:
        if self.open:
            return OPEN
        if not secret:
            return None
        d = digest(secret)
        found = None
        for g in self.grants:
            if hmac.compare_digest(g.digest, d):
                found = g
        return found
