"""`stilt correlate` end to end on constructed result records with known answers, its covariates
(pretraining size, fertility through a tiny checkpoint), and its bad inputs."""

from __future__ import annotations

import json
import random

import pytest

from stilt_cli.core import records
from stilt_cli.core.analysis import stats, typology
from tests.helpers import jsonl, png_size

pytestmark = pytest.mark.usefixtures("typology_cache")
LANGS = ["de", "nl", "fr", "hi", "ja", "sw"]


@pytest.fixture(scope="module")
def syntax():
    return typology.table(LANGS + ["es", "ru", "zh", "tr"], ["syntax"])["syntax"]


def write(path, rows, shuffle_seed=None):
    rows = list(rows)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(rows)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def runs(tmp_path, gains, *, task="xnli", metric="accuracy", base=50.0, extra_base=(), shuffle=False, params=None):
    """BASELINE and RUN files whose per-language gain is `gains[lang]`."""
    baseline = [records.make("eval", task, lang, metric, base + i, split="test", params=params)
                for i, lang in enumerate(sorted(gains) + list(extra_base))]
    run = [records.make("eval", task, lang, metric, base + i + gains[lang], split="test", params=params)
           for i, lang in enumerate(sorted(gains))]
    return (write(tmp_path / f"base-{task}.jsonl", baseline),
            write(tmp_path / f"run-{task}.jsonl", run, shuffle_seed=1 if shuffle else None))


def pick(rows, task, feature, metric):
    found = [r for r in rows if r["task"] == task and r["params"]["feature"] == feature and r["metric"] == metric]
    assert len(found) == 1, (task, feature, metric, len(found))
    return found[0]


def test_perfect_monotone_gain_gives_rho_one(cli, tmp_path, syntax):
    gains = {lang: 2.0 ** (10 * syntax[lang]) for lang in LANGS}  # increasing in distance, not linear
    baseline, run = runs(tmp_path, gains)
    result = cli("correlate", baseline, run, "--features", "syntax", "--bootstrap", "200", "--seed", "3")
    assert result.exit_code == 0, result.stderr
    rows = jsonl(result.stdout)
    rho = pick(rows, "xnli", "syntax", "spearman")
    assert rho["value"] == pytest.approx(1.0)
    assert rho["p_value"] == pytest.approx(2 / 720) and rho["permutation"]["exact"]
    assert rho["n_langs"] == 6 and rho["kind"] == "correlation" and rho["lang"] == "all"
    assert records.validate(rho, "test")["schema"] == records.SCHEMA
    pearson = pick(rows, "xnli", "syntax", "pearson")
    assert 0.8 < pearson["value"] < 1.0
    assert pearson["ci_low"] <= pearson["value"] <= pearson["ci_high"]
    points = {p["lang"]: p for p in rho["points"]}
    assert points["ja"]["gain"] == pytest.approx(gains["ja"]) and points["ja"]["syntax"] == syntax["ja"]


def test_shuffled_gains_give_no_significant_correlation(cli, tmp_path, syntax):
    langs = LANGS + ["es", "ru", "zh", "tr"]
    by_distance = sorted(langs, key=lambda lang: syntax[lang])
    order = [3, 7, 0, 9, 5, 1, 8, 2, 6, 4]  # a fixed scramble with rho about 0
    gains = {lang: float(order[i]) for i, lang in enumerate(by_distance)}
    baseline, run = runs(tmp_path, gains)
    result = cli("correlate", baseline, run, "--features", "syntax", "--bootstrap", "200", "--permutations", "2000")
    rho = pick(jsonl(result.stdout), "xnli", "syntax", "spearman")
    assert rho["value"] == pytest.approx(stats.spearman([syntax[lang] for lang in by_distance], order))
    assert abs(rho["value"]) < 0.2 and rho["p_value"] > 0.3


def test_matching_is_by_identity_not_position_and_seeded(cli, tmp_path, syntax):
    gains = {lang: 3 * syntax[lang] + (0.1 if lang == "fr" else 0.0) for lang in LANGS}
    baseline, run = runs(tmp_path, gains)
    shuffled_base, shuffled_run = runs(tmp_path / "..", gains, shuffle=True)
    args = ["--features", "syntax", "--bootstrap", "300", "--permutations", "300", "--seed", "5"]
    first = jsonl(cli("correlate", baseline, run, *args).stdout)
    second = jsonl(cli("correlate", shuffled_base, shuffled_run, *args).stdout)
    strip = [{k: v for k, v in r.items() if k not in ("created", "inputs")} for r in first]
    assert strip == [{k: v for k, v in r.items() if k not in ("created", "inputs")} for r in second]
    other_seed = jsonl(cli("correlate", baseline, run, *args[:-1], "6").stdout)
    assert [r["ci_low"] for r in other_seed] != [r["ci_low"] for r in first]


