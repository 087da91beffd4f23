"""`stilt correlate --format latex`: the correlation records as a booktabs table for a paper.

One row per statistic (Pearson r, Spearman rho, the pooled slope, partial correlations, the script and
family differences of means), grouped by task with the pooled analysis last; the value, its 95 %
bootstrap CI, the permutation p-value before and after the multiple-comparison correction, and the
number of languages. Values whose corrected p is below 0.05 are bold.
"""

from __future__ import annotations

from typing import Any

FORMATS = ("jsonl", "table", "latex")
STATISTICS = {"pearson": "Pearson $r$", "spearman": r"Spearman $\rho$", "slope": "slope (FE)",
              "partial_pearson": "partial $r$", "partial_spearman": r"partial $\rho$",
              "mean_diff": r"$\Delta$ mean gain"}


def _number(value: float | None) -> str:
    from stilt_cli.core import latex

    return "--" if value is None else latex.signed(value, 2)


def _p(value: float | None) -> str:
    if value is None:
        return "--"
    return "$<$0.001" if value < 0.001 else f"{value:.3f}"


def as_latex(rows: list[dict[str, Any]]) -> str:
    from stilt_cli.core import latex

    groups: dict[str, list[list[str]]] = {}
    order = sorted({r["task"] for r in rows}, key=lambda t: (t == "pooled", t))
    for row in sorted(rows, key=lambda r: order.index(r["task"])):
        value = _number(row["value"])
        if row.get("p_adjusted") is not None and row["p_adjusted"] < 0.05 and row["value"] is not None:
            value = latex.bold(value)
        low, high = row.get("ci_low"), row.get("ci_high")
        ci = "--" if low is None or high is None else f"[{_number(low)}, {_number(high)}]"
        groups.setdefault(row["task"], []).append([
            latex.escape(row["task"]), latex.escape(row["params"]["feature"]),
            STATISTICS.get(row["metric"], latex.escape(row["metric"])), value, ci, _p(row.get("p_value")),
            _p(row.get("p_adjusted")), str(row.get("n_langs") or "--")])
    first = rows[0] if rows else {"params": {}}
    ref = latex.escape(first["params"].get("ref", "en"))
    correction = (first.get("correction") or "").split(" over ")[0] or "no"
    caption = (f"Per-language gain (run $-$ baseline) against distance from {ref}: value, 95\\% bootstrap CI, "
               f"permutation $p$ and $p$ after {latex.escape(correction)} correction; bold: corrected $p<0.05$. "
               "FE: task fixed effects.")
    header = [["Task", "Feature", "Statistic", "Value", r"95\% CI", "$p$", r"$p_{\mathrm{adj}}$", "Langs"]]
    table = latex.Table("lllrrrrr", header, list(groups.values()), caption=caption, label="tab:stilt-correlate",
                        notes=["stilt correlate; every number is in the JSONL records with the points behind it"])
    return latex.render(table)
