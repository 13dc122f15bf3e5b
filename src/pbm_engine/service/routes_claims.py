"""Claim submission: B1, B2 and B3 through the processor (needs the ``claims`` scope)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Request

from pbm_engine.codes import Reject
from pbm_engine.service.auth import Grant
from pbm_engine.service.context import ApiProblem, context, today
from pbm_engine.service.deps import grant, require
from pbm_engine.service.models import ClaimOut, Problem

__all__ = ["router", "submit_claim"]

router = APIRouter(prefix="/v1", tags=["claims"], responses={
    code: {"model": Problem, "description": text} for code, text in (
        (400, "the body is not a JSON object"), (401, "no valid token"),
        (403, "the token lacks the claims scope or may not bill for that member"))})
"""The claim submission routes."""


@router.post("/claims", response_model=ClaimOut)
def submit_claim(request: Request, caller: Annotated[Grant, Depends(grant)],
                 claim: Annotated[Any, Body(description="an NCPDP-style claim request "
                                                        "(docs/claim-and-result.md)")],
                 as_of: dt.date | None = None) -> dict[str, Any]:
    """Adjudicate and post a B1, reverse a B2, rebill a B3.  A rejected claim is a 200 answer
    with status R and its reject codes."""
    require(caller, "claims")
    if not isinstance(claim, dict):
        raise ApiProblem(400, "Bad Request", "the claim must be a JSON object",
                         Reject.SYNTAX_ERROR)
    if caller.family_id or caller.member_id:
        card = str(claim.get("cardholder_id") or "")
        person = str(claim.get("person_code") or "001").zfill(3)
        member = context(request).members().get(card, person)
        if member is None or not caller.may_read(member.member_id, member.family_id):
            raise ApiProblem(403, "Forbidden", "this token may not submit claims for that "
                             "member")
    result = context(request).processor().submit(orjson.dumps(claim), as_of=as_of or today())
    return result.to_dict()
