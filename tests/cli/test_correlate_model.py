"""`correlate --model`: several predictors at once through the CLI, on gains planted from real distances and
CC-100 sizes, so that the raw coefficients are known exactly."""

from __future__ import annotations

import pytest

from stilt_cli.core.analysis import covariates, model, typology
from tests.cli.test_correlate import LANGS, runs
from tests.helpers import jsonl, png_size

pytestmark = pytest.mark.usefixtures("typology_cache")
MANY = LANGS + ["es", "ru", "tr", "ar", "fi", "vi"]


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
    rows = [r for r in jsonl(result.stdout) if r["kind"] == "regression"]
    coefficient = {r["params"]["term"]: r for r in rows if r["metric"] == "coefficient"}
    assert coefficient["syntax"]["raw_coefficient"] == pytest.approx(10.0, abs=1e-6)
    assert coefficient["pretrain-size"]["raw_coefficient"] == pytest.approx(2.0, abs=1e-6)
    for row in coefficient.values():
        assert row["p_value"] < 0.01 and row["vif"] >= 1.0 and row["n_langs"] == len(MANY)
        assert row["ci_low"] <= row["value"] <= row["ci_high"]
        assert row["params"]["model"] == "syntax+pretrain-size"
        assert "Table 6" in row["params"]["sources"]["pretrain-size"]
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
    rows = [r for r in jsonl(result.stdout) if r["kind"] == "regression" and r["metric"] == "coefficient"]
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
