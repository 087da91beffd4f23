"""SQuAD-format JSON: SQuAD v1.1/v2.0, XQuAD, MLQA (same- and cross-language files), TyDiQA-GoldP
as XTREME splits it and as released (one combined file, the language in each question id).

Answers become `[{"text", "start"}]`. SQuAD 2.0's `is_impossible` questions have `answers: []`.
Files whose answers were blanked (XTREME's copies of XQuAD, MLQA test and TyDiQA dev: one answer
`{"answer_start": 0, "text": ""}`) read as unlabelled (`answers: []`, `unlabelled: true`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stilt_cli.core import console
from stilt_cli.core.data.readers._io import Context, Located
from stilt_cli.core.errors import DataError
from stilt_cli.core.textio import load_json

TYDIQA_LANGS = {"arabic": "ar", "bengali": "bn", "english": "en", "finnish": "fi", "indonesian": "id",
                "korean": "ko", "russian": "ru", "swahili": "sw", "telugu": "te"}
EXPECTED = 'SQuAD JSON: {"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question", "answers"}]}]}]}'


def _questions(path: Path) -> Iterator[tuple[str, dict[str, Any], dict[str, Any], str | None]]:
    doc = load_json(path, "SQuAD-format")
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        found = "a JSON list" if isinstance(doc, list) \
            else f"keys {', '.join(list(doc)[:5])}" if isinstance(doc, dict) \
            else type(doc).__name__
        raise DataError(f"{path}: not a SQuAD-format file ({found})", f"expected {EXPECTED}")
    for a, article in enumerate(doc["data"]):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise DataError(f"{path}: data[{a}] has no 'paragraphs' list", f"expected {EXPECTED}")
        for p, paragraph in enumerate(paragraphs):
            where = f"{path}: data[{a}].paragraphs[{p}]"
            if not isinstance(paragraph, dict) or not isinstance(paragraph.get("context"), str) \
                    or not isinstance(paragraph.get("qas"), list):
                raise DataError(f"{where}: needs 'context' (string) and 'qas' (list)", f"expected {EXPECTED}")
            for qa in paragraph["qas"]:
                if not isinstance(qa, dict) or "id" not in qa or not isinstance(qa.get("question"), str):
                    raise DataError(f"{where}: a question without 'id' or 'question'", f"expected {EXPECTED}")
                yield f"{path}: question {qa['id']}", paragraph, qa, article.get("title")


def _answers(qa: dict[str, Any], context: str, where: str) -> tuple[list[dict[str, Any]], bool, int]:
    """-> (answers, labelled, misaligned count)."""
    if qa.get("is_impossible"):
        return [], True, 0
    raw = qa.get("answers")
    if not isinstance(raw, list):
        raise DataError(f"{where}: 'answers' must be a list", f"expected {EXPECTED}")
    answers, misaligned = [], 0
    for answer in raw:
        if not isinstance(answer, dict) or not isinstance(answer.get("text"), str) \
                or not isinstance(answer.get("answer_start"), int):
            raise DataError(f"{where}: each answer needs 'text' (string) and 'answer_start' (integer)")
        start, text = answer["answer_start"], answer["text"]
        if text and context[start:start + len(text)] != text:
            misaligned += 1
        answers.append({"text": text, "start": start})
    if answers and all(not a["text"] for a in answers):
        return [], False, 0  # blanked by XTREME: no gold
    return answers, bool(answers), misaligned


def _examples(path: Path, ctx: Context, lang_of) -> Iterator[Located]:
    misaligned = 0
    for where, paragraph, qa, title in _questions(path):
        answers, labelled, bad = _answers(qa, paragraph["context"], where)
        misaligned += bad
        lang, example_id = lang_of(str(qa["id"]), where)
        example = {"id": example_id, "lang": lang, "context": paragraph["context"], "question": qa["question"],
                   "answers": answers}
        if title:
            example["title"] = title
        if not labelled:
            example["unlabelled"] = True
        yield where, example
    if misaligned:
        console.warn(f"{path}: {misaligned} answers do not match the context at their answer_start")


def read(path: Path, ctx: Context) -> Iterator[Located]:
    yield from _examples(path, ctx, lambda qid, where: (ctx.lang, qid))


def read_tydiqa(path: Path, ctx: Context) -> Iterator[Located]:
    """The released GoldP file: every language in one file, ids like `arabic-2387335860751143628-1`."""

    def lang_of(qid: str, where: str) -> tuple[str, str]:
        name = qid.split("-", 1)[0]
        if name not in TYDIQA_LANGS:
            raise DataError(f"{where}: id '{qid}' does not start with a TyDiQA language name",
                            f"expected ids like 'arabic-…' ({', '.join(TYDIQA_LANGS)})")
        return TYDIQA_LANGS[name], qid

    yield from _examples(path, ctx, lang_of)
