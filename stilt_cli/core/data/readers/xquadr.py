"""LAReQA as ranking examples: XQuAD-R (`xquad-r/<lang>.json`) and SQuAD-format training pairs.

XQuAD-R is SQuAD-format JSON, one file per language, each paragraph with its `sentence_breaks`
([start, end] character spans). As XTREME's `utils_lareqa.load_data` builds it:
- every sentence of every paragraph of every language file is a candidate, id `<lang>_<n>_<i>` (the n-th
  paragraph of the file, counted from 1, its i-th sentence), text = the sentence, context = the paragraph;
- every question is a query, id `<question id>_<lang>`; its gold is the answer's sentence (the one whose
  span holds `answer_start`) in *every* language: the candidates of that question id in all files, since
  XQuAD's question ids are shared across its translations;
- a question whose answer starts outside every sentence span is skipped (XTREME warns and skips too).

The candidate pool is every language file present, whichever languages are asked for (`langs` picks
the queries), so one language's score does not depend on which others were read.

The same paragraph -> candidates rule turns SQuAD v1.1 into LAReQA's training pairs (format
`squad-rank`, and `from_qa` for QA examples from any source), with sentence breaks inferred
(`sentences.py`) where a file has none.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from stilt_cli.core import console
from stilt_cli.core.data.readers._io import Context, Located
from stilt_cli.core.data.readers.sentences import breaks as infer_breaks
from stilt_cli.core.errors import DataError
from stilt_cli.core.tasks import langs as langmod

FOLDERS = (".", "xquad-r", "lareqa/xquad-r")


def _folder(data_dir: Path) -> Path:
    """The folder holding the language files: DATA_DIR itself, DATA_DIR/xquad-r or DATA_DIR/lareqa/xquad-r."""
    for name in FOLDERS:
        folder = data_dir / name
        if folder.is_dir() and _codes_in(folder):
            return folder
    return data_dir


def _codes_in(folder: Path) -> list[str]:
    table = langmod.table()
    return sorted(p.stem for p in folder.glob("*.json") if p.stem in table)


def expected_files(code: str, split: str = "test") -> list[str]:
    return [f"xquad-r/{langmod.normalise(code)}.json"]


def available(data_dir: str | os.PathLike, split: str = "test") -> list[str]:
    return _codes_in(_folder(Path(data_dir))) if split == "test" else []


def _breaks(paragraph: dict[str, Any], where: str) -> list[tuple[int, int]]:
    given = paragraph.get("sentence_breaks")
    if given is None:
        return infer_breaks(paragraph["context"])
    spans = []
    for span in given:
        if not (isinstance(span, list) and len(span) == 2 and all(isinstance(x, int) for x in span)
                and 0 <= span[0] < span[1] <= len(paragraph["context"])):
            raise DataError(f"{where}: bad sentence break {span!r}", "each break is [start, end] inside the context")
        spans.append((span[0], span[1]))
    return spans


def paragraph_rows(lang: str, number: int, context: str, spans: list[tuple[int, int]],
                   questions: Iterable[tuple[str, str, int | None]]) -> tuple[list[dict], list[dict], int]:
    """(candidates, queries, skipped) of one paragraph; `questions` are (question id, text, answer start or
    None). A query's gold here is its answer sentence in this paragraph only; `read` joins the languages."""
    sentences = [context[a:b] for a, b in spans]
    candidates = [{"id": f"{lang}_{number}_{i}", "lang": lang, "side": "candidate", "text": s, "context": context}
                  for i, s in enumerate(sentences)]
    queries, skipped = [], 0
    for qid, question, start in questions:
        query = {"id": f"{qid}_{lang}", "lang": lang, "side": "query", "text": question, "xling": qid}
        if start is not None:
            holder = next((i for i, (a, b) in enumerate(spans) if a <= start < b), None)
            if holder is None:
                skipped += 1
                continue
            # every position holding the same sentence text is gold, as utils_lareqa marks them
            query["gold"] = [c["id"] for c in candidates if c["text"] == sentences[holder]]
        queries.append(query)
    return candidates, queries, skipped


Paragraph = tuple[str, list[tuple[int, int]] | None, list]  # context, its sentence breaks (None: infer), questions


