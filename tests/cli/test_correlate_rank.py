"""`correlate --rank`: similarity measures ranked by the share of the gain's variance each explains, on the
same languages and the same bootstrap resamples (core/analysis/ranking.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stilt_cli.core.analysis import stats, typology
from tests.cli.test_correlate import LANGS, runs

MANY = LANGS + ["es", "ru", "tr", "ar", "fi", "vi"]
pytestmark = pytest.mark.usefixtures("typology_cache")


def test_planted_measure_ranks_first_with_intervals(cli, tmp_path):
    table = typology.table(MANY, ["syntax", "phonology"])
    baseline, run = runs(tmp_path, {lang: -5.0 * table["syntax"][lang] + 0.001 * i for i, lang in enumerate(MANY)})
    result = cli("correlate", baseline, run, "--features", "syntax", "--rank", "syntax,phonology,genetic",
                 "--bootstrap", "300", "--permutations", "200")
    assert result.exit_code == 0, result.stderr
    ranking = [json.loads(line) for line in result.stdout.splitlines() if '"ranking"' in line]
    assert [r["rank"] for r in ranking] == [1, 2, 3] and ranking[0]["params"]["measure"] == "syntax"
    top = ranking[0]
    # R² is r² of the gain on the measure alone, on the languages every measure covers
    gains = [-5.0 * table["syntax"][lang] + 0.001 * i for i, lang in enumerate(MANY)]
    assert top["value"] == pytest.approx(stats.pearson([table["syntax"][lang] for lang in MANY], gains) ** 2, abs=1e-9)
    assert 0.0 <= top["ci_low"] <= top["value"] <= top["ci_high"] <= 1.0
    assert top["rank_ci"][0] == 1 and top["p_best"] > 0.9 and top["n_langs"] == len(MANY)
    assert sum(r["p_best"] for r in ranking) == pytest.approx(1.0)
    assert all(r["params"]["measures"] == ["syntax", "phonology", "genetic"] for r in ranking)


def test_same_seed_and_languages_give_the_same_resamples():
    rng = np.random.default_rng(3)
    y, x1, x2 = rng.normal(size=(3, 12))
    a = stats.association(y, x1, n_boot=200, n_perm=100, seed=5, keep_resamples=True)
    b = stats.association(y, x2, n_boot=200, n_perm=100, seed=5, keep_resamples=True)
    again = stats.association(y, x1, n_boot=200, n_perm=100, seed=5)
    assert a.r_boot.shape == (200,) and again.r_boot is None and "r_boot" not in a.to_dict()
    assert np.allclose(np.quantile(a.r_boot, [0.025, 0.975]), [again.ci_low, again.ci_high])
    assert not np.allclose(a.r_boot, b.r_boot)  # another x, the same draws: different r per resample


def test_rank_needs_enough_languages_with_every_measure(cli, tmp_path):
    # URIEL+ has no featural distance for Latvian and Slovak (no shared observed feature with English)
    baseline, run = runs(tmp_path, {lang: float(i) for i, lang in enumerate(LANGS[:3] + ["lv", "sk"])})
    result = cli("correlate", baseline, run, "--features", "syntax", "--rank", "syntax,featural",
                 "--bootstrap", "200", "--permutations", "200")
    assert result.exit_code == 1 and "error: --rank: only 3 language(s)" in result.stderr, result.stderr
