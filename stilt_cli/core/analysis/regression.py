"""Several predictors at once: ordinary least squares of gain on standardised predictors.

The model, for observations i (a language in a task t):

    gain_i = alpha_t + sum_j beta_j * z_ij + e_i

- alpha_t: one intercept per task (task fixed effects when several tasks are pooled; with one task
  the usual intercept).
- Standardised coefficients: the gain and every predictor are divided by the standard deviation of
  their within-task deviations (with one task, their plain standard deviation), so beta_j is the
  change in gain, in standard deviations, per standard deviation of predictor j with the others
  held fixed. `raw` is the same coefficient in the variables' own units (gain per unit of predictor).
- Fitted by statsmodels OLS (classical standard errors, R^2 within tasks, variance inflation
  factors), with the two resampling procedures of `core/analysis/stats.py`:
  - bootstrap CIs (percentile, seeded): languages resampled with replacement, all of a language's
    tasks kept together; the standardisation and the fit are redone in every resample; resamples
    where a predictor is constant or the design is singular are dropped and counted;
  - permutation p-values (two-sided, seeded), Freedman-Lane per predictor: the residuals of the model
    without predictor j are permuted within tasks and added back, the full model refitted, and the
    statistic is |t_j|; with one task and at most 8 observations all n! permutations are enumerated.
- VIF_j = 1 / (1 - R^2_j), R^2_j from regressing predictor j on the other predictors and the task
  effects (statsmodels' `variance_inflation_factor`); above ~5-10 the predictors are too collinear for
  their separate coefficients to mean much.

Fewer languages than predictors + 3 is a data error: the model would have too few residual degrees
of freedom for its intervals to mean anything.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from stilt_cli.core.analysis.stats import EXACT_MAX_N, _unit_permutations
from stilt_cli.core.errors import DataError

MIN_EXTRA_LANGS = 3  # languages needed beyond the number of predictors
_TOL = 1e-12


@dataclass
class Term:
    name: str
    coefficient: float  # standardised
    ci_low: float
    ci_high: float
    p_value: float
    std_error: float  # classical OLS standard error of the standardised coefficient
    t_value: float
    raw: float  # gain per unit of the predictor
    vif: float


@dataclass
class Fit:
    terms: list[Term]
    r_squared: float  # of the within-task variance of gain
    adj_r_squared: float
    n: int
    n_langs: int
    n_units: int
    df_resid: int
    n_boot: int
    degenerate_resamples: int
    n_perm: int
    exact: bool


def _demean(values: np.ndarray, units: np.ndarray) -> np.ndarray:
    out = np.array(values, float)
    for unit in np.unique(units):
        rows = units == unit
        out[rows] -= out[rows].mean(axis=0)
    return out


def _scales(y: np.ndarray, x: np.ndarray, units: np.ndarray) -> tuple[float, np.ndarray]:
    """Standard deviations of the within-unit deviations of y and of each column of x."""
    return float(np.std(_demean(y, units))), np.std(_demean(x, units), axis=0)


def _dummies(units: np.ndarray) -> np.ndarray:
    labels, index = np.unique(units, return_inverse=True)
    out = np.zeros((len(units), len(labels)))
    out[np.arange(len(units)), index] = 1.0
    return out


def fit(y: Any, x: Any, names: list[str], *, units: Any = None, clusters: Any = None, n_boot: int = 2000,
        n_perm: int = 10000, seed: int = 0, level: float = 0.95) -> Fit:
    """OLS of y on the columns of x (see the module docstring for every definition)."""
    import statsmodels.api as sm
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    y, x = np.asarray(y, float), np.asarray(x, float).reshape(len(y), -1)
    n, k = x.shape
    if k != len(names):
        raise ValueError("one name per column of x")
    units = np.zeros(n, int) if units is None else np.asarray(units)
    clusters = np.arange(n) if clusters is None else np.asarray(clusters)
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(x))):
        raise ValueError("values must be finite: leave out missing observations before calling")
    n_langs = len(np.unique(clusters))
    if n_langs < k + MIN_EXTRA_LANGS:
        raise DataError(f"{n_langs} language(s) with a gain and every predictor known, for {k} predictor(s): a "
                        f"regression needs at least predictors + {MIN_EXTRA_LANGS} = {k + MIN_EXTRA_LANGS}",
                        "drop predictors from --model, or add languages")
    sy, sx = _scales(y, x, units)
    constant = [names[j] for j in range(k) if sx[j] <= _TOL]
    if sy <= _TOL or constant:
        what = "the gain" if sy <= _TOL else ", ".join(constant)
        raise DataError(f"{what} does not vary (within tasks) over the languages of the model",
                        "a constant variable has no coefficient: drop it from --model")
    z = x / sx
    design = np.hstack([_dummies(units), z])
    n_fixed = design.shape[1] - k
    if n - design.shape[1] < 1 or np.linalg.matrix_rank(design) < design.shape[1]:
        raise DataError(f"the model's design is singular ({n} observations, {design.shape[1]} parameters, "
                        "perfectly collinear predictors?)", "drop a predictor from --model")
    result = sm.OLS(y / sy, design).fit()
    beta = np.asarray(result.params)[n_fixed:]
    se = np.asarray(result.bse)[n_fixed:]
    vif = _vif(z, units, variance_inflation_factor)
    within = _demean(y / sy, units)
    r2 = 1.0 - float(result.ssr) / float(within @ within)
    df_resid = int(round(result.df_resid))
    adj = 1.0 - (1.0 - r2) * (n - n_fixed) / df_resid if df_resid > 0 else math.nan

    rng = np.random.default_rng(seed)
    boot, degenerate = _bootstrap(y, x, units, clusters, n_boot, rng)
    p_values, used, exact = _freedman_lane(y / sy, design, n_fixed, units, n_perm, rng)
    alpha = (1.0 - level) / 2.0
    terms = []
    for j, name in enumerate(names):
        column = boot[:, j][np.isfinite(boot[:, j])]
        low, high = (np.quantile(column, [alpha, 1.0 - alpha]) if column.size else (math.nan, math.nan))
        terms.append(Term(name, float(beta[j]), float(low), float(high), float(p_values[j]), float(se[j]),
                          float(beta[j] / se[j]) if se[j] > 0 else math.nan, float(beta[j] * sy / sx[j]), vif[j]))
    return Fit(terms, r2, adj, n, n_langs, len(np.unique(units)), df_resid, n_boot, degenerate, used, exact)


def _vif(z: np.ndarray, units: np.ndarray, variance_inflation_factor: Any) -> list[float]:
    """VIF of each predictor on the within-task deviations (the variation the coefficients use)."""
    import warnings

    if z.shape[1] == 1:
        return [1.0]
    exog = np.hstack([np.ones((len(z), 1)), _demean(z, units)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # near-collinear predictors: the large VIF is the message
        return [float(variance_inflation_factor(exog, 1 + j)) for j in range(z.shape[1])]


def _standardised_coefficients(y: np.ndarray, x: np.ndarray, units: np.ndarray) -> np.ndarray | None:
    """The standardised coefficients by Frisch-Waugh-Lovell (within-unit deviations), or None."""
    yd, xd = _demean(y, units), _demean(x, units)
    sy, sx = np.std(yd), np.std(xd, axis=0)
    if sy <= _TOL or np.any(sx <= _TOL):
        return None
    zx = xd / sx
    if np.linalg.matrix_rank(zx) < zx.shape[1]:
        return None
    return np.linalg.lstsq(zx, yd / sy, rcond=None)[0]


def _bootstrap(y, x, units, clusters, n_boot, rng) -> tuple[np.ndarray, int]:
    labels, index = np.unique(clusters, return_inverse=True)
    rows_of = [np.flatnonzero(index == c) for c in range(len(labels))]
    out = np.full((n_boot, x.shape[1]), np.nan)
    degenerate = 0
    for b in range(n_boot):
        drawn = rng.integers(0, len(labels), size=len(labels))
        rows = np.concatenate([rows_of[c] for c in drawn])
        beta = _standardised_coefficients(y[rows], x[rows], units[rows])
        if beta is None:
            degenerate += 1
        else:
            out[b] = beta
    return out, degenerate


def _freedman_lane(y, design, n_fixed, units, n_perm, rng) -> tuple[np.ndarray, int, bool]:
    """Two-sided p-value of each predictor's t statistic (Freedman-Lane, within-unit permutations)."""
    n, p = design.shape
    exact = len(np.unique(units)) == 1 and n <= EXACT_MAX_N
    perms = np.array(list(itertools.permutations(range(n)))) if exact else _unit_permutations(units, n_perm, rng)
    pinv = np.linalg.pinv(design)
    xtx_inv = np.linalg.inv(design.T @ design)
    df = n - p

    def t_values(ys: np.ndarray, j: int) -> np.ndarray:
        beta = ys @ pinv.T
        resid = ys - beta @ design.T
        s2 = np.sum(resid * resid, axis=1) / df
        se = np.sqrt(np.maximum(s2 * xtx_inv[j, j], 0.0))
        # a perfect fit (no residual) makes t infinite, unless the coefficient itself is zero
        exact_fit = np.where(np.abs(beta[:, j]) > _TOL, np.inf, 0.0)
        return np.divide(beta[:, j], se, out=exact_fit, where=se > _TOL)

    observed = y[None, :]
    p_values = []
    for j in range(n_fixed, p):
        reduced = np.delete(design, j, axis=1)
        fitted = reduced @ np.linalg.lstsq(reduced, y, rcond=None)[0]
        resid = y - fitted
        t0 = abs(float(t_values(observed, j)[0]))
        t_perm = np.abs(t_values(fitted[None, :] + resid[perms], j))
        hits = int(np.sum(t_perm >= t0 - 1e-9))
        p_values.append(hits / len(perms) if exact else (1 + hits) / (1 + len(perms)))
    return np.array(p_values), len(perms), exact
