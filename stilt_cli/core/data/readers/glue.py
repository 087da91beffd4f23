"""GLUE TSV (MNLI, QQP, SST-2): a header row, tab-separated, no quoting. Columns are found by name,
so a renamed header (SST-2 `text` for `sentence`) still reads; test files without a label column
are read as unlabelled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stilt_cli.core.data.readers._io import Context, Located, clean, headed_tsv
from stilt_cli.core.errors import DataError

TEXT_A = ("sentence1", "question1", "premise", "sentence", "text", "text_a")
TEXT_B = ("sentence2", "question2", "hypothesis", "text_b")
LABEL = ("gold_label", "is_duplicate", "label")
IDS = ("pairID", "id", "index", "idx")


def _first(names: list[str], wanted: tuple[str, ...]) -> int | None:
    for name in wanted:
        if name in names:
            return names.index(name)
    return None


def read(path: Path, ctx: Context) -> Iterator[Located]:
    pair = ctx.spec.type == "pair-classification"
    expected = ("a header with sentence1/question1 and sentence2/question2 (+ gold_label/is_duplicate)" if pair
                else "a header with sentence (or text) and label")
    names, rows = headed_tsv(path, expected)
    a, b = _first(names, TEXT_A), _first(names, TEXT_B) if pair else None
    label_column, id_column = _first(names, LABEL), _first(names, IDS)
    if a is None or (pair and b is None):
        raise DataError(f"{path}:1: not a GLUE TSV for {ctx.spec.name} (header: {' '.join(names)[:120]})",
                        f"expected {expected}")
    for number, fields in rows:
        label = fields[label_column].strip() if label_column is not None else None
        example = {"id": fields[id_column].strip() if id_column is not None else ctx.next_id(),
                   "lang": ctx.lang or "en", "text_a": clean(fields[a])}
        if pair:
            example["text_b"] = clean(fields[b])
        example["label"] = label
        if label is None:
            example["unlabelled"] = True
        yield f"{path}:{number}", example
