"""Features per task type (first sub-token labels, QA stride windows with offsets, multiple choice),
dynamic padding, length-grouped batches, the tokenized cache, and answer extraction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stilt_cli.core.data import cache, features
from stilt_cli.core.data.features import IGNORE
from stilt_cli.core.encoders.load import tokenizer_from_dir
from stilt_cli.core.model import heads, predict
from stilt_cli.core.training import batching
from tests import train_data as td


@pytest.fixture(scope="module")
def tokenizer(tiny_ckpts):
    return tokenizer_from_dir(tiny_ckpts["mbert"] / "encoder")


def test_tagging_labels_only_the_first_sub_token(tokenizer):
    rows = [{"id": "1", "lang": "en", "tokens": ["Berlinerstrasse", "is", "long"], "tags": ["B-LOC", "O", "O"]}]
    feats = features.featurize(rows, tokenizer, task="panx", head_type="tagging", split="dev", max_length=32,
                               labels=["O", "B-LOC"])
    labels = list(feats.columns["labels"][0])
    starts = list(feats.columns["word_ids"][0])
    encoded = tokenizer(rows[0]["tokens"], is_split_into_words=True)
    assert len(labels) == len(encoded["input_ids"])
    first_positions = [i for i, w in enumerate(starts) if w >= 0]
    assert [starts[i] for i in first_positions] == [0, 1, 2]
    assert [labels[i] for i in first_positions] == [1, 0, 0]
    assert encoded.word_ids().count(0) > 1  # the long word has several sub-tokens ...
    assert all(labels[i] == IGNORE for i in range(len(labels)) if i not in first_positions)  # ... one label


def test_qa_windows_keep_offsets_and_find_the_answer(tokenizer):
    rows = td.questions(6, context_words=40)
    feats = features.featurize(rows, tokenizer, task="squad_v1", head_type="qa", split="train", max_length=48,
                               doc_stride=16)
    owners = np.asarray(feats.columns["example"])
    assert feats.rows > len(rows)  # long contexts overflow into stride windows
    assert set(owners.tolist()) == set(range(len(rows)))
    found = set()
    for row in range(feats.rows):
        start, end = int(feats.columns["start_position"][row]), int(feats.columns["end_position"][row])
        offsets = np.asarray(feats.columns["offsets"][row]).reshape(-1, 2)
        if start == 0:
            assert end == 0  # no answer in this window: the first position
            continue
        example = rows[owners[row]]
        text = example["context"][offsets[start][0]:offsets[end][1]]
        assert text == example["answers"][0]["text"]
        found.add(int(owners[row]))
    assert found == set(range(len(rows)))  # every answer is inside some window


def test_multiple_choice_concatenates_choices_and_pads_them(tokenizer):
    rows = td.choices(3)
    rows[1]["choices"] = rows[1]["choices"][:2]  # fewer choices than the others
    rows[1]["label"] = 0
    feats = features.featurize(rows, tokenizer, task="xcopa", head_type="multiple-choice", split="dev",
                               max_length=32)
    lengths = [list(feats.columns["choice_lengths"][i]) for i in range(3)]
    assert [len(x) for x in lengths] == [3, 2, 3]
    assert [sum(x) for x in lengths] == [len(feats.columns["input_ids"][i]) for i in range(3)]
    batch = batching.collate(feats, np.arange(3), tokenizer.pad_token_id)
    assert batch["input_ids"].shape[:2] == (3, 3)
    assert batch["choice_mask"].tolist() == [[True] * 3, [True, True, False], [True] * 3]
    first_choice = tokenizer(rows[0]["context"], rows[0]["choices"][0])["input_ids"]
    assert batch["input_ids"][0, 0, : len(first_choice)].tolist() == first_choice


def test_dynamic_padding_and_length_grouped_batches(tokenizer):
    rows = td.sentiment(200)
    feats = features.featurize(rows, tokenizer, task="sst2", head_type="classification", split="train",
                               max_length=64, labels=["0", "1"])
    lengths = feats.lengths()
    batches = batching.length_grouped_batches(lengths, 16, seed=[3, 0, 0], group=4)
    assert sorted(np.concatenate(batches).tolist()) == list(range(200))  # every row once
    again = batching.length_grouped_batches(lengths, 16, seed=[3, 0, 0], group=4)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))  # seeded
    other = batching.length_grouped_batches(lengths, 16, seed=[3, 0, 1], group=4)
    assert not all(np.array_equal(a, b) for a, b in zip(batches, other))  # next epoch: new order
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    random_spread = np.mean([np.ptp(lengths[b]) for b in np.array_split(np.random.default_rng(0).permutation(200), 13)])
    assert spread < random_spread  # similar lengths together: less padding
    batch = batching.collate(feats, batches[0], tokenizer.pad_token_id)
    assert batch["input_ids"].shape[1] == lengths[batches[0]].max()  # padded to this batch's longest only
    assert batch["attention_mask"].sum().item() == lengths[batches[0]].sum()


def test_micro_batches_and_shards_cover_the_batch_once():
    rows = np.arange(10)
    micro = batching.micro_batches(rows, 3)
    assert [len(m) for m in micro] == [4, 3, 3]
    shards = [batching.shard(m, r, 2) for m in micro for r in range(2)]
    assert sorted(np.concatenate(shards).tolist()) == list(range(10))


def test_second_featurize_hits_the_cache(tokenizer):
    rows = td.nli(20, seed=7)
    kwargs = dict(task="xnli", head_type="classification", split="train", max_length=32,
                  labels=["entailment", "neutral", "contradiction"])
    first = features.featurize(rows, tokenizer, **kwargs)
    hits = cache.STATS.hits
    second = features.featurize(rows, tokenizer, **kwargs)
    assert not first.cached and second.cached and cache.STATS.hits == hits + 1
    assert [list(r) for r in second.columns["input_ids"]] == [list(r) for r in first.columns["input_ids"]]
    stdin = features.featurize(rows, tokenizer, from_stdin=True, **kwargs)
    assert not stdin.cached


class _Fixed(torch.nn.Module):
    """A stand-in model returning fixed QA logits, to pin the answer extraction rules."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = logits
        self.specs = {"qa": heads.HeadSpec(name="qa", type="qa", task="squad_v2")}

    def forward(self, name, batch):
        return self.logits[: batch["input_ids"].shape[0], : batch["input_ids"].shape[1]]


