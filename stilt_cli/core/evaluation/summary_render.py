"""Rendering a `Summary` as a table, markdown, CSV, LaTeX, HTML or summary records (JSONL).

Tables, markdown, CSV, LaTeX and HTML show percentages as XTREME prints them; summary records keep
fractions like every stilt record. A value computed on a subset (`--allow-partial`, or a task missing
languages) is marked with '*'. LaTeX is the paper's table: a row per run and a column per task plus the
benchmark average, the best value of each column in bold, ± sd over seeds, then the signed deltas
against the baseline (`core/latex.py`). HTML is one self-contained page of the markdown's tables.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from stilt_cli.core import records
from stilt_cli.core.evaluation.summary import Cell, Delta, Row, Summary
from stilt_cli.core.tasks.benchmarks import benchmark

FORMATS = ("table", "jsonl", "markdown", "csv", "latex", "html")
LEGEND = ("* computed on a subset of the benchmark's languages or tasks (not comparable with the leaderboard); "
          "± = sd over seeds; [ ] = 95% paired bootstrap CI over languages")


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def cell_text(cell: Cell | None) -> str:
    if cell is None or cell.mean is None:
        return "—"
    text = _pct(cell.mean)
    if cell.sd is not None:
        text += f" ± {100 * cell.sd:.1f}"
    return text + ("*" if cell.partial else "")


def delta_text(delta: Delta | None) -> str:
    if delta is None:
        return ""
    text = f"{100 * delta.value:+.1f}"
    if delta.low is not None:
        text += f" [{100 * delta.low:+.1f}, {100 * delta.high:+.1f}]"
    return text


def _label(summary: Summary, row: Row) -> str:
    if row.level == "category":
        return benchmark(summary.version).category_titles.get(row.name, row.name)
    if row.level == "overall":
        return f"{benchmark(summary.version).title} overall"
    return row.name


def _coverage(summary: Summary, row: Row) -> str:
    """Languages behind each run's task score ('3/15'; several values when runs differ)."""
    if row.level != "task":
        return ""
    shown = [f"{c.langs}/{c.expected}" if c.expected else str(c.langs)
             for run in summary.runs if (c := row.cells.get(run)) is not None and c.langs is not None]
    return ", ".join(dict.fromkeys(shown))


def _columns(summary: Summary, per_language: bool) -> list[str]:
    head = ["task", "lang"] if per_language else ["task", "metric", "langs"]
    cols = head + list(summary.runs)
    cols += [f"Δ {run}" for run in summary.runs if run != summary.baseline]
    return cols


def _display_rows(summary: Summary, per_language: bool) -> list[dict[str, str]]:
    out = []
    for row in summary.rows:
        if (row.level == "language") != per_language:
            continue
        item = ({"task": row.name, "lang": row.lang} if per_language else
                {"task": _label(summary, row), "metric": row.metric, "langs": _coverage(summary, row)})
        for run in summary.runs:
            item[run] = cell_text(row.cells.get(run))
            if run != summary.baseline:
                delta = row.deltas.get(run)
                item[f"Δ {run}"] = delta_text(delta)
                if delta and row.level == "task" and any(
                        c is not None and c.langs != delta.units for c in (row.cells.get(run),
                                                                           row.cells.get(summary.baseline))):
                    item[f"Δ {run}"] += f" ({delta.units} langs)"  # paired over the languages both runs have
        out.append(item)
    return out


def _titles(summary: Summary) -> tuple[str, str]:
    title = f"{benchmark(summary.version).title} scores (%)"
    if len(summary.runs) > 1:
        title += f"; Δ vs '{summary.baseline}' with 95% bootstrap CI"
    return title, "Per-language scores (%)"


def as_table(summary: Summary) -> str:
    from stilt_cli.core.console import table

    main, langs = _titles(summary)
    text = table(_display_rows(summary, False), _columns(summary, False), title=main)
    per_lang = _display_rows(summary, True)
    if per_lang:
        text += "\n" + table(per_lang, _columns(summary, True), title=langs)
    return text + LEGEND + "\n"


