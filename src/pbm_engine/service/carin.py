"""CARIN Consumer Real-Time Pharmacy Benefit Check (HL7 FHIR R4 IG): request and response.

The request is a message Bundle: a MessageHeader, a Claim (``use`` predetermination) pointing
at the Patient, the Coverage (classes rxbin, rxpcn, group, rxid), the MedicationRequest
(product, quantity, expected supply duration) and the preferred pharmacy Organization.  The
member is the Coverage's rxid (cardholder id) whose date of birth matches the Patient.

The response is a message Bundle whose ClaimResponse carries the requested product at the
preferred pharmacy in ``item`` and each other option in ``addItem`` (mail order at the plan's
mail pharmacy; cheaper products at the preferred pharmacy, marked with the ``isAlternative``
extension), each with its patient-pay adjudications (deductible, copay, coinsurance, other,
total) and a determination note; coverage restrictions (PA, step therapy, quantity limit) are
coded with the IG's coverage-determination codes.  A request that cannot be processed gets an
OperationOutcome carrying the NCPDP reject code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pbm_engine.book import Book
from pbm_engine.codes import Channel, Reject, reject_description
from pbm_engine.eligibility.members import Member
from pbm_engine.money import QTY_SCALE, Cents, fmt_scaled, to_decimal
from pbm_engine.portal.estimate import ChannelEstimate, CostEstimate, EstimateError

PAY_CATEGORY = "http://hl7.org/fhir/us/carin/CodeSystem/rtpbc-patient-pay-category"
DETERMINATION = "http://hl7.org/fhir/us/carin/CodeSystem/rtpbc-coverage-determination"
IS_ALTERNATIVE = "http://hl7.org/fhir/us/carin/StructureDefinition/rtpbc-isAlternative"
NDC_SYSTEM = "http://hl7.org/fhir/sid/ndc"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
REJECT_SYSTEM = "http://terminology.hl7.org/CodeSystem/NCPDPRejectCode"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
MAIL_PHARMACY_ID = "pbm-mail-service"

_PAY_DISPLAY = {"deductible": "Deductible", "copay": "Copay",
                "coinsurance": "Per prescription coinsurance", "other": "Other",
                "total": "Total patient responsibility"}
_DETERMINATION_DISPLAY = {
    "covered": "Covered",
    "prior-auth": "Covered with restriction: Prior authorization required",
    "step-therapy": "Covered with restriction: Step therapy applies",
    "quantity-limit": "Covered with restriction: Quantity limits apply",
    "other-restriction": "Covered with restriction: Other restriction applies",
    "not-covered": "Not covered",
}
_RESTRICTIONS = {"prior_authorization": "prior-auth", "step_therapy": "step-therapy",
                 "quantity_limit": "quantity-limit"}


class RtpbcError(Exception):
    """A request that cannot be processed: becomes an OperationOutcome."""

    def __init__(self, status: int, code: str, text: str, reject_code: str | None = None):
        super().__init__(text)
        self.status = status
        self.code = code  # FHIR issue type: invalid, not-found, processing, forbidden ...
        self.text = text
        self.reject_code = reject_code

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.code, self.text, self.reject_code)


def operation_outcome(code: str, text: str, reject_code: str | None = None) -> dict[str, Any]:
    """An OperationOutcome with one error issue (NCPDP reject code in ``details``)."""
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": text}
    if reject_code:
        issue["details"] = {"coding": [{"system": REJECT_SYSTEM, "code": reject_code,
                                        "display": reject_description(reject_code)}],
                            "text": text}
    return {"resourceType": "OperationOutcome", "issue": [issue]}


@dataclass(frozen=True, slots=True)
class RtpbcRequest:
    """What the request bundle asks, with the resources echoed in the response."""

    request_id: str
    member: Member
    ndc: str
    quantity: str | None
    days_supply: int | None
    pharmacy_id: str | None
    payer: str
    patient: dict[str, Any]
    patient_ref: str
    coverage_ref: str | None
    pharmacy: dict[str, Any] | None
    source: dict[str, Any]


def parse_request(bundle: Any, book: Book) -> RtpbcRequest:
    """Read an RTPBC request bundle; raise :class:`RtpbcError` naming what is wrong."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise RtpbcError(400, "invalid", "the body must be a FHIR Bundle", Reject.SYNTAX_ERROR)
    if bundle.get("type") != "message":
        raise RtpbcError(400, "invalid", "the Bundle type must be 'message'",
                         Reject.SYNTAX_ERROR)
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise RtpbcError(400, "invalid", "the Bundle has no entries", Reject.SYNTAX_ERROR)
    by_ref: dict[str, dict[str, Any]] = {}
    header = None
    for entry in entries:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
            raise RtpbcError(400, "invalid", "every Bundle entry needs a resource",
                             Reject.SYNTAX_ERROR)
        ref = f"{res['resourceType']}/{res.get('id', '')}"
        by_ref[ref] = res
        full = entry.get("fullUrl")
        if isinstance(full, str):
            by_ref[full] = res
        if res["resourceType"] == "MessageHeader" and header is None:
            header = res
    if header is None or not entries[0].get("resource", {}).get("resourceType") == \
            "MessageHeader":
        raise RtpbcError(400, "invalid", "the first entry must be the MessageHeader",
                         Reject.SYNTAX_ERROR)

    def resolve(ref: Any, kind: str) -> dict[str, Any]:
        target = ref.get("reference") if isinstance(ref, dict) else None
        found = by_ref.get(target) if isinstance(target, str) else None
        if found is None or found.get("resourceType") != kind:
            raise RtpbcError(400, "invalid", f"the request's {kind} is missing from the Bundle",
                             Reject.SYNTAX_ERROR)
        return found

    claim = next((r for r in by_ref.values() if r.get("resourceType") == "Claim"), None)
    if claim is None:
        raise RtpbcError(400, "invalid", "the Bundle has no Claim", Reject.SYNTAX_ERROR)
    if claim.get("use") != "predetermination":
        raise RtpbcError(400, "invalid", "Claim.use must be 'predetermination'",
                         Reject.SYNTAX_ERROR)
    ids = claim.get("identifier") or [{}]
    request_id = str(ids[0].get("value") or claim.get("id") or "")
    if not request_id:
        raise RtpbcError(400, "invalid", "Claim.identifier is required", Reject.SYNTAX_ERROR)
    patient_ref = (claim.get("patient") or {}).get("reference", "")
    patient = resolve(claim.get("patient"), "Patient")
    insurance = claim.get("insurance") or []
    if not insurance:
        raise RtpbcError(400, "invalid", "Claim.insurance (the Coverage) is required",
                         Reject.MI_CARDHOLDER_ID)
    coverage_ref = (insurance[0].get("coverage") or {}).get("reference")
    coverage = resolve(insurance[0].get("coverage"), "Coverage")
    classes = {}
    for c in coverage.get("class") or []:
        for coding in (c.get("type") or {}).get("coding") or []:
            classes[str(coding.get("code"))] = str(c.get("value") or "")
    rxid = classes.get("rxid")
    if not rxid:
        raise RtpbcError(400, "invalid", "Coverage class rxid (the member id) is required",
                         Reject.MI_CARDHOLDER_ID)
    payer = next((str((p.get("identifier") or {}).get("value"))
                  for p in coverage.get("payor") or [] if (p.get("identifier") or {})),
                 "pbm-engine")
    member = _member(book, rxid, patient)
    med = resolve(claim.get("prescription"), "MedicationRequest")
    ndc = _ndc(med) or _ndc_item(claim)
    if not ndc:
        raise RtpbcError(400, "invalid", "the MedicationRequest needs an NDC-11 product code",
                         Reject.MI_PRODUCT_ID)
    dispense = med.get("dispenseRequest") or {}
    qty = (dispense.get("quantity") or {}).get("value")
    days = (dispense.get("expectedSupplyDuration") or {}).get("value")
    if qty is not None and (not isinstance(qty, int | float) or isinstance(qty, bool)
                            or qty <= 0):
        raise RtpbcError(400, "invalid", "dispenseRequest.quantity.value must be positive",
                         Reject.MI_QUANTITY)
    if days is not None and (not isinstance(days, int | float) or isinstance(days, bool)
                             or not 1 <= days <= 365):
        raise RtpbcError(400, "invalid", "expectedSupplyDuration must be 1-365 days",
                         Reject.MI_DAYS_SUPPLY)
    pharmacy = None
    pharmacy_id = None
    if claim.get("provider"):
        pharmacy = resolve(claim.get("provider"), "Organization")
        pharmacy_id = next((str(i.get("value")) for i in pharmacy.get("identifier") or []
                            if i.get("value")), None)
    return RtpbcRequest(
        request_id=request_id, member=member, ndc=ndc,
        quantity=None if qty is None else str(Decimal(str(qty))),
        days_supply=None if days is None else int(days), pharmacy_id=pharmacy_id, payer=payer,
        patient=patient, patient_ref=patient_ref or f"Patient/{patient.get('id', '')}",
        coverage_ref=coverage_ref, pharmacy=pharmacy,
        source=dict(header.get("source") or {}))


