"""``summary.md``: the run summary as a Markdown report, from the ``summary.json`` document."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = ["markdown"]

TOP = 20


def _rows(title: str, key_name: str, table: dict[str, dict[str, Any]], names: bool = False
          ) -> list[str]:
    if not table:
        return []
    ordered = sorted(table.items(), key=lambda kv: (
        -abs(Decimal(kv[1]["plan_pay_change"])) - abs(Decimal(kv[1]["patient_pay_change"])),
        -kv[1]["changed"], kv[0]))
    shown = ordered[:TOP]
    out = [f"## {title}", ""]
    if len(ordered) > TOP:
        out += [f"The {TOP} with the largest dollar changes of {len(ordered)}; every one is in "
                "summary.json.", ""]
    head = f"| {key_name} |" + (" name |" if names else "")
    out.append(head + " claims | changed | newly rejected | newly paid | plan pay change | "
               "patient pay change |")
    out.append("|---|" + ("---|" if names else "") + "---:|---:|---:|---:|---:|---:|")
    for key, b in shown:
        name = f" {b.get('name', '')} |" if names else ""
        out.append(f"| {key} |{name} {b['claims']} | {b['changed']} | {b['newly_rejected']} | "
                   f"{b['newly_paid']} | {b['plan_pay_change']} | {b['patient_pay_change']} |")
    return [*out, ""]


def markdown(doc: dict[str, Any]) -> str:
    """The report: counts, dollars, newly rejected by code, then by plan, tier and drug."""
    c, d = doc["claims"], doc["dollars"]
    lines = [
        "# Reprocessing summary", "",
        f"- Records read: {c['read']} ({c['unreadable']} unreadable, see the errors file)",
        f"- Claims re-adjudicated: {c['processed']}; with an original answer: "
        f"{c['with_original']} ({c['original_unreadable']} originals unreadable)",
        f"- Changed: {c['changed']}; unchanged: {c['unchanged']}; members affected: "
        f"{doc['members_affected']}",
        f"- Newly rejected: {doc['newly_rejected']['claims']}; newly paid: "
        f"{doc['newly_paid']['claims']}", "",
        "## Dollars (claims with an original answer)", "",
        "| | before | after | change |", "|---|---:|---:|---:|",
        f"| plan pay | {d['plan_pay_before']} | {d['plan_pay_after']} | {d['plan_pay_change']} |",
        f"| patient pay | {d['patient_pay_before']} | {d['patient_pay_after']} | "
        f"{d['patient_pay_change']} |",
        f"| total price | {d['total_price_before']} | {d['total_price_after']} | |", "",
        f"On the {d['shifted']['claims']} claims paid before and after, members pay "
        f"{d['shifted']['to_members']} more and the plan {d['shifted']['to_plan']} more "
        "(negative: less).", "",
    ]
    if doc["changes_by_kind"]:
        lines += ["## Changes by kind", "", "| kind | claims |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in doc["changes_by_kind"].items()]
        lines.append("")
    codes = doc["newly_rejected"]["by_reject_code"]
    if codes:
        lines += ["## Newly rejected by reject code", "", "| code | claims |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in codes.items()]
        lines.append("")
    lines += _rows("By plan", "plan", doc["by_plan"])
    lines += _rows("By tier", "tier", doc["by_tier"])
    lines += _rows("By drug", "NDC", doc["by_drug"], names=True)
    return "\n".join(lines).rstrip() + "\n"
