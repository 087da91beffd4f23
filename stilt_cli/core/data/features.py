"""Canonical examples -> model features, per task type, through the tokenized cache.

One row per model input (QA: one per stride window; multiple choice: the choices of an example
concatenated, with their lengths). No padding here: batches pad dynamically (`core/training/batching.py`).

| head type       | columns                                                                   |
|-----------------|---------------------------------------------------------------------------|
| classification  | input_ids, [token_type_ids], label (index, -1 = none)                     |
| tagging         | input_ids, [token_type_ids], labels (first sub-token, else -100), word_ids |
| qa              | input_ids, [token_type_ids], example, offsets ([-1,-1] outside the        |
|                 | context), start_position, end_position (0, 0 = no answer in this window)   |
| multiple-choice | input_ids (choices concatenated), [token_type_ids], choice_lengths, label |
| mlm             | input_ids                                                                 |
| dual-encoder    | input_ids (query), cand_input_ids (its first gold candidate; with a       |
|                 | context, encoded as the pair (text, context)), [token_type_ids, cand_…]   |

`word_ids` holds, per token, the index of the word it starts (-1 elsewhere): predictions map back
to words through it. QA keeps offsets so answers are read back from the context. Every text goes to the
tokenizer through the character caps of `core/data/caps.py` (bounded memory on a huge input line).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stilt_cli.core.data import cache, caps
from stilt_cli.core.errors import DataError

FEATURIZER_VERSION = 1
MAX_QUERY_TOKENS = 64  # XTREME's max_query_length: longer questions are cut, so the context keeps room
IGNORE = -100


@dataclass
class Features:
    task: str
    head_type: str
    columns: dict[str, Any]
    rows: int
    cached: bool

    def lengths(self) -> np.ndarray:
        """Tokens per row, for length-grouped batching (without touching the token values)."""
        ids = self.columns["input_ids"]
        if hasattr(ids, "lengths"):
            return np.asarray(ids.lengths)
        return np.asarray([len(row) for row in ids])


def _encode_kwargs(tokenizer: Any) -> dict[str, Any]:
    return {"return_token_type_ids": "token_type_ids" in tokenizer.model_input_names,
            "return_attention_mask": False}


def _with_types(out: dict[str, list], encoded: Any, rows: Sequence[int] | None = None) -> None:
    if "token_type_ids" in encoded:
        types = encoded["token_type_ids"]
        out["token_type_ids"] = [types[i] for i in rows] if rows is not None else list(types)


class _LabelIndex(dict):
    """label -> index; an unknown label is a data error naming the label set, not a KeyError."""

    def __missing__(self, label: str) -> int:
        raise DataError(f"label '{label}' is not in the head's label set ({', '.join(self)})",
                        "check the data, or train a new head for this label set")


def _label_index(labels: Sequence[str]) -> dict[str, int]:
    return _LabelIndex({label: i for i, label in enumerate(labels)})


def build_classification(examples: list[dict], tokenizer: Any,
                         max_length: int, labels: Sequence[str]) -> dict[str, list]:
    index = _label_index(labels)
    first = [caps.text(e["text_a"], max_length) for e in examples]
    second = [caps.text(e["text_b"], max_length) for e in examples] if examples and "text_b" in examples[0] else None
    encoded = tokenizer(first, second, truncation=True, max_length=max_length, **_encode_kwargs(tokenizer))
    out = {"input_ids": list(encoded["input_ids"])}
    _with_types(out, encoded)
    out["label"] = [index[e["label"]] if e.get("label") is not None else -1 for e in examples]
    return out


def build_tagging(examples: list[dict], tokenizer: Any, max_length: int, labels: Sequence[str]) -> dict[str, list]:
    index = _label_index(labels)
    encoded = tokenizer([caps.words(e["tokens"], max_length) for e in examples],
                        is_split_into_words=True, truncation=True,
                        max_length=max_length, **_encode_kwargs(tokenizer))
    out: dict[str, list] = {"input_ids": list(encoded["input_ids"]), "labels": [], "word_ids": []}
    _with_types(out, encoded)
    for i, example in enumerate(examples):
        tags = example.get("tags")
        token_labels, starts, previous = [], [], None
        for word in encoded.word_ids(i):
            is_first = word is not None and word != previous
            starts.append(word if is_first else -1)
            # a tag outside the head's set (e.g. a CCG supertag unseen in training, on dev) has no loss
            token_labels.append(index.get(tags[word], IGNORE) if is_first and tags is not None else IGNORE)
            previous = word
        out["labels"].append(token_labels)
        out["word_ids"].append(starts)
    return out


def _cut_questions(questions: list[str], tokenizer: Any) -> list[str]:
    """Questions longer than MAX_QUERY_TOKENS tokens are cut at that token's character offset."""
    encoded = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    cut = []
    for question, offsets in zip(questions, encoded["offset_mapping"]):
        cut.append(question[: offsets[MAX_QUERY_TOKENS - 1][1]] if len(offsets) > MAX_QUERY_TOKENS else question)
    return cut