def _member(book: Book, rxid: str, patient: dict[str, Any]) -> Member:
    family = [m for m in book.registry.members.values() if m.cardholder_id == rxid]
    if not family:
        raise RtpbcError(404, "not-found", "no member with that rxid",
                         Reject.NON_MATCHED_CARDHOLDER)
    born = patient.get("birthDate")
    try:
        day = dt.date.fromisoformat(born) if isinstance(born, str) else None
    except ValueError:
        raise RtpbcError(400, "invalid", "Patient.birthDate is not a date",
                         Reject.MI_DATE_OF_BIRTH) from None
    if day is None:
        raise RtpbcError(400, "invalid", "Patient.birthDate is required",
                         Reject.MI_DATE_OF_BIRTH)
    matched = [m for m in family if m.date_of_birth == day]
    if not matched:
        raise RtpbcError(404, "not-found", "the patient's date of birth does not match the "
                         "member", Reject.MI_DATE_OF_BIRTH)
    return sorted(matched, key=lambda m: m.person_code)[0]


def _ndc(med: dict[str, Any]) -> str | None:
    for coding in (med.get("medicationCodeableConcept") or {}).get("coding") or []:
        code = str(coding.get("code") or "").replace("-", "")
        if len(code) == 11 and code.isdigit():
            return code
    return None


