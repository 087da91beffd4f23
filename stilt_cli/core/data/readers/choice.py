"""Multiple-choice releases: HellaSwag, CommonsenseQA (original and Hugging Face export), Cosmos QA
(CSV, test JSONL), COPA / XCOPA, Social IQa. Canonical shape: context, question, choices, label
(index into choices; None where the release has no gold)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stilt_cli.core.data.readers._io import Context, Located, csv_rows, field
from stilt_cli.core.errors import DataError
from stilt_cli.core.textio import lines, read_jsonl


def _index(value: Any, n: int, where: str, base: int = 0) -> int | None:
    if value is None or value == "":
        return None
    try:
        index = int(value) - base
    except (TypeError, ValueError):
        raise DataError(f"{where}: label {value!r} is not a choice number") from None
    if not 0 <= index < n:
        raise DataError(f"{where}: label {value!r} is out of range for {n} choices")
    return index


def _example(ctx: Context, example_id: Any, context: str, question: str | None, choices: list[str],
             label: int | None) -> dict[str, Any]:
    example = {"id": str(example_id) if example_id not in (None, "") else ctx.next_id(), "lang": ctx.lang or "en",
               "context": context, "question": question, "choices": choices, "label": label}
    if label is None:
        example["unlabelled"] = True
    return example


def read_hellaswag(path: Path, ctx: Context) -> Iterator[Located]:
    expected = "HellaSwag JSONL: ind, ctx_a, ctx_b, endings (4), label (absent in test)"
    for number, obj in read_jsonl(path, "HellaSwag"):
        where = f"{path}:{number}"
        endings = field(obj, ("endings",), where, expected)
        if not isinstance(endings, list):
            raise DataError(f"{where}: 'endings' must be a list", f"expected {expected}")
        yield where, _example(ctx, obj.get("ind"), str(field(obj, ("ctx_a",), where, expected)),
                              str(obj.get("ctx_b") or "") or None, [str(e) for e in endings],
                              _index(obj.get("label"), len(endings), where))


def read_csqa(path: Path, ctx: Context) -> Iterator[Located]:
    expected = ('CommonsenseQA JSONL: {"id", "question": {"stem", "choices": [{"label", "text"}]}, "answerKey"} '
                'or the Hugging Face export {"id", "question", "choices": {"label": [...], "text": [...]}, '
                '"answerKey"}')
    for number, obj in read_jsonl(path, "CommonsenseQA"):
        where = f"{path}:{number}"
        question = field(obj, ("question",), where, expected)
        if isinstance(question, dict):  # the original release
            stem = field(question, ("stem",), where, expected)
            raw = field(question, ("choices",), where, expected)
            if not isinstance(raw, list):
                raise DataError(f"{where}: question.choices must be a list", f"expected {expected}")
            keys = [str(c.get("label")) for c in raw]
            texts = [str(c.get("text")) for c in raw]
        else:  # Hugging Face export: parallel lists
            stem = question
            raw = field(obj, ("choices",), where, expected)
            if not isinstance(raw, dict) or not isinstance(raw.get("label"), list):
                raise DataError(f"{where}: choices must be {{'label': [...], 'text': [...]}}", f"expected {expected}")
            keys, texts = [str(k) for k in raw["label"]], [str(t) for t in raw.get("text", [])]
        key = obj.get("answerKey")
        if key in (None, ""):
            label = None
        elif key in keys:
            label = keys.index(key)
        else:
            raise DataError(f"{where}: answerKey {key!r} is not one of the choice labels {', '.join(keys)}")
        yield where, _example(ctx, obj.get("id"), "", str(stem), texts, label)


ANSWERS = ("answer0", "answer1", "answer2", "answer3")


def read_cosmos_csv(path: Path, ctx: Context) -> Iterator[Located]:
    expected = "the Cosmos QA CSV columns id, context, question, answer0-answer3, label"
    for number, row in csv_rows(path):
        where = f"{path}:{number}"
        choices = [field(row, (name,), where, expected) for name in ANSWERS]
        yield where, _example(ctx, row.get("id"), field(row, ("context",), where, expected),
                              field(row, ("question",), where, expected), choices,
                              _index(row.get("label"), 4, where))


def read_cosmos_jsonl(path: Path, ctx: Context) -> Iterator[Located]:
    expected = "Cosmos QA JSONL: id, context, question, answer0-answer3 (label absent in test)"
    for number, obj in read_jsonl(path, "Cosmos QA"):
        where = f"{path}:{number}"
        choices = [str(field(obj, (name,), where, expected)) for name in ANSWERS]
        yield where, _example(ctx, obj.get("id"), str(field(obj, ("context",), where, expected)),
                              str(field(obj, ("question",), where, expected)), choices,
                              _index(obj.get("label"), 4, where))


def read_copa(path: Path, ctx: Context) -> Iterator[Located]:
    """COPA (SuperGLUE) and XCOPA: premise, choice1, choice2, question ('cause'/'effect'), label, idx."""
    expected = "COPA JSONL: premise, choice1, choice2, question (cause/effect), label, idx"
    for number, obj in read_jsonl(path, "COPA"):
        where = f"{path}:{number}"
        choices = [str(field(obj, ("choice1",), where, expected)), str(field(obj, ("choice2",), where, expected))]
        yield where, _example(ctx, obj.get("idx"), str(field(obj, ("premise",), where, expected)),
                              str(field(obj, ("question",), where, expected)), choices,
                              _index(obj.get("label"), 2, where))


def read_siqa(path: Path, ctx: Context) -> Iterator[Located]:
    """Social IQa: `train.jsonl` + `train-labels.lst` (one 1-based label per line, same order)."""
    expected = "Social IQa JSONL: context, question, answerA, answerB, answerC"
    labels_file = path.with_name(f"{path.stem}-labels.lst")
    labels = [line.strip() for _, line in lines(labels_file) if line.strip()] if labels_file.exists() else None
    rows = list(read_jsonl(path, "Social IQa"))
    if labels is not None and len(labels) != len(rows):
        raise DataError(f"{labels_file}: {len(labels)} labels for {len(rows)} questions in {path.name}",
                        "the labels file must have one line per question")
    for i, (number, obj) in enumerate(rows):
        where = f"{path}:{number}"
        choices = [str(field(obj, (name,), where, expected)) for name in ("answerA", "answerB", "answerC")]
        label = _index(labels[i], 3, f"{labels_file}:{i + 1}", base=1) if labels is not None else \
            _index(obj.get("label"), 3, where, base=1)
        yield where, _example(ctx, None, str(field(obj, ("context",), where, expected)),
                              str(field(obj, ("question",), where, expected)), choices, label)
