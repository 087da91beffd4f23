"""Statistics for `correlate`: correlations with seeded bootstrap CIs and permutation p-values,
partial correlations, differences of means, pooled fixed-effects analysis, multiple-comparison
corrections. numpy and scipy only.

One engine, `association()`, serves every analysis. Observations are (gain y, distance x) pairs;
each belongs to a *unit* (a task: the pooled analysis has several) and a *cluster* (a language: the
same language appears once per task). The statistic is computed in four steps:

1. Spearman only: y, x and the covariates are replaced by their ranks within each unit
   (average ranks for ties). Spearman's rho is Pearson's r on these ranks.
2. Every variable is demeaned within its unit. With one unit that is plain centring; with several
   it is the task fixed-effects model (gain = beta * distance + alpha_task), so the pooled r is the
   correlation of within-task deviations and `slope` is the fixed-effects coefficient beta.
3. With covariates, y and x are residualised on the (demeaned) covariates: the partial correlation
   (Frisch-Waugh-Lovell: the same as regressing on task dummies plus covariates).
4. r = sum(x y) / sqrt(sum(x^2) sum(y^2)) on what is left; slope = sum(x y) / sum(x^2).

Bootstrap (percentile, seeded): languages are resampled with replacement, keeping all of a
language's tasks together (a cluster bootstrap; with one task the usual pairs bootstrap). A resample
is a vector of multinomial weights over languages, so all resamples are computed at once; ranks are
recomputed in every resample. Resamples where a variable is constant are dropped and counted.

Permutation p-values (two-sided, seeded): Freedman-Lane. The residuals of the reduced model
(y on task effects and covariates, without x) are permuted within each task and added back; the
statistic is |r|. With one task, no covariates and at most 8 languages, all n! permutations are
enumerated (an exact p-value); otherwise p = (1 + #{|r*| >= |r|}) / (1 + B).

Differences of means for categorical factors (same script as the reference or not, same family or
not) are the same engine with x = 0/1 indicator: the slope is then mean(gain | x=1) - mean(gain |
x=0) (within tasks, when pooled).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

EXACT_MAX_N = 8  # 8! = 40,320 permutations: cheap enough to enumerate
_TOL = 1e-12


@dataclass
class Association:
    """One statistic with its uncertainty. `value` is r / rho, or the slope for kind 'slope' / 'mean_diff'."""

    value: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int  # observations
    n_langs: int  # clusters (languages)
    r: float
    slope: float
    slope_ci: tuple[float, float]
    n_boot: int
    degenerate_resamples: int
    n_perm: int
    exact: bool
    # r of every bootstrap resample (NaN where degenerate), kept only when asked: statistics that compare
    # several x over the same resamples (core/analysis/ranking.py) need the draws, not only the CI
    r_boot: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("r_boot")
        return out


# ---- simple helpers ------------------------------------------------------------------------------

def pearson(x: Any, y: Any) -> float:
    """Pearson's r (nan when either variable is constant)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    x, y = x - x.mean(), y - y.mean()
    den = math.sqrt(float(x @ x) * float(y @ y))
    return float(x @ y) / den if den > _TOL else math.nan


def spearman(x: Any, y: Any) -> float:
    """Spearman's rho: Pearson's r on average ranks."""
    from scipy.stats import rankdata

    return pearson(rankdata(x), rankdata(y))


# ---- the engine ----------------------------------------------------------------------------------

def _onehot(labels: np.ndarray) -> np.ndarray:
    _, index = np.unique(labels, return_inverse=True)
    out = np.zeros((len(labels), index.max() + 1))
    out[np.arange(len(labels)), index] = 1.0
    return out


