"""`stilt evaluate` on tiny trained heads: records and their provenance, predictions and the XTREME
export (scored back by `stilt score`), QA through the squad_v1 head, unlabelled splits, and a one-line
answer to each bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stilt_cli.core import checkpoint
from tests import train_data as td
from tests.helpers import invoke, jsonl, write_jsonl

QUICK = ("--max-steps", "4", "--batch-size", "8")


def _train(parent: Path, out: Path, task: str, data: Path, *extra: str) -> Path:
    result = invoke("target", parent, "--task", task, "--data", data, "-o", out, "--eval-every", "0", *QUICK, *extra)
    assert result.exit_code == 0, result.stderr
    return out


def _by_lang(rows: list[dict], lang: str) -> list[dict]:
    return [dict(r, lang=lang, id=f"{lang}-{r['id']}") for r in rows]


@pytest.fixture(scope="module")
def trained(tiny_xlmr, tmp_path_factory):
    """Tiny heads for a classification, a tagging, a QA and a multiple-choice task, and eval data."""
    root = tmp_path_factory.mktemp("evaluate")
    files = {
        "nli_train": write_jsonl(root / "nli-train.jsonl", td.nli(32)),
        "nli": write_jsonl(root / "nli.jsonl", _by_lang(td.nli(9, seed=1), "en") + _by_lang(td.nli(7, seed=2), "de")),
        "tags_train": write_jsonl(root / "tags-train.jsonl", td.entities(32)),
        "tags": write_jsonl(root / "tags.jsonl", _by_lang(td.entities(6, seed=1), "en")
                               + _by_lang(td.entities(5, seed=2), "de")),
        "qa_train": write_jsonl(root / "qa-train.jsonl", td.questions(24)),
        "qa": write_jsonl(root / "qa.jsonl", _by_lang(td.questions(5, seed=1), "en")
                             + _by_lang(td.questions(4, seed=2), "de")),
        "mc_train": write_jsonl(root / "mc-train.jsonl", td.choices(24)),
        "mc": write_jsonl(root / "mc.jsonl", _by_lang(td.choices(6, seed=1), "it")
                             + _by_lang(td.choices(5, seed=2), "tr")),
    }
    ckpts = {
        "xnli": _train(tiny_xlmr, root / "ck-xnli", "xnli", files["nli_train"], "--max-length", "48", "--seed", "3"),
        "panx": _train(tiny_xlmr, root / "ck-panx", "panx", files["tags_train"], "--max-length", "48"),
        "squad": _train(tiny_xlmr, root / "ck-squad", "xquad", files["qa_train"], "--max-length", "64",
                        "--doc-stride", "16"),
        "xcopa": _train(tiny_xlmr, root / "ck-xcopa", "xcopa", files["mc_train"], "--max-length", "32"),
    }
    return {"files": files, "ckpts": ckpts, "root": root}


def test_records_carry_shape_and_provenance(cli, trained, tmp_path):
    ckpt = trained["ckpts"]["xnli"]
    result = cli("evaluate", ckpt, "--task", "xnli", "--data", trained["files"]["nli"], "--split", "dev",
                 "--save-predictions", tmp_path / "preds")
    assert result.exit_code == 0, result.stderr
    rows = jsonl(result.stdout)  # stdout holds records only
    assert [(r["lang"], r["metric"]) for r in rows] == [("en", "accuracy"), ("de", "accuracy")]
    manifest_sha = checkpoint.load(ckpt).manifest_sha256()
    for row in rows:
        assert row["schema"] == "stilt.record/1" and row["kind"] == "eval" and row["task"] == "xnli"
        assert row["split"] == "dev" and row["protocol"] == "xtreme-v1"
        assert row["params"] == {"head": "xnli", "max_length": 48}  # the length the head was trained with
        assert row["seed"] == 3  # from the lineage of the stage that trained the head
        assert row["checkpoint"]["manifest_sha256"] == manifest_sha and row["checkpoint"]["name"] == "ck-xnli"
        assert row["details"]["trained_by"] == {"stage": "target", "tasks": ["xnli"]}
        assert set(row["details"]["seconds"]) == {"featurize", "predict"} and row["details"]["device"] == "cpu"
        assert row["details"]["source"]["data"]["sha256"]
    assert [r["n"] for r in rows] == [9, 7]
    # each value is the accuracy of the predictions written beside it
    gold = {r["id"]: r["label"] for r in jsonl(trained["files"]["nli"])}
    for row in rows:
        preds = jsonl(tmp_path / "preds" / "xnli" / f"dev-{row['lang']}.jsonl")
        assert len(preds) == row["n"]
        assert row["value"] == pytest.approx(sum(p["prediction"] == gold[p["id"]] for p in preds) / len(preds))
    assert "xnli de: accuracy" in result.stderr and "Traceback" not in result.stderr


def test_without_split_the_records_name_the_split_of_the_file(cli, trained, tmp_path):
    ckpt = trained["ckpts"]["xnli"]
    rows = jsonl(trained["files"]["nli"])
    dev = write_jsonl(tmp_path / "dev.jsonl", [dict(r, split="dev") for r in rows])
    result = cli("evaluate", ckpt, "--task", "xnli", "--data", dev, "--save-predictions", tmp_path / "p")
    assert result.exit_code == 0, result.stderr
    assert {r["split"] for r in jsonl(result.stdout)} == {"dev"}
    assert (tmp_path / "p" / "xnli" / "dev-en.jsonl").exists()
    unnamed = cli("evaluate", ckpt, "--task", "xnli", "--data", trained["files"]["nli"])  # no split field: test
    assert {r["split"] for r in jsonl(unnamed.stdout)} == {"test"}
    # several splits in one file: --split picks one (default test); examples without a split count for any
    mixed = [dict(r, split=("dev", "test")[i % 2]) for i, r in enumerate(rows)] + [dict(rows[0], id="untagged")]
    path = write_jsonl(tmp_path / "mixed.jsonl", mixed)
    for split, given in (("test", []), ("dev", ["--split", "dev"])):
        result = cli("evaluate", ckpt, "--task", "xnli", "--data", path, *given)
        assert result.exit_code == 0, result.stderr
        records = jsonl(result.stdout)
        assert {r["split"] for r in records} == {split}
        expected = {lang: sum(r["lang"] == lang and r.get("split") in (None, split) for r in mixed)
                    for lang in ("en", "de")}
        assert {r["lang"]: r["n"] for r in records} == expected


def test_export_xtreme_then_score_reproduces_the_records(cli, trained, tmp_path):
    """For a classification, a tagging, a QA and a multiple-choice task: the XTREME export and the JSONL
    predictions, scored by `stilt score` against gold in the same layout, give the evaluate records."""
    cases = [("xnli", "xnli", "nli", "de"), ("panx", "panx", "tags", "de"), ("squad", "xquad", "qa", "de"),
             ("xcopa", "xcopa", "mc", "tr")]
    for ckpt, task, data, lang in cases:
        result = cli("evaluate", trained["ckpts"][ckpt], "--task", task, "--data", trained["files"][data],
                     "--split", "test", "--export-xtreme", tmp_path / "xt", "--save-predictions", tmp_path / "pj")
        assert result.exit_code == 0, result.stderr
        expected = {(r["task"], r["lang"], r["metric"]): r["value"] for r in jsonl(result.stdout)}
        assert (task, lang, "f1" if task in ("panx", "xquad") else "accuracy") in expected
        for row in jsonl(trained["files"][data]):  # gold in the same layout, as canonical examples
            gold = tmp_path / "gold" / task / f"test-{row['lang']}.jsonl"
            gold.parent.mkdir(parents=True, exist_ok=True)
            with gold.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
        for folder in ("xt", "pj"):
            scored = cli("score", "--predictions", tmp_path / folder, "--labels", tmp_path / "gold")
            assert scored.exit_code == 0, scored.stderr
            got = {(r["task"], r["lang"], r["metric"]): r["value"] for r in jsonl(scored.stdout)
                   if r["task"] == task}
            assert got == pytest.approx(expected), (folder, task)
    assert (tmp_path / "xt" / "xquad" / "test-de.json").is_file()
    answers = json.loads((tmp_path / "xt" / "xquad" / "test-de.json").read_text(encoding="utf-8"))
    assert set(answers) == {r["id"] for r in jsonl(trained["files"]["qa"]) if r["lang"] == "de"}
    tags = jsonl(tmp_path / "pj" / "panx" / "test-en.jsonl")
    words = {r["id"]: len(r["tokens"]) for r in jsonl(trained["files"]["tags"])}
    assert all(len(t["prediction"]) == words[t["id"]] for t in tags)  # one tag per word
    choices = jsonl(tmp_path / "pj" / "xcopa" / "test-it.jsonl")
    assert all(isinstance(c["prediction"], int) for c in choices)


@pytest.mark.parametrize("task, lang", [("xquad", "de"), ("mlqa", "de"), ("mlqa", "en-de")])
def test_xquad_and_mlqa_are_answered_by_the_squad_v1_head(cli, trained, tmp_path, task, lang):
    rows = [dict(r, lang=lang) for r in jsonl(trained["files"]["qa"]) if r["lang"] == "de"]
    data = write_jsonl(tmp_path / "qa.jsonl", rows)
    result = cli("evaluate", trained["ckpts"]["squad"], "--task", task, "--data", data, "--langs", lang)
    assert result.exit_code == 0, result.stderr
    records = jsonl(result.stdout)
    assert {(r["lang"], r["metric"]) for r in records} == {(lang, "f1"), (lang, "exact_match")}
    assert all(r["params"] == {"head": "squad_v1", "max_length": 64, "doc_stride": 16} for r in records)
    assert all(0.0 <= r["value"] <= 1.0 and r["n"] == 4 for r in records)


def test_a_checkpoint_without_the_head_says_which_stage_to_run(cli, trained):
    result = cli("evaluate", trained["ckpts"]["xnli"], "--task", "xquad", "--data", trained["files"]["qa"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "has no 'squad_v1' head, which answers xquad (it has: xnli)" in result.stderr
    assert f"run `stilt target {trained['ckpts']['xnli']} --task xquad -o OUT` (trains the squad_v1 head)" \
        in result.stderr


def test_a_head_for_another_label_set_or_type_is_refused(cli, trained, tmp_path):
    copy = tmp_path / "ck"
    shutil.copytree(trained["ckpts"]["xnli"], copy)
    head_json = copy / "heads" / "xnli" / "head.json"
    config = json.loads(head_json.read_text())
    head_json.write_text(json.dumps(dict(config, labels=["yes", "no", "maybe"])))
    result = cli("evaluate", copy, "--task", "xnli", "--data", trained["files"]["nli"], "--split", "dev")
    assert result.exit_code == 1 and result.stdout == ""
    assert ("has labels ['yes', 'no', 'maybe'], task xnli has ['entailment', 'neutral', 'contradiction']"
            in result.stderr)
    head_json.write_text(json.dumps(dict(config, type="tagging")))
    result = cli("evaluate", copy, "--task", "xnli", "--data", trained["files"]["nli"], "--split", "dev")
    assert result.exit_code == 1 and "is a tagging head, but task xnli needs a classification head" in result.stderr


def test_unlabelled_split_writes_predictions_but_no_score(cli, trained, tmp_path):
    rows = jsonl(trained["files"]["nli"])
    data = write_jsonl(tmp_path / "mixed.jsonl", [dict(r, label=None) if r["lang"] == "de" else r for r in rows])
    ckpt = trained["ckpts"]["xnli"]
    only_de = cli("evaluate", ckpt, "--task", "xnli", "--data", data, "--langs", "de")
    assert only_de.exit_code == 1 and only_de.stdout == ""
    assert "has no gold labels: no score is possible" in only_de.stderr and "--save-predictions DIR" in only_de.stderr

    both = cli("evaluate", ckpt, "--task", "xnli", "--data", data, "--save-predictions", tmp_path / "p")
    assert both.exit_code == 0, both.stderr
    assert [(r["lang"], r["metric"]) for r in jsonl(both.stdout)] == [("en", "accuracy")]  # no record for de
    assert "xnli test de: no gold labels, so no score is possible; predictions written" in both.stderr
    assert len(jsonl(tmp_path / "p" / "xnli" / "test-de.jsonl")) == 7

    # without a prediction folder the unlabelled language is skipped, the labelled one scored
    skipped = cli("evaluate", ckpt, "--task", "xnli", "--data", data)
    assert skipped.exit_code == 0 and len(jsonl(skipped.stdout)) == 1
    assert "no gold labels for de; skipped" in skipped.stderr

    half = [dict(r, label=None) if r["id"].endswith("-0") else r for r in rows]
    mixed = cli("evaluate", ckpt, "--task", "xnli", "--data", write_jsonl(tmp_path / "half.jsonl", half))
    assert mixed.exit_code == 1 and "1 of 9 examples have no gold labels" in mixed.stderr


def test_tydiqa_dev_with_blanked_answers_counts_as_unlabelled(cli, trained, tmp_path):
    """XTREME's TyDiQA dev copy blanks every answer: predictions, no score. The squad_v1 head stands
    in for a tydiqa head here by copying it under that name."""
    copy = tmp_path / "ck"
    shutil.copytree(trained["ckpts"]["squad"], copy)
    shutil.copytree(copy / "heads" / "squad_v1", copy / "heads" / "tydiqa")
    manifest = json.loads((copy / "stilt.json").read_text())
    manifest["heads"]["tydiqa"] = dict(manifest["heads"]["squad_v1"], dir="heads/tydiqa")
    (copy / "stilt.json").write_text(json.dumps(manifest))
    squad = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "sun in paris today", "qas": [
        {"id": "sw-1", "question": "where?", "answers": [{"text": "", "answer_start": 0}]},
        {"id": "sw-2", "question": "when?", "answers": [{"text": "", "answer_start": 0}]}]}]}]}
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "tydiqa.goldp.sw.dev.json").write_text(json.dumps(squad))
    result = cli("evaluate", copy, "--task", "tydiqa", "--data-dir", tmp_path / "d", "--langs", "sw",
                 "--export-xtreme", tmp_path / "xt")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "tydiqa has no test split: evaluating dev" in result.stderr
    assert "tydiqa dev sw: no gold labels, so no score is possible" in result.stderr
    exported = json.loads((tmp_path / "xt" / "tydiqa" / "dev-sw.json").read_text())
    assert set(exported) == {"sw-1", "sw-2"}


def test_tagging_words_past_max_length_are_counted(cli, trained, tmp_path):
    long = [{"id": "long", "lang": "en", "tokens": ["paris"] + ["river"] * 60, "tags": ["B-LOC"] + ["O"] * 60}]
    result = cli("evaluate", trained["ckpts"]["panx"], "--task", "panx", "--data",
                 write_jsonl(tmp_path / "long.jsonl", long), "--max-length", "16", "--save-predictions", tmp_path)
    assert result.exit_code == 0, result.stderr
    rows = jsonl(result.stdout)
    assert {r["metric"] for r in rows} == {"f1", "precision", "recall"}
    cut = rows[0]["details"]["words_past_max_length"]
    assert cut > 40 and f"{cut} words lie past --max-length 16" in result.stderr
    assert rows[0]["params"]["max_length"] == 16
    predicted = jsonl(tmp_path / "panx" / "test-en.jsonl")[0]["prediction"]
    assert len(predicted) == 61 and predicted[-cut:] == ["O"] * cut


def test_output_file_table_and_max_examples(cli, trained, tmp_path):
    out = tmp_path / "results" / "xnli.jsonl"
    result = cli("evaluate", trained["ckpts"]["xnli"], "--task", "xnli", "--data", trained["files"]["nli"],
                 "--max-examples", "4", "-o", out, "--quiet")
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
    rows = jsonl(out)
    assert [r["n"] for r in rows] == [4, 4] and all(r["params"]["max_examples"] == 4 for r in rows)
    table = cli("evaluate", trained["ckpts"]["xnli"], "--task", "xnli", "--data", trained["files"]["nli"],
                "--format", "table", "--langs", "de")
    assert table.exit_code == 0
    assert "accuracy" in table.stdout and "xtreme-v1" in table.stdout and not table.stdout.startswith("{")


def test_the_tokenized_cache_is_reused(cli, trained):
    args = ("evaluate", trained["ckpts"]["xnli"], "--task", "xnli", "--data", trained["files"]["nli"], "--langs", "en",
            "--split", "again")
    first, second = cli(*args), cli(*args)
    assert first.exit_code == 0 and second.exit_code == 0
    assert jsonl(first.stdout)[0]["details"]["cached_features"] is False
    assert jsonl(second.stdout)[0]["details"]["cached_features"] is True
    assert jsonl(first.stdout)[0]["value"] == jsonl(second.stdout)[0]["value"]


def test_examples_from_stdin(cli, trained):
    text = trained["files"]["nli"].read_text(encoding="utf-8")
    result = cli("evaluate", trained["ckpts"]["xnli"], "--task", "xnli", "--data", "-", "--langs", "de", input=text)
    assert result.exit_code == 0, result.stderr
    (row,) = jsonl(result.stdout)
    assert row["lang"] == "de" and row["n"] == 7
    assert row["details"]["source"]["data"]["path"] == "-" and row["details"]["cached_features"] is False


def test_languages_are_streamed_one_at_a_time(trained, monkeypatch):
    from stilt_cli.core.data import features
    from stilt_cli.core.evaluation import evaluate

    seen, real = [], features.featurize

    def spy(examples, tokenizer, **kwargs):
        seen.append((kwargs["langs"], sorted({e["lang"] for e in examples})))
        return real(examples, tokenizer, **kwargs)

    monkeypatch.setattr(features, "featurize", spy)
    rows = evaluate.run(evaluate.EvaluateConfig(checkpoint=trained["ckpts"]["xnli"], task="xnli",
                                                data=[str(trained["files"]["nli"])]))
    assert seen == [(["en"], ["en"]), (["de"], ["de"])]
    assert [r["lang"] for r in rows] == ["en", "de"]


def test_a_prediction_count_mismatch_is_one_line(trained, monkeypatch):
    from stilt_cli.core.errors import DataError
    from stilt_cli.core.evaluation import evaluate
    from stilt_cli.core.model import predict

    monkeypatch.setattr(predict, "predict", lambda *a, **k: {0: "neutral"})
    with pytest.raises(DataError, match=r"xnli en: 1 predictions for 9 examples"):
        evaluate.run(evaluate.EvaluateConfig(checkpoint=trained["ckpts"]["xnli"], task="xnli",
                                             data=[str(trained["files"]["nli"])]))


@pytest.mark.parametrize("args, code, message", [
    (("--task", "xnl"), 2, "unknown task 'xnl' (did you mean 'xnli'"),
    (("--task", "tatoeba"), 2, "tatoeba is a retrieval task: it has no head to evaluate"),
    (("--task", "xnli", "--langs", "de,fr"), 1, "no xnli test examples for fr in"),
    (("--task", "xnli", "--langs", "xx"), 2, "--langs: unknown language 'xx'"),
    (("--task", "xnli", "--langs", "dee"), 2, "unknown language 'dee' (did you mean 'de'"),
    (("--task", "xnli", "--split", "tset", "--data-dir", "."), 2, "unknown split of xnli 'tset' (did you mean 'test'"),
    (("--task", "xnli", "--data", "pawsx=PLACEHOLDER"), 2, "pawsx is not the task evaluated (xnli)"),
    (("--task", "xnli", "--format", "csv"), 2, "unknown --format 'csv'"),
    (("--task", "xnli", "--save-predictions", "FILE"), 2, "exists and is not a folder"),
])
def test_bad_input_is_one_line(cli, trained, args, code, message):
    data = str(trained["files"]["nli"])
    args = tuple(a.replace("PLACEHOLDER", data).replace("FILE", data) for a in args)
    if "--data" not in args and "--data-dir" not in args:
        args += ("--data", data)
    result = cli("evaluate", trained["ckpts"]["xnli"], *args)
    assert result.exit_code == code, result.stderr
    assert message in result.stderr, result.stderr
    assert result.stdout == "" and result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr


def test_a_language_code_from_the_data_must_be_a_real_code(cli, trained, tmp_path):
    rows = [dict(r, lang="../etc") for r in jsonl(trained["files"]["nli"])][:2]
    result = cli("evaluate", trained["ckpts"]["xnli"], "--task", "xnli", "--data",
                 write_jsonl(tmp_path / "x.jsonl", rows),
                 "--save-predictions", tmp_path / "p")
    assert result.exit_code == 1 and "unknown language code '../etc'" in result.stderr
    assert not (tmp_path / "p").exists()


def test_qa_windows_too_small_for_the_question_are_one_line(cli, trained, tmp_path):
    rows = [dict(r, question=" ".join(["where"] * 30)) for r in jsonl(trained["files"]["qa"])]
    result = cli("evaluate", trained["ckpts"]["squad"], "--task", "xquad", "--data",
                 write_jsonl(tmp_path / "q.jsonl", rows), "--max-length", "40", "--doc-stride", "16")
    assert result.exit_code == 1 and result.stdout == ""
    assert "--max-length 40 leaves" in result.stderr and "not more than --doc-stride 16" in result.stderr
    assert "panicked" not in result.stderr and "Traceback" not in result.stderr


def test_help_documents_every_option(cli):
    result = cli("evaluate", "--help")
    assert result.exit_code == 0
    for option in ("--task", "--langs", "--split", "--data-dir", "--data", "--output", "--save-predictions",
                   "--export-xtreme", "--batch-size", "--max-length", "--doc-stride", "--max-examples", "--device",
                   "--precision", "--format", "--quiet"):
        assert option in result.stdout