def test_languages_in_one_run_only_are_listed_and_left_out(cli, tmp_path, syntax):
    gains = {lang: syntax[lang] for lang in LANGS}
    baseline, run = runs(tmp_path, gains, extra_base=["tr"])
    result = cli("correlate", baseline, run, "--features", "syntax", "--bootstrap", "200", "--permutations", "200")
    assert result.exit_code == 0
    assert f"only in {baseline}, left out: tr" in result.stderr
    rho = pick(jsonl(result.stdout), "xnli", "syntax", "spearman")
    assert "tr" not in {p["lang"] for p in rho["points"]}


def test_reference_language_is_left_out(cli, tmp_path, syntax):
    gains = {lang: syntax[lang] for lang in LANGS} | {"en": 5.0}
    baseline, run = runs(tmp_path, gains)
    result = cli("correlate", baseline, run, "--features", "syntax", "--bootstrap", "200", "--permutations", "200")
    assert "English (en) is the reference" in result.stderr
    rows = jsonl(result.stdout)
    assert all("en" not in {p["lang"] for p in r["points"]} for r in rows)
    assert pick(rows, "xnli", "syntax", "pearson")["n_langs"] == 6


def test_fewer_than_four_shared_languages_is_a_data_error(cli, tmp_path, syntax):
    gains = {lang: syntax[lang] for lang in ["de", "fr", "hi"]} | {"en": 1.0}
    baseline, run = runs(tmp_path, gains, extra_base=["ja", "sw"])
    result = cli("correlate", baseline, run, "--features", "syntax")
    assert result.exit_code == 1
    assert result.stdout == ""
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "fewer than 4 languages" in error[0] and "de,fr,hi" in error[0]


def test_pooled_fixed_effects_slope_and_correction(cli, tmp_path, syntax):
    gains = {lang: 4.0 * syntax[lang] for lang in LANGS}
    xnli = runs(tmp_path, gains, task="xnli")
    pawsx = runs(tmp_path, {k: v + 7.0 for k, v in gains.items()}, task="pawsx")  # offset only
    both_base = write(tmp_path / "b.jsonl", [json.loads(x) for p in (xnli[0], pawsx[0])
                                             for x in p.read_text().splitlines()])
    both_run = write(tmp_path / "r.jsonl", [json.loads(x) for p in (xnli[1], pawsx[1])
                                            for x in p.read_text().splitlines()])
    result = cli("correlate", both_base, both_run, "--features", "syntax,geographic", "--bootstrap", "300",
                 "--permutations", "300", "--correction", "bh")
    assert result.exit_code == 0, result.stderr
    rows = jsonl(result.stdout)
    slope = pick(rows, "pooled", "syntax", "slope")
    assert slope["value"] == pytest.approx(4.0)
    assert "fixed effects" in slope["params"]["pooling"] and slope["n"] == 12 and slope["n_langs"] == 6
    assert pick(rows, "pooled", "syntax", "pearson")["value"] == pytest.approx(1.0)
    pearson = [r for r in rows if r["metric"] == "pearson"]
    assert len(pearson) == 6  # 2 features x (2 tasks + pooled)
    expected = stats.benjamini_hochberg([r["p_value"] for r in pearson])
    assert [r["p_adjusted"] for r in pearson] == pytest.approx(list(expected))
    assert all("bh over 6 pearson tests" in r["correction"] for r in pearson)
    factors = {(r["task"], r["params"]["feature"]) for r in rows if r["metric"] == "mean_diff"}
    assert ("pooled", "script") in factors and ("xnli", "family") in factors


