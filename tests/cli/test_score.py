"""`stilt score` on a small hand-built XTREME submission, XTREME's aggregation, and each bad input."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import fmean

import orjson
import pytest

from stilt_cli.core import tasks
from stilt_cli.core.evaluation import aggregate as agg
from stilt_cli.core.evaluation import scoring, submission
from stilt_cli.core.tasks.benchmarks import benchmark
from tests.helpers import write


def _squad(questions: dict[str, list[str]]) -> str:
    qas = [{"id": qid, "question": "?", "answers": [{"text": a, "answer_start": 0} for a in answers]}
           for qid, answers in questions.items()]
    return json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "c", "qas": qas}]}]})


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    gold, pred = tmp_path / "labels", tmp_path / "system-a"
    write(gold / "xnli/test-de.tsv", "entailment\nneutral\ncontradiction\nneutral\n")
    write(pred / "xnli/test-de.tsv", "entailment\nneutral\nneutral\nneutral\n")
    write(gold / "xnli/test-en.tsv", "neutral\ncontradiction\n")
    write(pred / "xnli/test-en.tsv", "neutral\ncontradiction\n")
    # gold keeps the tokens (token<TAB>tag, CRLF); predictions are bare tags
    write(gold / "udpos/test-de.tsv", "Hund\tNOUN\r\nbellt\tVERB\r\n\r\nund\tCCONJ\r\nweil\tSCONJ\r\n")
    write(pred / "udpos/test-de.tsv", "NOUN\nVERB\n\nSCONJ\nSCONJ\n")
    write(gold / "panx/test-de.tsv", "B-PER\nI-PER\nO\nB-LOC\n")
    write(pred / "panx/test-de.tsv", "B-PER\nI-PER\nO\nB-ORG\n")
    write(gold / "xquad/test-de.json", _squad({"q1": ["der Hund"], "q2": ["Katze"]}))
    write(pred / "xquad/test-de.json", json.dumps({"q1": "Hund", "q2": "eine Katze"}))
    write(gold / "mlqa/test-de.json", _squad({"m1": ["Hund"], "m2": ["Maus"]}))
    write(pred / "mlqa/test-de.json", json.dumps({"m1": "der Hund", "m2": "Katze"}))
    write(gold / "tatoeba/test-de.tsv", "2\n0\n1\n")
    write(pred / "tatoeba/test-de.tsv", "2\n1\n1\n")
    write(gold / "bucc2018/test-de.tsv", "de-1\ten-7\nde-2\ten-9\n")
    write(pred / "bucc2018/test-de.tsv", "de-1\ten-7\nde-3\ten-4\nde-5\ten-6\n")
    return pred, gold


def _values(stdout: str) -> dict[tuple[str, str, str], dict]:
    rows = [orjson.loads(line) for line in stdout.splitlines()]
    return {(r["task"], r["lang"], r["metric"]): r for r in rows}


def test_score_submission_folder(cli, folders):
    pred, gold = folders
    result = cli("score", "--predictions", pred, "--labels", gold)
    assert result.exit_code == 0, result.stderr
    rows = _values(result.stdout)
    values = {key: row["value"] for key, row in rows.items()}
    assert values[("xnli", "de", "accuracy")] == 0.75 and values[("xnli", "en", "accuracy")] == 1.0
    # spans NOUN, VERB | CCONJ, SCONJ: the predicted SCONJ for CCONJ is one wrong span of four
    assert values[("udpos", "de", "f1")] == 0.75
    assert values[("panx", "de", "precision")] == 0.5
    assert values[("xquad", "de", "exact_match")] == 0.0
    assert values[("xquad", "de", "f1")] == pytest.approx(2 / 3)
    # MLQA drops German articles: 'der Hund' == 'Hund'
    assert values[("mlqa", "de", "exact_match")] == 0.5
    assert values[("tatoeba", "de", "accuracy")] == pytest.approx(2 / 3)
    assert values[("bucc", "de", "precision")] == pytest.approx(1 / 3)
    assert values[("bucc", "de", "recall")] == 0.5
    assert len(rows) == 2 + 3 + 3 + 2 + 2 + 1 + 3
    assert rows[("tatoeba", "de", "accuracy")]["kind"] == "retrieval"
    first = rows[("xnli", "de", "accuracy")]
    assert first["kind"] == "eval" and first["protocol"] == "xtreme-v1" and first["split"] == "test"
    assert first["n"] == 4 and first["checkpoint"]["name"] == "system-a"
    assert rows[("udpos", "de", "f1")]["n"] == 2
    # the aggregate goes to stderr: xnli = mean of de and en; QA = (EM + F1) / 2
    assert "87.50" in result.stderr and "(2/15 languages)" in result.stderr
    assert f"{100 * (0 + 2 / 3) / 2:.2f}" in result.stderr
    assert "no XTREME overall score" in result.stderr


def test_score_writes_output_file_and_table(cli, folders, tmp_path):
    pred, gold = folders
    out = tmp_path / "scores.jsonl"
    result = cli("score", "--predictions", pred, "--labels", gold, "-o", out, "--name", "mine", "--quiet")
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert {r["checkpoint"]["name"] for r in rows} == {"mine"}
    table = cli("score", "--predictions", pred, "--labels", gold, "--format", "table", "--quiet")
    assert "udpos" in table.stdout and "precision" in table.stdout


def test_writer_round_trip(tmp_path, folders):
    pred, gold = folders
    out = tmp_path / "export"
    submission.write_predictions(out, "xnli", "de", ["entailment", "neutral", "neutral", "neutral"])
    submission.write_predictions(out, "udpos", "de", [["NOUN", "VERB"], ["SCONJ", "SCONJ"]])
    submission.write_predictions(out, "mlqa", "de", {"m1": "der Hund", "m2": "Katze"})
    submission.write_predictions(out, "bucc", "de", [("de-1", "en-7")])
    submission.write_predictions(out, "tatoeba", "de", [2, 1, 1])
    assert (out / "bucc2018/test-de.tsv").read_text() == "de-1\ten-7\n"
    assert (out / "udpos/test-de.tsv").read_text() == "NOUN\nVERB\n\nSCONJ\nSCONJ\n"
    for task, lang in (("xnli", "de"), ("udpos", "de"), ("mlqa", "de"), ("tatoeba", "de")):
        spec = tasks.get(task)
        folder = submission.folder_name(task)
        ext = "json" if spec.type == "qa" else "tsv"
        exported = scoring.score_file(spec, out / folder / f"test-{lang}.{ext}",
                                      gold / folder / f"test-{lang}.{ext}", lang)
        original = scoring.score_file(spec, pred / folder / f"test-{lang}.{ext}",
                                      gold / folder / f"test-{lang}.{ext}", lang)
        assert exported == original


def test_jsonl_gold_and_predictions(tmp_path):
    gold, pred = tmp_path / "gold", tmp_path / "pred"
    examples = [{"id": "e0", "lang": "de", "text_a": "a", "text_b": "b", "label": "neutral"},
                {"id": "e1", "lang": "de", "text_a": "a", "text_b": "b", "label": "entailment"}]
    write(gold / "xnli/test-de.jsonl", "\n".join(json.dumps(e) for e in examples) + "\n")
    write(pred / "xnli/test-de.jsonl", '{"id": "e0", "prediction": "neutral"}\n{"id": "e1", "prediction": "neutral"}\n')
    retrieval = [{"id": "s0", "lang": "de", "side": "src", "text": "x"},
                 {"id": "s1", "lang": "de", "side": "src", "text": "y"},
                 {"id": "t0", "lang": "de", "side": "tgt", "text": "X"},
                 {"id": "t1", "lang": "de", "side": "tgt", "text": "Y"},
                 {"lang": "de", "link": ["s0", "t1"]}, {"lang": "de", "link": ["s1", "t0"]}]
    write(gold / "tatoeba/test-de.jsonl", "\n".join(json.dumps(e) for e in retrieval) + "\n")
    write(pred / "tatoeba/test-de.tsv", "1\n1\n")
    rows, _ = scoring.score(pred, gold)
    values = {(r["task"], r["metric"]): r["value"] for r in rows}
    assert values == {("xnli", "accuracy"): 0.5, ("tatoeba", "accuracy"): 0.5}


# ---- bad input: one line on stderr, exit 1 ------------------------------------------------------
def _bad(cli, pred: Path, gold: Path):
    result = cli("score", "--predictions", pred, "--labels", gold)
    assert result.exit_code == 1
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    return errors[0]


def test_wrong_number_of_lines(cli, folders):
    pred, gold = folders
    write(pred / "xnli/test-de.tsv", "entailment\nneutral\n")
    line = _bad(cli, pred, gold)
    assert "xnli/test-de.tsv: expected 4 lines" in line and "got 2" in line


def test_wrong_number_of_sentences_and_tags(cli, folders):
    pred, gold = folders
    write(pred / "udpos/test-de.tsv", "NOUN\nVERB\n\nSCONJ\n")
    assert "sentence 2 has 1 tags, expected 2" in _bad(cli, pred, gold)
    write(pred / "udpos/test-de.tsv", "NOUN\nVERB\nSCONJ\nSCONJ\n")
    assert "expected 2 sentences" in _bad(cli, pred, gold)


def test_unknown_labels(cli, folders):
    pred, gold = folders
    write(pred / "xnli/test-de.tsv", "entailment\nmaybe\nneutral\nneutral\n")
    line = _bad(cli, pred, gold)
    assert "xnli/test-de.tsv:2: unknown label 'maybe' for xnli" in line and "contradiction" in line
    write(pred / "xnli/test-de.tsv", "entailment\nneutral\nneutral\nneutral\n")
    write(pred / "panx/test-de.tsv", "B-PER\nI-PER\nO\nB-MISC\n")
    assert "panx/test-de.tsv:4: unknown label 'B-MISC'" in _bad(cli, pred, gold)


def test_missing_language(cli, folders):
    pred, gold = folders
    (pred / "xnli/test-en.tsv").unlink()
    line = _bad(cli, pred, gold)
    assert "no predictions for en" in line and "test-en.tsv" in line


def test_unknown_task_folder_and_bad_indices(cli, folders):
    pred, gold = folders
    write(pred / "xnl/test-de.tsv", "entailment\n")
    assert "unknown task folder 'xnl' (did you mean 'xnli'?)" in _bad(cli, pred, gold)
    (pred / "xnl/test-de.tsv").unlink()
    (pred / "xnl").rmdir()
    write(pred / "tatoeba/test-de.tsv", "2\nfoo\n1\n")
    assert "tatoeba/test-de.tsv:2: 'foo' is not a sentence index" in _bad(cli, pred, gold)


def test_qa_predictions_for_other_questions(cli, folders):
    pred, gold = folders
    write(pred / "xquad/test-de.json", json.dumps({"other": "x"}))
    assert "none of the 2 question ids" in _bad(cli, pred, gold)
    write(pred / "xquad/test-de.json", "[1, 2]")
    assert "must be one JSON object" in _bad(cli, pred, gold)


def test_no_common_task_is_an_error(cli, tmp_path):
    write(tmp_path / "a/xnli/test-de.tsv", "neutral\n")
    write(tmp_path / "b/pawsx/test-de.tsv", "1\n")
    assert "share no task folder" in _bad(cli, tmp_path / "a", tmp_path / "b")


# ---- XTREME aggregation --------------------------------------------------------------------------
def _full(version: str, value_of) -> dict[str, dict[str, float]]:
    bench = benchmark(version)
    return {t: {lang: value_of(t, lang) for lang in bench.languages(t)} for t in bench.tasks if tasks.get(t).supported}


def test_xtreme_aggregation_matches_evaluate_py():
    def value_of(task, lang):  # distinct, known numbers per task
        return 0.1 * (1 + benchmark("xtreme").tasks.index(task)) / 2 + (0.01 if lang == "en" else 0.0)

    scores = _full("xtreme", value_of)
    result = agg.aggregate(scores)
    for task, by_lang in scores.items():
        assert result.tasks[task].score == pytest.approx(sum(by_lang.values()) / len(by_lang))
    # English counts where XTREME lists it (xnli) and not for Tatoeba
    xnli = 1 + benchmark("xtreme").tasks.index("xnli")
    assert result.tasks["xnli"].score == pytest.approx(0.1 * xnli / 2 + 0.01 / 15)
    assert "en" not in result.tasks["tatoeba"].expected and len(result.tasks["panx"].expected) == 40
    tscore = {t: ts.score for t, ts in result.tasks.items()}
    assert result.categories["qa"] == pytest.approx((tscore["xquad"] + tscore["mlqa"] + tscore["tydiqa"]) / 3)
    # overall = mean over the nine tasks, not over the four categories
    assert result.overall == pytest.approx(sum(tscore.values()) / 9)
    assert result.overall != pytest.approx(sum(result.categories.values()) / 4)


def test_qa_language_score_is_mean_of_em_and_f1():
    assert agg.language_score(tasks.get("mlqa"), {"exact_match": 0.4, "f1": 0.6}) == pytest.approx(0.5)
    assert agg.language_score(tasks.get("bucc"), {"f1": 0.7, "precision": 0.1}) == 0.7


def test_xtreme_r_overall_is_the_mean_of_its_ten_tasks(cli, tmp_path):
    bench = benchmark("xtreme-r")
    assert len(bench.tasks) == 10 and all(tasks.get(t).supported for t in bench.tasks)
    result = agg.aggregate(_full("xtreme-r", lambda t, lang: 0.05 * (1 + bench.tasks.index(t))), "xtreme-r")
    assert result.overall == pytest.approx(0.05 * 5.5) and result.notes == []
    assert result.categories["retrieval"] == pytest.approx(0.05 * fmean(1 + bench.tasks.index(t) for t in
                                                                         ("tatoeba", "mewsli-x", "lareqa")))
    assert "pawsx" not in result.tasks and "xcopa" in result.tasks
    assert len(result.tasks["xquad"].expected) == 12  # Romanian added
    without = agg.aggregate({t: v for t, v in _full("xtreme-r", lambda t, lang: 0.5).items() if t != "lareqa"},
                            "xtreme-r")
    assert without.overall is None and without.categories["retrieval"] is None
    assert without.categories["classification"] == 0.5
    assert any("no XTREME-R overall score" in note and "lareqa" in note for note in without.notes)
    write(tmp_path / "g/xcopa/test-et.tsv", "0\n1\n")
    write(tmp_path / "p/xcopa/test-et.tsv", "0\n0\n")
    run = cli("score", "--predictions", tmp_path / "p", "--labels", tmp_path / "g", "--xtreme-version", "xtreme-r")
    assert run.exit_code == 0, run.stderr
    assert "no XTREME-R overall score" in run.stderr and "mewsli-x" in run.stderr
    assert orjson.loads(run.stdout)["protocol"] == "xtreme-r"


def test_jsonl_prediction_of_the_wrong_shape(tmp_path):
    from stilt_cli.core.errors import DataError

    write(tmp_path / "g/udpos/test-de.tsv", "NOUN\nVERB\n")
    write(tmp_path / "p/udpos/test-de.jsonl", '{"prediction": "NOUN"}\n')
    with pytest.raises(DataError, match=r"test-de.jsonl:1: 'prediction' must be a list of tags"):
        scoring.score(tmp_path / "p", tmp_path / "g")


def test_score_then_summary_compares_two_systems(cli, folders, tmp_path):
    pred, gold = folders
    other = tmp_path / "system-b"
    for path in pred.rglob("*.*"):
        write(other / path.relative_to(pred), path.read_text())
    write(other / "xnli/test-de.tsv", "entailment\nneutral\ncontradiction\nneutral\n")  # all right now
    for system in (pred, other):
        assert cli("score", "--predictions", system, "--labels", gold, "-o",
                   tmp_path / f"{system.name}.jsonl").exit_code == 0
    result = cli("summary", tmp_path / "system-a.jsonl", tmp_path / "system-b.jsonl", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    rows = {(r["params"]["run"], r["params"]["level"], r["task"], r["lang"]): r
            for r in map(orjson.loads, result.stdout.splitlines())}
    assert rows[("system-b", "language", "xnli", "de")]["delta"] == pytest.approx(0.25)
    assert rows[("system-b", "task", "xnli", "all")]["delta"] == pytest.approx(0.125)  # de +0.25, en +0
    assert rows[("system-b", "task", "udpos", "all")]["delta"] == 0.0
