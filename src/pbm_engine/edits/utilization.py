"""Utilization-management edits: prior authorization, formulary status, step therapy, quantity
limits, days supply, age and gender, specialty channel, refill too soon, DUR and DAW 0.

Each edit appends ``(reject code, message)`` pairs to the caller's list, so every applicable
reject of a claim is reported together.  Edits that need the member's past fills read them
through a :class:`~pbm_engine.accumulators.HistoryView`.
"""

from __future__ import annotations

import datetime as dt

from pbm_engine.accumulators import Fill, HistoryView
from pbm_engine.claim import Claim
from pbm_engine.codes import Reject
from pbm_engine.edits.history import dur_findings, quantity_in_window, quantity_window
from pbm_engine.eligibility.members import Eligibility, Member, PriorAuth, age_on
from pbm_engine.formulary.model import Coverage, Drug, Formulary
from pbm_engine.money import RATE_SCALE
from pbm_engine.policy import Daw0Policy, EditPolicy
from pbm_engine.result import DurResponse
from pbm_engine.trace import Trace

__all__ = ["LOOKBACK_DAYS", "prior_auth", "same_claim", "um_edits"]

LOOKBACK_DAYS = 400
"""Days of history read for refill too soon and DUR."""


def same_claim(fill: Fill, claim: Claim) -> bool:
    """Whether a history record is the claim itself (a rebill or a duplicate)."""
    return (fill.rx_number, fill.fill_number, fill.pharmacy_id, fill.date_of_service) == (
        claim.rx_number,
        claim.fill_number,
        claim.pharmacy_id,
        claim.date_of_service,
    )


def lookback_days(claim: Claim, drug: Drug) -> int:
    """Days before the date of service the history edits of this claim read (the widest of
    refill too soon and DUR, step therapy and the quantity-limit window)."""
    days = LOOKBACK_DAYS
    if drug.step_therapy is not None:
        days = max(days, drug.step_therapy.lookback_days)
    if drug.quantity_limit is not None:
        days = max(days, quantity_window(drug.quantity_limit, claim.days_supply)[0] - 1)
    return days


def prior_auth(
    registry: Eligibility,
    claim: Claim,
    member: Member,
    drug: Drug,
    rejects: list[tuple[str, str]],
    t: Trace,
) -> PriorAuth | None:
    """The PA on file that covers the claim; rejects 75 when the drug needs one and none does."""
    if claim.pa_number:
        pa = registry.find_prior_auth(member, drug, claim.date_of_service, claim.pa_number)
        if pa is None and drug.pa_required:
            rejects.append(
                (
                    Reject.PRIOR_AUTH_REQUIRED,
                    f"PA number {claim.pa_number} is not on file for this drug",
                )
            )
            return None
        if pa is not None:
            if t:
                t(f"PA {pa.number} on file {pa.start}..{pa.end}")
            return pa
    pa = registry.find_prior_auth(member, drug, claim.date_of_service)
    if pa is not None:
        if t:
            t(f"PA {pa.number} on file {pa.start}..{pa.end}")
    elif drug.pa_required:
        rejects.append((Reject.PRIOR_AUTH_REQUIRED, "prior authorization required"))
    return pa


def um_edits(
    claim: Claim,
    member: Member,
    plan: EditPolicy,
    formulary: Formulary,
    drug: Drug,
    pa: PriorAuth | None,
    history: HistoryView,
    rejects: list[tuple[str, str]],
    t: Trace,
) -> tuple[dt.date | None, tuple[DurResponse, ...]]:
    """Formulary status and utilization-management edits; rejects go into ``rejects``.

    ``plan`` supplies the edit policies (days-supply limits, refill threshold and override
    codes, specialty channel, DAW 0 policy).  Returns, for a refill too soon, the next fill
    date and the DUR response.
    """
    bypass = pa.bypasses if pa else frozenset()
    dos = claim.date_of_service
    if drug.coverage is Coverage.EXCLUDED:
        rejects.append((Reject.NOT_COVERED, f"{drug.name} is a plan exclusion"))
    elif drug.coverage is Coverage.NON_FORMULARY and pa is None:
        rejects.append((Reject.NOT_ON_FORMULARY, f"{drug.name} is non-formulary"))

    if drug.step_therapy and "step_therapy" not in bypass:
        _step_therapy(member, drug, dos, history, rejects, t)
    if drug.quantity_limit and "quantity_limit" not in bypass:
        window, allowed = quantity_window(drug.quantity_limit, claim.days_supply)
        earlier = [
            f
            for f in history.fills(member.member_id, dos - dt.timedelta(days=window - 1), dos)
            if not same_claim(f, claim)
        ]
        used = quantity_in_window(earlier, drug.therapy_key)
        if used + claim.quantity > allowed:
            before = f" (with {used / 1000:g} already filled)" if used else ""
            rejects.append(
                (
                    Reject.PLAN_LIMITATIONS_EXCEEDED,
                    f"quantity {claim.quantity / 1000:g}{before} exceeds the limit "
                    f"of {allowed / 1000:g} per {window} days",
                )
            )
    max_days = plan.max_days_supply.get(claim.channel)
    if drug.max_days_supply is not None:
        max_days = min(max_days or drug.max_days_supply, drug.max_days_supply)
    if max_days is not None and claim.days_supply > max_days and "days_supply" not in bypass:
        rejects.append(
            (
                Reject.DAYS_SUPPLY_EXCEEDS_LIMIT,
                f"{claim.days_supply} days exceeds the {max_days}-day limit "
                f"for {claim.channel.value}",
            )
        )
    if (drug.min_age is not None or drug.max_age is not None) and "age" not in bypass:
        dob = member.date_of_birth or claim.date_of_birth
        if dob is None:
            rejects.append((Reject.MI_DATE_OF_BIRTH, "date of birth needed for an age edit"))
        else:
            age = age_on(dob, dos)
            if (drug.min_age is not None and age < drug.min_age) or (
                drug.max_age is not None and age > drug.max_age
            ):
                rejects.append(
                    (
                        Reject.NOT_COVERED_AGE,
                        f"age {age} is outside {drug.min_age or 0}.."
                        f"{drug.max_age if drug.max_age is not None else 'any'}",
                    )
                )
    if drug.gender and "gender" not in bypass:
        gender = member.gender or claim.gender
        if gender != drug.gender:
            rejects.append(
                (
                    Reject.NOT_COVERED_GENDER,
                    f"covered for {'male' if drug.gender == 1 else 'female'} patients only",
                )
            )
    if drug.specialty and plan.specialty_channel_required and claim.channel.value != "specialty":
        rejects.append(
            (
                Reject.SPECIALTY_PHARMACY_REQUIRED,
                f"{drug.name} must be filled by a specialty pharmacy",
            )
        )
    next_fill: dt.date | None = None
    dur: tuple[DurResponse, ...] = ()
    if "refill_too_soon" not in bypass and not (
        plan.refill_override_codes.intersection(claim.clarification_codes)
    ):
        next_fill, dur = _refill_too_soon(claim, member, plan, drug, history, rejects, t)
    if plan.dur.active:
        dur = dur + _dur(claim, member, plan, drug, history, rejects, t)
    if (
        drug.multi_source_brand
        and claim.daw == 0
        and plan.daw.daw0_multisource_brand is Daw0Policy.REJECT
        and formulary.generic_equivalents(drug)
    ):
        rejects.append(
            (Reject.DAW0_MULTISOURCE, "dispense the generic or resubmit with a DAW code")
        )

    return next_fill, dur


