"""NLI and single-sentence JSONL/CSV releases: SNLI/MultiNLI `.jsonl`, ANLI `R*/{train,dev,test}.jsonl`,
jiant's task JSONL (`{"premise","hypothesis","label"}`, `{"text","label"}`), and the ANLI-analysis CSV
(`context, statement, gold_label, uid, …`). ANLI's e/n/c and integer labels map to the NLI names;
pairs without a gold label ('-', -1, as in SNLI) are skipped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stilt_cli.core import console, textio
from stilt_cli.core.data.readers._io import Context, Located, clean, csv_rows, field
from stilt_cli.core.errors import DataError

SHORT = {"e": "entailment", "n": "neutral", "c": "contradiction"}
BY_INDEX = ("entailment", "neutral", "contradiction")  # the Hugging Face ClassLabel order
NO_GOLD = ("-", "", "-1")
EXPECTED_PAIR = "premise (or sentence1/context), hypothesis (or sentence2), label (or gold_label)"


def nli_label(value: Any, where: str) -> str | None:
    """An NLI label name, or None for 'no gold label'."""
    if value is None or isinstance(value, bool):
        raise DataError(f"{where}: label {value!r} is not an NLI label", "expected entailment/neutral/contradiction")
    if isinstance(value, int):
        if value == -1:
            return None
        if 0 <= value < 3:
            return BY_INDEX[value]
        raise DataError(f"{where}: label {value} is not an NLI label index (0-2)")
    text = str(value).strip()
    if text in NO_GOLD:
        return None
    return SHORT.get(text, "contradiction" if text == "contradictory" else text)


def read_jsonl(path: Path, ctx: Context) -> Iterator[Located]:
    skipped = 0
    for number, obj in textio.read_jsonl(path, "NLI"):
        where = f"{path}:{number}"
        given = next((obj[k] for k in ("uid", "pairID", "id", "idx") if obj.get(k) not in (None, "")), None)
        example = {"id": str(given) if given is not None else ctx.next_id(), "lang": ctx.lang or "en",
                   "text_a": clean(field(obj, ("premise", "sentence1", "context"), where, EXPECTED_PAIR)),
                   "text_b": clean(field(obj, ("hypothesis", "sentence2", "statement"), where, EXPECTED_PAIR))}
        if "gold_label" in obj or "label" in obj:
            label = nli_label(obj.get("gold_label", obj.get("label")), where)
            if label is None:
                skipped += 1
                continue
            example["label"] = label
        else:
            example["label"] = None
            example["unlabelled"] = True
        yield where, example
    if skipped:
        console.info(f"{path}: skipped {skipped} pairs without a gold label")


def read_cls_jsonl(path: Path, ctx: Context) -> Iterator[Located]:
    for number, obj in textio.read_jsonl(path, "single-sentence"):
        where = f"{path}:{number}"
        label = obj.get("label")
        given = next((obj[k] for k in ("idx", "id") if obj.get(k) not in (None, "")), None)
        example = {"id": str(given) if given is not None else ctx.next_id(), "lang": ctx.lang or "en",
                   "text_a": clean(field(obj, ("text", "sentence"), where, "text (or sentence), label")),
                   "label": None if label is None else str(label)}
        if label is None:
            example["unlabelled"] = True
        yield where, example


def read_anli_csv(path: Path, ctx: Context) -> Iterator[Located]:
    expected = "the ANLI-analysis CSV columns context, statement, gold_label, uid"
    for number, row in csv_rows(path):
        where = f"{path}:{number}"
        label = nli_label(field(row, ("gold_label",), where, expected), where)
        if label is None:
            continue  # no gold label
        yield where, {"id": str(row.get("uid") or ctx.next_id()), "lang": ctx.lang or "en",
                      "text_a": clean(field(row, ("context",), where, expected)),
                      "text_b": clean(field(row, ("statement", "hypothesis"), where, expected)),
                      "label": label}
