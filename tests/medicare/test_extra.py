"""``ClaimResult.extra`` of a paid Part D claim is formatted lazily; it must read, compare and
serialize exactly like the plain dict of dollar strings it replaces."""

from __future__ import annotations

import json
from typing import Any

import orjson

from pbm_engine.cli.partd import sample_partd_book_path, sample_partd_claims_path
from pbm_engine.engine import Engine
from pbm_engine.money import fmt
from pbm_engine.processor import Processor
from pbm_engine.sources.loader import load_book
from pbm_engine.store.codec import result_from_dict, result_to_dict
from pbm_engine.store.memory import MemoryStore


def _eager(extra: Any) -> dict[str, Any]:
    """The dict ``_paid`` used to build, from the same phase result (verbatim formatting)."""
    split, lis = extra._split, extra._lis
    return {
        "part_d_plan_year": extra._year,
        "benefit_phase_before": split.beginning_phase.value,
        "benefit_phase_after": split.ending_phase.value,
        "phase_portions": [{"phase": p.phase.value, "gross": fmt(p.gross),
                            "cost_share": fmt(p.cost_share), "discount": fmt(p.discount)}
                           for p in split.portions],
        "troop_before": fmt(split.troop_before),
        "troop_after": fmt(split.troop_after),
        "gross_drug_cost_before": fmt(split.gross_before),
        "gross_drug_cost_after": fmt(split.gross_after),
        "lis_level": lis.value if lis else None,
        "lics": fmt(split.lics),
        "manufacturer_discount": fmt(split.manufacturer_discount),
        "covered_plan_paid": fmt(split.covered_plan_paid),
        "amount_paid_to_pharmacy": fmt(split.gross_drug_cost - extra._enrollee),
        "catastrophic_coverage_code": split.catastrophic_code.value,
    }


def test_lazy_extra_reads_and_serializes_like_the_eager_dict() -> None:
    processor = Processor(Engine(load_book(sample_partd_book_path())), MemoryStore())
    lines = sample_partd_claims_path().read_text(encoding="utf-8").splitlines()
    paid = 0
    for line in lines:
        if not line.strip():
            continue
        result = processor.submit(json.loads(line))
        if not result.paid:
            continue
        paid += 1
        extra = result.extra
        assert extra is not None
        eager = _eager(extra)
        assert list(extra) == list(eager)  # same keys in the same order
        assert dict(extra) == eager and extra == eager and eager == extra
        assert len(extra) == len(eager) and bool(extra)
        assert all(extra[k] == v and extra.get(k) == v and k in extra for k, v in eager.items())
        assert "no_such_key" not in extra and extra.get("no_such_key") is None
        assert repr(extra) == repr(eager)
        # to_dict (and the stored form) put exactly the eager values in the response.
        out = result.to_dict()
        assert {k: out[k] for k in eager} == eager
        assert orjson.dumps(out) == orjson.dumps(result.to_dict())
        back = result_from_dict(orjson.loads(orjson.dumps(result_to_dict(result))))
        assert back.extra == eager
    assert paid > 10
