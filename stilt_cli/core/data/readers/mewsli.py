"""Mewsli-X, in the release layout that XTREME's `download_mewslix_data.sh` writes to `download/mewslix/`:

| file                               | one line is (google-research `mewsli_x/schema.py`)              |
|------------------------------------|-----------------------------------------------------------------|
| candidate_set_entities.jsonl       | an Entity: entity_id, title, description, sentence_spans, …     |
| wikinews_mentions-{dev,test}.jsonl | ContextualMentions: a context (language, text, sentence_spans)  |
|                                    | and its mentions (example_id, mention_span, entity_id)          |
| wikipedia_pairs-{train,dev}.jsonl  | a MentionEntityPair: contextual_mention + entity (English)      |

As ranking examples (`core/data/examples.py`): every mention is a query (id = example_id, lang = the
context's language, gold = [entity_id]); for dev and test every entity of the candidate set is a
candidate (id = entity_id), for train the entities of the pairs. Texts are built as XTREME's baseline
builds them (`utils_mewslix.preprocess_mention` / `preprocess_entity_description`):
- query: the one sentence holding the mention, the mention marked `{ … }` (braces already in the
  text become parentheses), the mention repeated in front: `Smith: The verdict came back for { Smith }, …`;
  a mention that crosses sentence spans keeps the whole context (XTREME would stop; we count them);
- candidate: the description's sentences joined by spaces.
Both then have line breaks turned into spaces and double spaces into one, as there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from stilt_cli.core import console
from stilt_cli.core.errors import DataError
from stilt_cli.core.tasks import langs as langmod
from stilt_cli.core.textio import read_jsonl

FOLDERS = (".", "mewslix", "mewsli-x")
ENTITIES = "candidate_set_entities.jsonl"
SPLIT_FILES = {"train": "wikipedia_pairs-train.jsonl", "dev": "wikinews_mentions-dev.jsonl",
               "test": "wikinews_mentions-test.jsonl"}
_BRACED = re.compile(r"\{(.*?)\}")
_LANGUAGE = re.compile(rb'"language"\s*:\s*"([^"]+)"')


def _folder(data_dir: Path) -> Path:
    for name in FOLDERS:
        if any((data_dir / name / f).is_file() for f in (ENTITIES, *SPLIT_FILES.values())):
            return data_dir / name
    return data_dir


def expected_files(code: str, split: str) -> list[str]:
    return [SPLIT_FILES[split]] + ([ENTITIES] if split != "train" else [])


def _languages_in(path: Path) -> frozenset[str]:
    """The context languages a mentions file holds (a byte scan: no JSON parse of the whole file)."""
    found = set()
    with open(path, "rb") as handle:
        for line in handle:
            found.update(m.decode("utf-8", "replace") for m in _LANGUAGE.findall(line))
    return frozenset(found)


_SCANNED: dict[tuple[str, int, int], frozenset[str]] = {}


def available(data_dir: str | os.PathLike, split: str) -> list[str]:
    """Languages with queries in the split's file (and, for dev/test, the candidate set beside it)."""
    folder = _folder(Path(data_dir))
    path = folder / SPLIT_FILES.get(split, "")
    if split not in SPLIT_FILES or not path.is_file() or (split != "train" and not (folder / ENTITIES).is_file()):
        return []
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _SCANNED:
        _SCANNED[key] = _languages_in(path)
    return sorted(_code(c) for c in _SCANNED[key])


def _code(raw: str) -> str:
    try:
        return langmod.normalise(raw)
    except Exception:
        return raw


def _clean(text: str) -> str:
    return " ".join(text.splitlines()).replace("  ", " ").strip()


def _spans(obj: dict[str, Any], text: str, where: str) -> list[tuple[int, int]]:
    spans = []
    for span in obj.get("sentence_spans") or []:
        try:
            start, end = int(span["start"]), int(span["end"])
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{where}: a sentence span needs integer 'start' and 'end'") from None
        if not 0 <= start < end <= len(text):
            raise DataError(f"{where}: sentence span [{start}, {end}] is outside the text")
        spans.append((start, end))
    return spans


def entity_text(entity: dict[str, Any], where: str) -> str:
    description = entity.get("description")
    if not isinstance(description, str):
        raise DataError(f"{where}: an entity needs a 'description' string")
    return _clean(" ".join(description[a:b] for a, b in _spans(entity, description, where)))