def _check_context_room(questions: list[str], tokenizer: Any, max_length: int, stride: int) -> None:
    """Every window must leave more context tokens than the stride beside its question: the fast
    tokenizer otherwise panics in Rust (no Python exception, a stack dump instead)."""
    longest = max(len(ids) for ids in tokenizer(questions, add_special_tokens=False)["input_ids"])
    room = max_length - longest - tokenizer.num_special_tokens_to_add(pair=True)
    if stride >= room:
        raise DataError(f"--max-length {max_length} leaves {max(room, 0)} context tokens beside the longest question "
                        f"({longest} tokens), not more than --doc-stride {stride}",
                        "raise --max-length or lower --doc-stride (XTREME: 384 and 128)")


def build_qa(examples: list[dict], tokenizer: Any, max_length: int, stride: int) -> dict[str, list]:
    """Stride windows over the context (question first); answers located as token spans per window."""
    questions = _cut_questions([caps.text(e["question"].lstrip(), max_length) for e in examples], tokenizer)
    _check_context_room(questions, tokenizer, max_length, stride)
    contexts = [caps.context(e["context"], max_length) for e in examples]
    encoded = tokenizer(questions, contexts, truncation="only_second", max_length=max_length,
                        stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True,
                        **_encode_kwargs(tokenizer))
    owners = encoded["overflow_to_sample_mapping"]
    out: dict[str, list] = {"input_ids": list(encoded["input_ids"]), "example": list(owners), "offsets": [],
                            "start_position": [], "end_position": []}
    _with_types(out, encoded)
    for row, owner in enumerate(owners):
        sequence = encoded.sequence_ids(row)
        offsets = [list(o) if s == 1 else [-1, -1] for o, s in zip(encoded["offset_mapping"][row], sequence)]
        out["offsets"].append(offsets)
        start, end = 0, 0  # the first position stands for "no answer in this window"
        answers = examples[owner]["answers"]
        if answers:
            first_char = answers[0]["start"]
            last_char = first_char + len(answers[0]["text"])
            inside = [i for i, s in enumerate(sequence) if s == 1]
            if inside and offsets[inside[0]][0] <= first_char and offsets[inside[-1]][1] >= last_char:
                start = next(i for i in inside if offsets[i][1] > first_char)
                end = next(i for i in reversed(inside) if offsets[i][0] < last_char)
                end = max(end, start)
        out["start_position"].append(start)
        out["end_position"].append(end)
    return out


def build_multiple_choice(examples: list[dict], tokenizer: Any, max_length: int) -> dict[str, list]:
    """Each choice is (context, question + choice); choices of one example are concatenated."""
    firsts, seconds, owners = [], [], []
    for i, example in enumerate(examples):
        for choice in example["choices"]:
            question = caps.text(example.get("question") or "", max_length)
            choice = caps.text(choice, max_length)
            firsts.append(caps.text(example.get("context") or "", max_length))
            seconds.append(f"{question} {choice}" if question else choice)
            owners.append(i)
    if all(not f for f in firsts):  # no context anywhere: single sequences
        encoded = tokenizer(seconds, truncation=True, max_length=max_length, **_encode_kwargs(tokenizer))
    else:
        encoded = tokenizer(firsts, seconds, truncation="longest_first", max_length=max_length,
                            **_encode_kwargs(tokenizer))
    out: dict[str, list] = {"input_ids": [[] for _ in examples], "choice_lengths": [[] for _ in examples]}
    types = encoded.get("token_type_ids")
    if types is not None:
        out["token_type_ids"] = [[] for _ in examples]
    for row, owner in enumerate(owners):
        out["input_ids"][owner].extend(encoded["input_ids"][row])
        out["choice_lengths"][owner].append(len(encoded["input_ids"][row]))
        if types is not None:
            out["token_type_ids"][owner].extend(types[row])
    out["label"] = [e["label"] if e.get("label") is not None else -1 for e in examples]
    return out


