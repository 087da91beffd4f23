"""Ranking tasks through the CLI: Mewsli-X / LAReQA submission files (`stilt score`, the official golden value),
`stilt retrieve --task lareqa|mewsli-x` on an encoder with no task training, `data check`, the XTREME-R
overall score in `stilt summary`, and the usage errors."""

from __future__ import annotations

import json
import re
from statistics import fmean

import orjson
import pytest

from stilt_cli.core import records
from stilt_cli.core.tasks.benchmarks import benchmark
from tests import ranking_data as rd
from tests.helpers import ok_rows, write, write_jsonl


def test_mewslix_submission_reproduces_the_official_golden_value(cli, tmp_path):
    predictions, labels = rd.mewslix_submission(tmp_path)
    result = cli("score", "--predictions", predictions, "--labels", labels, "--xtreme-version", "xtreme-r")
    rows = ok_rows(result)
    by_lang = {r["lang"]: r for r in rows}
    assert sorted(by_lang) == sorted(rd.MOCK_RANKS) and {r["metric"] for r in rows} == {"map@20"}
    assert all(by_lang[lang]["value"] == pytest.approx(1 / rank) for lang, rank in rd.MOCK_RANKS.items())
    assert {r["kind"] for r in rows} == {"retrieval"} and {r["protocol"] for r in rows} == {"xtreme-r"}
    # evaluate.py: per-language percentages, averaged in its language order
    average = sum(100 * by_lang[lang]["value"] for lang in sorted(by_lang)) / len(by_lang)
    assert average == rd.OFFICIAL_AVG_MAP_AT_20
    assert re.search(r"mewsli-x +14\.39 +\(11/11 languages\)", result.stderr)  # the aggregate's task score (%)


def test_lareqa_submission_several_gold_and_missing_rankings(cli, tmp_path):
    gold = {"q1_de": ["de_1_0", "en_1_0"], "q2_de": ["de_1_2", "en_1_2"], "q3_de": ["de_2_1"]}
    ranked = {"q1_de": ["de_1_0", "x", "en_1_0"], "q2_de": ["y", "en_1_2"], "extra": ["de_1_0"]}  # q3 unranked
    write(tmp_path / "g/lareqa/test-de.json", json.dumps(gold))
    write(tmp_path / "p/lareqa/test-de.json", json.dumps(ranked))
    result = cli("score", "--predictions", tmp_path / "p", "--labels", tmp_path / "g", "--xtreme-version", "xtreme-r")
    (row,) = ok_rows(result)
    assert row["value"] == pytest.approx(((1 + 2 / 3) / 2 + (1 / 2) / 2 + 0) / 3) and row["n"] == 3
    assert "no ranking for 1 of 3 queries; they score 0" in result.stderr
    assert "1 ranked queries have no gold" in result.stderr
    write(tmp_path / "p/lareqa/test-de.json", json.dumps({"q1_de": "de_1_0"}))
    bad = cli("score", "--predictions", tmp_path / "p", "--labels", tmp_path / "g")
    assert bad.exit_code == 1 and bad.stdout == ""
    assert bad.stderr.startswith("error: ") and "{query id: [candidate ids]}" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_retrieve_ranks_with_an_untrained_encoder(cli, tiny_xlmr, tmp_path):
    rows = ok_rows(cli("retrieve", tiny_xlmr, "--task", "lareqa", "--data-dir", rd.xquad_r(tmp_path / "x"),
                       "--langs", "de,es"))
    assert [(r["lang"], r["metric"], r["n"]) for r in rows] == [("de", "map@20", 3), ("es", "map@20", 3)]
    record = rows[0]
    assert 0 < record["value"] <= 1 and record["kind"] == "retrieval" and record["protocol"] == "xstilts"
    assert record["params"] == {"pooling": "mean", "max_length": 256, "query_length": 96, "layer": 2}
    assert record["details"]["candidates"] == 15 and record["details"]["candidate_langs"] == ["de", "en", "es"]
    mewsli = ok_rows(cli("retrieve", tiny_xlmr, "--task", "mewsli-x", "--data-dir", rd.mewsli_x(tmp_path / "m"),
                         "--protocol", "xtreme"))
    assert [(r["lang"], r["n"]) for r in mewsli] == [("de", 2), ("es", 1)]
    assert mewsli[0]["params"]["max_length"] == mewsli[0]["params"]["query_length"] == 64
    # a canonical file: the same set, read back from `data export`-shaped rows
    data = write_jsonl(tmp_path / "set.jsonl", rd_rows := [r for r in _export(tmp_path / "m")])
    again = ok_rows(cli("retrieve", tiny_xlmr, "--task", "mewsli-x", "--data", data, "--protocol", "xtreme",
                        "--langs", "es"))
    assert len(rd_rows) == 7 and [(r["lang"], r["value"]) for r in again] == [("es", mewsli[1]["value"])]