def mention_text(context: dict[str, Any], mention: dict[str, Any], where: str, crossing: list[str]) -> str:
    """The query string of one mention; `crossing` collects the places of mentions without one sentence."""
    text = context.get("text")
    span = mention.get("mention_span") or {}
    if not isinstance(text, str) or not text:
        raise DataError(f"{where}: the context has no text",
                        "use wikinews_mentions-<split>.jsonl with the text restored (get-mewsli-x.sh), "
                        "not the *_no_text files")
    try:
        start, end, surface = int(span["start"]), int(span["end"]), str(span["text"])
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{where}: a mention needs mention_span {{start, end, text}}") from None
    if text[start:end] != surface:
        raise DataError(f"{where}: mention '{surface}' does not match the context at [{start}, {end}]")
    holder = next(((a, b) for a, b in _spans(context, text, where) if a <= start < b and a < end <= b), None)
    if holder is None:
        crossing.append(where)
        holder = (0, len(text))
    sentence = text[holder[0]:holder[1]]
    start, end = start - holder[0], end - holder[0]
    left = _BRACED.sub(r"(\1)", sentence[:start])
    right = _BRACED.sub(r"(\1)", sentence[end:])
    return _clean(f"{surface}: {left} {{ {surface} }} {right}")


def _query(context: dict[str, Any], mention: dict[str, Any], where: str, crossing: list[str], split: str) -> dict:
    for name in ("example_id", "entity_id"):
        if not isinstance(mention.get(name), str):
            raise DataError(f"{where}: a mention needs '{name}'")
    return {"id": mention["example_id"], "lang": _code(str(context.get("language", ""))), "side": "query",
            "text": mention_text(context, mention, where, crossing), "gold": [mention["entity_id"].strip()],
            "split": split}


def _candidate(entity: dict[str, Any], where: str, split: str) -> dict:
    if not isinstance(entity.get("entity_id"), str):
        raise DataError(f"{where}: an entity needs 'entity_id'")
    return {"id": entity["entity_id"], "lang": _code(str(entity.get("description_language") or "en")),
            "side": "candidate", "text": entity_text(entity, where), "split": split}


def read(data_dir: str | os.PathLike, langs: list[str] | None = None, split: str = "test") -> list[dict[str, Any]]:
    """Ranking rows of one split: the queries of `langs` (None: all) and the split's candidates."""
    if split not in SPLIT_FILES:
        raise DataError(f"Mewsli-X has splits {', '.join(SPLIT_FILES)}, not '{split}'")
    folder = _folder(Path(data_dir))
    path = folder / SPLIT_FILES[split]
    needed = [path] + ([folder / ENTITIES] if split != "train" else [])
    absent = [p.name for p in needed if not p.is_file()]
    if absent:
        raise DataError(f"no Mewsli-X {split} files in {folder}: missing {', '.join(absent)}",
                        "XTREME's scripts/download_mewslix_data.sh writes them to download/mewslix/")
    wanted = None if langs is None else {langmod.normalise(c) for c in langs}
    crossing: list[str] = []
    queries: list[dict] = []
    candidates: dict[str, dict] = {}
    for number, obj in read_jsonl(path, expect="Mewsli-X record"):
        where = f"{path}:{number}"
        if split == "train":  # MentionEntityPair
            pair = obj.get("contextual_mention") or {}
            context, mentions = pair.get("context") or {}, [pair.get("mention") or {}]
            entity = obj.get("entity")
            if not isinstance(entity, dict):
                raise DataError(f"{where}: a mention-entity pair needs 'entity'", "expected wikipedia_pairs-*.jsonl")
            candidates.setdefault(entity.get("entity_id"), _candidate(entity, where, split))
        else:  # ContextualMentions
            context, mentions = obj.get("context") or {}, obj.get("mentions")
            if not isinstance(mentions, list):
                raise DataError(f"{where}: expected a context with a 'mentions' list",
                                "expected wikinews_mentions-*.jsonl")
        if wanted is not None and _code(str(context.get("language", ""))) not in wanted:
            continue
        queries += [_query(context, mention, where, crossing, split) for mention in mentions]
    if split != "train":
        entities = folder / ENTITIES
        for number, entity in read_jsonl(entities, expect="Mewsli-X entity"):
            row = _candidate(entity, f"{entities}:{number}", split)
            candidates.setdefault(row["id"], row)
    if crossing:
        console.warn(f"Mewsli-X {split}: {len(crossing)} mention(s) cross a sentence boundary (first: {crossing[0]}); "
                     "their query keeps the whole context")
    if not queries:
        raise DataError(f"no Mewsli-X {split} mentions" + (f" for {', '.join(sorted(wanted))}" if wanted else "")
                        + f" in {path}")
    return list(candidates.values()) + queries
