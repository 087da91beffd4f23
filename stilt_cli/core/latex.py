"""Paper-ready tables: LaTeX (booktabs) and a self-contained HTML page, from plain rows of cells.

Every piece of text that comes from data (run names, languages, task names) goes through `escape`
(LaTeX) or `html.escape`; numbers are formatted by the caller. The LaTeX is a `table` float around one
`tabular` with booktabs rules (`\\toprule`, `\\midrule`, `\\bottomrule`, no vertical lines), so a paper
needs only `\\usepackage{booktabs}`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def escape(text: object) -> str:
    """Text as LaTeX typesets it literally (the ten special characters escaped)."""
    return "".join(_SPECIAL.get(ch, ch) for ch in str(text))


def signed(value: float, digits: int = 1) -> str:
    """+1.2 / $-$0.3 (a typeset minus, not a hyphen); 0.0 is +0.0."""
    text = f"{value:+.{digits}f}"
    return "$-$" + text[1:] if text.startswith("-") else text


def bold(text: str) -> str:
    return r"\textbf{" + text + "}"


@dataclass
class Table:
    """Header rows, then body groups (a `\\midrule` between groups); cells are LaTeX already."""

    columns: str  # tabular column spec, e.g. "lrrr"
    header: list[list[str]]
    groups: list[list[list[str]]]
    caption: str = ""
    label: str = ""
    notes: list[str] = field(default_factory=list)  # LaTeX comments above the table


def render(table: Table) -> str:
    width = len(table.columns)
    for row in [*table.header, *(r for g in table.groups for r in g)]:
        if len(row) != width:
            raise ValueError(f"a row has {len(row)} cells for {width} columns")
    lines = ["% needs \\usepackage{booktabs}", *(f"% {note}" for note in table.notes),
             r"\begin{table}[t]", r"\centering", r"\begin{tabular}{" + table.columns + "}", r"\toprule"]
    lines += [" & ".join(row) + r" \\" for row in table.header]
    for group in table.groups:
        lines.append(r"\midrule")
        lines += [" & ".join(row) + r" \\" for row in group]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.caption:
        lines.append(r"\caption{" + table.caption + "}")
    if table.label:
        lines.append(r"\label{" + table.label + "}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def best_in_columns(values: Sequence[Sequence[float | None]]) -> list[set[int]]:
    """For each column, the rows holding its highest value (ties all count)."""
    columns = len(values[0]) if values else 0
    out = []
    for j in range(columns):
        column = [row[j] for row in values]
        present = [v for v in column if v is not None]
        top = max(present) if present else None
        out.append({i for i, v in enumerate(column) if v is not None and v == top})
    return out


# ---- HTML ----------------------------------------------------------------------------------------

STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
         "table{border-collapse:collapse;margin:1em 0}th,td{padding:.25em .7em;text-align:right}"
         "th:first-child,td:first-child{text-align:left}thead tr:last-child th{border-bottom:1px solid #222}"
         "table{border-top:2px solid #222;border-bottom:2px solid #222}caption{text-align:left;font-weight:600;"
         "padding:.3em 0}.note{color:#555;font-size:.9em}")


def html_table(caption: str, columns: Sequence[str], rows: Sequence[dict[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(row.get(c, ''))}</td>" for c in columns) + "</tr>\n"
                   for row in rows)
    return (f"<table>\n<caption>{html.escape(caption)}</caption>\n<thead><tr>{head}</tr></thead>\n"
            f"<tbody>\n{body}</tbody>\n</table>\n")


def html_page(title: str, parts: Sequence[str], notes: Sequence[str] = ()) -> str:
    """One page, no external resources: inline style, tables, notes."""
    listed = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n" + "".join(parts)
            + (f"<ul class=\"note\">{listed}</ul>\n" if listed else "") + "</body>\n</html>\n")