def test_script_factor_is_a_difference_of_means(cli, tmp_path):
    gains = {"de": 1.0, "fr": 2.0, "es": 3.0, "ru": 5.0, "hi": 6.0, "ja": 7.0}  # Latin: 1,2,3; others 5,6,7
    baseline, run = runs(tmp_path, gains)
    result = cli("correlate", baseline, run, "--features", "syntax", "--bootstrap", "200", "--permutations", "200")
    script = pick(jsonl(result.stdout), "xnli", "script", "mean_diff")
    assert script["value"] == pytest.approx(6.0 - 2.0)
    assert script["params"]["groups"] == {"same": ["de", "es", "fr"], "different": ["hi", "ja", "ru"]}
    assert script["p_value"] == pytest.approx(2 / 20)  # exact: 2 of the C(6,3) splits are as extreme


def test_plot_dir_gets_one_png_per_feature(cli, tmp_path, syntax):
    baseline, run = runs(tmp_path, {lang: syntax[lang] for lang in LANGS})
    plot_dir = tmp_path / "plots"
    result = cli("correlate", baseline, run, "--features", "syntax,phonology", "--plot", plot_dir,
                 "--bootstrap", "200", "--permutations", "200")
    assert result.exit_code == 0
    assert sorted(p.name for p in plot_dir.iterdir()) == ["gain-vs-phonology.png", "gain-vs-syntax.png"]
    assert png_size(plot_dir / "gain-vs-syntax.png") == (960, 720)


def test_table_format_and_output_file(cli, tmp_path, syntax):
    baseline, run = runs(tmp_path, {lang: syntax[lang] for lang in LANGS})
    table = cli("correlate", baseline, run, "--features", "syntax", "--format", "table", "--bootstrap", "200",
                "--permutations", "200")
    assert table.exit_code == 0
    assert "statistic" in table.stdout and "spearman" in table.stdout and "95% CI" in table.stdout
    tex = cli("correlate", baseline, run, "--features", "syntax", "--format", "latex", "--bootstrap", "200",
              "--permutations", "200")
    assert tex.exit_code == 0 and tex.stdout.startswith("% needs \\usepackage{booktabs}")
    assert "xnli & syntax & Spearman $\\rho$ &" in tex.stdout and tex.stdout.rstrip().endswith(r"\end{table}")
    out = tmp_path / "corr.jsonl"
    written = cli("correlate", baseline, run, "--features", "syntax", "-o", out, "--bootstrap", "200",
                  "--permutations", "200")
    assert written.stdout == "" and all(r["kind"] == "correlation" for r in records.read(out))


def test_retrieval_records_with_params_are_units(cli, tmp_path, syntax):
    gains = {lang: syntax[lang] for lang in LANGS}
    base8, run8 = runs(tmp_path, gains, task="tatoeba", params={"layer": 8, "pooling": "mean"})
    base9, run9 = runs(tmp_path / "..", {k: -v for k, v in gains.items()}, task="tatoeba",
                       params={"layer": 9, "pooling": "mean"})
    baseline = write(tmp_path / "b.jsonl", [json.loads(x) for p in (base8, base9) for x in p.read_text().splitlines()])
    run = write(tmp_path / "r.jsonl", [json.loads(x) for p in (run8, run9) for x in p.read_text().splitlines()])
    rows = jsonl(cli("correlate", baseline, run, "--features", "syntax", "--bootstrap", "200",
                     "--permutations", "200").stdout)
    spearman = {r["params"]["gain_params"]["layer"]: r["value"] for r in rows
                if r["metric"] == "spearman" and r["task"] == "tatoeba"}
    assert spearman == pytest.approx({8: 1.0, 9: -1.0})


def test_bad_inputs(cli, tmp_path, syntax):
    baseline, run = runs(tmp_path, {lang: syntax[lang] for lang in LANGS})
    typo = cli("correlate", baseline, run, "--features", "genetc")
    assert typo.exit_code == 2 and "did you mean 'genetic'" in typo.stderr
    covariate = cli("correlate", baseline, run, "--covariates", "fertilty")
    assert covariate.exit_code == 2 and "did you mean 'fertility'" in covariate.stderr
    correction = cli("correlate", baseline, run, "--features", "syntax", "--correction", "bonferroni")
    assert correction.exit_code == 2 and "--correction" in correction.stderr

    broken = tmp_path / "broken.jsonl"
    broken.write_text(baseline.read_text() + "{not json\n")
    bad_json = cli("correlate", broken, run, "--features", "syntax")
    assert bad_json.exit_code == 1 and f"{broken}:7: invalid JSON" in bad_json.stderr and bad_json.stdout == ""
    lines = baseline.read_text().splitlines()
    record = json.loads(lines[1])
    del record["value"]
    missing = write(tmp_path / "missing.jsonl", [json.loads(lines[0]), record])
    no_value = cli("correlate", missing, run, "--features", "syntax")
    assert no_value.exit_code == 1 and f"{missing}:2: missing field 'value'" in no_value.stderr

    other_task = cli("correlate", baseline, run, "--task", "pawsx")
    assert other_task.exit_code == 1 and "no measurement records for task pawsx" in other_task.stderr
    absent = cli("correlate", tmp_path / "nope.jsonl", run)
    assert absent.exit_code == 1 and "no such file" in absent.stderr
    fertility = cli("correlate", baseline, run, "--features", "syntax", "--covariates", "fertility")
    assert fertility.exit_code == 2 and "--checkpoint" in fertility.stderr