def test_answer_extraction_best_span_and_null_answer(tokenizer):
    from stilt_cli.core.device import choose

    rows = [{"id": "q", "lang": "en", "context": "the cat sat in paris today", "question": "where?", "answers": []}]
    feats = features.featurize(rows, tokenizer, task="squad_v2", head_type="qa", split="dev", max_length=64,
                               doc_stride=16)
    offsets = np.asarray(feats.columns["offsets"][0]).reshape(-1, 2)
    context_positions = [i for i, (s, _) in enumerate(offsets) if s >= 0]
    paris = [i for i in context_positions if rows[0]["context"][offsets[i][0]:offsets[i][1]].strip()
             and rows[0]["context"].find("paris") <= offsets[i][0] < rows[0]["context"].find("paris") + 5]
    logits = torch.zeros(1, len(offsets), 2)
    logits[0, paris[0], 0] = 5.0
    logits[0, paris[-1], 1] = 5.0
    logits[0, context_positions[0], 1] = 9.0  # an end before every start: never chosen
    device = choose("cpu")
    answer = predict.predict(_Fixed(logits), "qa", feats, rows, device=device)
    assert answer == {0: "paris"}
    logits[0, 0] = 6.0  # the first position outscores every span: SQuAD 2.0 says "no answer"
    assert predict.predict(_Fixed(logits), "qa", feats, rows, device=device,
                           options=predict.Options(null_answer=True)) == {0: ""}
    assert predict.predict(_Fixed(logits), "qa", feats, rows, device=device) == {0: "paris"}  # v1.1: always a span


