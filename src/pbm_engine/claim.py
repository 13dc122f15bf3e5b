"""The claim request: an NCPDP D.0 B1/B2/B3 transaction as a frozen value object, and its parser.

Field names are snake_case; each is documented with its D.0 field ID, and the D.0 IDs themselves
(``"302-C2"``) are accepted as keys too.  Parsing never raises for bad input: every problem
becomes an :class:`Issue` carrying the NCPDP reject code of the field (the M/I codes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any

from pbm_engine.codes import Channel, Reject, Transaction
from pbm_engine.money import QTY_SCALE, Cents, fixed_point, fmt, fmt_scaled
from pbm_engine.ndc import NdcError, normalize

__all__ = [
    "FIELDS",
    "MAX_MONEY",
    "MAX_QUANTITY",
    "Claim",
    "ClaimKey",
    "DurOverride",
    "Issue",
    "ParsedRequest",
    "echo_text",
    "parse_claim",
    "show",
]

# name -> (D.0 field id, reject code when missing or invalid)
FIELDS: dict[str, tuple[str, str]] = {
    "transaction_code": ("103-A3", Reject.MI_TRANSACTION_CODE),
    "bin": ("101-A1", Reject.SYNTAX_ERROR),
    "pcn": ("104-A4", Reject.SYNTAX_ERROR),
    "group_id": ("301-C1", Reject.SYNTAX_ERROR),
    "cardholder_id": ("302-C2", Reject.MI_CARDHOLDER_ID),
    "person_code": ("303-C3", Reject.MI_PERSON_CODE),
    "date_of_birth": ("304-C4", Reject.MI_DATE_OF_BIRTH),
    "gender": ("305-C5", Reject.MI_GENDER),
    "pharmacy_id": ("201-B1", Reject.MI_PHARMACY_ID),
    "date_of_service": ("401-D1", Reject.MI_DATE_OF_SERVICE),
    "rx_number": ("402-D2", Reject.MI_RX_NUMBER),
    "fill_number": ("403-D3", Reject.MI_FILL_NUMBER),
    "ndc": ("407-D7", Reject.MI_PRODUCT_ID),
    "quantity": ("442-E7", Reject.MI_QUANTITY),
    "days_supply": ("405-D5", Reject.MI_DAYS_SUPPLY),
    "daw": ("408-D8", Reject.MI_DAW),
    "ingredient_cost": ("409-D9", Reject.MI_INGREDIENT_COST),
    "dispensing_fee": ("412-DC", Reject.MI_DISPENSING_FEE),
    "usual_and_customary": ("426-DQ", Reject.MI_USUAL_AND_CUSTOMARY),
    "gross_amount_due": ("430-DU", Reject.MI_GROSS_AMOUNT_DUE),
    "channel": ("147-U7", Reject.SYNTAX_ERROR),
    "prescriber_id": ("411-DB", Reject.MI_PRESCRIBER_ID),
    "pa_number": ("462-EV", Reject.MI_PA_NUMBER),
    "other_payer_amount": ("431-DV", Reject.MI_OTHER_PAYER_AMOUNT),
    "other_coverage_code": ("308-C8", Reject.MI_OTHER_COVERAGE_CODE),
    "clarification_codes": ("420-DK", Reject.MI_SUBMISSION_CLARIFICATION),
    "dur_overrides": ("473-7E", Reject.DUR_REJECT),
}
"""Request field -> (NCPDP field id, the M/I reject code a bad value gets)."""
_BY_FIELD_ID = {fid: name for name, (fid, _) in FIELDS.items()}
_BY_FIELD_ID.update({fid.split("-")[1]: name for name, (fid, _) in FIELDS.items()})

# Bounds from the D.0 field formats, enforced before any arithmetic (out of range is the
# field's M/I reject).  Amounts are s9(6)v99; quantity 442-E7 is 9(7)v999; days supply 405-D5
# is 9(3); fill number 403-D3 is 0-99; text fields have the widths given to ``_Reader.text``.
MAX_QUANTITY = 9_999_999_999  # 9999999.999 in thousandths, the width of 442-E7
"""Largest quantity 442-E7 carries: 9,999,999.999 in thousandths."""
MAX_MONEY = 99_999_999
"""Largest amount a money field carries: 999,999.99 in cents (s9(6)v99: 409-D9, 412-DC, 426-DQ,
430-DU, 431-DV)."""
MAX_NUMBER_TEXT = 16  # longer numeric text is refused before it is converted
MIN_DATE_OF_SERVICE = dt.date(1980, 1, 1)
MAX_DATE = dt.date(2099, 12, 31)
MIN_DATE_OF_BIRTH = dt.date(1850, 1, 1)
_DATE_RANGES = {"date_of_service": (MIN_DATE_OF_SERVICE, MAX_DATE),
                "date_of_birth": (MIN_DATE_OF_BIRTH, MAX_DATE)}
"""Dates outside these ranges cannot be a date of service (or birth): an M/I reject."""


def echo_text(value: object, width: int = 40) -> str:
    """Request text made safe to echo in a response: printable ASCII only (anything else
    shown as a backslash escape), at most ``width`` characters.  Never raises."""
    if value is None:
        return ""
    if type(value) is str:
        text = value
    elif type(value) is int:
        text = str(value) if -(10**width) < value < 10**width else "?"
    else:
        return ""
    if not (text.isascii() and text.isprintable()):
        text = text[: width * 2].encode("ascii", "backslashreplace").decode("ascii")
        text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return text[:width]


def show(value: object) -> str:
    """A submitted value as a short, safe phrase for a message (never its whole text)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if type(value) is str:
        return repr(echo_text(value, 24) + ("..." if len(value) > 24 else ""))
    if type(value) is int:
        return str(value) if -(10**18) < value < 10**18 else "a number that long"
    if type(value) is float:
        return repr(value)
    return f"a {type(value).__name__}"


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem with one request field: the reject code, the field, and a readable message."""

    code: str
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class DurOverride:
    """A DUR/PPS triple submitted to override a soft DUR reject (439-E4, 440-E5, 441-E6)."""

    reason: str
    professional: str
    result: str


@dataclass(frozen=True, slots=True)
class ClaimKey:
    """What identifies one dispensing event: pharmacy, Rx number, fill number, date of service."""

    pharmacy_id: str
    rx_number: str
    fill_number: int
    date_of_service: dt.date


@dataclass(slots=True)
class Claim:
    """A validated claim.  Money is integer cents, quantity thousandths of a unit.

    Attributes (D.0 field IDs in brackets): ``transaction`` [103-A3]; ``cardholder_id`` [302-C2];
    ``person_code`` [303-C3, three digits]; ``date_of_birth`` [304-C4]; ``gender`` [305-C5:
    0 unknown, 1 male, 2 female]; ``date_of_service`` [401-D1]; ``rx_number`` [402-D2];
    ``fill_number`` [403-D3]; ``ndc`` [407-D7, 11 digits]; ``quantity`` [442-E7];
    ``days_supply`` [405-D5]; ``daw`` [408-D8]; ``ingredient_cost`` [409-D9];
    ``dispensing_fee`` [412-DC]; ``usual_and_customary`` [426-DQ]; ``gross_amount_due``
    [430-DU]; ``pharmacy_id`` [201-B1]; ``channel`` [147-U7]; ``prescriber_id`` [411-DB];
    ``pa_number`` [462-EV]; ``other_payer_amount`` [431-DV, the coupon]; ``other_coverage_code``
    [308-C8]; ``clarification_codes`` [420-DK]; ``dur_overrides`` [439-E4/440-E5/441-E6];
    ``group_id`` [301-C1].

    Treat a claim as immutable (``dataclasses.replace`` for changed copies); like
    :class:`~pbm_engine.result.ClaimResult` it is not declared ``frozen`` because frozen
    initialisation costs microseconds per claim on the hot path.
    """

    transaction: Transaction
    cardholder_id: str
    person_code: str
    date_of_birth: dt.date | None
    gender: int
    date_of_service: dt.date
    rx_number: str
    fill_number: int
    ndc: str
    quantity: int
    days_supply: int
    daw: int
    ingredient_cost: Cents | None
    dispensing_fee: Cents
    usual_and_customary: Cents | None
    gross_amount_due: Cents | None
    pharmacy_id: str
    channel: Channel
    prescriber_id: str | None = None
    pa_number: str | None = None
    other_payer_amount: Cents = 0
    other_coverage_code: int | None = None
    clarification_codes: tuple[int, ...] = ()
    dur_overrides: tuple[DurOverride, ...] = ()
    group_id: str | None = None

    @property
    def key(self) -> ClaimKey:
        return ClaimKey(self.pharmacy_id, self.rx_number, self.fill_number, self.date_of_service)

    def to_dict(self) -> dict[str, Any]:
        """The claim as JSON-ready data (money and quantities as strings)."""
        out: dict[str, Any] = {
            "transaction_code": self.transaction.value,
            "cardholder_id": self.cardholder_id,
            "person_code": self.person_code,
            "date_of_birth": self.date_of_birth.isoformat() if self.date_of_birth else None,
            "gender": self.gender,
            "date_of_service": self.date_of_service.isoformat(),
            "rx_number": self.rx_number,
            "fill_number": self.fill_number,
            "ndc": self.ndc,
            "quantity": fmt_scaled(self.quantity, QTY_SCALE),
            "days_supply": self.days_supply,
            "daw": self.daw,
            "ingredient_cost": _opt_fmt(self.ingredient_cost),
            "dispensing_fee": fmt(self.dispensing_fee),
            "usual_and_customary": _opt_fmt(self.usual_and_customary),
            "gross_amount_due": _opt_fmt(self.gross_amount_due),
            "pharmacy_id": self.pharmacy_id,
            "channel": self.channel.value,
            "prescriber_id": self.prescriber_id,
            "pa_number": self.pa_number,
            "other_payer_amount": fmt(self.other_payer_amount),
            "other_coverage_code": self.other_coverage_code,
            "clarification_codes": list(self.clarification_codes),
            "dur_overrides": [
                {"reason": d.reason, "professional": d.professional, "result": d.result}
                for d in self.dur_overrides
            ],
            "group_id": self.group_id,
        }
        return out


def _opt_fmt(value: Cents | None) -> str | None:
    return None if value is None else fmt(value)


@dataclass(slots=True)
class ParsedRequest:
    """What the parser made of a request: the claim (when valid), issues, and raw identity.

    ``raw`` keeps the submitted identity fields (cardholder, Rx number ...) as text so that a
    rejected response can still echo them.
    """

    claim: Claim | None
    issues: list[Issue]
    raw: dict[str, Any]


class _Reader:
    """Field readers that record issues instead of raising."""

    __slots__ = ("data", "issues")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.issues: list[Issue] = []

    def fail(self, name: str, message: str) -> None:
        fid, code = FIELDS[name]
        self.issues.append(Issue(code, name, f"{name} ({fid}): {message}"))

    def text(self, name: str, *, required: bool = False, max_len: int = 40) -> str | None:
        value = self.data.get(name)
        if type(value) is str and 0 < len(value) <= max_len and not value[0].isspace() \
                and not value[-1].isspace() and value.isascii() and value.isprintable():
            return value  # fast path: already clean
        if value is None or value == "":
            if required:
                self.fail(name, "missing")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.fail(name, f"must be text, got {type(value).__name__}")
            return None
        if isinstance(value, int) and not -(10**max_len) < value < 10**max_len:
            self.fail(name, f"longer than {max_len} characters")
            return None
        text = str(value).strip()
        if not text or len(text) > max_len:
            self.fail(name, "empty" if not text else f"longer than {max_len} characters")
            return None
        if not (text.isascii() and text.isprintable()):
            self.fail(name, f"{show(text)} has characters other than printable ASCII")
            return None
        return text

    def integer(
        self, name: str, *, required: bool = False, default: int | None = None, lo: int = 0,
        hi: int = 10**9,
    ) -> int | None:
        value = self.data.get(name)
        if type(value) is int and lo <= value <= hi:
            return value  # fast path
        if value is None or value == "":
            if required:
                self.fail(name, "missing")
            return default
        if isinstance(value, bool):
            self.fail(name, "must be a whole number")
            return default
        number = int(value) if isinstance(value, int) else _whole_number(value)
        if number is None:
            self.fail(name, f"{show(value)} is not a whole number")
            return default
        if not lo <= number <= hi:
            self.fail(name, f"{show(number)} is outside {lo}..{hi}")
            return default
        return number

    def amount(self, name: str, places: int, hi: int, *, required: bool = False
               ) -> int | None:
        """A number of ``10**-places`` units in ``0..hi``; the field's M/I issue otherwise."""
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.fail(name, "missing")
            return None
        if isinstance(value, bool):
            self.fail(name, "must be a number as text, e.g. \"12.34\"")
            return None
        if type(value) is int:
            units = value * 10**places if -(10**16) < value < 10**16 else None
        elif type(value) is str or type(value) is float:
            try:
                units = fixed_point(value if type(value) is str else repr(value), places,
                                    max_len=MAX_NUMBER_TEXT)
            except ValueError as exc:
                self.fail(name, str(exc))
                return None
        else:
            self.fail(name, f"must be a number as text, got {type(value).__name__}")
            return None
        if units is None or units > hi:
            self.fail(name, f"more than the field allows ({fmt_scaled(hi, 10**places)})")
            return None
        if units < 0:
            self.fail(name, "must not be negative")
            return None
        return units

    def money(self, name: str, *, required: bool = False) -> Cents | None:
        return self.amount(name, 2, MAX_MONEY, required=required)

    def date(self, name: str, *, required: bool = False) -> dt.date | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.fail(name, "missing")
            return None
        day = _date(value)
        if day is None:
            self.fail(name, f"{show(value)} is not a date (YYYY-MM-DD or CCYYMMDD)")
            return None
        lo, hi = _DATE_RANGES[name]
        if not lo <= day <= hi:
            self.fail(name, f"{day.isoformat()} is outside {lo.isoformat()}..{hi.isoformat()}")
            return None
        return day


