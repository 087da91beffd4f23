"""core/analysis/stats.py on constructed data with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from stilt_cli.core.analysis import stats


def test_perfect_monotone_gives_rho_one_and_exact_p():
    x = np.array([0.1, 0.2, 0.3, 0.5, 0.8, 0.9])
    y = np.exp(4 * x)  # monotone but not linear
    result = stats.association(y, x, method="spearman", seed=0)
    assert result.value == pytest.approx(1.0)
    # all 6! orderings enumerated: only the identity and the reversal reach |rho| = 1
    assert result.exact and result.n_perm == 720
    assert result.p_value == pytest.approx(2 / 720)
    pearson = stats.association(y, x, method="pearson", seed=0)
    assert 0.9 < pearson.value < 1.0  # not linear, so r < 1 while rho = 1


def test_independent_data_gives_rho_near_zero_and_large_p():
    rng = np.random.default_rng(7)
    x = np.arange(40, dtype=float)
    y = rng.permutation(x)  # shuffled: no association
    result = stats.association(y, x, method="spearman", n_perm=2000, n_boot=500, seed=1)
    assert abs(result.value) < 0.2
    assert result.p_value > 0.2
    assert result.ci_low < 0 < result.ci_high


def test_point_estimates_equal_scipy():
    rng = np.random.default_rng(3)
    x = rng.normal(size=15)
    y = 0.6 * x + rng.normal(size=15)
    y[3] = y[5]  # a tie for the ranks
    assert stats.association(y, x, method="pearson", n_boot=100, n_perm=100).value == pytest.approx(
        scipy_stats.pearsonr(x, y)[0])
    assert stats.association(y, x, method="spearman", n_boot=100, n_perm=100).value == pytest.approx(
        scipy_stats.spearmanr(x, y)[0])
    assert stats.pearson(x, y) == pytest.approx(scipy_stats.pearsonr(x, y)[0])
    assert stats.spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y)[0])


def test_exact_permutation_p_matches_scipy_enumeration():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    y = np.array([2.0, 1.0, 4.0, 3.0, 6.0])
    ours = stats.association(y, x, method="spearman")
    theirs = scipy_stats.permutation_test((y,), lambda v: scipy_stats.spearmanr(x, v)[0],
                                          permutation_type="pairings", n_resamples=np.inf)
    assert ours.exact
    assert ours.p_value == pytest.approx(theirs.pvalue)


def test_bootstrap_and_permutation_are_reproducible_with_a_seed():
    rng = np.random.default_rng(11)
    x = rng.normal(size=20)
    y = x + rng.normal(size=20)
    first = stats.association(y, x, n_boot=500, n_perm=500, seed=42)
    second = stats.association(y, x, n_boot=500, n_perm=500, seed=42)
    other = stats.association(y, x, n_boot=500, n_perm=500, seed=43)
    assert (first.ci_low, first.ci_high, first.p_value) == (second.ci_low, second.ci_high, second.p_value)
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    assert first.ci_low < first.value < first.ci_high
    assert first.ci_low > 0  # a strong correlation: the interval excludes 0


def test_weighted_ranks_equal_ranks_of_the_expanded_resample():
    values = np.array([3.0, 1.0, 3.0, 2.0, 5.0])
    weights = np.array([[2.0, 0.0, 1.0, 3.0, 1.0]])
    same_unit = np.ones((5, 5), bool)
    ranks = stats._weighted_ranks(values, same_unit, weights)[0]
    expanded = np.repeat(values, weights[0].astype(int))
    expected = dict(zip(expanded, scipy_stats.rankdata(expanded)))
    for index in np.flatnonzero(weights[0]):
        assert ranks[index] == pytest.approx(expected[values[index]])


def test_partial_correlation_removes_a_confounder():
    rng = np.random.default_rng(5)
    z = rng.normal(size=200)
    x = z + 0.3 * rng.normal(size=200)
    y = z + 0.3 * rng.normal(size=200)  # x and y share only z
    plain = stats.association(y, x, n_boot=200, n_perm=200, seed=0)
    partial = stats.association(y, x, covariates=z[:, None], n_boot=200, n_perm=200, seed=0)
    assert plain.value > 0.8
    assert abs(partial.value) < 0.15
    # the definition: correlation of the residuals after regressing both on [1, z]
    design = np.column_stack([np.ones_like(z), z])
    rx = x - design @ np.linalg.lstsq(design, x, rcond=None)[0]
    ry = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    assert partial.value == pytest.approx(np.corrcoef(rx, ry)[0, 1])


def test_pooled_fixed_effects_ignore_task_offsets():
    x = np.array([0.1, 0.2, 0.3, 0.4, 0.5] * 2)
    task = np.array([0] * 5 + [1] * 5)
    lang = np.array(list("abcde") * 2)
    y = 2.0 * x + np.where(task == 1, 10.0, 0.0) + np.array([0.01, -0.01, 0.0, 0.01, -0.01] * 2)
    result = stats.association(y, x, units=task, clusters=lang, n_boot=300, n_perm=300, seed=0)
    assert result.slope == pytest.approx(2.0, abs=0.1)
    assert result.value > 0.99
    assert result.n == 10 and result.n_langs == 5
    assert abs(stats.pearson(x, y)) < 0.2  # ignoring the task offset hides the relation


def test_mean_difference_with_exact_permutation():
    values = np.array([1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 8.0])
    differs = np.array([0, 0, 0, 1, 1, 1, 1])
    result = stats.mean_difference(values, differs, n_boot=500, seed=0)
    assert result.value == pytest.approx(6.5 - 2.0)
    assert result.ci_low <= result.value <= result.ci_high
    # only the observed split of 7 values into 3 + 4 is as extreme: p = 1 / C(7, 3)
    assert result.exact
    assert result.p_value == pytest.approx(1 / math.comb(7, 3))


def test_holm_against_hand_computed_values():
    # sorted p: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> running max 0.06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1


def test_benjamini_hochberg_against_hand_computed_values():
    # sorted p * m / rank: 0.02, 0.02, 0.04, 0.04 -> running min from the top
    assert stats.benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert stats.benjamini_hochberg([0.01, 0.02, 0.03]) == pytest.approx([0.03, 0.03, 0.03])


def test_corrections_keep_nan_out_of_the_family():
    adjusted = stats.adjust([0.01, float("nan"), 0.02], "holm")
    assert math.isnan(adjusted[1])
    assert adjusted[[0, 2]] == pytest.approx([0.02, 0.02])
    with pytest.raises(ValueError):
        stats.adjust([0.1], "bonferoni")


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="one entry per observation"):
        stats.association([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        stats.association([1.0, float("nan"), 3.0, 4.0], [1.0, 2.0, 3.0, 4.0])


def test_constant_variable_gives_nan_not_an_error():
    result = stats.association([1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0], n_boot=100, n_perm=100)
    assert math.isnan(result.value) and math.isnan(result.p_value)