def _weighted_ranks(values: np.ndarray, same_unit: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Average ranks within each unit of a resample given as weights (B, N): an observation drawn
    k times occupies k consecutive ranks; each copy gets their mean."""
    less = (values[None, :] < values[:, None]) & same_unit
    equal = (values[None, :] == values[:, None]) & same_unit
    return weights @ less.T + (weights @ equal.T + 1.0) / 2.0


def _prepare(v: np.ndarray, weights: np.ndarray, groups: np.ndarray, same_unit: np.ndarray, ranks: bool) -> np.ndarray:
    """(B, N) values of one variable: ranked (optionally) and demeaned within unit under the weights."""
    values = _weighted_ranks(v, same_unit, weights) if ranks else np.broadcast_to(v, weights.shape)
    sums = (weights * values) @ groups
    counts = weights @ groups
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    return values - means @ groups.T


def _statistic(y, x, z, weights, groups, same_unit, ranks):
    """r and slope for each row of weights (B, N); also the residualised y and x."""
    yd = _prepare(y, weights, groups, same_unit, ranks)
    xd = _prepare(x, weights, groups, same_unit, ranks)
    if z is not None and z.shape[1]:
        zd = np.stack([_prepare(z[:, j], weights, groups, same_unit, ranks) for j in range(z.shape[1])], axis=2)
        root = np.sqrt(weights)[:, :, None]
        pinv = np.linalg.pinv(zd * root)  # (B, k, N): weighted least squares for every resample at once

        def residual(v: np.ndarray) -> np.ndarray:
            beta = pinv @ (v * root[:, :, 0])[:, :, None]
            return v - (zd @ beta)[:, :, 0]

        yd, xd = residual(yd), residual(xd)
    sxy = np.sum(weights * xd * yd, axis=1)
    sxx = np.sum(weights * xd * xd, axis=1)
    syy = np.sum(weights * yd * yd, axis=1)
    ok = (sxx > _TOL) & (syy > _TOL)
    r = np.where(ok, sxy / np.sqrt(np.where(ok, sxx * syy, 1.0)), np.nan)
    slope = np.where(sxx > _TOL, sxy / np.where(sxx > _TOL, sxx, 1.0), np.nan)
    return r, slope, yd, xd


def _percentile_ci(values: np.ndarray, level: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, math.nan
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return float(low), float(high)


def _unit_permutations(units: np.ndarray, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """(n_perm, N) index arrays, each permuting observations within their unit."""
    perms = np.tile(np.arange(len(units)), (n_perm, 1))
    for unit in np.unique(units):
        idx = np.flatnonzero(units == unit)
        perms[:, idx] = rng.permuted(np.tile(idx, (n_perm, 1)), axis=1)
    return perms


def association(
    y: Any,
    x: Any,
    *,
    units: Any = None,
    clusters: Any = None,
    covariates: Any = None,
    method: str = "pearson",
    n_boot: int = 2000,
    n_perm: int = 10000,
    seed: int = 0,
    level: float = 0.95,
    keep_resamples: bool = False,
) -> Association:
    """Association of y with x (see the module docstring for the exact definitions). The resamples depend on
    the seed and the clusters only (they are drawn first), so two calls with the same seed and clusters, e.g.
    for two different x, use the same resamples; `keep_resamples` returns their r in `r_boot`."""
    if method not in ("pearson", "spearman"):
        raise ValueError(f"unknown method {method!r}")
    y, x = np.asarray(y, float), np.asarray(x, float)
    n = len(y)
    units = np.zeros(n, int) if units is None else np.asarray(units)
    clusters = np.arange(n) if clusters is None else np.asarray(clusters)
    z = None if covariates is None else np.asarray(covariates, float).reshape(n, -1)
    if not (len(x) == len(units) == len(clusters) == n) or (z is not None and len(z) != n):
        raise ValueError("y, x, units, clusters and covariates must have one entry per observation")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(x)) and (z is None or np.all(np.isfinite(z)))):
        raise ValueError("values must be finite: leave out missing observations before calling")
    ranks = method == "spearman"
    groups = _onehot(units)
    same_unit = units[None, :] == units[:, None]
    rng = np.random.default_rng(seed)

    r_hat, slope_hat, yd, xd = _statistic(y, x, z, np.ones((1, n)), groups, same_unit, ranks)
    r0, slope0 = float(r_hat[0]), float(slope_hat[0])

    # cluster bootstrap: multinomial counts over languages -> weights over observations
    cluster_ids, cluster_index = np.unique(clusters, return_inverse=True)
    counts = rng.multinomial(len(cluster_ids), np.full(len(cluster_ids), 1.0 / len(cluster_ids)), size=n_boot)
    weights = counts[:, cluster_index].astype(float)
    r_boot, slope_boot, _, _ = _statistic(y, x, z, weights, groups, same_unit, ranks)
    degenerate = int(np.sum(~np.isfinite(r_boot)))

    p_value, used, exact = _freedman_lane(yd[0], xd[0], r0, units, z, groups, same_unit, ranks, y, n_perm, rng)
    ci_low, ci_high = _percentile_ci(r_boot, level)
    return Association(
        value=r0, ci_low=ci_low, ci_high=ci_high,
        p_value=p_value, n=n, n_langs=len(cluster_ids), r=r0, slope=slope0,
        slope_ci=_percentile_ci(slope_boot, level), n_boot=n_boot, degenerate_resamples=degenerate,
        n_perm=used, exact=exact, r_boot=r_boot if keep_resamples else None,
    )


def _freedman_lane(y_resid, x_resid, r0, units, z, groups, same_unit, ranks, y, n_perm, rng):
    """Two-sided permutation p-value of r: permute reduced-model residuals of y within units."""
    n = len(y_resid)
    if not np.isfinite(r0):
        return math.nan, 0, False
    # residual-maker M of the reduced model (unit effects + covariates), applied to permuted residuals
    design = groups
    if z is not None and z.shape[1]:
        zv = np.stack([_prepare(z[:, j], np.ones((1, n)), groups, same_unit, ranks)[0] for j in range(z.shape[1])], 1)
        design = np.hstack([groups, zv])
    maker = np.eye(n) - design @ np.linalg.pinv(design)
    exact = len(np.unique(units)) == 1 and n <= EXACT_MAX_N
    if exact:
        perms = np.array(list(itertools.permutations(range(n))))
    else:
        perms = _unit_permutations(units, n_perm, rng)
    permuted = y_resid[perms] @ maker.T
    sxy = permuted @ x_resid
    norm = np.sqrt(np.sum(permuted * permuted, axis=1) * float(x_resid @ x_resid))
    r_perm = np.divide(sxy, norm, out=np.zeros_like(sxy), where=norm > _TOL)
    hits = int(np.sum(np.abs(r_perm) >= abs(r0) - 1e-9))
    if exact:
        return hits / len(perms), len(perms), True
    return (1 + hits) / (1 + len(perms)), len(perms), False


def mean_difference(
    y: Any,
    indicator: Any,
    *,
    units: Any = None,
    clusters: Any = None,
    n_boot: int = 2000,
    n_perm: int = 10000,
    seed: int = 0,
    level: float = 0.95,
) -> Association:
    """mean(y | indicator=1) - mean(y | indicator=0) (within units), with bootstrap CI and permutation p.

    `value` and the CI are for the difference (the slope on the 0/1 indicator); `r` is the
    point-biserial correlation whose permutation distribution gives the p-value.
    """
    result = association(y, indicator, units=units, clusters=clusters, method="pearson",
                         n_boot=n_boot, n_perm=n_perm, seed=seed, level=level)
    result.value = result.slope
    result.ci_low, result.ci_high = result.slope_ci
    return result


# ---- multiple comparisons ------------------------------------------------------------------------

def holm(p_values: Any) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error). NaN entries are ignored and kept NaN."""
    p = np.asarray(p_values, float)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = len(finite)
    if m == 0:
        return out
    order = finite[np.argsort(p[finite], kind="stable")]
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


def benjamini_hochberg(p_values: Any) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate). NaN entries are kept NaN."""
    p = np.asarray(p_values, float)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = len(finite)
    if m == 0:
        return out
    order = finite[np.argsort(p[finite], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out[order] = np.minimum(adjusted, 1.0)
    return out


CORRECTIONS = {"holm": holm, "bh": benjamini_hochberg}


def adjust(p_values: Any, method: str) -> np.ndarray:
    if method not in CORRECTIONS:
        raise ValueError(f"unknown correction {method!r}")
    return CORRECTIONS[method](p_values)


# ---- paired effects over languages and seeds ------------------------------------------------------

@dataclass
class TwoLevel:
    """A mean over strata (tasks) of means over languages of means over seeds, with its bootstrap CI."""

    value: float
    ci_low: float | None
    ci_high: float | None
    n_langs: int  # languages, summed over strata
    n_seeds: int  # the most seeds any language has
    n_boot: int
    seed: int
    level: float


def two_level(strata: Any, *, n_boot: int = 9999, seed: int = 0, level: float = 0.95) -> TwoLevel:
    """Two-level percentile bootstrap of a hierarchical mean.

    `strata` is a list (tasks) of lists (languages) of 1-D sequences (one value per seed: a paired
    difference arm − base, or an arm's score). The statistic is the mean over strata of the mean over
    languages of the mean over seeds. A resample draws the languages of every stratum with replacement
    (strata stay fixed, as XTREME's overall score is a mean over a fixed set of tasks), then, for every
    drawn language, its seeds with replacement. One language with one seed has no interval (None).
    All resamples are drawn at once from one seeded generator; strata in the given order.
    """
    groups = [[np.asarray(v, float).ravel() for v in langs] for langs in strata]
    groups = [[v for v in langs if v.size] for langs in groups]
    groups = [langs for langs in groups if langs]
    if not groups:
        raise ValueError("no values to bootstrap")
    if not all(np.all(np.isfinite(v)) for langs in groups for v in langs):
        raise ValueError("values must be finite")
    value = float(np.mean([np.mean([v.mean() for v in langs]) for langs in groups]))
    n_langs = sum(len(langs) for langs in groups)
    n_seeds = max(v.size for langs in groups for v in langs)
    if all(len(langs) == 1 and langs[0].size == 1 for langs in groups):
        return TwoLevel(value, None, None, n_langs, n_seeds, n_boot, seed, level)
    rng = np.random.default_rng(seed)
    total = np.zeros(n_boot)
    for langs in groups:
        counts = np.array([v.size for v in langs])
        table = np.zeros((len(langs), counts.max()))
        for i, v in enumerate(langs):
            table[i, : v.size] = v
        drawn = rng.integers(0, len(langs), size=(n_boot, len(langs)))  # languages
        n = counts[drawn]  # (B, L): seeds of each drawn language
        picks = np.floor(rng.random((n_boot, len(langs), counts.max())) * n[..., None]).astype(int)
        values = table[drawn[..., None], picks]
        used = np.arange(counts.max()) < n[..., None]  # draw as many seeds as the language has
        total += (np.where(used, values, 0.0).sum(axis=2) / n).mean(axis=1)
    low, high = _percentile_ci(total / len(groups), level)
    return TwoLevel(value, low, high, n_langs, n_seeds, n_boot, seed, level)