def _whole_number(value: object) -> int | None:
    """Plain whole-number text ("30", " 7", "-1") as an int; None for anything else."""
    if type(value) is not str:
        return None
    text = value.strip()
    digits = text[1:] if text[:1] in ("-", "+") else text
    if not (0 < len(digits) <= 18 and digits.isascii() and digits.isdigit()):
        return None
    return int(text)


def _date(value: object) -> dt.date | None:
    """An ISO or CCYYMMDD date (text, number or date object); None when it is not one."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if type(value) is int:
        value = str(value) if 0 < value < 10**8 else ""
    if type(value) is not str:
        return None
    text = value.strip()
    try:
        if len(text) == 8 and text.isascii() and text.isdigit():  # D.0 CCYYMMDD
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if len(text) == 10 and text.isascii() and text[4] == "-" and text[7] == "-":
            return dt.date.fromisoformat(text)
    except ValueError:
        return None
    return None


_TRANSACTIONS = {t.value: t for t in Transaction}
_GENDERS = {"0": 0, "1": 1, "2": 2, "U": 0, "M": 1, "F": 2}
_CHANNELS = {c.value: c for c in Channel} | {"01": Channel.RETAIL, "05": Channel.MAIL,
                                             "06": Channel.SPECIALTY}


def _canonical_keys(data: Mapping[str, Any]) -> Mapping[str, Any]:
    if FIELDS.keys() >= data.keys() or not (_BY_FIELD_ID.keys() & data.keys()):
        return data
    return {_BY_FIELD_ID.get(k, k): v for k, v in data.items()}


def parse_claim(
    data: Mapping[str, Any], known_ndcs: Container[str] | None = None
) -> ParsedRequest:
    """Validate a request mapping into a :class:`Claim`; problems become M/I issues."""
    if not isinstance(data, Mapping):
        issue = Issue(Reject.SYNTAX_ERROR, "", f"request must be a JSON object, got "
                      f"{type(data).__name__}")
        return ParsedRequest(None, [issue], {})
    data = _canonical_keys(data)
    claim = _fast_claim(data, known_ndcs)
    if claim is not None:
        return ParsedRequest(claim, [], {})
    return _parse_fields(data, known_ndcs)


def _parse_fields(data: Mapping[str, Any], known_ndcs: Container[str] | None) -> ParsedRequest:
    """The full field-by-field reader: every problem becomes an issue with its M/I code."""
    r = _Reader(data)

    tx_text = r.text("transaction_code") or "B1"
    transaction = _TRANSACTIONS.get(tx_text.upper())
    if transaction is None:
        r.fail("transaction_code", f"{tx_text!r} is not B1, B2 or B3")
        transaction = Transaction.BILLING

    cardholder = r.text("cardholder_id", required=True, max_len=20)
    person = r.text("person_code", max_len=3) or "001"
    if not person.isdigit():
        r.fail("person_code", f"{person!r} is not numeric")
    person = person.zfill(3)
    dob = r.date("date_of_birth")
    gender_raw = data.get("gender")
    gender = 0
    if gender_raw is not None and gender_raw != "":
        gender_code = _GENDERS.get(gender_raw.strip().upper()) if type(gender_raw) is str \
            else _GENDERS.get(str(gender_raw)) if type(gender_raw) is int else None
        if gender_code is None:
            r.fail("gender", f"{show(gender_raw)} is not 0/1/2 or U/M/F")
        else:
            gender = gender_code
    dos = r.date("date_of_service", required=True)
    if dos is not None and dob is not None and dob > dos:
        r.fail("date_of_birth", "after the date of service")
    rx_number = r.text("rx_number", required=True, max_len=12)
    fill = r.integer("fill_number", default=0, hi=99)
    ndc_text = r.text("ndc", required=transaction != Transaction.REVERSAL, max_len=14)
    ndc = "" if transaction == Transaction.REVERSAL else None
    if ndc_text is not None:
        try:
            ndc = normalize(ndc_text, known_ndcs)
        except NdcError as exc:
            r.fail("ndc", str(exc))
    quantity = r.amount("quantity", 3, MAX_QUANTITY,
                        required=transaction != Transaction.REVERSAL)
    if quantity == 0:
        r.fail("quantity", "must be greater than zero")
        quantity = None
    days = r.integer("days_supply", required=transaction != Transaction.REVERSAL, hi=999)
    if days == 0:
        r.fail("days_supply", "must be at least 1")
    daw_value = r.integer("daw", default=0, hi=10**6)
    if daw_value is not None and not 0 <= daw_value <= 9:
        r.fail("daw", f"{daw_value} is not a DAW code 0-9")
    ingredient = r.money("ingredient_cost")
    fee = r.money("dispensing_fee")
    uc = r.money("usual_and_customary")
    gad = r.money("gross_amount_due")
    pharmacy = r.text("pharmacy_id", required=True, max_len=15)
    channel_text = (r.text("channel") or "retail").lower()
    channel = _CHANNELS.get(channel_text)
    if channel is None:
        r.fail("channel", f"{channel_text!r} is not retail, mail or specialty")
        channel = Channel.RETAIL
    prescriber = r.text("prescriber_id", max_len=15)
    pa_number = r.text("pa_number", max_len=11)
    coupon = r.money("other_payer_amount")
    occ = r.integer("other_coverage_code", hi=9)
    sccs = _int_list(r, "clarification_codes", 99)
    durs = _dur_list(r)
    group_id = r.text("group_id", max_len=15)

    if r.issues:
        return ParsedRequest(None, r.issues, _echo(data))
    assert cardholder and dos and rx_number and ndc is not None and pharmacy
    claim = Claim(
        transaction=transaction,
        cardholder_id=cardholder,
        person_code=person,
        date_of_birth=dob,
        gender=gender,
        date_of_service=dos,
        rx_number=rx_number,
        fill_number=fill or 0,
        ndc=ndc,
        quantity=quantity or 0,
        days_supply=days or 0,
        daw=daw_value or 0,
        ingredient_cost=ingredient,
        dispensing_fee=fee or 0,
        usual_and_customary=uc,
        gross_amount_due=gad,
        pharmacy_id=pharmacy,
        channel=channel,
        prescriber_id=prescriber,
        pa_number=pa_number,
        other_payer_amount=coupon or 0,
        other_coverage_code=occ,
        clarification_codes=sccs,
        dur_overrides=durs,
        group_id=group_id,
    )
    return ParsedRequest(claim, [], {})


_ECHO_WIDTHS = (("cardholder_id", 20), ("person_code", 3), ("rx_number", 12),
                ("pharmacy_id", 15), ("ndc", 19))


def _echo(data: Mapping[str, Any]) -> dict[str, Any]:
    """The identity fields of a rejected request, sanitized for the response."""
    raw: dict[str, Any] = {k: echo_text(data.get(k), width) for k, width in _ECHO_WIDTHS}
    fill = data.get("fill_number")
    raw["fill_number"] = fill if type(fill) is int and 0 <= fill <= 99 else 0
    return raw


_FAST_TEXT = (("cardholder_id", 20), ("rx_number", 12), ("pharmacy_id", 15))
_FAST_OPTIONAL_TEXT = (("prescriber_id", 15), ("pa_number", 11), ("group_id", 15))
_FAST_MONEY = ("ingredient_cost", "usual_and_customary", "gross_amount_due")
_SLOW_ONLY = frozenset({"clarification_codes", "dur_overrides", "other_coverage_code",
                        "date_of_birth", "bin", "pcn"})


def _clean(value: object, max_len: int) -> bool:
    return (type(value) is str and 0 < len(value) <= max_len
            and not value[0].isspace() and not value[-1].isspace()
            and value.isascii() and value.isprintable())


def _plain_amount(value: object, scale: int, hi: int) -> int | None:
    """A short plain non-negative decimal string ("12.34") in ``0..hi`` scaled units, else
    None (the full reader decides)."""
    if type(value) is not str or len(value) > 12:
        return None
    whole, _dot, frac = value.partition(".")
    places = len(str(scale)) - 1
    if (whole.isascii() and whole.isdigit() and len(frac) <= places
            and (not frac or (frac.isascii() and frac.isdigit()))):
        units = int(whole) * scale + (int(frac) * 10 ** (places - len(frac)) if frac else 0)
        return units if units <= hi else None
    return None


def _fast_claim(data: Mapping[str, Any], known_ndcs: Container[str] | None) -> Claim | None:
    """The common, entirely clean B1 in straight-line code; None sends it to the full reader.

    It accepts only what the full reader accepts unchanged (a Hypothesis test checks that both
    give the same claim), so it never decides a reject: anything unusual takes the slow path.
    """
    get = data.get
    tx = get("transaction_code", "B1")
    if (tx != "B1" and tx != "B3") or not _SLOW_ONLY.isdisjoint(data.keys()):
        return None
    for name, max_len in _FAST_TEXT:
        if not _clean(get(name), max_len):
            return None
    for name, max_len in _FAST_OPTIONAL_TEXT:
        value = get(name)
        if value is not None and not _clean(value, max_len):
            return None
    person = get("person_code", "001")
    if not (_clean(person, 3) and person.isascii() and person.isdigit()):
        return None
    gender = _GENDERS.get(get("gender", "0")) if type(get("gender", "0")) is str else None
    if gender is None:
        return None
    dos_text = get("date_of_service")
    if type(dos_text) is not str or len(dos_text) != 10:
        return None
    try:
        dos = dt.date.fromisoformat(dos_text)
    except ValueError:
        return None
    if not (MIN_DATE_OF_SERVICE <= dos <= MAX_DATE and dos_text[4] == dos_text[7] == "-"
            and dos_text.isascii()):
        return None
    fill = get("fill_number", 0)
    days = get("days_supply")
    daw = get("daw", 0)
    if not (type(fill) is int and 0 <= fill <= 99 and type(days) is int and 1 <= days <= 999
            and type(daw) is int and 0 <= daw <= 9):
        return None
    ndc = get("ndc")
    if not (type(ndc) is str and len(ndc) == 11 and ndc.isascii() and ndc.isdigit()):
        return None
    quantity = _plain_amount(get("quantity"), QTY_SCALE, MAX_QUANTITY)
    if quantity is None or not 0 < quantity <= MAX_QUANTITY:
        return None
    money: list[int | None] = []
    for name in _FAST_MONEY:
        value = get(name)
        cents = None if value is None else _plain_amount(value, 100, MAX_MONEY)
        if value is not None and cents is None:
            return None
        money.append(cents)
    fee_text, coupon_text = get("dispensing_fee"), get("other_payer_amount")
    fee = 0 if fee_text is None else _plain_amount(fee_text, 100, MAX_MONEY)
    coupon = 0 if coupon_text is None else _plain_amount(coupon_text, 100, MAX_MONEY)
    channel_text = get("channel", "retail")
    channel = _CHANNELS.get(channel_text) if type(channel_text) is str else None
    if fee is None or coupon is None or channel is None:
        return None
    return Claim(
        transaction=_TRANSACTIONS[tx],
        cardholder_id=data["cardholder_id"],
        person_code=person.zfill(3),
        date_of_birth=None,
        gender=gender,
        date_of_service=dos,
        rx_number=data["rx_number"],
        fill_number=fill,
        ndc=ndc,
        quantity=quantity,
        days_supply=days,
        daw=daw,
        ingredient_cost=money[0],
        dispensing_fee=fee,
        usual_and_customary=money[1],
        gross_amount_due=money[2],
        pharmacy_id=data["pharmacy_id"],
        channel=channel,
        prescriber_id=get("prescriber_id"),
        pa_number=get("pa_number"),
        other_payer_amount=coupon,
        group_id=get("group_id"),
    )


MAX_CLARIFICATION_CODES = 3  # 354-NX: up to three 420-DK codes
MAX_DUR_OVERRIDES = 9  # 473-7E: up to nine DUR/PPS occurrences


def _int_list(r: _Reader, name: str, hi: int) -> tuple[int, ...]:
    value = r.data.get(name)
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list | tuple) else [value]
    if len(items) > MAX_CLARIFICATION_CODES:
        r.fail(name, f"more than {MAX_CLARIFICATION_CODES} codes")
        return ()
    out = []
    for item in items:
        number = item if type(item) is int else _whole_number(item)
        if number is None:
            r.fail(name, f"{show(item)} is not a code number")
            continue
        if not 0 <= number <= hi:
            r.fail(name, f"{show(number)} is outside 0..{hi}")
            continue
        out.append(number)
    return tuple(out)


def _dur_code(value: object) -> bool:
    return (type(value) is str and 0 < len(value) <= 2
            and value.isascii() and value.isprintable())


def _dur_list(r: _Reader) -> tuple[DurOverride, ...]:
    value = r.data.get("dur_overrides")
    if not value:
        return ()
    if not isinstance(value, list | tuple) or len(value) > MAX_DUR_OVERRIDES:
        r.fail("dur_overrides", f"must be a list of at most {MAX_DUR_OVERRIDES} "
               "{reason, professional, result}")
        return ()
    out = []
    for item in value:
        if not isinstance(item, Mapping) or not all(
            _dur_code(item.get(k)) for k in ("reason", "professional", "result")
        ):
            r.fail("dur_overrides", f"{show(item)} needs reason, professional and result "
                   "codes (two characters each)")
            continue
        out.append(DurOverride(item["reason"], item["professional"], item["result"]))
    return tuple(out)
