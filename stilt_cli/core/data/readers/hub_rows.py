"""Rows of a task's Hugging Face copy -> the canonical examples the local readers give (`../examples.py`): one
mapper per row shape, named by the spec's `hub["rows"]`. The Hub I/O that fetches the rows is `../hubdata.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stilt_cli.core.data import examples as canonical
from stilt_cli.core.data.readers.nli import nli_label
from stilt_cli.core.data.readers.squad import TYDIQA_LANGS
from stilt_cli.core.errors import DataError
from stilt_cli.core.tasks.spec import TaskSpec

Row = dict[str, Any]


def _class_names(features: Any, column: str) -> list[str] | None:
    feature = features.get(column) if features is not None else None
    inner = getattr(feature, "feature", feature)  # Sequence(ClassLabel) for tag columns
    if isinstance(inner, list) and inner:
        inner = inner[0]
    return list(getattr(inner, "names", []) or []) or None


def _id(row: Row, split: str, lang: str, n: int, *names: str) -> str:
    for name in names:
        if row.get(name) not in (None, ""):
            return str(row[name])
    return f"{split}-{lang}-{n}"


def _pair(text_a: str, text_b: str | None, label: str | None, example_id: str, lang: str) -> Row:
    example = {"id": example_id, "lang": lang, "text_a": text_a.strip()}
    if text_b is not None:
        example["text_b"] = text_b.strip()
    example["label"] = label
    if label is None:
        example["unlabelled"] = True
    return example


def map_xnli(rows, features, spec, split, lang):
    n = 0
    for row in rows:
        if row.get("language") != lang:
            continue
        n += 1
        label = str(row["gold_label"]).strip()
        yield _pair(row["sentence1"], row["sentence2"], "contradiction" if label == "contradictory" else label,
                    f"{split}-{lang}-{n}", lang)


def map_pawsx(rows, features, spec, split, lang):
    names = _class_names(features, "label")
    for n, row in enumerate(rows, 1):
        label = row.get("label")
        label = None if label in (None, -1, "") else names[label] if names and isinstance(label, int) else str(label)
        yield _pair(row["sentence1"], row["sentence2"], label, _id(row, split, lang, n, "id"), lang)


def _tokens(column: str):
    def mapper(rows, features, spec, split, lang):
        names = _class_names(features, column) or list(spec.labels or ())
        for n, row in enumerate(rows, 1):
            tags = row.get(column)
            tags = None if tags is None else [names[t] if isinstance(t, int) else str(t) for t in tags]
            example = {"id": f"{split}-{lang}-{n}", "lang": lang, "tokens": list(row["tokens"]), "tags": tags}
            if tags is None:
                example["unlabelled"] = True
            yield example
    return mapper


def _squad_row(row: Row, lang: str, empty_is_unanswerable: bool = False) -> Row:
    """`answers: {text: [...], answer_start: [...]}` -> `[{text, start}]`. No answers means an
    unanswerable question in SQuAD 2.0 and missing gold elsewhere."""
    raw = row.get("answers") or {}
    answers = [{"text": t, "start": int(s)} for t, s in zip(raw.get("text", []), raw.get("answer_start", []))]
    labelled = any(a["text"] for a in answers) or (not answers and empty_is_unanswerable)
    example = {"id": str(row["id"]), "lang": lang, "context": row["context"], "question": row["question"],
               "answers": answers if labelled else []}
    if row.get("title"):
        example["title"] = row["title"]
    if not labelled:
        example["unlabelled"] = True
    return example


def map_squad(rows, features, spec, split, lang):
    for row in rows:
        yield _squad_row(row, lang, empty_is_unanswerable=spec.null_answers)


def map_tydiqa(rows, features, spec, split, lang):
    for row in rows:
        if TYDIQA_LANGS.get(str(row["id"]).split("-", 1)[0]) == lang:
            yield _squad_row(row, lang)


def map_nli(rows, features, spec, split, lang):
    names = _class_names(features, "label")
    unlabelled_split = spec.splits.get(split) == "unlabelled"
    for n, row in enumerate(rows, 1):
        value = row.get("label")
        label = None if value in (None, -1) else nli_label(names[value] if names and isinstance(value, int) else value,
                                                           f"{spec.name} {split} row {n}")
        if label is None and not unlabelled_split:
            continue  # no gold label (SNLI '-'): skipped, as the local reader does
        yield _pair(row["premise"], row["hypothesis"], label, _id(row, split, lang, n, "uid", "idx"), lang)


def map_glue(rows, features, spec, split, lang):
    pair = spec.type == "pair-classification"
    for n, row in enumerate(rows, 1):
        value = row.get("label")
        label = None if value in (None, -1) else str(value)  # GLUE ClassLabel index == the GLUE TSV label
        text_a = row.get("question1") if pair else row.get("sentence")
        yield _pair(text_a, row.get("question2") if pair else None, label, _id(row, split, lang, n, "idx"), lang)


def _choice(example_id: str, lang: str, context: str, question: str | None, choices: list[str],
            label: int | None) -> Row:
    example = {"id": example_id, "lang": lang, "context": context, "question": question, "choices": choices,
               "label": label}
    if label is None:
        example["unlabelled"] = True
    return example


def _int_label(value: Any, base: int = 0) -> int | None:
    if value in (None, "", -1):
        return None
    return int(value) - base


def map_hellaswag(rows, features, spec, split, lang):
    for n, row in enumerate(rows, 1):
        yield _choice(_id(row, split, lang, n, "ind"), lang, row["ctx_a"], row.get("ctx_b") or None,
                      list(row["endings"]), _int_label(row.get("label")))


def map_csqa(rows, features, spec, split, lang):
    for n, row in enumerate(rows, 1):
        keys, texts = list(row["choices"]["label"]), list(row["choices"]["text"])
        key = row.get("answerKey")
        yield _choice(_id(row, split, lang, n, "id"), lang, "", row["question"], texts,
                      keys.index(key) if key in keys else None)


def map_cosmos(rows, features, spec, split, lang):
    for n, row in enumerate(rows, 1):
        yield _choice(_id(row, split, lang, n, "id"), lang, row["context"], row["question"],
                      [row[f"answer{i}"] for i in range(4)], _int_label(row.get("label")))


def map_siqa(rows, features, spec, split, lang):
    for n, row in enumerate(rows, 1):
        yield _choice(f"{split}-{lang}-{n}", lang, row["context"], row["question"],
                      [row["answerA"], row["answerB"], row["answerC"]], _int_label(row.get("label"), base=1))


def map_copa(rows, features, spec, split, lang):
    for n, row in enumerate(rows, 1):
        yield _choice(_id(row, split, lang, n, "idx"), lang, row["premise"], row["question"],
                      [row["choice1"], row["choice2"]], _int_label(row.get("label")))


def map_gold_only(rows, features, spec, split, lang):
    """A Hub copy that holds only the gold pairs (BUCC), not the corpora to mine them from."""
    raise DataError(f"{spec.name}: the Hub copy holds only the gold pairs, not the corpora to mine",
                    "read the original files with --data-dir")


def map_pairs(rows, features, spec, split, lang):
    """Tatoeba: aligned (xx, English) rows; the gold is the row alignment."""
    for n, row in enumerate(rows):
        src, tgt = f"{lang}-{n}", f"en-{n}"
        yield {"id": src, "lang": lang, "side": "src", "text": row["source_sentence"].strip()}
        yield {"id": tgt, "lang": lang, "side": "tgt", "text": row["target_sentence"].strip()}
        yield {"lang": lang, "link": [src, tgt]}


MAPPERS: dict[str, Callable] = {
    "xnli": map_xnli, "pawsx": map_pawsx, "tokens:pos_tags": _tokens("pos_tags"),
    "tokens:ner_tags": _tokens("ner_tags"),
    "squad": map_squad, "tydiqa": map_tydiqa, "nli": map_nli, "glue": map_glue, "hellaswag": map_hellaswag,
    "csqa": map_csqa, "cosmos": map_cosmos, "siqa": map_siqa, "copa": map_copa, "pairs": map_pairs,
    "gold-only": map_gold_only,
}


def to_examples(spec: TaskSpec, split: str, lang: str, rows: list[Row], features: Any = None) -> list[Row]:
    """Hub rows of one config/split -> checked canonical examples (what the local readers return)."""
    mapper = MAPPERS[spec.hub["rows"]]
    out = []
    for n, example in enumerate(mapper(rows, features, spec, split, lang), 1):
        where = f"{spec.hub['repo']} {spec.name} {split} row {n}"
        example = canonical.validate(example, spec, where)
        out.append({"task": spec.name, "split": split, **example} if "link" not in example else example)
    return out
