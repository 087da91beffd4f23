"""`correlate --rank syntax,phonology,morphology,script,subword-overlap`: which similarity measure explains the
gain best?

Every measure (a distance feature of `core/analysis/typology.py` or a covariate of
`core/analysis/covariates.py`) is compared on the same observations: the languages (per task; pooled over
tasks with task fixed effects) that have a gain and a value for *every* ranked measure, so no measure wins by
being scored on easier languages. A measure's statistic is the share of the gain's variance it explains on its
own: R² = r² of the within-task Pearson correlation (`stats.association`). Intervals come from the same
cluster bootstrap (languages resampled, all of a language's tasks together) for every measure: one seed and one
language set give the same resamples, so the measures are compared resample by resample. Per resample the
measures are ranked by R² (1 = explains most); a measure's rank interval is the 2.5-97.5 percentile of its rank
and `p_best` the share of resamples in which it ranks first. Resamples where any measure is degenerate (a
constant variable) are dropped for all of them and counted.

Records: kind `ranking`, metric `variance_explained`, one per measure, in rank order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stilt_cli.core import records
from stilt_cli.core.analysis import stats
from stilt_cli.core.errors import DataError

PROTOCOL = "stilt-ranking-v1"
MIN_LANGS = 4


def rows(config: Any, units: list[Any], values: dict[str, Any], sources: dict[str, str],
         ref: str) -> list[dict[str, Any]]:
    """Ranking records of `config.rank` over `units`. `values[measure](unit, lang)` -> float | None."""
    measures = list(config.rank)
    y, x, unit_ids, clusters, left_out = [], {m: [] for m in measures}, [], [], set()
    for index, unit in enumerate(units):
        for lang, gain in sorted(unit.gains.items()):
            found = {m: values[m](unit, lang) for m in measures}
            if any(v is None for v in found.values()):
                left_out.add(lang)
                continue
            y.append(gain)
            for m in measures:
                x[m].append(found[m])
            unit_ids.append(index)
            clusters.append(lang)
    n_langs = len(set(clusters))
    if n_langs < MIN_LANGS:
        raise DataError(f"--rank: only {n_langs} language(s) have a gain and every measure "
                        f"({', '.join(measures)}); left out for a missing measure: "
                        f"{', '.join(sorted(left_out)) or '-'}",
                        f"ranking needs at least {MIN_LANGS}; drop the measure that is missing most")
    results = {m: stats.association(y, x[m], units=unit_ids, clusters=clusters, n_boot=config.n_boot,
                                    n_perm=config.n_perm, seed=config.seed, keep_resamples=True) for m in measures}
    r2 = np.stack([results[m].r_boot ** 2 for m in measures])  # (measures, resamples)
    ok = np.all(np.isfinite(r2), axis=0)
    r2 = r2[:, ok]
    ranks = (-r2).argsort(axis=0).argsort(axis=0) + 1  # 1 = the largest R² of that resample
    point = {m: (results[m].r ** 2 if np.isfinite(results[m].r) else None) for m in measures}
    order = sorted(measures, key=lambda m: -(point[m] if point[m] is not None else -1.0))
    out = []
    for rank, measure in enumerate(order, start=1):
        i = measures.index(measure)
        low, high = (np.quantile(r2[i], [0.025, 0.975]) if r2.shape[1] else (np.nan, np.nan))
        rank_low, rank_high = (np.quantile(ranks[i], [0.025, 0.975]) if r2.shape[1] else (np.nan, np.nan))
        result = results[measure]
        out.append(records.make(
            "ranking", "pooled" if len(units) > 1 else units[0].task, "all", "variance_explained",
            _finite(point[measure]), n=result.n, protocol=PROTOCOL, seed=config.seed,
            params={"measure": measure, "ref": ref, "source": sources.get(measure), "gain": "run - baseline",
                    "measures": measures, "units": [u.label for u in units],
                    "definition": "R² = r² of the gain on this measure alone (Pearson, within tasks)"},
            rank=rank, rank_ci=[_finite(rank_low), _finite(rank_high)], p_best=_finite(float(np.mean(ranks[i] == 1)))
            if r2.shape[1] else None, r=_finite(result.r), ci_low=_finite(low), ci_high=_finite(high), ci_level=0.95,
            n_langs=n_langs, left_out=sorted(left_out),
            bootstrap={"resamples": config.n_boot, "used": int(ok.sum()), "method": "percentile; languages "
                       "resampled with replacement, the same resamples for every measure"},
            inputs={"baseline": str(config.baseline), "run": str(config.run)},
        ))
    return out


def _finite(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)
