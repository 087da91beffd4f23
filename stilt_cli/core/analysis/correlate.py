"""`stilt correlate`: does the gain from intermediate training depend on distance from English?

Input: two result-record files (BASELINE, RUN), e.g. `evaluate` of the target-only model and of the
intermediate-then-target model, matched into per-language gains by `core/analysis/gains.py` (units are
measurements without their language; the reference language is left out).

Per unit and feature: Pearson r and Spearman rho of gain vs distance (`core/analysis/stats.py` for the exact
definitions, CIs and p-values); with covariates also partial correlations; the categorical factors
`script` (differs from the reference's or not) and `family` (top-level family differs or not) as
differences of mean gain (different - same). Pooled across units: task fixed effects (gains and
distances demeaned within each task; `slope` is the fixed-effects coefficient). Multiple-comparison
correction (Holm or Benjamini-Hochberg) runs over all rows of the same statistic (features x units,
pooled included; factors among themselves).

With `--model a+b+c`, also one OLS model of the gain on several predictors at once per task and pooled
(`core/analysis/model.py`); with `--rank a,b,c`, the measures ranked by the variance of the gain each explains,
with intervals (`core/analysis/ranking.py`); with `--report FILE.md` a one-page markdown report
(`core/analysis/report.py`).

Fewer than 4 languages shared by both runs (after leaving out the reference) in every unit is a data
error (exit 1, one line, nothing printed); units or features below 4 are skipped with a warning.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stilt_cli.core import console, records
from stilt_cli.core.analysis import covariates, model, stats, typology
from stilt_cli.core.analysis.gains import MIN_LANGS, Unit, match
from stilt_cli.core.errors import DataError, UsageError
from stilt_cli.core.tasks import langs

PROTOCOL = "stilt-correlate-v1"
POOLING = ("task fixed effects: gains and distances demeaned within each task (slope = fixed-effects "
           "coefficient); Spearman on within-task ranks")


@dataclass
class CorrelateConfig:
    baseline: str
    run: str
    tasks: list[str] | None = None
    metrics: list[str] | None = None
    features: list[str] = field(default_factory=lambda: list(typology.DEFAULT_FEATURES))
    covariates: list[str] = field(default_factory=list)
    model: list[str] = field(default_factory=list)  # regression terms: features and covariates
    rank: list[str] = field(default_factory=list)  # measures to rank: features and covariates
    checkpoint: str | None = None
    data_dir: str | None = None
    data_files: dict[str, str] = field(default_factory=dict)
    pretrain_sizes: str | None = None
    seed: int = 0
    correction: str = "holm"
    n_boot: int = 2000
    n_perm: int = 10000
    ref: str = "en"
    urielplus_data: str = "released"
    plot: str | None = None
    report: str | None = None


def check(config: CorrelateConfig) -> None:
    """Usage errors, before any file is read."""
    if config.correction not in stats.CORRECTIONS:
        raise UsageError(f"--correction must be one of {', '.join(stats.CORRECTIONS)}, not '{config.correction}'")
    if config.n_boot < 100 or config.n_perm < 100:
        raise UsageError("--bootstrap and --permutations need at least 100 resamples")
    model_features, model_covariates = model.split_terms([*config.model, *config.rank])
    typology.check_inputs([*config.features, *model_features], config.data_dir)
    covariates.check([*config.covariates, *model_covariates], config.checkpoint)


# ---- the analysis --------------------------------------------------------------------------------

def run(config: CorrelateConfig) -> list[dict[str, Any]]:
    """All correlation (and, with --model, regression) records, corrected for multiple comparisons;
    plots and the report when asked."""
    check(config)
    units, ref = match(config)
    all_langs = sorted({lang for unit in units for lang in unit.gains})
    model_features, model_covariates = model.split_terms([*config.model, *config.rank])
    every_covariate = list(dict.fromkeys([*config.covariates, *model_covariates]))
    measured = covariates.collect(every_covariate, units, all_langs, checkpoint=config.checkpoint,
                                  data_dir=config.data_dir, data_files=config.data_files,
                                  pretrain_sizes=config.pretrain_sizes, ref=ref)
    covs = {name: measured[name] for name in config.covariates}
    every_feature = list(dict.fromkeys([*config.features, *model_features]))
    found = typology.distances(all_langs, every_feature, ref, config.urielplus_data, config.data_dir)
    typology.report_missing(found)
    distance = {f: {d.lang: d.value for d in found if d.feature == f} for f in every_feature}
    source = {d.feature: d.source for d in found}
    # the model first: too few languages for it is an error before any long computation
    sources = {**source, **{name: measured[name][1] for name in model_covariates}}
    model_rows = model.rows(config, units, distance, measured, sources, ref) if config.model else []
    if config.rank:
        from stilt_cli.core.analysis import ranking

        values = {m: (lambda unit, lang, m=m: distance[m].get(lang)) if m in distance else measured[m][0]
                  for m in config.rank}
        model_rows = ranking.rows(config, units, values, sources, ref) + model_rows

    rows: list[dict[str, Any]] = []
    for feature in config.features:
        for unit in units:
            rows.extend(_feature_rows(config, [unit], feature, distance[feature], covs, ref, source[feature]))
        if len(units) > 1:
            rows.extend(_feature_rows(config, units, feature, distance[feature], covs, ref, source[feature]))
    for factor in ("script", "family"):
        for group in [[unit] for unit in units] + ([units] if len(units) > 1 else []):
            rows.extend(_factor_rows(config, group, factor, ref))
    if not rows:
        raise DataError("no analysis had enough languages with both a gain and a distance",
                        f"each feature needs at least {MIN_LANGS} languages with a known distance")
    _correct(rows, config.correction)
    if config.plot:
        _plots(config, units, {f: distance[f] for f in config.features}, ref)
    rows.extend(model_rows)
    if config.report:
        from stilt_cli.core.analysis import report

        report.write(config.report, rows, config)
    return rows


def _observations(units: list[Unit], feature_values: dict[str, float | None]):
    y, x, unit_ids, clusters, points = [], [], [], [], []
    for index, unit in enumerate(units):
        for lang, gain in sorted(unit.gains.items()):
            value = feature_values.get(lang)
            if value is None:
                continue
            y.append(gain)
            x.append(value)
            unit_ids.append(index)
            clusters.append(lang)
            points.append((unit, lang))
    return np.array(y), np.array(x), np.array(unit_ids), np.array(clusters), points


def _feature_rows(config, units, feature, feature_values, covs, ref, source) -> list[dict[str, Any]]:
    pooled = len(units) > 1
    name = "pooled" if pooled else units[0].label
    y, x, unit_ids, clusters, points = _observations(units, feature_values)
    n_langs = len(set(clusters.tolist()))
    if n_langs < MIN_LANGS:
        console.warn(f"{name} x {feature}: only {n_langs} language(s) with both a gain and a distance: "
                     f"no statistics (needs {MIN_LANGS})")
        return []
    rows = []
    for method in ("pearson", "spearman"):
        result = stats.association(y, x, units=unit_ids, clusters=clusters, method=method, n_boot=config.n_boot,
                                   n_perm=config.n_perm, seed=config.seed)
        rows.append(_record(config, units, feature, method, result, _points(points, feature, x), ref, source))
        if pooled and method == "pearson":
            rows.append(_record(config, units, feature, "slope", result, _points(points, feature, x), ref, source))
    if covs:
        z = np.array([[covs[c][0](unit, lang) for c in covs] for unit, lang in points], dtype=object)
        known = np.array([all(v is not None for v in row) for row in z])
        left_out = sorted({lang for (unit, lang), ok in zip(points, known) if not ok})
        kept_langs = len(set(clusters[known].tolist()))
        if kept_langs < MIN_LANGS + len(covs):
            console.warn(f"{name} x {feature}: only {kept_langs} language(s) with every covariate known: "
                         f"no partial correlation (needs {MIN_LANGS + len(covs)})")
        else:
            if left_out:
                console.warn(f"{name} x {feature}: partial correlations leave out {','.join(left_out)} "
                             "(a covariate is missing)")
            kept_points = _points([p for p, ok in zip(points, known) if ok], feature, x[known],
                                  {c: z[known][:, j] for j, c in enumerate(covs)})
            for method in ("pearson", "spearman"):
                result = stats.association(y[known], x[known], units=unit_ids[known], clusters=clusters[known],
                                           covariates=z[known].astype(float), method=method, n_boot=config.n_boot,
                                           n_perm=config.n_perm, seed=config.seed)
                rows.append(_record(config, units, feature, f"partial_{method}", result, kept_points, ref, source,
                                    covariate_sources={c: covs[c][1] for c in covs}))
    return rows


def _factor_rows(config, units, factor, ref) -> list[dict[str, Any]]:
    ref_lang = langs.get(ref)
    values = {}
    for unit in units:
        for lang in unit.gains:
            entry = langs.get(lang)
            if factor == "script":
                values[lang] = float(entry.script != ref_lang.script)
            else:
                values[lang] = float(entry.family.split(":")[0] != ref_lang.family.split(":")[0])
    y, x, unit_ids, clusters, points = _observations(units, values)
    differ = {lang for lang, v in values.items() if v == 1.0}
    same = set(values) - differ
    name = "pooled" if len(units) > 1 else units[0].label
    if len(differ) < 2 or len(same) < 2:
        console.info(f"{name} x {factor}: {len(same)} language(s) share the {ref} {factor}, {len(differ)} differ: "
                     "no difference of means (needs 2 on each side)")
        return []
    result = stats.mean_difference(y, x, units=unit_ids, clusters=clusters, n_boot=config.n_boot,
                                   n_perm=config.n_perm, seed=config.seed)
    what = ref_lang.script if factor == "script" else ref_lang.family.split(":")[0]
    definition = (f"mean gain of languages whose {factor} differs from {ref}'s ({what}) minus mean gain of those "
                  f"sharing it" + (" (within tasks)" if len(units) > 1 else ""))
    return [_record(config, units, factor, "mean_diff", result, _points(points, factor, x), ref,
                    "core/tasks/langs.py table",
                    definition=definition, groups={"same": sorted(same), "different": sorted(differ)})]


def _points(points, feature: str, x, extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The data behind a statistic, so every number can be checked by hand."""
    out = []
    for index, (unit, lang) in enumerate(points):
        point = {"task": unit.label, "lang": lang, "gain": unit.gains[lang], feature: float(x[index])}
        for name, values in (extra or {}).items():
            point[name] = float(values[index])
        out.append(point)
    return out


