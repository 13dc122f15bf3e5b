"""Reports for plan administrators: one model written as Markdown, CSV tables and standalone HTML.

A :class:`Report` is a title, summary lines and sections of tables and charts.
:func:`write_report` writes ``report.md``, ``report.html`` (opens offline: inline CSS, charts as
inline SVG drawn here, no scripts, nothing fetched) and one CSV per table into a folder.  Reports
may hold member data, so the folder is created owner-only (0700) and every file 0600.
"""

from __future__ import annotations

import csv
import html
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Chart", "Report", "Section", "Table", "bar_chart", "findings_report", "to_html",
           "to_markdown", "write_report"]


@dataclass(slots=True)
class Table:
    """A table: ``name`` is its CSV file stem; cells are text."""

    name: str
    title: str
    header: Sequence[str]
    rows: list[Sequence[str]]
    note: str = ""


@dataclass(slots=True)
class Chart:
    """A horizontal bar chart of labelled values (negative bars go left of the axis)."""

    title: str
    items: list[tuple[str, int]]
    money: bool = True


@dataclass(slots=True)
class Section:
    """A titled part of a report: a paragraph, then charts and tables."""

    title: str
    text: str = ""
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)


@dataclass(slots=True)
class Report:
    """A whole report: title, subtitle, summary lines (label, value) and sections."""

    title: str
    subtitle: str = ""
    summary: list[tuple[str, str]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{frac:02d}"


def bar_chart(chart: Chart, width: int = 640) -> str:
    """The chart as an inline SVG element (our own drawing: no library, no script)."""
    items = chart.items or [("(none)", 0)]
    label_w, value_w, row_h, top = 230, 90, 24, 30
    plot_w = width - label_w - value_w
    height = top + row_h * len(items) + 10
    lo = min(0, *(v for _, v in items))
    hi = max(0, *(v for _, v in items))
    span = (hi - lo) or 1
    zero = label_w + plot_w * (-lo) / span
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(chart.title)}">',
             f'<text x="0" y="18" font-size="14" font-weight="bold">'
             f'{html.escape(chart.title)}</text>']
    for i, (label, value) in enumerate(items):
        y = top + i * row_h
        x0 = zero if value >= 0 else zero - plot_w * (-value) / span
        w = max(plot_w * abs(value) / span, 1 if value else 0)
        colour = "#c0392b" if value > 0 and chart.money else \
            "#2e86c1" if chart.money else "#7d3c98"
        text = _money(value) if chart.money else f"{value:,}"
        short = label if len(label) <= 32 else label[:31] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 16}" font-size="12" text-anchor="end">'
                     f'{html.escape(short)}</text>')
        parts.append(f'<rect x="{x0:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                     f'fill="{colour}"/>')
        parts.append(f'<text x="{width - value_w + 6}" y="{y + 16}" font-size="12">'
                     f'{html.escape(text)}</text>')
    parts.append(f'<line x1="{zero:.1f}" y1="{top}" x2="{zero:.1f}" y2="{height - 10}" '
                 'stroke="#333" stroke-width="1"/>')
    parts.append("</svg>")
    return "".join(parts)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    """The report as Markdown (tables as pipe tables; charts are left to the HTML)."""
    out = [f"# {report.title}\n"]
    if report.subtitle:
        out.append(f"{report.subtitle}\n")
    if report.summary:
        out.append("| | |\n| --- | --- |")
        out.extend(f"| {_md_cell(k)} | {_md_cell(v)} |" for k, v in report.summary)
        out.append("")
    for section in report.sections:
        out.append(f"## {section.title}\n")
        if section.text:
            out.append(f"{section.text}\n")
        for table in section.tables:
            out.append(f"**{table.title}** ({table.name}.csv)\n")
            if table.note:
                out.append(f"{table.note}\n")
            if not table.rows:
                out.append("(none)\n")
                continue
            out.append("| " + " | ".join(_md_cell(h) for h in table.header) + " |")
            out.append("|" + "---|" * len(table.header))
            out.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows)
            out.append("")
    return "\n".join(out) + "\n"


_CSS = """body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;
color:#222;max-width:1100px}h1{font-size:24px}h2{font-size:19px;border-bottom:1px solid #ccc;
padding-bottom:4px;margin-top:32px}table{border-collapse:collapse;margin:8px 0 20px}
td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#555;font-size:13px}figure{margin:12px 0}"""


def _is_number(text: str) -> bool:
    t = text.replace(",", "").replace("$", "").replace("-", "", 1).replace("+", "", 1)
    return t.replace(".", "", 1).isdigit()


def to_html(report: Report) -> str:
    """The report as one standalone HTML page: inline CSS and SVG, no scripts."""
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{e(report.title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{e(report.title)}</h1>"]
    if report.subtitle:
        out.append(f'<p class="note">{e(report.subtitle)}</p>')
    if report.summary:
        out.append('<table class="summary">')
        out.extend(f"<tr><th>{e(k)}</th><td class=\"n\">{e(v)}</td></tr>"
                   for k, v in report.summary)
        out.append("</table>")
    for section in report.sections:
        out.append(f"<h2>{e(section.title)}</h2>")
        if section.text:
            out.append(f"<p>{e(section.text)}</p>")
        out.extend(f"<figure>{bar_chart(c)}</figure>" for c in section.charts)
        for table in section.tables:
            out.append(f"<h3>{e(table.title)}</h3>")
            if table.note:
                out.append(f'<p class="note">{e(table.note)}</p>')
            if not table.rows:
                out.append('<p class="note">(none)</p>')
                continue
            out.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in table.header)
                       + "</tr>")
            for row in table.rows:
                out.append("<tr>" + "".join(
                    f'<td class="n">{e(c)}</td>' if _is_number(c) else f"<td>{e(c)}</td>"
                    for c in row) + "</tr>")
            out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _private_write(path: Path, text: str) -> None:
    """Write a file readable by its owner only (0600), also when it already exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def write_report(report: Report, out_dir: str | Path) -> list[Path]:
    """Write report.md, report.html and one CSV per table; return the paths."""
    folder = Path(out_dir)
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
    written = []
    for name, text in (("report.md", to_markdown(report)), ("report.html", to_html(report))):
        _private_write(folder / name, text)
        written.append(folder / name)
    for section in report.sections:
        for table in section.tables:
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(table.header)
            w.writerows(table.rows)
            path = folder / f"{table.name}.csv"
            _private_write(path, buf.getvalue())
            written.append(path)
    return written


def findings_report(title: str, subject: str, summary: list[tuple[str, str]],
                    findings: list[tuple[str, str]]) -> Report:
    """A report of check findings (severity, text), e.g. ``pbm validate --report``."""
    counts: dict[str, int] = {}
    for severity, _ in findings:
        counts[severity] = counts.get(severity, 0) + 1
    rows: list[Sequence[str]] = []
    for severity, text in findings:
        where, sep, what = text.partition(": ")
        rows.append((severity, where if sep else "", what if sep else text))
    return Report(
        title=title, subtitle=subject,
        summary=[*summary, *((f"{k}s", str(v)) for k, v in sorted(counts.items()))],
        sections=[Section("Findings", text="" if findings else "Nothing to report.",
                          tables=[Table("findings", "Findings", ("severity", "where", "finding"),
                                        rows)],
                          charts=[Chart("Findings by severity", sorted(counts.items()),
                                        money=False)] if findings else [])])
