"""core/analysis/regression.py: several predictors at once, on constructed data whose coefficients are
known (`correlate --model` through the CLI: tests/cli/test_correlate_model.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stilt_cli.core.analysis import covariates, model, regression, typology
from stilt_cli.core.errors import DataError, UsageError


def _zscore(v):
    v = np.asarray(v, float)
    return (v - v.mean(axis=0)) / v.std(axis=0)


def test_known_coefficients_are_recovered_exactly():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 2)) * [1.0, 3.0]
    y = 1.0 + 3.0 * x[:, 0] - 2.0 * x[:, 1]
    fit = regression.fit(y, x, ["a", "b"], n_boot=200, n_perm=200, seed=1)
    raw = [t.raw for t in fit.terms]
    assert raw == pytest.approx([3.0, -2.0], abs=1e-9)
    expected = [3.0 * x[:, 0].std() / y.std(), -2.0 * x[:, 1].std() / y.std()]
    assert [t.coefficient for t in fit.terms] == pytest.approx(expected, abs=1e-9)
    assert fit.r_squared == pytest.approx(1.0)
    for term, value in zip(fit.terms, expected):
        # the raw slope is the same in every resample; the standardised one moves with the resample's SDs
        assert term.ci_low <= value <= term.ci_high and term.p_value < 0.01


def test_standardised_coefficients_agree_with_statsmodels_and_noise_is_not_significant():
    import statsmodels.api as sm

    rng = np.random.default_rng(4)
    x = rng.normal(size=(40, 2))
    y = 0.8 * x[:, 0] + rng.normal(scale=0.5, size=40)  # b has no effect
    fit = regression.fit(y, x, ["a", "b"], n_boot=1000, n_perm=2000, seed=2)
    direct = sm.OLS(_zscore(y), sm.add_constant(_zscore(x))).fit()
    assert [t.coefficient for t in fit.terms] == pytest.approx(list(direct.params[1:]), abs=1e-9)
    assert [t.std_error for t in fit.terms] == pytest.approx(list(direct.bse[1:]), rel=1e-9)
    a, b = fit.terms
    assert a.p_value < 0.01 and b.p_value > 0.05
    assert a.ci_low < a.coefficient < a.ci_high and a.ci_low > 0
    assert b.ci_low < 0 < b.ci_high
    assert fit.n_perm == 2000 and not fit.exact and fit.degenerate_resamples == 0


def test_vif_of_collinear_predictors_is_one_over_one_minus_r_squared():
    rng = np.random.default_rng(1)
    first = _zscore(rng.normal(size=30))
    noise = rng.normal(size=30)
    noise = _zscore(noise - (noise @ first) / (first @ first) * first)  # exactly uncorrelated with first
    for r in (0.0, 0.9, 0.99):
        second = r * first + math.sqrt(1 - r * r) * noise  # correlation exactly r
        y = first + second + rng.normal(size=30)
        fit = regression.fit(y, np.column_stack([first, second]), ["first", "second"], n_boot=100, n_perm=100)
        assert [t.vif for t in fit.terms] == pytest.approx([1 / (1 - r * r)] * 2, rel=1e-6)
    assert fit.terms[0].vif > 50  # r = 0.99: far past the usual 5-10 warning line


def test_pooled_tasks_are_fixed_effects():
    import statsmodels.api as sm

    rng = np.random.default_rng(2)
    x = rng.normal(size=(10, 2))
    units = np.repeat([0, 1], 10)
    xx = np.vstack([x, x])
    y = np.where(units == 0, 5.0, -3.0) + xx @ [1.5, -0.5] + rng.normal(scale=0.3, size=20)
    fit = regression.fit(y, xx, ["a", "b"], units=units, clusters=np.tile(np.arange(10), 2), n_boot=200, n_perm=200)
    dummies = np.column_stack([units == 0, units == 1]).astype(float)
    direct = sm.OLS(y, np.hstack([dummies, xx])).fit()
    assert [t.raw for t in fit.terms] == pytest.approx(list(direct.params[2:]), abs=1e-9)
    assert fit.n_langs == 10 and fit.n == 20 and fit.n_units == 2


def test_too_few_languages_and_constant_predictors_are_data_errors():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 2))
    with pytest.raises(DataError, match=r"4 language\(s\) .* for 2 predictor\(s\): .* at least predictors \+ 3 = 5"):
        regression.fit(x[:, 0], x, ["a", "b"])
    small = regression.fit(rng.normal(size=5), rng.normal(size=(5, 2)), ["a", "b"], n_boot=100, n_perm=100)
    assert small.exact and small.n_perm == math.factorial(5)  # one task, <= 8 languages: every permutation
    with pytest.raises(DataError, match="b does not vary"):
        regression.fit(rng.normal(size=8), np.column_stack([rng.normal(size=8), np.ones(8)]), ["a", "b"])


def test_parse_model_terms():
    assert model.parse("syntax+morphology+fertility") == ["syntax", "morphology", "fertility"]
    assert model.parse("syntax, pretrain_size") == ["syntax", "pretrain-size"]
    assert model.parse(None) == []
    with pytest.raises(UsageError, match="did you mean 'syntax'"):
        model.parse("syntx+genetic")
    assert model.split_terms(["syntax", "subword-overlap", "ud-mattr"]) == (["syntax", "ud-mattr"], ["subword-overlap"])
    assert set(covariates.NAMES) <= set(typology.FEATURES) | set(covariates.NAMES)