def _dur(
    claim: Claim,
    member: Member,
    plan: EditPolicy,
    drug: Drug,
    history: HistoryView,
    rejects: list[tuple[str, str]],
    t: Trace,
) -> tuple[DurResponse, ...]:
    """Therapeutic duplication and drug-drug interactions (reject 88 unless overridden by
    a submitted DUR/PPS triple with the same reason and a "filled" result code)."""
    dos = claim.date_of_service
    fills = history.fills(member.member_id, dos - dt.timedelta(days=LOOKBACK_DAYS), dos)
    out = []
    for finding in dur_findings(plan.dur, drug, dos, fills):
        if same_claim(finding.fill, claim):
            continue  # the claim itself (a rebill or duplicate), not an earlier fill
        overridden = any(
            o.reason == finding.reason and o.result in plan.dur.override_results
            for o in claim.dur_overrides
        )
        if overridden:
            if t:
                t(f"DUR {finding.reason} overridden: {finding.message}")
            continue
        rejects.append((Reject.DUR_REJECT, f"DUR {finding.reason}: {finding.message}"))
        out.append(
            DurResponse(
                finding.reason,
                finding.fill.date_of_service,
                finding.fill.quantity,
                finding.message,
                finding.severity,
            )
        )
    return tuple(out)


def _step_therapy(
    member: Member,
    drug: Drug,
    dos: dt.date,
    history: HistoryView,
    rejects: list[tuple[str, str]],
    t: Trace,
) -> None:
    step = drug.step_therapy
    assert step is not None
    start = dos - dt.timedelta(days=step.lookback_days)
    for fill in history.fills(member.member_id, start, dos):
        if fill.groups & step.prerequisites:
            if t:
                t(f"step therapy met by {fill.ndc} filled {fill.date_of_service}")
            return
        if fill.therapy_key == drug.therapy_key:
            if t:
                t(f"step therapy: continuing therapy since {fill.date_of_service}")
            return
    names = ", ".join(sorted(step.prerequisites))
    rejects.append(
        (Reject.STEP_THERAPY, f"requires a fill of {names} in the last {step.lookback_days} days")
    )


def _refill_too_soon(
    claim: Claim,
    member: Member,
    plan: EditPolicy,
    drug: Drug,
    history: HistoryView,
    rejects: list[tuple[str, str]],
    t: Trace,
) -> tuple[dt.date | None, tuple[DurResponse, ...]]:
    dos = claim.date_of_service
    latest: dt.date | None = None
    previous: Fill | None = None
    start = dos - dt.timedelta(days=LOOKBACK_DAYS)
    for fill in history.fills(member.member_id, start, dos):
        if fill.therapy_key != drug.therapy_key:
            continue
        if same_claim(fill, claim):
            continue  # the claim itself (a rebill or duplicate), not an earlier fill
        wait = -(-fill.days_supply * plan.refill_threshold // RATE_SCALE)
        next_date = fill.date_of_service + dt.timedelta(days=wait)
        if latest is None or next_date > latest:
            latest, previous = next_date, fill
    if latest is not None and dos < latest and previous is not None:
        rejects.append(
            (
                Reject.REFILL_TOO_SOON,
                f"previous fill {previous.date_of_service} for "
                f"{previous.days_supply} days; next fill {latest.isoformat()}",
            )
        )
        return latest, (
            DurResponse("ER", previous.date_of_service, previous.quantity, "early refill"),
        )
    if previous is not None and t:
        t(f"refill too soon: previous fill {previous.date_of_service}, eligible {latest}")
    return None, ()
