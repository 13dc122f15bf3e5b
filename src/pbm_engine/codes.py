"""NCPDP code sets the engine reads and writes.

Values only; descriptions of reject codes come from the VA VistA public-domain table bundled in
``data/ncpdp/`` (see :func:`reject_description`), layered with a small project table for codes
newer than that list (``reject_codes_extra.csv``).
"""

from __future__ import annotations

import csv
import io
from enum import IntEnum, StrEnum
from functools import cache
from importlib import resources

__all__ = [
    "DAW",
    "Basis",
    "Channel",
    "Reject",
    "Status",
    "Transaction",
    "normalize_reject",
    "reject_description",
    "reject_table",
]


class Transaction(StrEnum):
    """103-A3 transaction code."""

    BILLING = "B1"
    REVERSAL = "B2"
    REBILL = "B3"


class Status(StrEnum):
    """112-AN transaction response status."""

    PAID = "P"
    DUPLICATE_OF_PAID = "D"
    REJECTED = "R"
    APPROVED = "A"  # reversal accepted
    DUPLICATE_OF_APPROVED = "S"  # repeated reversal


class Channel(StrEnum):
    """Network channel (147-U7 pharmacy service type, collapsed to what pricing needs)."""

    RETAIL = "retail"
    MAIL = "mail"
    SPECIALTY = "specialty"


class DAW(IntEnum):
    """408-D8 dispense as written / product selection code."""

    NO_SELECTION = 0
    PRESCRIBER_NO_SUBSTITUTION = 1
    PATIENT_REQUESTED_BRAND = 2
    PHARMACIST_SELECTED = 3
    GENERIC_NOT_IN_STOCK = 4
    BRAND_DISPENSED_AS_GENERIC = 5
    OVERRIDE = 6
    BRAND_MANDATED_BY_LAW = 7
    GENERIC_NOT_AVAILABLE = 8
    PLAN_REQUESTS_BRAND = 9


class Basis(StrEnum):
    """522-FM basis of reimbursement determination."""

    INGREDIENT_AS_SUBMITTED = "01"
    AWP_LESS_PERCENT = "03"
    USUAL_AND_CUSTOMARY = "04"
    MAC = "07"
    WAC = "13"
    NADAC = "20"


class Reject(StrEnum):
    """511-FB reject codes the engine emits (values from the NCPDP code list)."""

    MI_TRANSACTION_CODE = "03"
    MI_PHARMACY_ID = "05"
    MI_CARDHOLDER_ID = "07"
    MI_PERSON_CODE = "08"
    MI_DATE_OF_BIRTH = "09"
    MI_GENDER = "10"
    MI_OTHER_COVERAGE_CODE = "13"
    MI_DATE_OF_SERVICE = "15"
    MI_RX_NUMBER = "16"
    MI_FILL_NUMBER = "17"
    MI_DAYS_SUPPLY = "19"
    MI_PRODUCT_ID = "21"
    MI_DAW = "22"
    MI_INGREDIENT_COST = "23"
    MI_PRESCRIBER_ID = "25"
    MI_SUBMISSION_CLARIFICATION = "34"
    NON_MATCHED_CARDHOLDER = "52"
    NON_MATCHED_PERSON_CODE = "53"
    NON_MATCHED_PRODUCT = "54"
    NOT_COVERED_AGE = "60"
    NOT_COVERED_GENDER = "61"
    PATIENT_NOT_COVERED = "65"
    BEFORE_COVERAGE_EFFECTIVE = "67"
    AFTER_COVERAGE_EXPIRED = "68"
    AFTER_COVERAGE_TERMINATED = "69"
    NOT_COVERED = "70"
    PRIOR_AUTH_REQUIRED = "75"
    PLAN_LIMITATIONS_EXCEEDED = "76"
    COST_EXCEEDS_MAXIMUM = "78"
    REFILL_TOO_SOON = "79"
    CLAIM_TOO_OLD = "81"
    CLAIM_POST_DATED = "82"
    DUPLICATE_PAID = "83"
    CLAIM_NOT_PAID = "84"
    CLAIM_NOT_PROCESSED = "85"
    REVERSAL_NOT_PROCESSED = "87"
    DUR_REJECT = "88"
    SPECIALTY_PHARMACY_REQUIRED = "4W"
    DAYS_SUPPLY_EXCEEDS_LIMIT = "7X"
    GENERIC_REQUIRED = "AJ"
    MI_USUAL_AND_CUSTOMARY = "DQ"
    MI_GROSS_AMOUNT_DUE = "DU"
    MI_DISPENSING_FEE = "DC"
    MI_OTHER_PAYER_AMOUNT = "DV"
    MI_QUANTITY = "E7"
    MI_PA_NUMBER = "EV"
    NOT_ON_FORMULARY = "MR"
    SYNTAX_ERROR = "R8"
    GROSS_AMOUNT_DUE_FORMULA = "R9"
    DAW0_MULTISOURCE = "UU"
    STEP_THERAPY = "608"
    HOST_PROCESSING_ERROR = "99"
    # Medicare Part D
    NOT_COVERED_PART_D = "A5"


def normalize_reject(code: str) -> str:
    """Normalize a reject code: one-digit numeric codes gain a leading zero (``"7" -> "07"``)."""
    code = code.strip()
    return code.zfill(2) if code.isdigit() and len(code) == 1 else code


@cache
def reject_table() -> dict[str, str]:
    """All known reject codes and descriptions: the VistA list plus the project's newer codes."""
    table: dict[str, str] = {}
    root = resources.files("pbm_engine") / "data" / "ncpdp"
    for name in ("ncpdp_reject_codes.csv", "reject_codes_extra.csv"):
        text = (root / name).read_bytes().decode("utf-8")
        for row in csv.DictReader(io.StringIO(text, newline="")):
            # The VistA table prints NCPDP's slashed zero; normalize it for display.
            table.setdefault(row["code"], row["description"].replace("Ø", "0"))
    return table


def reject_description(code: str) -> str:
    """Description of a reject code, or ``"Unknown reject code"``."""
    return reject_table().get(normalize_reject(code), "Unknown reject code")
