"""Canonical examples: the one JSONL shape every reader produces and every stage consumes.

Every example carries `id` (string) and `lang` (ISO 639-1); `task` and `split` are optional. The
rest depends on the task type:

| type                 | fields                                                              |
|----------------------|---------------------------------------------------------------------|
| pair-classification  | text_a, text_b, label (a label name of the task, or null)           |
| classification       | text_a, label                                                       |
| tagging              | tokens [str], tags [str] (same length) or null                      |
| qa                   | context, question, answers [{text, start}] ([] = unanswerable), title? |
| multiple-choice      | context, question?, choices [str], label (index) or null            |
| retrieval            | side ("src" = the non-English side, "tgt" = English), text; or a    |
| (search, mine)       | gold link: {"lang", "link": [src_id, tgt_id]} (no id needed)        |
| retrieval (rank)     | side "query", text, gold [candidate ids] (absent = unlabelled); or  |
|                      | side "candidate", text, context? (LAReQA: the sentence's paragraph) |
| mlm                  | text                                                                |

Ranking sets (Mewsli-X, LAReQA) pool the candidates of every language: each query ranks all the
candidate rows of its split, whatever their `lang`, and the ids in `gold` name candidate rows.

`stilt data export` writes these; `--data FILE` reads them back (or a user's own, e.g. translations).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from stilt_cli.core.errors import DataError
from stilt_cli.core.tasks.spec import TaskSpec
from stilt_cli.core.textio import read_jsonl

_STR = (str,)
_OPT_STR = (str, type(None))
_LABEL = (str, int, type(None))
FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "pair-classification": {"text_a": _STR, "text_b": _STR, "label": _LABEL},
    "classification": {"text_a": _STR, "label": _LABEL},
    "tagging": {"tokens": (list,), "tags": (list, type(None))},
    "qa": {"context": _STR, "question": _STR, "answers": (list,)},
    "multiple-choice": {"choices": (list,), "label": (int, type(None))},
    "retrieval": {"side": _STR, "text": _STR},
    "mlm": {"text": _STR},
}
OPTIONAL_LABEL = {"label", "tags"}  # may be absent: unlabelled splits


def _type_names(types: tuple[type, ...]) -> str:
    names = {str: "string", int: "integer", list: "list", type(None): "null", dict: "object"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def validate(example: dict[str, Any], spec: TaskSpec, where: str, labels: set[str] | None = None) -> dict[str, Any]:
    """Check one canonical example against its task type; normalise labels to strings."""
    kind = spec.type
    if kind == "retrieval" and "link" in example:
        link = example["link"]
        if not (isinstance(link, list) and len(link) == 2 and all(isinstance(x, str) for x in link)):
            raise DataError(f"{where}: 'link' must be a list of two ids [src_id, tgt_id]")
        if not isinstance(example.get("lang"), str):
            raise DataError(f"{where}: missing field 'lang'", "a gold link needs lang and link")
        return example
    expected = FIELDS[kind]
    for name in ("id", "lang"):
        if not isinstance(example.get(name), str) or not example.get(name):
            raise DataError(f"{where}: missing or empty field '{name}'",
                            f"a {kind} example needs id, lang, {', '.join(expected)}")
    for name, types in expected.items():
        if name not in example:
            if name in OPTIONAL_LABEL:
                example[name] = None
                continue
            raise DataError(f"{where}: missing field '{name}'", f"a {kind} example needs id, lang, "
                                                                f"{', '.join(expected)}")
        value = example[name]
        if not isinstance(value, types) or isinstance(value, bool):
            raise DataError(f"{where}: field '{name}' has type {type(value).__name__}, expected {_type_names(types)}")
    if kind == "tagging":
        if not all(isinstance(t, str) for t in example["tokens"]):
            raise DataError(f"{where}: 'tokens' must be a list of strings")
        if example["tags"] is not None:
            if len(example["tags"]) != len(example["tokens"]):
                raise DataError(f"{where}: {len(example['tokens'])} tokens but {len(example['tags'])} tags")
            allowed = labels if labels is not None else (set(spec.labels) if spec.labels else None)
            for tag in example["tags"]:
                if not isinstance(tag, str) or (allowed is not None and tag not in allowed):
                    raise DataError(f"{where}: tag '{tag}' is not in the label set of {spec.name}",
                                    f"labels: {', '.join(sorted(allowed or []))}")
    elif kind in ("pair-classification", "classification"):
        label = example["label"]
        if label is not None:
            label = str(label)
            allowed = labels if labels is not None else (set(spec.labels) if spec.labels else None)
            if allowed is not None and label not in allowed:
                raise DataError(f"{where}: label '{label}' is not in the label set of {spec.name}",
                                f"labels: {', '.join(sorted(allowed))}")
            example["label"] = label
    elif kind == "qa":
        for answer in example["answers"]:
            if not (isinstance(answer, dict) and isinstance(answer.get("text"), str)
                    and isinstance(answer.get("start"), int) and not isinstance(answer.get("start"), bool)):
                raise DataError(f"{where}: each answer must be {{\"text\": string, \"start\": integer}}")
    elif kind == "multiple-choice":
        choices = example["choices"]
        if len(choices) < 2 or not all(isinstance(c, str) for c in choices):
            raise DataError(f"{where}: 'choices' must be a list of at least two strings")
        if example["label"] is not None and not 0 <= example["label"] < len(choices):
            raise DataError(f"{where}: label {example['label']} is out of range for {len(choices)} choices")
        example.setdefault("context", "")
        example.setdefault("question", None)
    elif kind == "retrieval" and spec.retrieval == "rank":
        _check_ranking(example, where)
    elif kind == "retrieval" and example["side"] not in ("src", "tgt"):
        raise DataError(f"{where}: 'side' must be 'src' (non-English) or 'tgt' (English), not '{example['side']}'")
    return example


def _check_ranking(example: dict[str, Any], where: str) -> None:
    side = example["side"]
    if side == "query":
        gold = example.get("gold")
        if gold is not None and not (isinstance(gold, list) and gold and all(isinstance(g, str) for g in gold)):
            raise DataError(f"{where}: 'gold' must be a non-empty list of candidate ids")
    elif side == "candidate":
        if not isinstance(example.get("context", ""), str):
            raise DataError(f"{where}: 'context' must be a string")
    else:
        raise DataError(f"{where}: 'side' must be 'query' or 'candidate' in a ranking task, not '{side}'",
                        'a ranking set is {"side": "query", "text", "gold": [ids]} and {"side": "candidate", "text"}')


def _language(code: str, where: str) -> str:
    """A language code, or MLQA's 'context-question' pair ('en-de'), each part a known language: the
    code names prediction files later, so nothing else may pass."""
    from stilt_cli.core.tasks import langs as langmod

    try:
        return langmod.normalise(code)
    except Exception:
        pass
    context, sep, question = code.partition("-")
    try:
        if sep:
            return f"{langmod.normalise(context)}-{langmod.normalise(question)}"
    except Exception:
        pass
    raise DataError(f"{where}: unknown language code '{code}'", "use ISO 639-1 codes (or a pair such as en-de)")


def read(source: str | os.PathLike, spec: TaskSpec, langs: Iterable[str] | None = None,
         labels: set[str] | None = None) -> Iterator[dict[str, Any]]:
    """Read canonical examples from JSONL ('-' = stdin), validated, optionally filtered by language."""
    wanted = None if langs is None else set(langs)
    name = "<stdin>" if str(source) == "-" else str(source)
    for number, example in read_jsonl(source, expect=f"{spec.type} example"):
        where = f"{name}:{number}"
        example = validate(example, spec, where, labels)
        example["lang"] = _language(example["lang"], where)
        if wanted is None or example["lang"] in wanted:
            yield example
