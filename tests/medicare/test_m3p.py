"""Medicare Prescription Payment Plan: hand-computed schedules and the exact-sum property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbm_engine.medicare import m3p_schedule


def test_january_election_one_big_fill() -> None:
    # $2,000 of OOP in January, threshold $2,000.  Each bill is (balance) / months left,
    # rounded half-up, the exact remainder carried:
    # 2000/12 = 166.666.. -> 166.67, 1833.33/11 -> 166.67, 1666.66/10 -> 166.67 (166.666),
    # 1499.99/9 = 166.6655.. -> 166.67, 1333.32/8 = 166.665 -> 166.67, 1166.65/7 = 166.664..
    # -> 166.66, 999.99/6 = 166.665 -> 166.67, 833.32/5 = 166.664 -> 166.66, 666.66/4 =
    # 166.665 -> 166.67, 499.99/3 = 166.663.. -> 166.66, 333.33/2 = 166.665 -> 166.67,
    # December 166.66.
    s = m3p_schedule(1, 0, 200_000, [200_000] + [0] * 11)
    assert [m.bill for m in s.months] == [
        16_667, 16_667, 16_667, 16_667, 16_667, 16_666,
        16_667, 16_666, 16_667, 16_666, 16_667, 16_666,
    ]  # fmt: skip
    assert s.months[0].cap == 16_667
    assert s.months[-1].balance_after == 0
    assert s.total_billed == 200_000


def test_september_election_with_prior_troop() -> None:
    # TrOOP $600 before electing in September; OOP Sep 500, Nov 300.
    # Sep cap (2000 - 600)/4 = 350, bill min(500, 350) = 350, carry 150; Oct 150/3 = 50;
    # Nov (100 + 300)/2 = 200; Dec 200.
    oop = [0] * 12
    oop[8], oop[10] = 50_000, 30_000
    s = m3p_schedule(9, 60_000, 200_000, oop)
    assert [(m.month, m.cap, m.bill, m.balance_after) for m in s.months] == [
        (9, 35_000, 35_000, 15_000),
        (10, 5_000, 5_000, 10_000),
        (11, 20_000, 20_000, 20_000),
        (12, 20_000, 20_000, 0),
    ]


def test_first_month_bill_is_lesser_of_oop_and_cap() -> None:
    # Small OOP in the election month: bill it in full, nothing carried.
    s = m3p_schedule(3, 0, 200_000, [0, 0, 4_000] + [0] * 9)
    assert (s.months[0].cap, s.months[0].bill, s.months[0].balance_after) == (20_000, 4_000, 0)


def test_oop_counts_only_up_to_threshold() -> None:
    # Jan 1,500 and Feb 1,500 against a 2,000 threshold: February contributes 500.
    s = m3p_schedule(1, 0, 200_000, [150_000, 150_000] + [0] * 10)
    assert [m.oop_incurred for m in s.months[:3]] == [150_000, 50_000, 0]
    assert s.total_billed == 200_000


def test_december_election() -> None:
    s = m3p_schedule(12, 150_000, 200_000, [0] * 11 + [80_000])
    assert [(m.cap, m.bill, m.oop_incurred) for m in s.months] == [(50_000, 50_000, 50_000)]
    assert m3p_schedule(12, 150_000, 200_000, [80_000]) == s  # months from the election


@given(month=st.integers(1, 12), oop=st.lists(st.integers(0, 250_000), max_size=12))
def test_months_from_the_election_month(month: int, oop: list[int]) -> None:
    """Costs given from the election month (missing months $0) bill as the calendar year."""
    oop = oop[: 13 - month]
    calendar = [0] * (month - 1) + oop + [0] * (13 - month - len(oop))
    assert m3p_schedule(month, 10_000, 200_000, oop) == m3p_schedule(
        month, 10_000, 200_000, calendar)


@pytest.mark.parametrize(
    "args",
    [(0, 0, 1, [0] * 12), (13, 0, 1, [0] * 12), (3, 0, 1, [0] * 11), (1, -1, 1, [0] * 12),
     (5, 0, 1, [0, -1])],
)
def test_bad_arguments(args: tuple) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError):
        m3p_schedule(*args)


@given(
    month=st.integers(1, 12),
    threshold=st.integers(0, 300_000),
    before=st.integers(0, 300_000),
    oop=st.lists(st.integers(0, 250_000), min_size=12, max_size=12),
)
def test_bills_sum_exactly_to_oop_after_election(
    month: int, threshold: int, before: int, oop: list[int]
) -> None:
    s = m3p_schedule(month, before, threshold, oop)
    assert len(s.months) == 13 - month
    expected = min(sum(oop[month - 1 :]), max(0, threshold - before))
    assert s.total_oop == expected
    assert s.total_billed == expected
    assert s.months[-1].balance_after == 0
    assert all(m.bill >= 0 and m.balance_after >= 0 for m in s.months)
