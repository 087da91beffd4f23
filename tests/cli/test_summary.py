"""`stilt summary` on hand-built records: 2 runs x 2 seeds, deltas and CIs against a direct computation."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from statistics import fmean, stdev

import numpy as np
import orjson
import pytest
from scipy import stats

from stilt_cli.core import records
from stilt_cli.core.evaluation.runs import run_name
from stilt_cli.core.evaluation.summary import SummaryConfig, build, stratified_ci

# (run, seed) -> task -> lang -> metric -> value
XNLI = {("base", 1): {"en": 0.80, "de": 0.70, "fr": 0.72}, ("base", 2): {"en": 0.82, "de": 0.69, "fr": 0.74},
        ("mnli", 1): {"en": 0.84, "de": 0.75, "fr": 0.73, "sw": 0.60},
        ("mnli", 2): {"en": 0.85, "de": 0.74, "fr": 0.78, "sw": 0.62}}
MLQA = {("base", 1): {"en": (0.60, 0.70), "de": (0.40, 0.55)}, ("base", 2): {"en": (0.62, 0.74), "de": (0.42, 0.57)},
        ("mnli", 1): {"en": (0.61, 0.75), "de": (0.45, 0.60)}, ("mnli", 2): {"en": (0.65, 0.77), "de": (0.47, 0.61)}}
TATOEBA = {("base", 1): {"de": 0.50, "fr": 0.40}, ("base", 2): {"de": 0.52, "fr": 0.44},
           ("mnli", 1): {"de": 0.70, "fr": 0.61}, ("mnli", 2): {"de": 0.74, "fr": 0.65}}
RESAMPLES = "2000"


def _records(run: str, seed: int) -> list[dict]:
    ckpt = {"path": f"runs/{run}-s{seed}", "name": f"{run}-s{seed}", "manifest_sha256": "x"}
    rows = [records.make("eval", "xnli", lang, "accuracy", v, split="test", n=10, seed=seed, checkpoint=ckpt,
                         params={"head": "xnli"}) for lang, v in XNLI[(run, seed)].items()]
    for lang, (em, f1) in MLQA[(run, seed)].items():
        rows += [records.make("eval", "mlqa", lang, m, v, split="test", seed=seed, checkpoint=ckpt)
                 for m, v in (("exact_match", em), ("f1", f1))]
    rows += [records.make("retrieval", "tatoeba", lang, "accuracy", v, split="test", seed=seed, checkpoint=ckpt,
                          params={"layer": 14, "pooling": "mean"}) for lang, v in TATOEBA[(run, seed)].items()]
    # a dev-split duplicate and an alignment record must not disturb the table
    rows.append(records.make("eval", "xnli", "de", "accuracy", 0.1, split="dev", seed=seed, checkpoint=ckpt,
                             params={"head": "xnli"}))
    rows.append(records.make("alignment", "tatoeba", "de", "cka", 0.9, seed=seed, checkpoint=ckpt))
    return rows


@pytest.fixture
def results(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    for run in ("base", "mnli"):
        for seed in (1, 2):
            rows = _records(run, seed)
            (folder / f"{run}-s{seed}.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return folder


def _mean(table: dict, run: str, lang: str) -> float:
    return fmean(table[(run, s)][lang] for s in (1, 2))


def _qa(run: str, seed: int, lang: str) -> float:
    return sum(MLQA[(run, seed)][lang]) / 2


def _summary_records(cli, *args) -> dict[tuple, dict]:
    result = cli("summary", *args, "--format", "jsonl", "--resamples", RESAMPLES, "--seed", "7")
    assert result.exit_code == 0, result.stderr
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert {r["kind"] for r in rows} == {"summary"}
    return {(r["params"]["run"], r["params"]["level"], r["task"], r["lang"]): r for r in rows}


def test_runs_seeds_means_sds_and_deltas(cli, results):
    rows = _summary_records(cli, results)
    base = rows[("base", "task", "xnli", "all")]
    per_seed = [fmean(XNLI[("base", s)].values()) for s in (1, 2)]
    assert base["value"] == pytest.approx(fmean(per_seed)) and base["sd"] == pytest.approx(stdev(per_seed))
    assert base["seeds"] == 2 and base["n"] == 3 and base["partial"] is True  # 3 of 15 XNLI languages
    # mnli's extra 'sw' counts in its own task score but not in the paired delta
    mnli = rows[("mnli", "task", "xnli", "all")]
    assert mnli["value"] == pytest.approx(fmean(_mean(XNLI, "mnli", lang) for lang in ("en", "de", "fr", "sw")))
    langs = ["en", "de", "fr"]  # XTREME's language order for XNLI
    run_vals = [_mean(XNLI, "mnli", lang) for lang in langs]
    base_vals = [_mean(XNLI, "base", lang) for lang in langs]
    assert mnli["delta"] == pytest.approx(fmean(a - b for a, b in zip(run_vals, base_vals)))
    direct = stats.bootstrap((np.array(run_vals), np.array(base_vals)), lambda a, b, axis=-1: np.mean(a - b, axis=axis),
                             paired=True, vectorized=True, n_resamples=int(RESAMPLES), method="percentile",
                             rng=np.random.default_rng(7)).confidence_interval
    assert mnli["delta_ci"] == pytest.approx([direct.low, direct.high])
    assert mnli["delta_languages"] == 3 and mnli["baseline"] == "base"
    # QA: the language score is (EM + F1) / 2, averaged over seeds
    qa_lang = rows[("mnli", "language", "mlqa", "de")]
    assert qa_lang["value"] == pytest.approx(fmean(_qa("mnli", s, "de") for s in (1, 2)))
    assert qa_lang["delta"] == pytest.approx(qa_lang["value"] - fmean(_qa("base", s, "de") for s in (1, 2)))
    assert qa_lang["sd"] == pytest.approx(stdev([_qa("mnli", s, "de") for s in (1, 2)]))
    # the dev-split record (0.1) was not used: test is preferred
    assert rows[("base", "language", "xnli", "de")]["value"] == pytest.approx(_mean(XNLI, "base", "de"))
    assert rows[("base", "language", "xnli", "de")].get("delta") is None
    assert ("base", "overall", "xtreme", "all") in rows and rows[("base", "overall", "xtreme", "all")]["value"] is None


def test_stratified_ci_for_categories_matches_direct_computation(cli, results):
    rows = _summary_records(cli, results, "--allow-partial")
    qa_delta = rows[("mnli", "category", "qa", "all")]
    diffs = [fmean(_qa("mnli", s, lang) for s in (1, 2)) - fmean(_qa("base", s, lang) for s in (1, 2))
             for lang in ("en", "de")]
    assert qa_delta["delta"] == pytest.approx(fmean(diffs)) and qa_delta["partial"] is True
    overall = rows[("mnli", "overall", "xtreme", "all")]
    by_task = {
        "xnli": [_mean(XNLI, "mnli", lang) - _mean(XNLI, "base", lang) for lang in ("en", "de", "fr")],
        "mlqa": diffs,
        "tatoeba": [_mean(TATOEBA, "mnli", lang) - _mean(TATOEBA, "base", lang) for lang in ("de", "fr")],
    }
    ordered = [by_task["xnli"], by_task["mlqa"], by_task["tatoeba"]]  # XTREME's task order
    assert overall["delta"] == pytest.approx(fmean(fmean(d) for d in ordered))
    # direct: resample languages within each task, average task means, percentile 2.5 / 97.5
    rng = np.random.default_rng(7)
    means = [np.asarray(d)[rng.integers(0, len(d), size=(int(RESAMPLES), len(d)))].mean(axis=1) for d in ordered]
    low, high = np.percentile(np.mean(means, axis=0), [2.5, 97.5])
    assert overall["delta_ci"] == pytest.approx([low, high])
    assert stratified_ci(ordered, 7, int(RESAMPLES)) == pytest.approx((low, high))


def test_table_content_and_notes(cli, results):
    result = cli("summary", results, "--resamples", RESAMPLES)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    base_xnli = fmean(fmean(XNLI[("base", s)].values()) for s in (1, 2))
    assert "XTREME scores (%)" in out and "Δ mnli" in out and "Per-language scores (%)" in out
    assert f"{100 * base_xnli:.1f} ±" in out and "3/15" in out
    assert "Question answering" in out and "XTREME overall" in out
    assert "languages only in 'mnli': sw" in result.stderr
    assert "no XTREME overall score" in result.stderr


def test_markdown_and_csv_shapes(cli, results):
    md = cli("summary", results, "--format", "markdown", "--resamples", RESAMPLES).stdout
    blocks = [[line for line in block.splitlines() if line.startswith("|")] for block in md.split("### ")[1:]]
    main, per_lang = blocks
    assert main[0] == "| task | metric | langs | base | mnli | Δ mnli |"
    assert main[1] == "|---|---|---|---:|---:|---:|"
    assert per_lang[0] == "| task | lang | base | mnli | Δ mnli |"
    for table in blocks:  # every row has the header's number of cells
        assert {line.count("|") for line in table} == {table[0].count("|")}
    assert any(line.startswith("| xnli | accuracy | 3/15, 4/15 |") for line in main)
    assert len(per_lang) == 2 + 4 + 2 + 2  # xnli en de fr sw, mlqa en de, tatoeba de fr
    assert "### Per-language scores (%)" in md and "Notes:" in md
    text = cli("summary", results, "--format", "csv", "--resamples", RESAMPLES).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0])[:8] == ["level", "name", "lang", "metric", "langs", "base", "base_sd", "base_seeds"]
    assert "delta_mnli_ci_low" in rows[0]
    xnli = next(r for r in rows if r["level"] == "task" and r["name"] == "xnli")
    assert float(xnli["base"]) == pytest.approx(100 * fmean(fmean(XNLI[("base", s)].values()) for s in (1, 2)),
                                                abs=1e-4)
    assert {r["level"] for r in rows} == {"task", "category", "overall", "language"}


def test_latex_and_html_through_the_cli(cli, results, tmp_path):
    from tests.unit.evaluation.test_paper_tables import check_latex

    tex = cli("summary", results, "--format", "latex", "--resamples", RESAMPLES)
    assert tex.exit_code == 0, tex.stderr
    check_latex(tex.stdout)
    assert "Run & xnli & mlqa & tatoeba \\\\" in tex.stdout and tex.stdout.count(r"\begin{table}") == 4  # + per task
    page = tmp_path / "summary.html"
    assert cli("summary", results, "--format", "html", "--resamples", RESAMPLES, "-o", page).stdout == ""
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_xtreme_r_says_no_overall_score(cli, results):
    result = cli("summary", results, "--xtreme-version", "xtreme-r", "--resamples", RESAMPLES)
    assert result.exit_code == 0, result.stderr
    assert "no XTREME-R overall score: incomplete or missing" in result.stderr
    assert "mewsli-x" in result.stderr and "lareqa" in result.stderr and "XTREME-R overall" in result.stdout


def test_named_runs_and_baseline(cli, results, tmp_path):
    merged = tmp_path / "b.jsonl"
    merged.write_bytes((results / "base-s1.jsonl").read_bytes())
    rows = _summary_records(cli, f"new={results / 'mnli-s1.jsonl'}", f"old={merged}", "--baseline", "old")
    assert rows[("new", "task", "xnli", "all")]["baseline"] == "old"
    assert rows[("new", "task", "xnli", "all")]["seeds"] == 1 and rows[("new", "task", "xnli", "all")]["sd"] is None
    bad = cli("summary", results, "--baseline", "mnl")
    assert bad.exit_code == 2 and "did you mean 'mnli'" in bad.stderr


def test_run_name_strips_the_records_seed_marker():
    assert run_name({"checkpoint": {"name": "mnli-s2"}, "seed": 2}) == "mnli"
    assert run_name({"checkpoint": {"name": "mnli_seed2"}, "seed": 2}) == "mnli"
    assert run_name({"checkpoint": {"name": "xlmr-s2"}, "seed": 3}) == "xlmr-s2"  # not this record's seed
    assert run_name({"checkpoint": "runs/base", "seed": None}) == "base"
    assert run_name({"_source": "out/baseline.jsonl", "seed": 1}) == "baseline"
    assert run_name({"run": "explicit", "checkpoint": {"name": "x"}}) == "explicit"


def _one_file(path: Path, rows: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def test_bad_inputs(cli, tmp_path):
    pct = _one_file(tmp_path / "pct.jsonl", [records.make("eval", "xnli", "de", "accuracy", 71.3, split="test")])
    result = cli("summary", pct)
    assert result.exit_code == 1 and "fractions in [0, 1]" in result.stderr
    sweep = _one_file(tmp_path / "sweep.jsonl", [
        records.make("retrieval", "tatoeba", "de", "accuracy", 0.5, split="test", params={"layer": 8}),
        records.make("retrieval", "tatoeba", "de", "accuracy", 0.6, split="test", params={"layer": 14})])
    result = cli("summary", sweep)
    assert result.exit_code == 1
    assert "several tatoeba de accuracy variants" in result.stderr and "--param" in result.stderr
    ok = cli("summary", sweep, "--param", "layer=14", "--format", "jsonl")
    assert ok.exit_code == 0
    lang_row = next(orjson.loads(x) for x in ok.stdout.splitlines() if b'"language"' in x.encode())
    assert lang_row["value"] == 0.6
    conflict = _one_file(tmp_path / "conflict.jsonl", [records.make("eval", "xnli", "de", "accuracy", 0.5, seed=1),
                                                       records.make("eval", "xnli", "de", "accuracy", 0.6, seed=1)])
    result = cli("summary", conflict)
    assert result.exit_code == 1 and "seed 1" in result.stderr and "two values" in result.stderr
    empty = _one_file(tmp_path / "align.jsonl", [records.make("alignment", "tatoeba", "de", "cka", 0.9)])
    result = cli("summary", empty)
    assert result.exit_code == 1 and "no eval or retrieval records" in result.stderr
    assert cli("summary", tmp_path / "missing.jsonl").exit_code == 1
    assert cli("summary", pct, "--format", "xml").exit_code == 2


def test_build_directly_lists_unmatched_languages(results):
    summary = build(SummaryConfig(results=[str(results)], resamples=200))
    assert summary.runs == ["base", "mnli"] and summary.baseline == "base"
    sw = next(r for r in summary.rows if r.level == "language" and r.name == "xnli" and r.lang == "sw")
    assert set(sw.cells) == {"mnli"} and sw.deltas == {}


def test_runs_join_despite_measured_params_but_not_different_settings(cli, tmp_path):
    def bucc(run: str, f1: float, threshold: float, layer: int) -> dict:
        return records.make("retrieval", "bucc", "de", "f1", f1, split="test", checkpoint={"name": run},
                            params={"layer": layer, "threshold": threshold, "knn": "blocked-gemm-cpu"})

    same = _one_file(tmp_path / "a.jsonl", [bucc("base", 0.5, 1.05, 14), bucc("mnli", 0.7, 1.12, 14)])
    rows = _summary_records(cli, same)
    assert rows[("mnli", "language", "bucc", "de")]["delta"] == pytest.approx(0.2)
    other = _one_file(tmp_path / "b.jsonl", [bucc("base", 0.5, 1.05, 14), bucc("mnli", 0.7, 1.12, 8)])
    result = cli("summary", other, "--format", "jsonl")
    assert "measured differently" in result.stderr
    assert all(orjson.loads(line).get("delta") is None for line in result.stdout.splitlines())
    rows = _summary_records(cli, other, "--ignore-param", "layer")
    assert rows[("mnli", "task", "bucc", "all")]["delta"] == pytest.approx(0.2)