def _record(config, units, feature, metric, result: stats.Association, points, ref, source, *,
            covariate_sources: dict[str, str] | None = None, definition: str | None = None,
            groups: dict[str, list[str]] | None = None) -> dict[str, Any]:
    pooled = len(units) > 1
    unit = units[0]
    value, low, high = result.value, result.ci_low, result.ci_high
    if metric == "slope":
        value, (low, high) = result.slope, result.slope_ci
    params: dict[str, Any] = {
        "feature": feature, "ref": ref, "source": source,
        "gain": "run - baseline",
        "gain_kind": unit.kind if not pooled else sorted({u.kind for u in units}),
        "gain_metric": unit.metric if not pooled else sorted({u.metric for u in units}),
        "gain_params": unit.params if not pooled else None,
    }
    if feature in typology.FEATURES and typology.FEATURES[feature].library != "ud":
        # morphology is always on the integrated data, whatever --urielplus-data says
        params["urielplus_data"] = (typology.FEATURES[feature].urielplus_data(config.urielplus_data)
                                    or config.urielplus_data)
    if definition:
        params["definition"] = definition
    if pooled:
        params["pooling"] = POOLING
        params["units"] = [u.label for u in units]
    if covariate_sources:
        params["covariates"] = covariate_sources
    if groups:
        params["groups"] = groups
    record = records.make(
        "correlation", "pooled" if pooled else unit.task, "all", metric, _finite(value),
        split=None if pooled else unit.split, n=result.n, protocol=PROTOCOL, params=params, seed=config.seed,
        ci_low=_finite(low), ci_high=_finite(high), ci_level=0.95, p_value=_finite(result.p_value),
        p_adjusted=None, correction=None, n_langs=result.n_langs,
        bootstrap={"resamples": result.n_boot, "method": "percentile; languages resampled with replacement",
                   "degenerate_dropped": result.degenerate_resamples},
        permutation={"permutations": result.n_perm, "exact": result.exact,
                     "method": "Freedman-Lane, residuals permuted within tasks; two-sided |r|"},
        inputs={"baseline": str(config.baseline), "run": str(config.run)},
        points=points,
    )
    record["_unit"] = "pooled" if pooled else unit.label
    return record


