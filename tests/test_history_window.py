"""The once-per-claim history window answers every read exactly as the view it wraps, and reads
that view at most once for reads inside the window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from pbm_engine.accumulators import Fill, HistoryWindow, StaticHistory

BASE = dt.date(2026, 1, 1)
fills = st.lists(st.builds(
    Fill, member_id=st.sampled_from(["A", "B"]),
    date_of_service=st.integers(-500, 30).map(lambda d: BASE + dt.timedelta(days=d)),
    ndc=st.just("00000000001"), therapy_key=st.sampled_from(["X", "Y"]),
    groups=st.just(frozenset()), quantity=st.integers(1, 100), days_supply=st.integers(1, 90)),
    max_size=40)
windows = st.tuples(st.integers(-500, 30), st.integers(-500, 30)).map(
    lambda p: (BASE + dt.timedelta(days=min(p)), BASE + dt.timedelta(days=max(p))))


class Counting:
    def __init__(self, view: StaticHistory) -> None:
        self.view = view
        self.reads = 0

    def fills(self, member_id: str, start: dt.date, end: dt.date) -> Iterable[Fill]:
        self.reads += 1
        return self.view.fills(member_id, start, end)


@settings(max_examples=150)
@given(fills, windows, st.lists(st.tuples(st.sampled_from(["A", "B"]), windows), max_size=6))
def test_the_window_answers_like_the_view(items: list[Fill], window: tuple[dt.date, dt.date],
                                          reads: list[tuple[str, tuple[dt.date, dt.date]]]
                                          ) -> None:
    view = StaticHistory(tuple(items))
    counting = Counting(view)
    shared = HistoryWindow(counting, "A", *window)
    inside = 0
    for member, (start, end) in reads:
        assert list(shared.fills(member, start, end)) == list(view.fills(member, start, end))
        inside += member == "A" and window[0] <= start and end <= window[1]
    outside = len(reads) - inside
    assert counting.reads == outside + (1 if inside else 0)