def _ndc_item(claim: dict[str, Any]) -> str | None:
    for item in claim.get("item") or []:
        for coding in (item.get("productOrService") or {}).get("coding") or []:
            code = str(coding.get("code") or "").replace("-", "")
            if len(code) == 11 and code.isdigit():
                return code
    return None


def _money(cents: Cents) -> dict[str, Any]:
    return {"value": float(to_decimal(cents)), "currency": "USD"}


def _adjudications(ch: ChannelEstimate, determination: str) -> list[dict[str, Any]]:
    out = []
    other = ch.brand_penalty
    parts = (("deductible", ch.deductible_applied), ("copay", ch.copay),
             ("coinsurance", ch.coinsurance), ("other", other))
    for code, amount in parts:
        if amount:
            out.append({"category": {"coding": [{"system": PAY_CATEGORY, "code": code,
                                                 "display": _PAY_DISPLAY[code]}]},
                        "amount": _money(amount)})
    out.append({"category": {"coding": [{"system": PAY_CATEGORY, "code": "total",
                                         "display": _PAY_DISPLAY["total"]}]},
                "reason": {"coding": [{"system": DETERMINATION, "code": determination,
                                       "display": _DETERMINATION_DISPLAY[determination]}]},
                "amount": _money(ch.member_pays if ch.covered else 0)})
    return out


def _determination(ch: ChannelEstimate) -> str:
    for c in ch.conditions:
        if c.kind in _RESTRICTIONS:
            return _RESTRICTIONS[c.kind]
    if not ch.covered:
        blocking = {c.kind for c in ch.conditions if c.blocking}
        if not blocking or blocking & {"not_on_formulary", "not_covered", "age", "gender",
                                       "eligibility"}:
            return "not-covered"
        return "other-restriction"
    return "other-restriction" if ch.conditions else "covered"


def _note(ch: ChannelEstimate, determination: str) -> str:
    texts = [c.text for c in ch.conditions]
    head = _DETERMINATION_DISPLAY[determination]
    return head + (": " + " ".join(texts) if texts else "")


def _product(ndc: str, name: str) -> dict[str, Any]:
    return {"coding": [{"system": NDC_SYSTEM, "code": ndc, "display": name}]}


def _quantity(ch: ChannelEstimate) -> dict[str, Any]:
    return {"value": float(Decimal(fmt_scaled(ch.quantity, QTY_SCALE))), "unit": "EA"}


