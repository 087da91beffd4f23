"""Tiny ranking data in the release layouts, made up here: an XQuAD-R folder (`xquad-r/<lang>.json`), a
Mewsli-X folder (`candidate_set_entities.jsonl`, `wikinews_mentions-test.jsonl`, `wikipedia_pairs-train.jsonl`)
and Mewsli-X submission files shaped like XTREME's `mock_test_data` (one mention per language, twenty
ranked entity ids each), with our own ids."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import write

# two parallel paragraphs per language; (question id, question, paragraph, answer sentence)
PARAGRAPHS = {
    "en": [["The cat sleeps on the warm roof.", "A river runs past the old mill.", "Berlin is the capital of Germany."],
           ["The moon rises over the hill.", "Paris has many old bridges."]],
    "de": [["Die Katze schläft auf dem warmen Dach.", "Ein Fluss fließt an der alten Mühle vorbei.",
            "Berlin ist die Hauptstadt Deutschlands."],
           ["Der Mond geht über dem Hügel auf.", "Paris hat viele alte Brücken."]],
    "es": [["El gato duerme en el tejado caliente.", "Un río pasa junto al viejo molino.",
            "Berlín es la capital de Alemania."],
           ["La luna sale sobre la colina.", "París tiene muchos puentes viejos."]],
}
QUESTIONS = {
    "en": [("q1", "Where does the cat sleep?", 0, 0), ("q2", "What is the capital of Germany?", 0, 2),
           ("q3", "What does Paris have?", 1, 1)],
    "de": [("q1", "Wo schläft die Katze?", 0, 0), ("q2", "Was ist die Hauptstadt Deutschlands?", 0, 2),
           ("q3", "Was hat Paris?", 1, 1)],
    "es": [("q1", "¿Dónde duerme el gato?", 0, 0), ("q2", "¿Cuál es la capital de Alemania?", 0, 2),
           ("q3", "¿Qué tiene París?", 1, 1)],
}


def _joined(sentences: list[str]) -> tuple[str, list[list[int]]]:
    spans, position = [], 0
    for sentence in sentences:
        spans.append([position, position + len(sentence)])
        position += len(sentence) + 1
    return " ".join(sentences), spans


def xquad_r(root: Path, langs: tuple[str, ...] = ("en", "de", "es"), breaks: bool = True) -> Path:
    """`root/xquad-r/<lang>.json` in XQuAD-R's format (SQuAD JSON + sentence_breaks); returns root."""
    for lang in langs:
        paragraphs = []
        for number, sentences in enumerate(PARAGRAPHS[lang]):
            context, spans = _joined(sentences)
            qas = []
            for qid, question, paragraph, sentence in QUESTIONS[lang]:
                if paragraph == number:
                    start = spans[sentence][0] + 2  # inside the answer's sentence
                    qas.append({"id": qid, "question": question,
                                "answers": [{"answer_start": start, "text": context[start:start + 3]}]})
            entry = {"context": context, "qas": qas}
            if breaks:
                entry["sentence_breaks"] = spans
            paragraphs.append(entry)
        doc = {"version": "1.1", "data": [{"title": "t", "paragraphs": paragraphs}]}
        write(root / "xquad-r" / f"{lang}.json", json.dumps(doc, ensure_ascii=False))
    return root


ENTITIES = {"Q90": ["Paris is the capital of France.", "It lies on the Seine."],
            "Q64": ["Berlin is the capital of Germany."],
            "Q2807": ["Madrid is the capital of Spain."], "Q1653": ["The Danube is a river in Europe."]}


def _entity(qid: str) -> dict:
    description, spans = _joined(ENTITIES[qid])
    return {"entity_id": qid, "title": qid, "description": description, "description_language": "en",
            "description_url": f"https://en.wikipedia.org/wiki/{qid}",
            "sentence_spans": [{"start": a, "end": b} for a, b in spans]}


def _context(lang: str, sentences: list[str], doc: str) -> dict:
    text, spans = _joined(sentences)
    return {"document_title": doc, "document_url": f"https://{lang}.wikinews.org/{doc}", "document_id": doc,
            "language": lang, "text": text, "sentence_spans": [{"start": a, "end": b} for a, b in spans]}


def _mention(context: dict, surface: str, entity: str, example_id: str) -> dict:
    start = context["text"].index(surface)
    return {"example_id": example_id, "mention_span": {"start": start, "end": start + len(surface), "text": surface},
            "entity_id": entity}


def mewsli_x(root: Path) -> Path:
    """`root/mewslix/` with the candidate set, German and Spanish test mentions and English training pairs."""
    folder = root / "mewslix"
    write(folder / "candidate_set_entities.jsonl", "".join(json.dumps(_entity(q)) + "\n" for q in ENTITIES))
    german = _context("de", ["Gestern war es kalt.", "Wir fuhren nach Berlin {heute} und Paris."], "d1")
    spanish = _context("es", ["Madrid es la capital de España."], "d2")
    mentions = [{"context": german, "mentions": [_mention(german, "Berlin", "Q64", "m-de-1"),
                                                 _mention(german, "Paris", "Q90", "m-de-2")]},
                {"context": spanish, "mentions": [_mention(spanish, "Madrid", "Q2807", "m-es-1")]}]
    write(folder / "wikinews_mentions-test.jsonl", "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in mentions))
    pairs = []
    for i, (surface, qid) in enumerate([("Berlin", "Q64"), ("Paris", "Q90"), ("Danube", "Q1653"), ("Madrid", "Q2807")]):
        context = _context("en", [f"We saw {surface} last year.", "It was nice."], f"w{i}")
        pairs.append({"contextual_mention": {"context": context, "mention": _mention(context, surface, qid, f"p{i}")},
                      "entity": _entity(qid)})
    write(folder / "wikipedia_pairs-train.jsonl", "".join(json.dumps(p) + "\n" for p in pairs))
    return root


# the rank of the gold entity in each language's twenty predictions, as in XTREME's mock Mewsli-X submission
MOCK_RANKS = {"ar": 16, "de": 2, "en": 12, "es": 12, "fa": 4, "ja": 14, "pl": 19, "ro": 6, "ta": 13, "tr": 8, "uk": 9}
OFFICIAL_AVG_MAP_AT_20 = 14.39025156130419  # google-research/xtreme evaluate_test.py, mewslix avg_map@20


def mewslix_submission(root: Path) -> tuple[Path, Path]:
    """(predictions, labels) folders: per language one mention whose gold sits at MOCK_RANKS[lang]."""
    for n, (lang, rank) in enumerate(MOCK_RANKS.items()):
        example, gold = f"mention-{lang}", f"Q{1000 + n}"
        ranked = [f"Q{9000 + 20 * n + i}" for i in range(20)]
        ranked[rank - 1] = gold
        write(root / "labels" / "mewslix" / f"test-{lang}.json", json.dumps({example: [gold]}))
        write(root / "predictions" / "mewslix" / f"test-{lang}.json", json.dumps({example: ranked}))
    return root / "predictions", root / "labels"
