"""Pydantic response models of the service (they are the OpenAPI schema).  Money is a decimal
string ("12.34"), dates are ISO strings."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AccumulatorsOut",
    "AlternativeOut",
    "CandidateOut",
    "ChannelOut",
    "ClaimOut",
    "ConditionOut",
    "EstimateOut",
    "Health",
    "HistoryItemOut",
    "HistoryOut",
    "LimitOut",
    "Money",
    "PhaseOut",
    "Problem",
    "RefillOut",
    "RefillsOut",
    "RejectOut",
    "SearchOut",
    "StatementLineOut",
    "StatementOut",
    "TotalsOut",
]

Money = str
"""A dollar amount as a decimal string, e.g. 12.34."""


class Problem(BaseModel):
    """An error as RFC 9457 problem details, with the NCPDP reject code where one applies."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    reject_code: str | None = None
    errors: list[dict[str, Any]] | None = None


class Health(BaseModel):
    """Service health: status, the loaded book, the store and how callers authenticate."""

    status: str
    book: str
    store: str
    authentication: str


class ConditionOut(BaseModel):
    """A condition on coverage (PA, step therapy, quantity limit, refill date ...)."""

    kind: str
    text: str
    blocking: bool
    reject_code: str | None
    earliest_date: str | None = None
    drugs_first: list[str] | None = None


class PhaseOut(BaseModel):
    """A Part D fill's benefit phase before and after, and what is left to the next."""

    before: str
    before_name: str
    after: str
    after_name: str
    next_phase: str | None
    next_phase_name: str | None
    to_next_phase: Money | None
    troop_after: Money
    total_drug_cost_after: Money


class ChannelOut(BaseModel):
    """An estimate for one channel (retail, mail, specialty) and days supply."""

    channel: str
    days_supply: int
    quantity: str
    pharmacy_id: str
    ndc: str
    drug_name: str
    covered: bool
    member_pays: Money | None
    plan_pays: Money | None
    total_cost: Money | None
    deductible_applied: Money | None
    copay: Money | None
    coinsurance: Money | None
    brand_penalty: Money | None
    deductible_left: Money | None
    oop_left: Money | None
    phase: PhaseOut | None
    conditions: list[ConditionOut]


class AlternativeOut(BaseModel):
    """A cheaper alternative: a generic, a therapeutic alternative or mail order."""

    kind: str = Field(description="generic, therapeutic or mail")
    ndc: str
    drug_name: str
    tier: int | None
    channel: str
    days_supply: int
    quantity: str
    member_pays: Money
    plan_pays: Money
    saving_per_fill: Money | None
    saving_per_year: Money | None
    conditions: list[ConditionOut]


class EstimateOut(BaseModel):
    """What a member would pay for a drug, by channel, with alternatives."""

    member_id: str
    plan_id: str
    as_of: str
    ndc: str
    drug_name: str
    tier: int | None
    covered: bool
    channels: list[ChannelOut]
    alternatives: list[AlternativeOut]
    ivr: list[str] | None = None


class CandidateOut(BaseModel):
    """A drug search result on the member's formulary."""

    name: str
    ndcs: list[str]
    tier: int
    status: str
    brand: bool
    generic_available: bool
    prior_authorization: bool
    step_therapy: bool
    quantity_limit: bool
    specialty: bool
    therapeutic_class: str | None


class SearchOut(BaseModel):
    """Drug search results."""

    formulary_id: str
    query: str
    candidates: list[CandidateOut]


class LimitOut(BaseModel):
    """A deductible or out-of-pocket limit: amounts met and left."""

    individual_limit: Money
    family_limit: Money | None
    embedded: bool
    member_met: Money
    family_met: Money
    member_remaining: Money
    family_remaining: Money | None


class AccumulatorsOut(BaseModel):
    """A member's accumulators for the plan year."""

    member_id: str
    family_id: str
    plan_id: str
    plan_year: str
    as_of: str
    deductible: LimitOut | None = None
    oop: LimitOut | None = None
    troop: Money | None = None
    total_drug_cost: Money | None = None


class HistoryItemOut(BaseModel):
    """One claim of a member's history."""

    kind: str
    date_of_service: str
    pharmacy_id: str
    rx_number: str
    fill_number: int
    ndc: str
    drug_name: str
    patient_pay: Money
    plan_pay: Money
    status: str
    reversed_on: str | None


class HistoryOut(BaseModel):
    """A member's claim history."""

    member_id: str
    items: list[HistoryItemOut]


class RefillOut(BaseModel):
    """A prescription's refill status: last fill, next eligible date, run-out date."""

    rx_number: str
    pharmacy_id: str
    ndc: str
    drug_name: str
    last_fill: str
    fill_number: int
    days_supply: int
    next_eligible: str
    runs_out: str
    status: str


class RefillsOut(BaseModel):
    """A member's refill reminders."""

    member_id: str
    as_of: str
    refills: list[RefillOut]


class StatementLineOut(BaseModel):
    """One claim line of a statement."""

    date_of_service: str
    rx_number: str
    pharmacy_id: str
    drug_name: str
    ndc: str
    total_cost: Money
    plan_paid: Money
    member_paid: Money
    other_paid: Money
    deductible: Money
    copay: Money
    coinsurance: Money
    brand_penalty: Money
    status: str


class TotalsOut(BaseModel):
    """Statement totals."""

    total_drug_cost: Money
    plan_paid: Money
    member_paid: Money
    other_paid: Money
    manufacturer_discount: Money


class StatementOut(BaseModel):
    """A member statement (explanation of benefits) for a period."""

    kind: str
    title: str
    member_id: str
    member_name: str
    plan_id: str
    plan_name: str
    start: str
    end: str
    claims: list[StatementLineOut]
    period_totals: TotalsOut
    year_to_date_totals: TotalsOut
    summary: dict[str, Any]


class RejectOut(BaseModel):
    """One reject: code, description and message."""

    code: str
    description: str
    message: str


class ClaimOut(BaseModel):
    """The claim response (see docs/claim-and-result.md); paid amounts appear when paid."""

    model_config = ConfigDict(extra="allow")
    status: str = Field(description="P paid, R rejected, D duplicate, A/S reversal")
    transaction_code: str
    rejects: list[RejectOut]
    messages: list[str]