class _Tagger(torch.nn.Module):
    def __init__(self, labels):
        super().__init__()
        self.specs = {"t": heads.HeadSpec(name="t", type="tagging", task="panx", labels=labels)}

    def forward(self, name, batch):
        logits = torch.zeros(*batch["input_ids"].shape, 2)
        logits[..., 1] = 1.0  # every token: B-LOC
        return logits


def test_tag_predictions_map_back_to_words(tokenizer):
    from stilt_cli.core.device import choose

    # the zero-width space yields no sub-token, the long sentence is cut by max_length: both get "O"
    rows = [{"id": "1", "lang": "en", "tokens": ["paris", "\u200b", "rome"], "tags": None},
            {"id": "2", "lang": "en", "tokens": ["oslo"] * 40, "tags": None}]
    feats = features.featurize(rows, tokenizer, task="panx", head_type="tagging", split="test", max_length=16,
                               labels=["O", "B-LOC"])
    out = predict.predict(_Tagger(["O", "B-LOC"]), "t", feats, rows, device=choose("cpu"))
    assert out[0] == ["B-LOC", "O", "B-LOC"]
    assert len(out[1]) == 40 and out[1][0] == "B-LOC" and out[1][-1] == "O"


def _uncapped(monkeypatch):
    from stilt_cli.core.data import caps

    for name in ("text", "context"):
        monkeypatch.setattr(caps, name, lambda value, max_length: value)
    monkeypatch.setattr(caps, "words", lambda values, max_length: list(values))


@pytest.mark.parametrize("head_type", ["classification", "tagging", "qa", "multiple-choice", "mlm"])
def test_huge_fields_are_cut_before_tokenization_without_changing_the_features(tokenizer, head_type, monkeypatch):
    """A field far beyond its cap gives the features of the same field cut at the cap; and those are the
    features the whole field gives (shown on a field large enough to show it, small enough to tokenize)."""
    from stilt_cli.core.data import caps

    monkeypatch.setenv("STILT_NO_CACHE", "1")  # the cache would hand the capped features back
    max_length, stride = (96, 24) if head_type == "qa" else (16, None)
    long_text = " ".join(["river stone light"] * 400)  # 7,200 characters: above the text cap (512) here
    example = {
        # one huge field of a pair (were both cut, which one keeps an odd last token could change)
        "classification": {"id": "a", "text_a": "a cat " * 40, "text_b": long_text, "label": "neutral"},
        "tagging": {"id": "a", "tokens": ["w" * 700] + ["cat", "dog"] * 300, "tags": ["O"] * 601},
        "qa": {"id": "a", "question": "where " * 600, "context": "cat dog " * 3200,
               "answers": [{"text": "dog", "start": 4}]},
        "multiple-choice": {"id": "a", "context": long_text, "question": "why?", "choices": ["a dog", "b"],
                            "label": 0},
        "mlm": {"id": "a", "text": long_text},
    }[head_type]
    labels = {"classification": ["entailment", "neutral", "contradiction"], "tagging": ["O"]}.get(head_type, [])
    assert head_type == "tagging" or any(
        len(v) > len(caps.text(v, max_length)) for v in example.values() if isinstance(v, str))
    task = {"classification": "xnli", "tagging": "panx", "qa": "xquad", "multiple-choice": "copa",
            "mlm": "mlm"}[head_type]

    def columns():
        feats = features.featurize([example], tokenizer, task=task, head_type=head_type, split="test",
                                   max_length=max_length, labels=labels, doc_stride=stride)
        return {k: (v.tolist() if hasattr(v, "tolist") else list(v)) for k, v in feats.columns.items()}

    capped = columns()
    _uncapped(monkeypatch)
    whole = columns()
    if head_type == "qa":  # the context's tail windows are gone; all but the last kept one (cut at the cap)
        kept = len(capped["input_ids"]) - 1  # are the whole context's first windows
        assert 0 < kept < len(whole["input_ids"]) - 1
        for name in ("input_ids", "offsets", "start_position", "end_position"):
            assert capped[name][:kept] == whole[name][:kept]
    else:
        assert capped == whole