def _finite(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _correct(rows: list[dict[str, Any]], method: str) -> None:
    """Adjust p-values within each family of tests sharing a statistic; slope shares pearson's test."""
    families: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["metric"] != "slope":
            families[row["metric"]].append(row)
    for metric, family in families.items():
        adjusted = stats.adjust([np.nan if r["p_value"] is None else r["p_value"] for r in family], method)
        for row, value in zip(family, adjusted):
            row["p_adjusted"] = _finite(value)
            row["correction"] = f"{method} over {len(family)} {metric} tests (features x tasks, pooled included)"
    pearson = {(r["_unit"], r["params"]["feature"]): r for r in families.get("pearson", [])}
    for row in rows:
        if row["metric"] == "slope":
            twin = pearson[(row["_unit"], row["params"]["feature"])]
            row["p_adjusted"], row["correction"] = twin["p_adjusted"], twin["correction"] + "; shared with pearson"
    for row in rows:
        row.pop("_unit", None)


def _plots(config: CorrelateConfig, units: list[Unit], distance: dict[str, dict[str, float | None]], ref: str) -> None:
    from stilt_cli.core.analysis import plots

    folder = Path(config.plot)
    for feature, values in distance.items():
        series = []
        for unit in units:
            kept = [(values[lang], gain, lang) for lang, gain in sorted(unit.gains.items())
                    if values.get(lang) is not None]
            if len(kept) >= MIN_LANGS:
                xs, ys, names = zip(*kept)
                series.append(plots.Series(unit.label, xs, ys, names))
        if not series:
            continue
        path = folder / f"gain-vs-{feature}.png"
        plots.scatter(path, series, title=f"gain (run - baseline) vs {feature} distance from {ref}",
                      xlabel=f"{feature} distance from {ref} ({typology.FEATURES[feature].key})",
                      ylabel="gain (run - baseline)")
        console.info(f"wrote {path}")


def table_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The columns a person reads first."""
    out = []
    for row in rows:
        if row["kind"] == "regression":
            out.append(model.table_row(row))
            continue
        if row["kind"] == "ranking":
            low, high = row.get("ci_low"), row.get("ci_high")
            out.append({"task": row["task"], "feature": row["params"]["measure"], "statistic": f"R² rank {row['rank']}",
                        "value": row["value"], "95% CI": "" if low is None else f"[{low:.3g}, {high:.3g}]",
                        "p": row["p_best"], "p_adj": None, "langs": row["n_langs"], "n": row["n"]})
            continue
        low, high = row.get("ci_low"), row.get("ci_high")
        out.append({
            "task": row["task"], "feature": row["params"]["feature"], "statistic": row["metric"],
            "value": row["value"], "95% CI": "" if low is None else f"[{low:.3g}, {high:.3g}]",
            "p": row["p_value"], "p_adj": row["p_adjusted"], "langs": row["n_langs"], "n": row["n"],
        })
    return out

