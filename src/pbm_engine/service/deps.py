"""Request dependencies: the caller's grant and the member a request may read."""

from __future__ import annotations

from fastapi import Request

from pbm_engine.eligibility.members import Member
from pbm_engine.portal.estimate import EstimateError
from pbm_engine.service.auth import Grant
from pbm_engine.service.context import ApiProblem, context

__all__ = ["grant", "readable_member", "require"]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="pbm-engine"'}


def grant(request: Request) -> Grant:
    """The grant of the presented bearer token or API key (401 without a valid one)."""
    secret = None
    header = request.headers.get("authorization")
    if header and header[:7].lower() == "bearer ":
        secret = header[7:].strip()
    elif request.headers.get("x-api-key"):
        secret = request.headers["x-api-key"].strip()
    found = context(request).auth.find(secret)
    if found is None:
        raise ApiProblem(401, "Unauthorized", "a valid bearer token or API key is required",
                         headers=_CHALLENGE)
    return found


def require(found: Grant, scope: str) -> None:
    """Reject the request 403 unless the caller's grant has ``scope``."""
    if scope not in found.scopes:
        raise ApiProblem(403, "Forbidden", f"this token lacks the {scope!r} scope")


def readable_member(request: Request, found: Grant, member_id: str) -> Member:
    """The member, if the grant may read them (403 otherwise, existing or not)."""
    require(found, "read")
    try:
        member = context(request).estimator().member(member_id)
    except EstimateError:
        if found.family_id or found.member_id:
            raise ApiProblem(403, "Forbidden", "this token may not read that member") from None
        raise
    if not found.may_read(member.member_id, member.family_id):
        raise ApiProblem(403, "Forbidden", "this token may not read that member")
    return member
