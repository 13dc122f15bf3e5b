"""IVR text: a cost estimate as short plain sentences to read aloud.

Amounts are said as "12 dollars and 50 cents" (``words=True``: "twelve dollars and fifty
cents"), dates as "March 21, 2026", and product names with their abbreviations spelled out
("5 milligram nasal spray").  Each sentence stands alone so a phone system can pause between
them or stop after the first.
"""

from __future__ import annotations

import datetime as dt
import re

from pbm_engine.money import Cents
from pbm_engine.portal.estimate import PHASE_NAMES, ChannelEstimate, CostEstimate

_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((1_000_000_000, "billion"), (1_000_000, "million"), (1_000, "thousand"))
_CHANNELS = {"retail": "At a retail pharmacy", "mail": "By mail order",
             "specialty": "From the specialty pharmacy"}
_ABBREVIATIONS = {
    "MG": "milligram", "MCG": "microgram", "ML": "milliliter", "G": "gram", "MEQ":
    "milliequivalent", "ODT": "orally disintegrating tablet", "ER": "extended release",
    "XR": "extended release", "DR": "delayed release", "HCL": "", "TAB": "tablet",
    "CAP": "capsule", "SYR": "syringe", "VL": "vial", "EFF": "effervescent", "SOLN": "solution",
    "SUSP": "suspension", "INJ": "injection",
}


def number_words(n: int) -> str:
    """A non-negative integer in English words ("three hundred forty-two")."""
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")
    for size, name in _SCALES:
        if n >= size:
            high, rest = divmod(n, size)
            return f"{number_words(high)} {name}" + (f" {number_words(rest)}" if rest else "")
    raise AssertionError("unreachable")


def say_money(cents: Cents, *, words: bool = False) -> str:
    """An amount for speech: "12 dollars and 50 cents", "no cost" for zero."""
    if cents == 0:
        return "nothing"
    dollars, rest = divmod(abs(cents), 100)

    def unit(n: int, one: str, many: str) -> str:
        count = number_words(n) if words else f"{n:,}"
        return f"{count} {one if n == 1 else many}"

    parts = []
    if dollars:
        parts.append(unit(dollars, "dollar", "dollars"))
    if rest:
        parts.append(unit(rest, "cent", "cents"))
    return " and ".join(parts)


def say_date(day: dt.date) -> str:
    """A date as it is spoken (March 5, 2026)."""
    return f"{day:%B} {day.day}, {day.year}"


def say_drug(name: str) -> str:
    """A product name for speech: abbreviations spelled out, lower case."""
    out = []
    for word in re.sub(r"(\d)([A-Z])", r"\1 \2", name.upper()).split():
        spoken = _ABBREVIATIONS.get(word, word.lower())
        if spoken:
            out.append(spoken)
    return " ".join(out)


def ivr_sentences(estimate: CostEstimate, *, words: bool = False) -> list[str]:
    """Sentences answering "what will this cost me?" for a phone system."""
    drug = say_drug(estimate.drug_name)
    out: list[str] = []
    for ch in estimate.channels:
        out.extend(_channel_sentences(ch, drug, words))
    for alt in estimate.alternatives:
        e = alt.estimate
        if alt.kind == "mail":
            text = (f"You could save by mail order: {say_money(e.member_pays, words=words)} "
                    f"for a {e.days_supply}-day supply")
        else:
            label = "The generic" if alt.kind == "generic" else "A lower-cost option"
            text = (f"{label}, {say_drug(e.drug_name)}, would cost you "
                    f"{say_money(e.member_pays, words=words)} for {e.days_supply} days")
        if alt.saving_per_year:
            text += f", about {say_money(alt.saving_per_year, words=words)} less a year"
        out.append(text + ".")
    if estimate.alternatives:
        out.append("Ask your doctor before you change medicines.")
    return out


def _channel_sentences(ch: ChannelEstimate, drug: str, words: bool) -> list[str]:
    where = _CHANNELS[ch.channel.value]
    if not ch.covered:
        first = f"{where}, {drug} is not covered as asked."
        return [first, *(c.text for c in ch.conditions if c.blocking)]
    out = [f"{where}, a {ch.days_supply}-day supply of {drug} costs you "
           f"{say_money(ch.member_pays, words=words)}."]
    if ch.deductible_applied:
        out.append(f"That includes {say_money(ch.deductible_applied, words=words)} toward your "
                   "deductible.")
    if ch.deductible_left is not None and ch.deductible_left > 0:
        out.append(f"After this fill, {say_money(ch.deductible_left, words=words)} of your "
                   "deductible is left.")
    if ch.phase is not None and ch.phase.before != ch.phase.after:
        out.append(f"This fill moves you from the {_phase(ch.phase.before)} stage to the "
                   f"{_phase(ch.phase.after)} stage.")
    out.extend(c.text for c in ch.conditions)
    return out


def _phase(code: str) -> str:
    return PHASE_NAMES.get(code, code)


__all__ = ["ivr_sentences", "number_words", "say_date", "say_drug", "say_money"]