def build_mlm(examples: list[dict], tokenizer: Any, max_length: int) -> dict[str, list]:
    encoded = tokenizer([caps.text(e["text"], max_length) for e in examples], truncation=True, max_length=max_length,
                        return_attention_mask=False, return_special_tokens_mask=False)
    return {"input_ids": list(encoded["input_ids"])}


def build_dual(examples: list[dict], tokenizer: Any, max_length: int, query_length: int) -> dict[str, list]:
    """Training pairs of a ranking set: one row per query with gold, its first gold candidate beside it.
    Questions and candidates are cut at their own lengths (XTREME's LAReQA: 96 and 256)."""
    candidates = {e["id"]: e for e in examples if e.get("side") == "candidate"}
    queries = [e for e in examples if e.get("side") == "query" and any(g in candidates for g in e.get("gold") or [])]
    if not queries:
        raise DataError("no query with a gold candidate among the candidates: nothing to train on",
                        'ranking training data is {"side": "query", "gold": [id]} and {"side": "candidate", "id"}')
    positives = [candidates[next(g for g in q["gold"] if g in candidates)] for q in queries]
    kwargs = _encode_kwargs(tokenizer)
    encoded_q = tokenizer([caps.text(q["text"], max_length) for q in queries], truncation=True, max_length=query_length,
                          **kwargs)
    with_context = [p for p in positives if p.get("context")]
    if with_context and len(with_context) != len(positives):
        raise DataError("some candidates have a context and some do not", "give every candidate a context, or none")
    second = [caps.text(p["context"], max_length) for p in positives] if with_context else None
    encoded_c = tokenizer([caps.text(p["text"], max_length) for p in positives], second, truncation=True,
                          max_length=max_length, **kwargs)
    out = {"input_ids": list(encoded_q["input_ids"]), "cand_input_ids": list(encoded_c["input_ids"])}
    if "token_type_ids" in encoded_q:
        out["token_type_ids"] = list(encoded_q["token_type_ids"])
        out["cand_token_type_ids"] = list(encoded_c["token_type_ids"])
    return out


def featurize(
    examples: list[dict],
    tokenizer: Any,
    *,
    task: str,
    head_type: str,
    split: str,
    max_length: int,
    labels: Sequence[str] = (),
    doc_stride: int | None = None,
    spec_version: int = 1,
    langs: Sequence[str] | None = None,
    from_stdin: bool = False,
    query_length: int | None = None,
) -> Features:
    """Features of one task split, from the tokenized cache when this exact input was seen before."""
    if not examples:
        raise DataError(f"no {task} {split} examples to train or evaluate on")
    if head_type == "qa" and doc_stride is not None and doc_stride >= max_length // 2:
        raise DataError(f"--doc-stride {doc_stride} is too large for --max-length {max_length}",
                        "use a stride below half the max length (XTREME: 128 of 384)")
    stride = doc_stride if head_type == "qa" else None
    key = cache.make_key(
        task=task, split=split, langs=langs, tokenizer=cache.tokenizer_fingerprint(tokenizer),
        data=cache.STDIN if from_stdin else cache.examples_fingerprint(examples), max_length=max_length,
        stride=stride, spec_version=spec_version, featurizer_version=FEATURIZER_VERSION, head_type=head_type,
        labels=list(labels), max_query_tokens=MAX_QUERY_TOKENS if head_type == "qa" else None,
        char_caps=caps.key(head_type),
        **({"query_length": query_length} if head_type == "dual-encoder" else {}),
    )

    def build() -> dict[str, list]:
        if head_type == "classification":
            return build_classification(examples, tokenizer, max_length, labels)
        if head_type == "tagging":
            return build_tagging(examples, tokenizer, max_length, labels)
        if head_type == "qa":
            return build_qa(examples, tokenizer, max_length, stride or 128)
        if head_type == "multiple-choice":
            return build_multiple_choice(examples, tokenizer, max_length)
        if head_type == "mlm":
            return build_mlm(examples, tokenizer, max_length)
        if head_type == "dual-encoder":
            return build_dual(examples, tokenizer, max_length, query_length or max_length)
        raise ValueError(f"no featurizer for head type {head_type!r}")

    cached = cache.features(key, build)
    return Features(task=task, head_type=head_type, columns=cached.columns, rows=len(cached), cached=cached.hit)
