"""core/analysis/regression.py and `correlate --model`: several predictors at once, on constructed
data whose coefficients are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stilt_cli.core.analysis import covariates, model, regression, typology
from stilt_cli.core.errors import DataError, UsageError
from tests.test_correlate import LANGS, parse, runs
from tests.test_plots import png_size

MANY = LANGS + ["es", "ru", "tr", "ar", "fi", "vi"]


@pytest.fixture(scope="module", autouse=True)
def typology_cache(tmp_path_factory):
    folder = tmp_path_factory.getbasetemp() / "stilt-typology-cache"  # shared with test_typology
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STILT_CACHE", str(folder))
        yield folder


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


def _planted(langs, syntax_coef=10.0, size_coef=2.0):
    """Gains built exactly from syntax distance and log10 CC-100 size: the model's raw coefficients."""
    syntax = typology.table(langs, ["syntax"])["syntax"]
    size = covariates.pretrain_size(langs).values
    return {lang: syntax_coef * syntax[lang] + size_coef * size[lang] for lang in langs}


def test_cli_model_recovers_planted_coefficients_and_writes_plot_and_report(cli, tmp_path):
    baseline, run = runs(tmp_path, _planted(MANY))
    plots, report = tmp_path / "plots", tmp_path / "report.md"
    result = cli("correlate", baseline, run, "--features", "syntax", "--model", "syntax+pretrain-size",
                 "--bootstrap", "200", "--permutations", "500", "--plot", plots, "--report", report)
    assert result.exit_code == 0, result.stderr
    rows = [r for r in parse(result.stdout) if r["kind"] == "regression"]
    coefficient = {r["params"]["term"]: r for r in rows if r["metric"] == "coefficient"}
    assert coefficient["syntax"]["raw_coefficient"] == pytest.approx(10.0, abs=1e-6)
    assert coefficient["pretrain-size"]["raw_coefficient"] == pytest.approx(2.0, abs=1e-6)
    for row in coefficient.values():
        assert row["p_value"] < 0.01 and row["vif"] >= 1.0 and row["n_langs"] == len(MANY)
        assert row["ci_low"] <= row["value"] <= row["ci_high"]
        assert row["params"]["model"] == "syntax+pretrain-size" and "Table 6" in row["params"]["sources"]["pretrain-size"]
        assert row["protocol"] == model.PROTOCOL and len(row["points"]) == len(MANY)
    r2 = next(r for r in rows if r["metric"] == "r_squared")
    assert r2["value"] == pytest.approx(1.0)
    assert png_size(plots / "coefficients.png") == (960, 720)
    text = report.read_text()
    assert "## Regression: gain ~ syntax + pretrain-size" in text
    assert "| syntax | " in text and "| pretrain-size | " in text and "![coefficients](plots/coefficients.png)" in text
    assert "## Correlations" in text and "| syntax | xnli |" in text


def test_cli_model_pooled_over_tasks(cli, tmp_path):
    gains = _planted(MANY)
    base_a, run_a = runs(tmp_path, gains, task="xnli")
    base_b, run_b = runs(tmp_path, {lang: 3.0 + 0.5 * g for lang, g in gains.items()}, task="pawsx")
    both_base, both_run = tmp_path / "base.jsonl", tmp_path / "run.jsonl"
    both_base.write_text(base_a.read_text() + base_b.read_text())
    both_run.write_text(run_a.read_text() + run_b.read_text())
    result = cli("correlate", both_base, both_run, "--features", "syntax", "--model", "syntax+pretrain-size",
                 "--bootstrap", "200", "--permutations", "200")
    assert result.exit_code == 0, result.stderr
    rows = [r for r in parse(result.stdout) if r["kind"] == "regression" and r["metric"] == "coefficient"]
    assert sorted({r["task"] for r in rows}) == ["pawsx", "pooled", "xnli"]
    pooled = {r["params"]["term"]: r for r in rows if r["task"] == "pooled"}
    assert pooled["syntax"]["raw_coefficient"] == pytest.approx(0.75 * 10.0, abs=1e-6)  # the two tasks' mean slope
    assert pooled["syntax"]["n"] == 2 * len(MANY) and pooled["syntax"]["n_langs"] == len(MANY)
    assert "fixed effects" in pooled["syntax"]["params"]["pooling"]


def test_cli_model_too_few_languages_is_one_line_exit_1(cli, tmp_path):
    baseline, run = runs(tmp_path, _planted(["de", "fr", "hi", "ja"]))
    result = cli("correlate", baseline, run, "--features", "syntax", "--model", "syntax+pretrain-size")
    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert "predictors + 3 = 5" in lines[-1] and lines[-1].startswith("error:")
    typo = cli("correlate", baseline, run, "--model", "syntax+fertilty")
    assert typo.exit_code == 2 and "did you mean 'fertility'" in typo.stderr
    no_ckpt = cli("correlate", baseline, run, "--model", "syntax+subword-overlap")
    assert no_ckpt.exit_code == 2 and "needs --checkpoint" in no_ckpt.stderr
