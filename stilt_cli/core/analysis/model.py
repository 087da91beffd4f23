"""`correlate --model syntax+morphology+fertility`: several predictors of the gain at once.

Terms are distance features (`core/analysis/typology.py`, including the UD ones) and covariates
(`core/analysis/covariates.py`), joined by `+`. One OLS model (`core/analysis/regression.py`) per task
and, with several tasks, one pooled with task fixed effects. A language is in a model when it has a
gain and every term is known for it; the others are listed on stderr. Records: kind `regression`,
one per term (metric `coefficient`: the standardised coefficient, its bootstrap CI, permutation p,
Holm/BH-adjusted p over the model's terms, VIF, the raw coefficient) and one per model (metric
`r_squared`). With `--plot DIR`, `DIR/coefficients.png` shows every model's coefficients and CIs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stilt_cli.core import console, records
from stilt_cli.core.analysis import covariates, regression, stats, typology
from stilt_cli.core.errors import DataError, comma_list

PROTOCOL = "stilt-regression-v1"


def parse(value: str | None) -> list[str]:
    """`--model syntax+morphology+fertility` (',' works too) -> terms, with did-you-mean."""
    if value is None:
        return []
    terms = comma_list(value.replace("+", ","), "--model", choices=[*typology.FEATURES, *covariates.NAMES],
                       what="model term", normalise=lambda name: name.strip().lower().replace("_", "-"),
                       example="syntax+morphology+fertility", all_word=None)
    return terms or []


def split_terms(terms: list[str]) -> tuple[list[str], list[str]]:
    """(distance features, covariates) among the terms."""
    return [t for t in terms if t in typology.FEATURES], [t for t in terms if t in covariates.NAMES]


def rows(config: Any, units: list[Any], distance: dict[str, dict[str, float | None]],
         covs: dict[str, tuple[Any, str]], sources: dict[str, str], ref: str) -> list[dict[str, Any]]:
    """Regression records for every task and the pooled model; DataError when no model can be fit."""
    groups = [[unit] for unit in units] + ([units] if len(units) > 1 else [])
    out: list[dict[str, Any]] = []
    failures: list[str] = []
    fits: dict[str, regression.Fit] = {}
    for group in groups:
        name = "pooled" if len(group) > 1 else group[0].label
        try:
            fit, found_rows = _fit_group(config, group, distance, covs, sources, ref)
        except DataError as exc:
            failures.append(f"{name}: {exc.message}")
            continue
        fits[name] = fit
        out.extend(found_rows)
    if not out:
        raise DataError(f"--model {'+'.join(config.model)}: no model could be fit ({'; '.join(failures)})",
                        f"a model of {len(config.model)} predictor(s) needs "
                        f"{len(config.model) + regression.MIN_EXTRA_LANGS} languages with every term known")
    for failure in failures:
        console.warn(f"--model {failure}: not fit")
    if config.plot:
        _plot(Path(config.plot) / "coefficients.png", fits, ref)
    return out


def _value(term: str, unit: Any, lang: str, distance, covs) -> float | None:
    if term in distance:
        return distance[term].get(lang)
    return covs[term][0](unit, lang)


def _fit_group(config, group, distance, covs, sources, ref) -> tuple[regression.Fit, list[dict[str, Any]]]:
    pooled = len(group) > 1
    name = "pooled" if pooled else group[0].label
    terms = config.model
    y, x, unit_ids, langs, points, left_out = [], [], [], [], [], set()
    for index, unit in enumerate(group):
        for lang, gain in sorted(unit.gains.items()):
            values = [_value(term, unit, lang, distance, covs) for term in terms]
            if any(v is None for v in values):
                left_out.add(lang)
                continue
            y.append(gain)
            x.append(values)
            unit_ids.append(index)
            langs.append(lang)
            points.append({"task": unit.label, "lang": lang, "gain": gain, **dict(zip(terms, map(float, values)))})
    if left_out:
        console.warn(f"{name} --model: left out {','.join(sorted(left_out))} (a term is missing)")
    if not y:
        raise DataError("no language has every term known")
    fit = regression.fit(np.array(y), np.array(x, float), terms, units=np.array(unit_ids), clusters=np.array(langs),
                         n_boot=config.n_boot, n_perm=config.n_perm, seed=config.seed)
    adjusted = stats.adjust([t.p_value for t in fit.terms], config.correction)
    common = _common(config, group, fit, sources, sorted(left_out), ref)
    out = []
    for term, p_adjusted in zip(fit.terms, adjusted):
        out.append(_record(config, group, "coefficient", term.coefficient, fit, points, common, term=term.name,
                           ci_low=_finite(term.ci_low), ci_high=_finite(term.ci_high), ci_level=0.95,
                           p_value=_finite(term.p_value), p_adjusted=_finite(p_adjusted),
                           correction=f"{config.correction} over the model's {len(fit.terms)} terms",
                           vif=_finite(term.vif), raw_coefficient=_finite(term.raw),
                           std_error=_finite(term.std_error), t_value=_finite(term.t_value)))
    out.append(_record(config, group, "r_squared", fit.r_squared, fit, points, common,
                       adj_r_squared=_finite(fit.adj_r_squared), df_resid=fit.df_resid))
    return fit, out


def _common(config, group, fit, sources, left_out, ref) -> dict[str, Any]:
    unit = group[0]
    pooled = len(group) > 1
    params: dict[str, Any] = {
        "model": "+".join(config.model), "ref": ref, "gain": "run - baseline",
        "gain_kind": unit.kind if not pooled else sorted({u.kind for u in group}),
        "gain_metric": unit.metric if not pooled else sorted({u.metric for u in group}),
        "gain_params": unit.params if not pooled else None,
        "sources": {term: sources[term] for term in config.model},
        "definition": "OLS of gain on the terms, all divided by the standard deviation of their within-task "
                      "deviations (standardised coefficients), one intercept per task",
    }
    if any(t in typology.FEATURES and typology.FEATURES[t].library == "urielplus" for t in config.model):
        params["urielplus_data"] = config.urielplus_data
    if pooled:
        params["pooling"] = "task fixed effects (one intercept per task)"
        params["units"] = [u.label for u in group]
    return {"params": params, "left_out": left_out}


def _record(config, group, metric, value, fit: regression.Fit, points, common, *, term: str | None = None,
            **extra: Any) -> dict[str, Any]:
    pooled = len(group) > 1
    params = dict(common["params"])
    if term is not None:
        params["term"] = term
    return records.make(
        "regression", "pooled" if pooled else group[0].task, "all", metric, _finite(value),
        split=None if pooled else group[0].split, n=fit.n, protocol=PROTOCOL, params=params, seed=config.seed,
        n_langs=fit.n_langs, left_out=common["left_out"], **extra,
        bootstrap={"resamples": fit.n_boot, "degenerate_dropped": fit.degenerate_resamples,
                   "method": "percentile; languages resampled with replacement, re-standardised and refit"},
        permutation={"permutations": fit.n_perm, "exact": fit.exact,
                     "method": "Freedman-Lane on |t|, reduced-model residuals permuted within tasks"},
        inputs={"baseline": str(config.baseline), "run": str(config.run)}, points=points,
    )


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _plot(path: Path, fits: dict[str, regression.Fit], ref: str) -> None:
    from stilt_cli.core.analysis import plots

    series = {name: [(t.name, t.coefficient, t.ci_low, t.ci_high) for t in fit.terms] for name, fit in fits.items()}
    plots.coefficients(path, series, title=f"standardised coefficients of gain (distances from {ref}), 95% CI",
                       xlabel="change in gain (SD) per SD of the predictor")
    console.info(f"wrote {path}")


def table_row(row: dict[str, Any]) -> dict[str, Any]:
    """The columns a person reads first, as correlate's table shows them."""
    low, high = row.get("ci_low"), row.get("ci_high")
    return {"task": row["task"], "feature": row["params"].get("term", row["params"]["model"]),
            "statistic": f"model {row['metric']}", "value": row["value"],
            "95% CI": "" if low is None else f"[{low:.3g}, {high:.3g}]", "p": row.get("p_value"),
            "p_adj": row.get("p_adjusted"), "langs": row["n_langs"], "n": row["n"]}
