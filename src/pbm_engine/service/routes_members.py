"""Member endpoints: estimate, drug search, accumulators, history, refills due, statements."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from pbm_engine.money import fmt
from pbm_engine.portal.search import DrugIndex
from pbm_engine.portal.speech import ivr_sentences
from pbm_engine.portal.statements import claim_statement, part_d_eob, refills_due
from pbm_engine.portal.views import LimitStatus, Portal
from pbm_engine.service.auth import Grant
from pbm_engine.service.context import ApiProblem, context, today
from pbm_engine.service.deps import grant, readable_member
from pbm_engine.service.models import (
    AccumulatorsOut,
    EstimateOut,
    HistoryOut,
    Problem,
    RefillsOut,
    SearchOut,
    StatementOut,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": text} for code, text in (
        (401, "no valid token"), (403, "the token may not read this member"),
        (404, "unknown member or drug"), (422, "invalid parameters"))}

router = APIRouter(prefix="/v1/members/{member_id}", tags=["members"], responses=ERRORS)
"""The member routes: estimate, drug search, accumulators, history, refills, statements."""
Caller = Annotated[Grant, Depends(grant)]


@router.get("/estimate", response_model=EstimateOut)
async def estimate(request: Request, member_id: str, caller: Caller,
             ndc: Annotated[str | None, Query(pattern=r"^[0-9-]{10,13}$")] = None,
             drug: Annotated[str | None, Query(min_length=2, max_length=100)] = None,
             quantity: Annotated[str | None, Query(max_length=12)] = None,
             days_supply: Annotated[int | None, Query(ge=1, le=365)] = None,
             channel: Literal["retail", "mail", "specialty"] | None = None,
             pharmacy_id: Annotated[str | None, Query(max_length=15)] = None,
             daw: Annotated[int, Query(ge=0, le=9)] = 0,
             as_of: dt.date | None = None, alternatives: bool = True, ivr: bool = False,
             words: bool = False) -> Response:
    """What the member would pay for a drug at each channel, with cheaper options.

    Runs on the event loop: an estimate is a millisecond of CPU with two indexed reads, and
    skipping the thread hand-off and response re-validation doubles throughput."""
    readable_member(request, caller, member_id)
    result = context(request).estimator().estimate(
        as_of=as_of or today(), member_id=member_id, ndc=ndc, drug=drug, quantity=quantity,
        days_supply=days_supply, channel=channel, pharmacy_id=pharmacy_id, daw=daw,
        alternatives=alternatives)
    out = result.to_dict()
    if ivr:
        out["ivr"] = ivr_sentences(result, words=words)
    return Response(orjson.dumps(out), media_type="application/json")


@router.get("/drugs", response_model=SearchOut)
def search(request: Request, member_id: str, caller: Caller,
           q: Annotated[str, Query(min_length=1, max_length=100)],
           limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict[str, Any]:
    """Type-ahead drug search on the member's formulary, with formulary status."""
    member = readable_member(request, caller, member_id)
    formulary = context(request).estimator().formulary_of(member)
    found = DrugIndex.for_formulary(formulary).search(q, limit)
    return {"formulary_id": formulary.formulary_id, "query": q,
            "candidates": [c.to_dict() for c in found]}


@router.get("/accumulators", response_model=AccumulatorsOut)
def accumulators(request: Request, member_id: str, caller: Caller,
                 as_of: dt.date | None = None) -> dict[str, Any]:
    """Deductible and out-of-pocket met and left (Part D: TrOOP and total drug cost)."""
    member = readable_member(request, caller, member_id)
    ctx = context(request)
    day = as_of or today()
    if member.plan_id in ctx.book.plans:
        s = Portal(ctx.book, ctx.store()).accumulators(member, as_of=day)
        return {"member_id": s.member_id, "family_id": s.family_id, "plan_id": s.plan_id,
                "plan_year": s.plan_year.isoformat(), "as_of": day.isoformat(),
                "deductible": _limit(s.deductible), "oop": _limit(s.oop)}
    year = dt.date(day.year, 1, 1)
    state = ctx.store().state(member.plan_id, year, member.member_id, member.family_id)
    return {"member_id": member.member_id, "family_id": member.family_id,
            "plan_id": member.plan_id, "plan_year": year.isoformat(), "as_of": day.isoformat(),
            "troop": fmt(state.member.troop),
            "total_drug_cost": fmt(state.member.gross_drug_cost)}


