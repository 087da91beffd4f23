"""Features on real data from ../shared/data (skipped when absent): QA stride windows find the real
answers, tagging keeps one label per real word, and a tiny model trains on real XNLI pairs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stilt_cli.core.data import features, sources
from stilt_cli.core.encoders.load import tokenizer_from_dir

pytestmark = pytest.mark.realdata


@pytest.mark.parametrize("kind", ["xlmr", "mbert"])
def test_real_squad_answers_come_back_from_the_windows(shared_data, tiny_ckpts, kind):
    rows = sources.load_examples("xquad", "test", ["en"], data_dir=shared_data / "xquad")[:300]
    tokenizer = tokenizer_from_dir(tiny_ckpts[kind] / "encoder")
    feats = features.featurize(rows, tokenizer, task="squad_v1", head_type="qa", split="train", max_length=128,
                               doc_stride=32)
    owners = np.asarray(feats.columns["example"])
    exact, found = 0, set()
    for row in range(feats.rows):
        start, end = int(feats.columns["start_position"][row]), int(feats.columns["end_position"][row])
        if start == 0:
            continue
        offsets = np.asarray(feats.columns["offsets"][row]).reshape(-1, 2)
        example = rows[owners[row]]
        span = example["context"][offsets[start][0]:offsets[end][1]]
        answer = example["answers"][0]["text"]
        assert answer in span  # a sub-word token may carry a neighbouring character, never lose one
        exact += span.strip() == answer
        found.add(int(owners[row]))
    # an answer no longer than the stride overlap always lies whole inside some window (longer ones may
    # straddle two: the tiny vocabularies split words finely)
    fits = {i for i, r in enumerate(rows)
            if len(tokenizer(r["answers"][0]["text"], add_special_tokens=False)["input_ids"]) <= 32}
    assert len(fits) > 250 and fits <= found
    hits = sum(1 for r in range(feats.rows) if int(feats.columns["start_position"][r]) > 0)
    assert exact / hits > 0.95


def test_real_ner_sentences_keep_one_label_per_word(shared_data, tiny_ckpts):
    rows = sources.load_examples("panx", "test", ["en"], data_dir=shared_data / "panx" / "xtreme_format")[:500]
    tokenizer = tokenizer_from_dir(tiny_ckpts["xlmr"] / "encoder")
    labels = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
    feats = features.featurize(rows, tokenizer, task="panx", head_type="tagging", split="test", max_length=512,
                               labels=labels)
    checked = 0
    for i, row in enumerate(rows):
        if len(feats.columns["input_ids"][i]) >= 512:  # cut by max_length: its last words have no label
            continue
        checked += 1
        starts = [w for w in feats.columns["word_ids"][i] if w >= 0]
        gold = [labels.index(t) for t in row["tags"]]
        labelled = [int(x) for x in feats.columns["labels"][i] if x >= 0]
        assert starts == list(range(len(row["tokens"]))), row["tokens"]
        assert labelled == gold
    assert checked > 450


def test_tiny_model_trains_on_real_xnli_pairs(cli, shared_data, tiny_xlmr, tmp_path):
    rows = sources.load_examples("xnli", "dev", ["en"], data_dir=shared_data / "xnli" / "xtreme_format")
    train, dev = tmp_path / "train.jsonl", tmp_path / "dev.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows[:64]))
    dev.write_text("".join(json.dumps(r) + "\n" for r in rows[64:96]))
    result = cli("target", tiny_xlmr, "--task", "xnli", "--data", str(train), "--eval-data", str(dev),
                 "--max-steps", "4", "--batch-size", "16", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    stage = json.loads((tmp_path / "out" / "stilt.json").read_text())["lineage"][-1]
    assert stage["data"]["xnli"]["train"]["examples"] == 64
    assert 0.0 <= stage["metrics"]["best_dev"] <= 1.0