def _markdown_table(rows: list[dict[str, str]], columns: list[str], numeric_from: int) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(esc(c) for c in columns) + " |",
             "|" + "|".join("---" if i < numeric_from else "---:" for i in range(len(columns))) + "|"]
    lines += ["| " + " | ".join(esc(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def as_markdown(summary: Summary) -> str:
    main, langs = _titles(summary)
    parts = [f"### {main}", "", _markdown_table(_display_rows(summary, False), _columns(summary, False), 3)]
    per_lang = _display_rows(summary, True)
    if per_lang:
        parts += ["", f"### {langs}", "", _markdown_table(per_lang, _columns(summary, True), 2)]
    parts += ["", LEGEND]
    if summary.notes:
        parts += ["", "Notes:", ""] + [f"- {note}" for note in summary.notes]
    return "\n".join(parts) + "\n"


def _num(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.4f}"


def as_csv(summary: Summary) -> str:
    header = ["level", "name", "lang", "metric", "langs"]
    for run in summary.runs:
        header += [run, f"{run}_sd", f"{run}_seeds"]
        if run != summary.baseline:
            header += [f"delta_{run}", f"delta_{run}_ci_low", f"delta_{run}_ci_high"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in summary.rows:
        line = [row.level, row.name, row.lang or "", row.metric, _coverage(summary, row)]
        for run in summary.runs:
            cell = row.cells.get(run)
            line += [_num(cell.mean if cell else None), _num(cell.sd if cell else None), cell.seeds if cell else ""]
            if run != summary.baseline:
                delta = row.deltas.get(run)
                line += [_num(delta.value if delta else None), _num(delta.low if delta else None),
                         _num(delta.high if delta else None)]
        writer.writerow(line)
    return buffer.getvalue()


def _latex_cell(cell: Cell | None, best: bool) -> str:
    from stilt_cli.core import latex

    if cell is None or cell.mean is None:
        return "--"
    text = latex.bold(_pct(cell.mean)) if best else _pct(cell.mean)
    if cell.sd is not None:
        text += r"\,{\scriptsize$\pm$" + f"{100 * cell.sd:.1f}" + "}"
    return text + ("$^{*}$" if cell.partial else "")


def as_latex(summary: Summary) -> str:
    from stilt_cli.core import latex

    bench = benchmark(summary.version)
    overall = [r for r in summary.rows if r.level == "overall" and any(c.mean is not None for c in r.cells.values())]
    columns = [r for r in summary.rows if r.level == "task"] + overall  # no benchmark average: no empty column
    shown = [[None if (c := col.cells.get(run)) is None or c.mean is None else round(100 * c.mean, 1)
              for col in columns] for run in summary.runs]
    best = latex.best_in_columns(shown)
    runs = [[latex.escape(run), *(_latex_cell(col.cells.get(run), i in best[j]) for j, col in enumerate(columns))]
            for i, run in enumerate(summary.runs)]
    deltas = [[r"$\Delta$ " + latex.escape(run),
               *("--" if (d := col.deltas.get(run)) is None else latex.signed(100 * d.value) for col in columns)]
              for run in summary.runs if run != summary.baseline]
    header = [["Run", *(latex.escape(c.name) if c.level == "task" else "Avg." for c in columns)],
              ["", *(r"{\small " + latex.escape(c.metric if c.level == "task" else bench.title) + "}"
                     for c in columns)]]
    cells = [c for col in columns for c in col.cells.values()]
    caption = f"{latex.escape(bench.title)} scores (\\%); best per column in bold"
    if any(c.sd is not None for c in cells):
        caption += r"; $\pm$ sd over seeds"
    if deltas:
        caption += r"; $\Delta$: difference from \emph{" + latex.escape(summary.baseline) + "}"
    if any(c.partial for c in cells):
        caption += r"; $^{*}$ computed on a subset of the benchmark's languages or tasks"
    table = latex.Table("l" + "r" * len(columns), header, [runs] + ([deltas] if deltas else []),
                        caption=caption + ".", label="tab:stilt-summary",
                        notes=[f"stilt summary, benchmark {summary.version}; "
                               + ("Avg. is the benchmark's overall score" if overall
                                  else "no benchmark overall score for these tasks")])
    return latex.render(table) + "".join("\n" + t for t in _latex_languages(summary))


def _latex_languages(summary: Summary) -> list[str]:
    """One appendix table per task: a row per language, a column per run, then the signed deltas."""
    from stilt_cli.core import latex

    by_task: dict[str, list[Row]] = {}
    for row in summary.rows:
        if row.level == "language":
            by_task.setdefault(row.name, []).append(row)
    others = [run for run in summary.runs if run != summary.baseline]
    out = []
    for task, rows in by_task.items():
        shown = [[None if (c := row.cells.get(run)) is None or c.mean is None else round(100 * c.mean, 1)
                  for row in rows] for run in summary.runs]
        best = latex.best_in_columns(shown)  # per language: the best run
        body = [[latex.escape(row.lang), *(_latex_cell(row.cells.get(run), i in best[j])
                                           for i, run in enumerate(summary.runs)),
                 *("--" if (d := row.deltas.get(run)) is None else latex.signed(100 * d.value) for run in others)]
                for j, row in enumerate(rows)]
        header = [["Lang.", *(latex.escape(run) for run in summary.runs),
                   *(r"$\Delta$ " + latex.escape(r) for r in others)]]
        caption = (f"{latex.escape(task)} per language ({latex.escape(rows[0].metric)}, \\%); best run per language "
                   "in bold"
                   + (r"; $\Delta$: difference from \emph{" + latex.escape(summary.baseline) + "}" if others else ""))
        out.append(latex.render(latex.Table("l" + "r" * (len(summary.runs) + len(others)), header, [body],
                                            caption=caption + ".", label=f"tab:stilt-{_label_key(task)}-languages")))
    return out


def _label_key(name: str) -> str:
    """A \\label key: letters, digits and hyphens only."""
    return "".join(ch if ch.isalnum() else "-" for ch in name)


def as_html(summary: Summary) -> str:
    from stilt_cli.core import latex

    main, langs = _titles(summary)
    parts = [latex.html_table(main, _columns(summary, False), _display_rows(summary, False))]
    per_lang = _display_rows(summary, True)
    if per_lang:
        parts.append(latex.html_table(langs, _columns(summary, True), per_lang))
    return latex.html_page(main, parts, [LEGEND, *summary.notes])


def as_records(summary: Summary) -> list[dict[str, Any]]:
    """One summary record per row and run (fractions), deltas against the baseline included."""
    bench = benchmark(summary.version)
    out = []
    for row in summary.rows:
        for run, cell in row.cells.items():
            delta = row.deltas.get(run)
            out.append(records.make(
                "summary", row.name, row.lang or "all", "score", cell.mean, n=cell.langs, protocol=bench.protocol,
                params={"run": run, "level": row.level, "benchmark": summary.version, "score": row.metric},
                sd=cell.sd, seeds=cell.seeds, partial=cell.partial, baseline=summary.baseline,
                delta=delta.value if delta else None,
                delta_ci=[delta.low, delta.high] if delta and delta.low is not None
                else None, delta_languages=delta.units if delta else None))
    return out


def report(config: Any, fmt: str, output: Any = None) -> int:
    """Build the summary, print its notes on stderr and write it in `fmt` to stdout or `output`."""
    from stilt_cli.core.console import info, put
    from stilt_cli.core.errors import UsageError
    from stilt_cli.core.evaluation.summary import build
    from stilt_cli.core.textio import write_jsonl

    if fmt not in FORMATS:
        raise UsageError(f"unknown --format '{fmt}'", f"use one of {', '.join(FORMATS)}")
    summary = build(config)
    for note in summary.notes:
        info(f"note: {note}")
    if fmt == "jsonl":
        return write_jsonl(output, as_records(summary))
    put({"table": as_table, "markdown": as_markdown, "csv": as_csv, "latex": as_latex, "html": as_html}[fmt](summary),
        output)
    return len(summary.rows)
