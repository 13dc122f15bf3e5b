"""Token specs and grants."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbm_engine.errors import ConfigError
from pbm_engine.service.auth import Authenticator, digest, load_tokens_file, parse_token


def test_token_specs() -> None:
    g = parse_token("s3cret-value:read,claims@PPO1001")
    assert g.scopes == {"read", "claims"} and g.family_id == "PPO1001" and g.member_id is None
    assert g.digest == digest("s3cret-value") and "s3cret" not in str(g.to_dict())
    m = parse_token("another-secret@PPO1001-002")
    assert m.scopes == {"read"} and m.member_id == "PPO1001-002"
    assert m.may_read("PPO1001-002", "PPO1001") and not m.may_read("PPO1001-001", "PPO1001")
    assert g.may_read("PPO1001-004", "PPO1001") and not g.may_read("HSA2001-001", "HSA2001")
    for bad in ("short", "long-enough-secret:write", "long-enough-secret@"):
        with pytest.raises(ConfigError):
            parse_token(bad)


def test_tokens_file_and_lookup(tmp_path: Path) -> None:
    f = tmp_path / "tokens"
    f.write_text("# portal\nportal-secret-01:read\n\nclaims-secret-01:claims # switch\n")
    auth = Authenticator(load_tokens_file(f))
    assert not auth.open
    found = auth.find("claims-secret-01")
    assert found is not None and found.scopes == {"claims"}
    assert auth.find("nope-nope-nope") is None and auth.find(None) is None
    f.write_text("ok-secret-0001\nbad:read\n")
    with pytest.raises(ConfigError, match="line 2"):
        load_tokens_file(f)
    with pytest.raises(ConfigError, match="cannot read"):
        load_tokens_file(tmp_path / "missing")
    assert Authenticator([]).find(None) is not None  # open (loopback only)