@router.get("/history", response_model=HistoryOut)
def history(request: Request, member_id: str, caller: Caller, start: dt.date | None = None,
            end: dt.date | None = None) -> dict[str, Any]:
    """The member's claims (paid, reversed) and carry-ins, oldest first."""
    member = readable_member(request, caller, member_id)
    ctx = context(request)
    items = Portal(ctx.book, ctx.store()).history(member, start, end)
    return {"member_id": member.member_id, "items": [
        {"kind": i.kind, "date_of_service": i.date_of_service.isoformat(),
         "pharmacy_id": i.pharmacy_id, "rx_number": i.rx_number, "fill_number": i.fill_number,
         "ndc": i.ndc, "drug_name": i.drug_name, "patient_pay": fmt(i.patient_pay),
         "plan_pay": fmt(i.plan_pay), "status": i.status,
         "reversed_on": i.reversed_on.isoformat() if i.reversed_on else None}
        for i in items]}


@router.get("/refills", response_model=RefillsOut)
def refills(request: Request, member_id: str, caller: Caller,
            as_of: dt.date | None = None) -> dict[str, Any]:
    """Each active prescription's next eligible fill date."""
    member = readable_member(request, caller, member_id)
    ctx = context(request)
    day = as_of or today()
    return {"member_id": member.member_id, "as_of": day.isoformat(),
            "refills": [r.to_dict() for r in refills_due(ctx.book, ctx.store(), member, day)]}


@router.get("/statements/part-d/{year}/{month}", response_model=StatementOut,
            responses={200: {"content": {"text/html": {}}}})
def part_d_statement(request: Request, member_id: str, caller: Caller,
                     year: Annotated[int, Path(ge=2006, le=2100)],
                     month: Annotated[int, Path(ge=1, le=12)],
                     format: Literal["json", "html"] = "json") -> Any:
    """The monthly Part D Explanation of Benefits."""
    member = readable_member(request, caller, member_id)
    ctx = context(request)
    if member.plan_id not in ctx.book.part_d_plans:
        raise ApiProblem(404, "Not Found", "the member is not on a Part D plan")
    statement = part_d_eob(ctx.book, ctx.store(), member, year, month)
    if format == "html":
        return HTMLResponse(statement.to_html())
    return statement.to_dict()


@router.get("/statements/claims", response_model=StatementOut,
            responses={200: {"content": {"text/html": {}}}})
def claims_statement(request: Request, member_id: str, caller: Caller, start: dt.date,
                     end: dt.date, format: Literal["json", "html"] = "json") -> Any:
    """A commercial member's claim statement for a period."""
    member = readable_member(request, caller, member_id)
    ctx = context(request)
    if member.plan_id not in ctx.book.plans:
        raise ApiProblem(404, "Not Found", "the member is not on a commercial plan")
    statement = claim_statement(ctx.book, ctx.store(), member, start, end)
    if format == "html":
        return HTMLResponse(statement.to_html())
    return statement.to_dict()


def _limit(s: LimitStatus | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {"individual_limit": fmt(s.individual_limit),
            "family_limit": None if s.family_limit is None else fmt(s.family_limit),
            "embedded": s.embedded, "member_met": fmt(s.member_met),
            "family_met": fmt(s.family_met), "member_remaining": fmt(s.member_remaining),
            "family_remaining": None if s.family_remaining is None
            else fmt(s.family_remaining)}


__all__ = ["router"]