def _export(folder):
    from stilt_cli.core.data.readers import mewsli

    return mewsli.read(folder, None, "test")


def test_data_check_lists_the_release_files(cli, tmp_path):
    rd.mewsli_x(tmp_path)
    result = cli("data", "check", "mewsli-x", "--data-dir", tmp_path / "mewslix", "--langs", "de,ar")
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 1 and "missing" in result.stderr
    found = {(r["split"], r["lang"]): (r["status"], r["looked_for"]) for r in rows}
    assert found[("test", "de")] == ("present", ["wikinews_mentions-test.jsonl", "candidate_set_entities.jsonl"])
    assert found[("test", "ar")][0] == "missing" and found[("dev", "de")][0] == "missing"
    assert found[("train", "de")] == ("missing", ["wikipedia_pairs-train.jsonl"])
    lareqa = cli("data", "check", "lareqa", "--data-dir", tmp_path)
    looked = {(r["split"], r["lang"]): r["looked_for"] for r in map(orjson.loads, lareqa.stdout.splitlines())}
    assert looked[("train", "en")] == ["train-v1.1.json"] and looked[("test", "th")] == ["xquad-r/th.json"]
    assert len(looked) == 1 + 11  # English training data, eleven XQuAD-R languages


def test_ranking_usage_errors(cli, tiny_xlmr, tmp_path):
    wrong = cli("retrieve", tiny_xlmr, "--task", "lareqa", "--direction", "xx2en", "--data-dir", tmp_path)
    assert wrong.exit_code == 2 and "--direction applies to search tasks" in wrong.stderr
    single = cli("target", tiny_xlmr, "--task", "mewsli-x", "--batch-size", "4", "--grad-accum", "4",
                 "--data-dir", tmp_path, "-o", tmp_path / "out")
    assert single.exit_code == 2 and "no in-batch negative" in single.stderr and not (tmp_path / "out").exists()


# ---- the XTREME-R overall score ---------------------------------------------------------------
def _ten_task_records(skip: str | None = None) -> list[dict]:
    bench = benchmark("xtreme-r")
    rows = []
    for i, task in enumerate(bench.tasks):
        if task == skip:
            continue
        value = 0.3 + 0.05 * i
        for lang in bench.languages(task):
            if task in bench.categories["qa"]:  # QA counts (EM + F1) / 2
                rows += [records.make("eval", task, lang, m, v, split="test") for m, v in
                         (("exact_match", value - 0.1), ("f1", value + 0.1))]
            else:
                kind = "retrieval" if task in bench.categories["retrieval"] else "eval"
                metric = ("map@20" if task in ("mewsli-x", "lareqa")
                          else "f1" if task in ("udpos", "panx") else "accuracy")
                rows.append(records.make(kind, task, lang, metric, value, split="test"))
    return rows


def test_summary_gives_the_xtreme_r_overall_score_of_ten_tasks(cli, tmp_path):
    bench = benchmark("xtreme-r")
    path = tmp_path / "run.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in _ten_task_records()))
    result = cli("summary", f"run={path}", "--xtreme-version", "xtreme-r", "--format", "jsonl", "--resamples", "200")
    assert result.exit_code == 0, result.stderr
    rows = {(r["params"]["level"], r["task"]): r["value"] for r in map(orjson.loads, result.stdout.splitlines())}
    score = {t: 0.3 + 0.05 * i for i, t in enumerate(bench.tasks)}
    assert rows[("overall", "xtreme-r")] == pytest.approx(fmean(score.values()))
    assert rows[("task", "xquad")] == pytest.approx(score["xquad"])  # (EM + F1) / 2
    groups = {"classification": ("xnli", "xcopa"), "structured": ("udpos", "panx"),
              "qa": ("xquad", "mlqa", "tydiqa"), "retrieval": ("tatoeba", "mewsli-x", "lareqa")}
    assert bench.categories == groups  # the XTREME-R paper's four categories
    for category, members in groups.items():
        assert rows[("category", category)] == pytest.approx(fmean(score[t] for t in members))
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in _ten_task_records(skip="lareqa")))
    missing = cli("summary", path, "--xtreme-version", "xtreme-r", "--format", "jsonl", "--resamples", "200")
    rows = {(r["params"]["level"], r["task"]): r["value"] for r in map(orjson.loads, missing.stdout.splitlines())}
    assert rows[("overall", "xtreme-r")] is None and rows[("category", "retrieval")] is None
    assert rows[("category", "qa")] == pytest.approx(fmean(score[t] for t in groups["qa"]))
    assert "no XTREME-R overall score: incomplete or missing lareqa" in missing.stderr
