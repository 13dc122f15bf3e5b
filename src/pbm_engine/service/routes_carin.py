"""The CARIN Consumer Real-Time Pharmacy Benefit Check endpoint (FHIR R4 message bundles)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from pbm_engine.portal.estimate import EstimateError
from pbm_engine.service.carin import (
    RtpbcError,
    estimate_error,
    operation_outcome,
    parse_request,
    response_bundle,
)
from pbm_engine.service.context import ApiProblem, context, today
from pbm_engine.service.deps import grant, require

__all__ = ["FHIR_JSON", "router", "rtpbc"]

FHIR_JSON = "application/fhir+json"
"""The FHIR JSON media type."""
router = APIRouter(prefix="/v1", tags=["carin-rtpbc"])
"""The CARIN RTPBC routes."""


def _fhir(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


@router.post("/rtpbc", response_class=JSONResponse, responses={
    200: {"content": {FHIR_JSON: {}}, "description": "the RTPBC response Bundle"},
    400: {"content": {FHIR_JSON: {}}, "description": "an OperationOutcome"},
    401: {"description": "no valid token"}, 403: {"description": "not this member's token"},
    404: {"content": {FHIR_JSON: {}}, "description": "an OperationOutcome"}})
async def rtpbc(request: Request) -> JSONResponse:
    """Answer a CARIN RTPBC request Bundle with the response Bundle (or an OperationOutcome)."""
    caller = grant(request)
    require(caller, "read")
    ctx = context(request)
    raw = await request.body()
    try:
        bundle = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _fhir(operation_outcome("invalid", "the body is not JSON", "R8"), 400)
    try:
        question = parse_request(bundle, ctx.book)
        member = question.member
        if not caller.may_read(member.member_id, member.family_id):
            raise ApiProblem(403, "Forbidden", "this token may not read that member")
        try:
            estimate = await run_in_threadpool(
                lambda: ctx.estimator().estimate(
                    as_of=today(), member_id=member.member_id, ndc=question.ndc,
                    quantity=question.quantity, days_supply=question.days_supply,
                    pharmacy_id=question.pharmacy_id))
        except EstimateError as exc:
            raise estimate_error(exc) from None
    except RtpbcError as exc:
        return _fhir(exc.outcome(), exc.status)
    now = dt.datetime.now(dt.UTC)
    return _fhir(response_bundle(question, estimate, now, str(request.base_url).rstrip("/")))