def test_minimal_user_records_of_published_numbers(cli, tmp_path, syntax):
    """A user's own table: only kind, task, lang, metric and value, no schema or split."""
    published = {"de": (80.1, 82.0), "fr": (79.0, 81.5), "hi": (70.2, 74.9), "ja": (71.0, 76.8), "sw": (65.0, 71.2)}
    for index, name in enumerate(("base", "run")):
        write(tmp_path / f"{name}.jsonl", [{"kind": "eval", "task": "xnli", "lang": lang, "metric": "accuracy",
                                            "value": values[index]} for lang, values in published.items()])
    result = cli("correlate", tmp_path / "base.jsonl", tmp_path / "run.jsonl", "--features", "syntax",
                 "--bootstrap", "200", "--permutations", "200")
    assert result.exit_code == 0, result.stderr
    rho = pick(jsonl(result.stdout), "xnli", "syntax", "spearman")
    gains = {lang: run - base for lang, (base, run) in published.items()}
    assert {p["lang"]: p["gain"] for p in rho["points"]} == pytest.approx(gains)
    assert rho["value"] == pytest.approx(stats.spearman([syntax[k] for k in gains], list(gains.values())))


def test_help_texts(cli):
    for command in ("correlate", "distances"):
        result = cli(command, "--help")
        assert result.exit_code == 0
        assert "--features" in result.stdout and "--ref" in result.stdout


def test_cli_partial_correlation_with_pretrain_size(cli, tmp_path):
    langs = LANGS + ["es", "ru", "tr", "qu"]
    gains = {lang: float(i) for i, lang in enumerate(langs)}
    baseline, run = runs(tmp_path, gains)
    result = cli("correlate", baseline, run, "--features", "syntax", "--covariates", "pretrain-size",
                 "--bootstrap", "200", "--permutations", "200")
    assert result.exit_code == 0, result.stderr
    assert "pretrain-size of qu is missing" in result.stderr
    assert "partial correlations leave out qu" in result.stderr
    rows = jsonl(result.stdout)
    partial = pick(rows, "xnli", "syntax", "partial_spearman")
    assert partial["n_langs"] == 9 and "qu" not in {p["lang"] for p in partial["points"]}
    assert "Table 6" in partial["params"]["covariates"]["pretrain-size"]
    assert pick(rows, "xnli", "syntax", "spearman")["n_langs"] == 10  # the plain one keeps qu


def test_cli_fertility_with_a_tiny_checkpoint(cli, tmp_path, tiny_xlmr):
    langs = LANGS + ["es", "ru", "tr"]
    gains = {lang: float(i) for i, lang in enumerate(langs)}
    baseline, run = runs(tmp_path, gains)
    examples = [{"id": f"{lang}{i}", "lang": lang, "text_a": f"word{i} another sentence here",
                 "text_b": "short one", "label": "neutral"} for lang in langs for i in range(3)]
    data = write(tmp_path / "xnli.jsonl", examples)
    result = cli("correlate", baseline, run, "--features", "syntax", "--covariates", "fertility",
                 "--checkpoint", tiny_xlmr, "--data", f"xnli={data}", "--bootstrap", "200", "--permutations", "200")
    assert result.exit_code == 0, result.stderr
    assert "fertility for xnli/ja is missing" in result.stderr  # Japanese text without word segmentation
    partial = pick(jsonl(result.stdout), "xnli", "syntax", "partial_pearson")
    fertility = {p["lang"]: p["fertility"] for p in partial["points"]}
    assert "ja" not in fertility and len(fertility) == 8
    assert all(value >= 1.0 for value in fertility.values())
    assert json.dumps(partial["params"]["covariates"]).count("tokenizer of") == 1