def _paragraphs(path: Path) -> list[Paragraph]:
    """A SQuAD-format file's paragraphs in file order, each with its breaks (where given) and questions."""
    from stilt_cli.core.data.readers.squad import _questions

    grouped: dict[int, Paragraph] = {}
    for _where, paragraph, qa, _title in _questions(path):
        if id(paragraph) not in grouped:
            given = (_breaks(paragraph, f"{path}: paragraph {len(grouped) + 1}")
                     if "sentence_breaks" in paragraph else None)
            grouped[id(paragraph)] = (paragraph["context"], given, [])
        answers = qa.get("answers") or []
        start = answers[0].get("answer_start") if answers and isinstance(answers[0], dict) else None
        grouped[id(paragraph)][2].append((str(qa["id"]), qa["question"], start if isinstance(start, int) else None))
    return list(grouped.values())


def _rows(paragraphs: Iterable[Paragraph], lang: str) -> tuple[list[dict], list[dict], int]:
    """(candidates, queries, skipped) of paragraphs numbered in order; breaks inferred where none are given."""
    candidates: list[dict] = []
    queries: list[dict] = []
    skipped = 0
    for number, (context, spans, questions) in enumerate(paragraphs, 1):
        c, q, s = paragraph_rows(lang, number, context, spans if spans is not None
                                 else infer_breaks(context), questions)
        candidates += c
        queries += q
        skipped += s
    return candidates, queries, skipped


def read(data_dir: str | os.PathLike, langs: list[str] | None = None, split: str = "test") -> list[dict[str, Any]]:
    """Queries of `langs` (None: every language present) and the candidates of every language file present,
    with cross-language gold."""
    data_dir = Path(data_dir)
    if split != "test":
        raise DataError(f"XQuAD-R has only a test split, not '{split}'", "use --split test")
    folder = _folder(data_dir)
    present = _codes_in(folder)
    if not present:
        raise DataError(f"no XQuAD-R files in {data_dir}", "expected xquad-r/<lang>.json (e.g. xquad-r/de.json)")
    wanted = [langmod.normalise(c) for c in langs] if langs else present
    missing = [c for c in wanted if c not in present]
    if missing:
        raise DataError(f"no XQuAD-R file for {', '.join(missing)} in {folder}",
                        "looked for " + ", ".join(f"{c}.json" for c in missing))
    candidates: list[dict] = []
    queries: list[dict] = []
    gold_of: dict[str, list[str]] = {}  # question id -> its answer sentences in every language
    for code in present:
        c, q, skipped = _rows(_paragraphs(folder / f"{code}.json"), code)
        if skipped:
            console.warn(f"lareqa {code}: {skipped} questions skipped: their answer starts outside every sentence")
        candidates += c
        for query in q:
            gold_of.setdefault(query["xling"], []).extend(query.get("gold", []))
        queries += [row for row in q if code in wanted]
    for query in queries:
        if "gold" in query:
            query["gold"] = gold_of[query["xling"]]
        query.pop("xling")
    console.info(f"XQuAD-R: {len(queries)} queries; {len(candidates)} candidates pooled from {len(present)} "
                 f"language file(s) ({', '.join(present)})")
    return [dict(row, split=split) for row in candidates + queries]


def _pairs(paragraphs: Iterable[Paragraph], lang: str) -> list[dict]:
    """Training rows (candidates, then queries without their cross-language key)."""
    candidates, queries, skipped = _rows(paragraphs, lang)
    if skipped:
        console.info(f"{skipped} questions skipped: their answer starts outside every sentence")
    return candidates + [{k: v for k, v in query.items() if k != "xling"} for query in queries]


def read_squad(path: Path, ctx: Context) -> Iterator[Located]:
    """`squad-rank`: a SQuAD-format file (SQuAD v1.1 train) as LAReQA training pairs."""
    for row in _pairs(_paragraphs(path), ctx.lang or "en"):
        yield f"{path}: {row['side']} {row['id']}", row


def from_qa(examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """QA examples (any source: Hub, files, --data) -> ranking rows: each question with the sentence that
    holds its first answer; every sentence of every paragraph a candidate. Paragraphs are told apart by
    language and text."""
    by_paragraph: dict[tuple[str, str], Paragraph] = {}
    for example in examples:
        key = (example["lang"], example["context"])
        entry = by_paragraph.setdefault(key, (example["context"], None, []))
        answers = example.get("answers") or []
        entry[2].append((example["id"], example["question"], answers[0]["start"] if answers else None))
    rows: list[dict] = []
    for lang in dict.fromkeys(lang for lang, _ in by_paragraph):
        paragraphs = [entry for (code, _), entry in by_paragraph.items() if code == lang]
        rows += _pairs(paragraphs, lang)
    split = examples[0].get("split") if examples else None
    return [dict(row, split=split) if split else row for row in rows]
