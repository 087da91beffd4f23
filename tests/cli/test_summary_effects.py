"""`stilt summary --effect BASE:ARM`: paired effects with two-level bootstrap CIs, against direct computations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

from stilt_cli.core import records
from stilt_cli.core.analysis.stats import two_level

LANGS = ("en", "de", "fr", "sw")
SEEDS = (1, 2, 3)


def _value(arm: str, lang: str, seed: int) -> float:
    base = {"en": 0.80, "de": 0.70, "fr": 0.72, "sw": 0.55}[lang] + 0.01 * seed
    return base + ({"en": 0.01, "de": 0.05, "fr": 0.03, "sw": 0.06}[lang] + 0.002 * seed if arm == "stilts" else 0.0)


@pytest.fixture
def seed_files(tmp_path: Path) -> Path:
    """One result file per arm and seed, as a study writes them: runs/<arm>-s<seed>/results.jsonl."""
    for arm in ("base", "stilts"):
        for seed in SEEDS:
            folder = tmp_path / "runs" / f"{arm}-s{seed}"
            folder.mkdir(parents=True)
            ckpt = {"path": str(folder / "xnli"), "name": "xnli", "manifest_sha256": "x"}
            rows = [records.make("eval", "xnli", lang, "accuracy", _value(arm, lang, seed), split="test", seed=seed,
                                 checkpoint=ckpt, params={"head": "xnli"}) for lang in LANGS]
            (folder / "results.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return tmp_path / "runs"


def _effects(cli, runs: Path, *extra: str) -> list[dict]:
    result = cli("summary", f"base={runs}/base-s*/results.jsonl",
                 f"stilts={runs}/stilts-s1/results.jsonl,{runs}/stilts-s2/results.jsonl,{runs}/stilts-s3/results.jsonl",
                 "--effect", "base:stilts", "--xtreme-version", "xtreme-r", "--resamples", "500", "--format", "jsonl",
                 *extra)
    assert result.exit_code == 0, result.stderr
    return [orjson.loads(line) for line in result.stdout.splitlines()]


def test_paired_effects_and_arm_scores(cli, seed_files):
    rows = _effects(cli, seed_files)
    by = {(r["kind"], r["params"].get("level"), r["task"], r["lang"]): r for r in rows}
    diffs = [[_value("stilts", lang, s) - _value("base", lang, s) for s in SEEDS] for lang in LANGS]
    task = by[("effect", "task", "xnli", "all")]
    assert task["value"] == pytest.approx(np.mean(diffs))
    assert task["ci_low"] < task["value"] < task["ci_high"]
    assert (task["n_langs"], task["n_seeds"], task["n_boot"], task["boot_seed"]) == (4, 3, 500, 0)
    assert task["params"] == {"base": "base", "arm": "stilts", "level": "task", "benchmark": "xtreme-r"}
    assert task["arm_mean"] - task["base_mean"] == pytest.approx(task["value"])
    assert task["partial"] is True  # 4 of XTREME-R's XNLI languages, one of its tasks
    assert "two-level" in task["method"] and len(task["sources"]["base"]) == 3
    expected = two_level([diffs], n_boot=500, seed=0)
    assert (task["ci_low"], task["ci_high"]) == pytest.approx((expected.ci_low, expected.ci_high))
    sw = by[("effect", "language", "xnli", "sw")]
    assert sw["value"] == pytest.approx(np.mean(diffs[3])) and sw["n_langs"] == 1 and sw["n_seeds"] == 3
    assert sw["ci_low"] <= sw["value"] <= sw["ci_high"]
    overall = by[("effect", "overall", "xtreme-r", "all")]
    assert overall["value"] == pytest.approx(task["value"]) and overall["metric"] == "score"
    score = by[("summary", "overall", "xtreme-r", "all")]
    assert score["params"]["arm"] in ("base", "stilts") and score["ci_low"] < score["value"] < score["ci_high"]
    for record in rows:
        records.validate(record, "effect")  # stilt records: a later summary / correlate can read them


def test_same_seed_gives_same_intervals_and_table_renders(cli, seed_files):
    assert _effects(cli, seed_files)[-1]["ci_low"] == _effects(cli, seed_files)[-1]["ci_low"]
    result = cli("summary", f"base={seed_files}/base-s*/results.jsonl", f"stilts={seed_files}/stilts-s*/results.jsonl",
                 "--effect", "base:stilts", "--resamples", "200", "--format", "latex")
    assert result.exit_code == 0, result.stderr
    assert "stilts $-$ base" in result.stdout and r"\toprule" in result.stdout
    table = cli("summary", f"base={seed_files}/base-s*/results.jsonl", f"stilts={seed_files}/stilts-s*/results.jsonl",
                "--effect", "base:stilts", "--resamples", "200")
    assert table.exit_code == 0 and "stilts − base" in table.stdout and "two-level" in table.stdout


@pytest.mark.parametrize("effect, message", [("base:stilt", "did you mean 'stilts'"), ("base", "expected BASE:ARM")])
def test_bad_effect_is_one_line_exit_2(cli, seed_files, effect, message):
    result = cli("summary", f"base={seed_files}/base-s*/results.jsonl", f"stilts={seed_files}/stilts-s*/results.jsonl",
                 "--effect", effect)
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_glob_matching_nothing_is_a_data_error(cli, seed_files):
    result = cli("summary", f"base={seed_files}/nothing-*.jsonl", "--effect", "base:x")
    assert result.exit_code == 1 and "matches no file" in result.stderr


def test_two_level_bootstrap_resamples_languages_then_seeds():
    # one language, one seed: no interval; seeds that agree within a language: only languages vary
    assert two_level([[[0.5]]]).ci_low is None
    flat = two_level([[[0.1, 0.1, 0.1], [0.3, 0.3, 0.3]]], n_boot=2000, seed=1)
    assert flat.value == pytest.approx(0.2) and 0.1 <= flat.ci_low < flat.ci_high <= 0.3
    # one language, varying seeds: only seeds vary, the interval lies within the seeds' range
    seeds = two_level([[[0.0, 1.0, 2.0]]], n_boot=2000, seed=1)
    assert seeds.value == pytest.approx(1.0) and 0.0 <= seeds.ci_low < 1.0 < seeds.ci_high <= 2.0
    # strata (tasks) stay fixed: the overall is the mean of task means, whatever their language counts
    strat = two_level([[[1.0]], [[0.0], [0.0], [0.0]]], n_boot=500)
    assert strat.value == pytest.approx(0.5) and strat.ci_low == strat.ci_high == pytest.approx(0.5)
    with pytest.raises(ValueError):
        two_level([[[float("nan")]]])


def test_a_qa_task_is_scored_in_f1_and_exact_match_beside_its_headline(cli, tmp_path):
    """Question 5's "F1 where defined": an arm's QA task score comes as (em+f1)/2 and as F1 and EM on their own."""
    value = {("f1", "de"): 0.70, ("f1", "es"): 0.66, ("exact_match", "de"): 0.52, ("exact_match", "es"): 0.48}
    for arm in ("base", "stilts"):
        for seed in (1, 2):
            folder = tmp_path / f"{arm}-s{seed}"
            folder.mkdir()
            ckpt = {"path": str(folder / "squad"), "name": "squad", "manifest_sha256": "x"}
            rows = [records.make("eval", "xquad", lang, metric, v + 0.01 * seed + (0.05 if arm == "stilts" else 0),
                                 split="test", seed=seed, checkpoint=ckpt) for (metric, lang), v in value.items()]
            (folder / "results.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    result = cli("summary", f"base={tmp_path}/base-s*/results.jsonl", f"stilts={tmp_path}/stilts-s*/results.jsonl",
                 "--effect", "base:stilts", "--xtreme-version", "xtreme-r", "--resamples", "200", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    scores = {(r["params"]["arm"], r["metric"]): r for line in result.stdout.splitlines()
              if (r := orjson.loads(line))["kind"] == "summary" and r["params"]["level"] == "task"}
    f1 = np.mean([[value[("f1", lang)] + 0.01 * s for s in (1, 2)] for lang in ("de", "es")])
    em = np.mean([[value[("exact_match", lang)] + 0.01 * s for s in (1, 2)] for lang in ("de", "es")])
    assert scores[("base", "f1")]["value"] == pytest.approx(f1)
    assert scores[("base", "exact_match")]["value"] == pytest.approx(em)
    assert scores[("base", "(em+f1)/2")]["value"] == pytest.approx((f1 + em) / 2)
    assert scores[("stilts", "f1")]["value"] == pytest.approx(f1 + 0.05)
    stilts = scores[("stilts", "f1")]
    assert stilts["ci_low"] <= stilts["value"] <= stilts["ci_high"]
