"""`stilt score` on real XTREME files (../shared/data) used as gold, read in their original formats
(XTREME's `token<TAB>tag` and `premise<TAB>hypothesis<TAB>label` files, SQuAD-format JSON). The
expected numbers come from seqeval 0.0.12 and the official MLQA / SQuAD scripts (see
test_metrics_realdata.py), reached here through the submission reader and writer."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from stilt_cli.core.evaluation import submission
from tests.helpers import shift_every_7th, tag_sentences

pytestmark = pytest.mark.realdata


def _link(shared: Path, relative: str, target: Path) -> None:
    source = shared / relative
    if not source.exists():
        pytest.skip(f"{source} is absent")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(source)


def _drop_first_word(path: Path) -> dict[str, str]:
    pred = {}
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            for question in paragraph["qas"]:
                words = question["answers"][0]["text"].split()
                pred[question["id"]] = " ".join(words[1:]) if len(words) > 1 else question["answers"][0]["text"] + "."
    return pred


def test_score_real_test_files(cli, shared_data, tmp_path):
    gold, pred = tmp_path / "gold", tmp_path / "pred"
    _link(shared_data, "udpos/xtreme_format/test-en.tsv", gold / "udpos/test-en.tsv")
    _link(shared_data, "panx/xtreme_format/test-de.tsv", gold / "panx/test-de.tsv")
    _link(shared_data, "mlqa/MLQA_V1/dev/dev-context-de-question-de.json", gold / "mlqa/test-de.json")
    _link(shared_data, "xquad/xquad.de.json", gold / "xquad/test-de.json")
    for task, lang in (("udpos", "en"), ("panx", "de")):
        submission.write_predictions(pred, task, lang, shift_every_7th(tag_sentences(gold / task / f"test-{lang}.tsv")))
    for task in ("mlqa", "xquad"):
        submission.write_predictions(pred, task, "de", _drop_first_word(gold / task / "test-de.json"))
    result = cli("score", "--predictions", pred, "--labels", gold)
    assert result.exit_code == 0, result.stderr
    values = {(r["task"], r["metric"]): r["value"] for r in map(orjson.loads, result.stdout.splitlines())}
    assert values[("udpos", "f1")] == pytest.approx(0.7681063838378399, abs=1e-12)
    assert values[("panx", "recall")] == pytest.approx(0.7133689068358812, abs=1e-12)
    assert 100 * values[("mlqa", "f1")] == pytest.approx(86.86424231156002, abs=1e-9)
    assert 100 * values[("xquad", "exact_match")] == pytest.approx(39.91596638655462, abs=1e-9)


def test_score_real_xnli_dev_file_as_gold(cli, shared_data, tmp_path):
    gold, pred = tmp_path / "gold", tmp_path / "pred"
    _link(shared_data, "xnli/xtreme_format/dev-de.tsv", gold / "xnli/dev-de.tsv")
    labels = [line.split("\t")[-1] for line in (gold / "xnli/dev-de.tsv").read_text(encoding="utf-8").splitlines()]
    submission.write_predictions(pred, "xnli", "de", ["entailment"] * len(labels), split="dev")
    result = cli("score", "--predictions", pred, "--labels", gold, "--split", "dev")
    assert result.exit_code == 0, result.stderr
    record = orjson.loads(result.stdout)
    assert record["split"] == "dev" and record["n"] == len(labels) == 2490
    assert record["value"] == pytest.approx(labels.count("entailment") / len(labels))