def response_bundle(request: RtpbcRequest, estimate: CostEstimate, now: dt.datetime,
                    base: str = "urn:pbm-engine") -> dict[str, Any]:
    """The RTPBC response Bundle for an estimate of the request."""
    rid = request.request_id
    response_id = f"{rid}-response"
    pharmacy_ref = None
    entries_extra: list[dict[str, Any]] = []
    if request.pharmacy is not None:
        pharmacy_ref = f"Organization/{request.pharmacy.get('id', 'preferred-pharmacy')}"
        entries_extra.append({"fullUrl": f"{base}/{pharmacy_ref}", "resource": request.pharmacy})
    else:
        pharmacy_ref = "Organization/preferred-pharmacy"
        entries_extra.append({"fullUrl": f"{base}/{pharmacy_ref}", "resource": {
            "resourceType": "Organization", "id": "preferred-pharmacy",
            "name": "Any network retail pharmacy"}})
    mail_ref = f"Organization/{MAIL_PHARMACY_ID}"
    notes: list[dict[str, Any]] = []

    def note(text: str) -> int:
        notes.append({"number": len(notes) + 1, "text": text})
        return len(notes)

    requested = estimate.channels[0]
    det = _determination(requested)
    item = {"itemSequence": 1, "noteNumber": [note(_note(requested, det))],
            "adjudication": _adjudications(requested, det)}
    add_items: list[dict[str, Any]] = []
    used_mail = False
    for ch in estimate.channels[1:]:
        d = _determination(ch)
        provider = mail_ref if ch.channel is Channel.MAIL else pharmacy_ref
        used_mail |= ch.channel is Channel.MAIL
        add_items.append({
            "itemSequence": [1], "provider": [{"reference": provider}],
            "productOrService": _product(ch.ndc, ch.drug_name), "quantity": _quantity(ch),
            "noteNumber": [note(_note(ch, d))], "adjudication": _adjudications(ch, d)})
    for alt in estimate.alternatives:
        if alt.kind == "mail":
            continue  # the mail channel is already an added item
        e = alt.estimate
        d = _determination(e)
        text = _note(e, d)
        if alt.saving_per_fill:
            text += f" Saves ${to_decimal(alt.saving_per_fill)} per fill."
        add_items.append({
            "extension": [{"url": IS_ALTERNATIVE, "valueBoolean": True}],
            "itemSequence": [1], "provider": [{"reference": pharmacy_ref}],
            "productOrService": _product(e.ndc, e.drug_name), "quantity": _quantity(e),
            "noteNumber": [note(text)], "adjudication": _adjudications(e, d)})
    claim_response: dict[str, Any] = {
        "resourceType": "ClaimResponse", "id": response_id,
        "identifier": [{"value": response_id}], "status": "active",
        "type": {"coding": [{"system": CLAIM_TYPE, "code": "pharmacy", "display": "Pharmacy"}]},
        "use": "predetermination", "patient": {"reference": request.patient_ref},
        "created": now.isoformat(timespec="seconds"),
        "insurer": {"identifier": {"value": request.payer}},
        "request": {"identifier": {"value": rid}},
        "outcome": "complete", "disposition": "Processed successfully",
        "item": [item], "addItem": add_items, "processNote": notes,
    }
    if request.coverage_ref:
        claim_response["insurance"] = [{"sequence": 1, "focal": True,
                                        "coverage": {"reference": request.coverage_ref}}]
    if used_mail:
        entries_extra.append({"fullUrl": f"{base}/{mail_ref}", "resource": {
            "resourceType": "Organization", "id": MAIL_PHARMACY_ID,
            "name": "Plan mail-order pharmacy"}})
    header = {
        "resourceType": "MessageHeader", "id": f"{rid}-response-header",
        "eventCoding": {"code": "rtpbc-response"},
        "source": {"name": "pbm-engine", "endpoint": f"{base}/rtpbc"},
        "response": {"identifier": rid, "code": "ok"},
        "focus": [{"reference": f"ClaimResponse/{response_id}"}],
    }
    if request.source.get("endpoint"):
        header["destination"] = [{"endpoint": request.source["endpoint"]}]
    return {
        "resourceType": "Bundle", "id": f"{rid}-response-bundle", "type": "message",
        "timestamp": now.isoformat(timespec="seconds"),
        "entry": [
            {"fullUrl": f"{base}/MessageHeader/{header['id']}", "resource": header},
            {"fullUrl": f"{base}/ClaimResponse/{response_id}", "resource": claim_response},
            {"fullUrl": f"{base}/{request.patient_ref}", "resource": request.patient},
            *entries_extra,
        ],
    }


def estimate_error(exc: EstimateError) -> RtpbcError:
    """An estimate that cannot be made, as an RTPBC error."""
    code = "not-found" if exc.status == 404 else "processing"
    return RtpbcError(exc.status if exc.status in (400, 404, 409) else 400, code, str(exc),
                      exc.reject_code)


__all__ = ["RtpbcError", "RtpbcRequest", "estimate_error", "operation_outcome",
           "parse_request", "response_bundle"]
