"""`correlate --report FILE.md`: the analysis on one page, for a person.

Sections, all computed from the records `correlate` returns (nothing is typed in by hand):
1. the answer: each feature's correlation that survives the multiple-comparison correction
   (adjusted p < 0.05), with its direction, or a sentence saying that none does;
2. per feature and task (pooled included): Pearson r and Spearman rho with their 95% bootstrap
   intervals, permutation p and adjusted p (partial correlations too, with covariates);
3. the categorical factors (script, family): difference of mean gain;
4. the regression (`--model`): standardised coefficients, intervals, p, VIF, R^2 per model;
5. the PNGs of `--plot DIR`, linked relative to the report;
6. what every feature means and where its values come from.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from stilt_cli.core import atomic

ALPHA = 0.05


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:+.{digits}f}" if abs(value) < 1000 else f"{value:.3g}"


def _plain(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _p(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def _interval(row: dict[str, Any]) -> str:
    low, high = row.get("ci_low"), row.get("ci_high")
    return "–" if low is None or high is None else f"[{low:+.2f}, {high:+.2f}]"


def _table(header: list[str], body: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(cells) + " |" for cells in body), ""]


def render(rows: list[dict[str, Any]], config: Any, report_dir: Path | None = None) -> str:
    correlations = [r for r in rows if r["kind"] == "correlation"]
    regressions = [r for r in rows if r["kind"] == "regression"]
    features = list(dict.fromkeys(r["params"]["feature"] for r in correlations if r["metric"] != "mean_diff"))
    tasks = list(dict.fromkeys(r["task"] for r in correlations))
    from stilt_cli.core.tasks import langs

    lines = [f"# Does the gain depend on distance from {langs.get(config.ref).name}?", "",
             f"Gain = `{config.run}` − `{config.baseline}` per language; tasks: {', '.join(tasks) or '–'}; "
             f"{config.n_boot} bootstrap resamples, {config.n_perm} permutations, seed {config.seed}, "
             f"{config.correction} correction.", ""]
    lines += ["## Answer", "", *_answer(correlations, regressions), ""]
    lines += ["## Correlations", ""]
    body = []
    for feature in features:
        for task in tasks:
            by_metric = {r["metric"]: r for r in correlations
                         if r["params"]["feature"] == feature and r["task"] == task}
            if not by_metric:
                continue
            cells = [feature, task]
            for metric in ("pearson", "spearman", "partial_pearson"):
                row = by_metric.get(metric)
                cells += ["–", "–"] if row is None else [f"{_num(row['value'], 2)} {_interval(row)}",
                                                         f"{_p(row['p_value'])} / {_p(row['p_adjusted'])}"]
            cells.append(str(by_metric.get("pearson", next(iter(by_metric.values())))["n_langs"]))
            body.append(cells)
    lines += _table(["feature", "task", "Pearson r [95% CI]", "p / p_adj", "Spearman ρ [95% CI]", "p / p_adj",
                     "partial r [95% CI]", "p / p_adj", "langs"],
                    body) if body else ["No feature had enough languages.", ""]
    factors = [r for r in correlations if r["metric"] == "mean_diff"]
    if factors:
        lines += ["## Categorical factors", "", "Mean gain of languages that differ from the reference minus those "
                  "that share it.", ""]
        lines += _table(["factor", "task", "difference [95% CI]", "p / p_adj", "same / different"],
                        [[r["params"]["feature"], r["task"], f"{_num(r['value'], 3)} {_interval(r)}",
                          f"{_p(r['p_value'])} / {_p(r['p_adjusted'])}",
                          f"{len(r['params']['groups']['same'])} / {len(r['params']['groups']['different'])}"]
                         for r in factors])
    if regressions:
        lines += _regression(regressions)
    lines += _plots(config, report_dir)
    lines += ["## Definitions and sources", ""]
    seen = {}
    for row in correlations + regressions:
        if row["kind"] == "regression":
            named = row["params"]["sources"]
        else:  # the script / family factors share a name with a distance feature
            suffix = " (factor)" if row["metric"] == "mean_diff" else ""
            named = {row["params"]["feature"] + suffix: row["params"]["source"], **row["params"].get("covariates", {})}
        for name, source in named.items():
            seen.setdefault(name, source)
    lines += [f"- **{name}**: {_definition(name)} Source: {source}." for name, source in seen.items()]
    return "\n".join(lines).rstrip() + "\n"


def _answer(correlations: list[dict[str, Any]], regressions: list[dict[str, Any]]) -> list[str]:
    out = []
    for row in correlations:
        if row["metric"] in ("pearson", "spearman", "partial_pearson", "partial_spearman", "mean_diff") \
                and row["p_adjusted"] is not None and row["p_adjusted"] < ALPHA:
            direction = "grows" if row["value"] > 0 else "shrinks"
            what = (f"with {row['params']['feature']} distance" if row["metric"] != "mean_diff"
                    else f"where the {row['params']['feature']} differs")
            out.append(f"- {row['task']}: the gain {direction} {what} ({row['metric']} {_num(row['value'], 2)}, "
                       f"95% CI {_interval(row)}, adjusted p {_p(row['p_adjusted'])}, {row['n_langs']} languages).")
    for row in regressions:
        if row["metric"] == "coefficient" and row["p_adjusted"] is not None and row["p_adjusted"] < ALPHA:
            out.append(f"- {row['task']}, model {row['params']['model']}: {row['params']['term']} has standardised "
                       f"coefficient {_num(row['value'], 2)} (95% CI {_interval(row)}, adjusted p "
                       f"{_p(row['p_adjusted'])}) with the other terms held fixed.")
    if not out:
        out.append(f"No correlation or coefficient is significant after correction (adjusted p < {ALPHA}): with "
                   "these languages the data cannot tell whether the gain depends on these features.")
    return out


def _regression(rows: list[dict[str, Any]]) -> list[str]:
    lines = [f"## Regression: gain ~ {rows[0]['params']['model'].replace('+', ' + ')}", "",
             "Standardised coefficients (SD of gain per SD of the predictor, the other terms held fixed), "
             "languages-bootstrap 95% CIs, Freedman-Lane permutation p; VIF above ~5 means the predictors are too "
             "collinear to separate.", ""]
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task]
        fit = next(r for r in mine if r["metric"] == "r_squared")
        left = f"; left out (a term missing): {', '.join(fit['left_out'])}" if fit["left_out"] else ""
        lines += [f"**{task}**: R² (within tasks) {_plain(fit['value'])}, adjusted {_plain(fit['adj_r_squared'])}, "
                  f"{fit['n_langs']} languages, {fit['n']} observations{left}.", ""]
        lines += _table(["term", "coefficient [95% CI]", "p / p_adj", "VIF", "raw coefficient"],
                        [[r["params"]["term"], f"{_num(r['value'], 2)} {_interval(r)}",
                          f"{_p(r['p_value'])} / {_p(r['p_adjusted'])}", _p(r["vif"]), _p(r["raw_coefficient"])]
                         for r in mine if r["metric"] == "coefficient"])
    return lines


def _plots(config: Any, report_dir: Path | None) -> list[str]:
    if not config.plot or not Path(config.plot).is_dir():
        return []
    found = sorted(Path(config.plot).glob("*.png"))
    if not found:
        return []
    lines = ["## Plots", ""]
    for path in found:
        link = os.path.relpath(path, report_dir) if report_dir is not None else str(path)
        lines.append(f"![{path.stem}]({Path(link).as_posix()})")
    return [*lines, ""]


def _definition(name: str) -> str:
    from stilt_cli.core.analysis import covariates, typology

    if name.endswith(" (factor)"):
        return f"whether the language's {name.split()[0]} differs from the reference's."
    if name in typology.FEATURES:
        return typology.FEATURES[name].definition + "."
    return covariates.DEFINITIONS.get(name, "") + "."


def write(path: str | os.PathLike, rows: list[dict[str, Any]], config: Any) -> None:
    target = Path(path)
    atomic.write_text(target, render(rows, config, target.parent))
